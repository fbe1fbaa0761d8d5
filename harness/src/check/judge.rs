//! The final judgement of a run: every verdict, derived from the scenario and the recorded
//! timeline alone. The engine calls it at the end of a run and `pgdrill report --rejudge` calls
//! it on a report.json, so both decide the same way.
//!
//! What the timeline must hold besides the observations: an `ExpectOpened` event per expect step
//! (its anchor, the leader then, the old primary, the group), an `Exec` event per exec step (its
//! last attempt's answer) and the `ObservationEnded` event (when observing stopped, and the run's
//! error if any).
use super::evaluate::{evaluate_expectation, evaluate_invariant};
use super::exec::{exec, ExecRecord};
use super::faults_undone::faults_undone;
use super::verdict::{CheckContext, Verdict};
use super::write_audit::write_audit;
use crate::scenario::Scenario;
use crate::timeline::{EventKind, Millis, Timeline};

/// Every final verdict of a run, in the order the report lists them: the expectations of each
/// expect step that ran and the `exec` verdict of each exec step that ran (in step order), the
/// scenario's invariants, then — when the run ended without an error — `write_audit` when the
/// scenario has a workload and `faults_undone` when it injects faults.
///
/// Verdicts are judged at the end of observation (`ObservationEnded`; a timeline without it,
/// e.g. one snapshotted during a run, is judged up to its last event). An expect step that
/// opened but never finished (the run was interrupted while it waited) has no verdicts; nor has
/// a recorded step that is not an expect step of `scenario` (the wrong scenario file).
pub fn judge(scenario: &Scenario, timeline: &Timeline) -> Vec<Verdict> {
    let end = observation_end(timeline);
    let now = end.map_or_else(|| timeline.end(), |(at, _)| at);
    let mut by_step: Vec<(usize, Vec<Verdict>)> = Vec::new();
    for ctx in finished_expect_steps(timeline, now) {
        let Some(expectations) = scenario.steps.get(ctx.step).and_then(|s| s.value.expect.as_ref()) else {
            continue;
        };
        by_step.push((ctx.step, expectations.iter().map(|e| evaluate_expectation(&e.value, timeline, &ctx)).collect()));
    }
    for record in timeline.events.iter().filter_map(|e| ExecRecord::from_event(e.at, &e.kind)) {
        if let Some(spec) = scenario.steps.get(record.step).and_then(|s| s.value.exec.as_ref()) {
            by_step.push((record.step, vec![exec(spec, &record)]));
        }
    }
    // Stable: an expect step's verdicts keep the order its expectations are written in.
    by_step.sort_by_key(|(step, _)| *step);
    let mut verdicts: Vec<Verdict> = by_step.into_iter().flat_map(|(_, v)| v).collect();
    verdicts.extend(scenario.invariants.iter().map(|i| evaluate_invariant(*i, timeline, now)));
    let run_error = end.and_then(|(_, error)| error);
    if scenario.workload.is_some() && run_error.is_none() {
        verdicts.push(write_audit(timeline, now));
    }
    if scenario.steps.iter().any(|s| s.value.fault.is_some()) && run_error.is_none() {
        verdicts.push(faults_undone(timeline));
    }
    verdicts
}

/// When observation ended and the run's error then, from the `ObservationEnded` event.
pub fn observation_end(timeline: &Timeline) -> Option<(Millis, Option<&str>)> {
    timeline.events.iter().find_map(|e| match &e.kind {
        EventKind::ObservationEnded { run_error } => Some((e.at, run_error.as_deref())),
        _ => None,
    })
}

/// The contexts of the expect steps that opened and then finished, judged at `now`.
fn finished_expect_steps(timeline: &Timeline, now: Millis) -> Vec<CheckContext> {
    let events = &timeline.events;
    events
        .iter()
        .enumerate()
        .filter_map(|(i, e)| CheckContext::from_event(&e.kind, now).map(|ctx| (i, ctx)))
        .filter(|(i, ctx)| {
            events[*i..].iter().any(|e| matches!(e.kind, EventKind::StepFinished { index, .. } if index == ctx.step))
        })
        .map(|(_, ctx)| ctx)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::member_history::testkit::*;
    use crate::check::{names, Status};
    use crate::scenario::{parse_scenario, Expectation};

    const KILL_PRIMARY: &str = "\
name: kill-primary
topology: {kind: patroni, members: 3, etcd: 3}
workload: {writers: 1, rate: 10/s}
steps:
  - wait: healthy
    within: 90s
  - fault: kill
    target: primary
  - expect:
      - new_leader: {within: 45s}
      - timeline: {increments: 1, within: 45s}
  - fault: start
    target: old_primary
  - expect:
      - rejoins: {target: old_primary, within: 60s}
invariants: [single_primary, no_acked_write_lost]
";

    fn scenario() -> Scenario {
        parse_scenario("kill-primary.yaml", KILL_PRIMARY).expect("the test scenario is valid").scenario
    }

    fn opened(step: usize, anchor: Millis) -> EventKind {
        let ctx = CheckContext {
            step,
            anchor,
            now: 0,
            leader_at_anchor: Some("pg-1".into()),
            old_primary: Some("pg-1".into()),
            group: None,
            highest_priority: None,
        };
        ctx.opened_event()
    }

    fn finished(index: usize) -> EventKind {
        EventKind::StepFinished { index, ok: true, detail: String::new() }
    }

    fn audit(container: &str) -> EventKind {
        EventKind::ContainerAudit {
            container: container.into(),
            status: "running".into(),
            on_network: true,
            iptables_rules: Some(0),
        }
    }

    fn ended(run_error: Option<&str>) -> EventKind {
        EventKind::ObservationEnded { run_error: run_error.map(str::to_string) }
    }

    /// pg-1 killed at 10s (step 1), pg-2 promoted at 29.4s, pg-1 started at 35s (step 3) and
    /// streaming again at 50s; observation ends at 61s, then teardown.
    fn run(run_error: Option<&str>) -> Tl {
        Tl::new()
            .healthy()
            .acked(9_000, 1)
            .poll(10_100, "pg-1", down())
            .event(10_200, opened(2, 10_000))
            .poll(29_400, "pg-2", primary(2))
            .acked(29_800, 2)
            .poll(30_000, "pg-3", replica(2))
            .event(30_000, finished(2))
            .event(35_100, opened(4, 35_000))
            .poll(50_000, "pg-1", replica(2))
            .event(50_100, finished(4))
            .event(60_000, audit("pg-1"))
            .leader_audit(60_500, &[(1, 2)])
            .event(61_000, ended(run_error))
    }

    /// What the engine judged before the contexts were recorded: each expect step's context at
    /// the end of observation, then the invariants, then faults_undone.
    fn judged_in_memory(scenario: &Scenario, tl: &Timeline, now: Millis) -> Vec<Verdict> {
        let mut verdicts = Vec::new();
        for (step, anchor) in [(2, 10_000), (4, 35_000)] {
            let ctx = CheckContext::from_event(&opened(step, anchor), now).unwrap();
            let expectations = scenario.steps[step].value.expect.as_ref().unwrap();
            verdicts.extend(expectations.iter().map(|e| evaluate_expectation(&e.value, tl, &ctx)));
        }
        verdicts.extend(scenario.invariants.iter().map(|i| evaluate_invariant(*i, tl, now)));
        verdicts.push(write_audit(tl, now));
        verdicts.push(faults_undone(tl));
        verdicts
    }

    #[test]
    fn every_verdict_comes_from_the_scenario_and_the_timeline() {
        let scenario = scenario();
        let tl = run(None).build();
        let verdicts = judge(&scenario, &tl);
        let names: Vec<(&str, Option<usize>)> = verdicts.iter().map(|v| (v.check.as_str(), v.step)).collect();
        assert_eq!(
            names,
            [
                (names::NEW_LEADER, Some(2)),
                (names::TIMELINE, Some(2)),
                (names::REJOINS, Some(4)),
                (names::SINGLE_PRIMARY, None),
                (names::NO_ACKED_WRITE_LOST, None),
                (names::WRITE_AUDIT, None),
                (names::FAULTS_UNDONE, None),
            ]
        );
        assert!(verdicts.iter().all(|v| v.status == Status::Pass), "{verdicts:#?}");
        assert_eq!(verdicts[0].observed, "pg-2 running primary on tl 2 after 19.4s");
        assert_eq!(verdicts, judged_in_memory(&scenario, &tl, 61_000));
    }

    #[test]
    fn nothing_after_the_end_of_observation_counts() {
        // pg-1 rejoins only during teardown, after observation ended: not within the run.
        let late = Tl::new()
            .healthy()
            .poll(10_100, "pg-1", down())
            .event(10_200, opened(2, 10_000))
            .poll(29_400, "pg-2", primary(2))
            .event(30_000, finished(2))
            .event(35_100, opened(4, 35_000))
            .event(36_000, finished(4))
            .event(40_000, ended(None))
            .poll(50_000, "pg-1", replica(2))
            .build();
        let rejoins = judge(&scenario(), &late).into_iter().find(|v| v.check == names::REJOINS).unwrap();
        assert_eq!(rejoins.status, Status::Pending, "judged at 40s, 5s into a 60s budget: {rejoins:?}");
        assert!(rejoins.observed.contains("5.0s since the fault"), "{rejoins:?}");
    }

    #[test]
    fn a_run_error_skips_faults_undone_and_a_run_without_faults_never_has_it() {
        let failed = judge(&scenario(), &run(Some("step 4: cannot resolve old_primary")).build());
        assert!(failed.iter().all(|v| v.check != names::FAULTS_UNDONE), "{failed:#?}");
        assert_eq!(failed.len(), 5);

        let calm = parse_scenario(
            "calm.yaml",
            "name: calm\ntopology: {kind: patroni, members: 3, etcd: 3}\nsteps:\n  - wait: healthy\n    within: 90s\n\
             invariants: [single_primary]\n",
        )
        .unwrap()
        .scenario;
        let verdicts = judge(&calm, &run(None).build());
        let names: Vec<&str> = verdicts.iter().map(|v| v.check.as_str()).collect();
        assert_eq!(names, [names::SINGLE_PRIMARY], "recorded steps that are not expect steps are skipped");
    }

    #[test]
    fn an_expect_step_interrupted_while_waiting_has_no_verdicts() {
        let interrupted = Tl::new()
            .healthy()
            .poll(10_100, "pg-1", down())
            .event(10_200, opened(2, 10_000))
            .event(20_000, ended(Some("interrupted by a signal")))
            .build();
        let verdicts = judge(&scenario(), &interrupted);
        let steps: Vec<Option<usize>> = verdicts.iter().map(|v| v.step).collect();
        assert_eq!(steps, [None, None], "only the invariants: {verdicts:#?}");
    }

    #[test]
    fn a_live_snapshot_is_judged_up_to_its_last_event() {
        let tl = run(None).note(70_000).build();
        let mut live = tl.clone();
        live.events.retain(|e| !matches!(e.kind, EventKind::ObservationEnded { .. }));
        assert_eq!(observation_end(&tl), Some((61_000, None)));
        assert_eq!(observation_end(&live), None);
        assert_eq!(judge(&scenario(), &live), judged_in_memory(&scenario(), &live, 70_000));
    }

    #[test]
    fn exec_steps_are_judged_in_step_order_from_their_recorded_answer() {
        let runbook = parse_scenario(
            "runbook.yaml",
            "name: runbook\ntopology: {kind: patroni, members: 3, etcd: 1}\nsteps:\n  - wait: healthy\n    within: 90s\n  \
             - fault: kill\n    target: primary\n  - expect:\n      - new_leader: {within: 45s}\n  \
             - exec: {target: primary, command: [patronictl, list], expect_output: 'pg-2 .*Leader'}\n  \
             - expect:\n      - rejoins: {target: old_primary, within: 60s}\n  \
             - exec: {target: {member: pg-2}, command: [patronictl, failover, --candidate, pg-2, --force], within: 20s}\n",
        )
        .unwrap()
        .scenario;
        let exec = |step, exit_code, output: &str| EventKind::Exec {
            step,
            container: "pg-2".into(),
            command: vec!["patronictl".into()],
            started_at: 31_000,
            attempts: 1,
            exit_code: Some(exit_code),
            output: output.into(),
            error: None,
        };
        let tl = run(None)
            .event(32_000, exec(3, 0, "| pg-2 | 172.18.0.3 | Leader | running | 2 |\n"))
            .event(55_000, exec(5, 1, "Error: pg-2 is already the leader"))
            .build();
        let verdicts = judge(&runbook, &tl);
        let names: Vec<(&str, Option<usize>, Status)> =
            verdicts.iter().map(|v| (v.check.as_str(), v.step, v.status)).collect();
        assert_eq!(
            names,
            [
                (names::NEW_LEADER, Some(2), Status::Pass),
                (names::EXEC, Some(3), Status::Pass),
                (names::REJOINS, Some(4), Status::Pass),
                (names::EXEC, Some(5), Status::Fail),
                (names::FAULTS_UNDONE, None, Status::Pass),
            ],
            "{verdicts:#?}"
        );
        let failed = &verdicts[3].observed;
        assert!(failed.contains("exit 1, not 0") && failed.contains("«Error: pg-2 is already the leader»"), "{failed}");
    }

    #[test]
    fn the_recorded_context_is_the_context() {
        let ctx = CheckContext {
            step: 7,
            anchor: 12_345,
            now: 99,
            leader_at_anchor: Some("worker1-1".into()),
            old_primary: None,
            group: Some(1),
            highest_priority: None,
        };
        assert_eq!(CheckContext::from_event(&ctx.opened_event(), 99), Some(ctx.clone()));
        assert_eq!(CheckContext::from_event(&finished(7), 99), None);
        let json = serde_json::to_string(&crate::timeline::Event { at: 1, kind: ctx.opened_event() }).unwrap();
        assert_eq!(
            json,
            r#"{"at":1,"type":"expect_opened","step":7,"anchor":12345,"leader_at_anchor":"worker1-1","old_primary":null,"group":1}"#
        );
        let back: crate::timeline::Event = serde_json::from_str(&json).unwrap();
        assert_eq!(CheckContext::from_event(&back.kind, 99), Some(ctx));
    }

    #[test]
    fn every_check_is_named_as_the_scenario_spells_it() {
        // One expectation of each kind: the verdict's check is the scenario's key (an alert's
        // verdict adds the alert name and state).
        let all: Vec<Expectation> = serde_json::from_str(
            r#"[
                {"new_leader": {"within": "5s"}},
                {"timeline": {"increments": 1, "within": "5s"}},
                {"rejoins": {"target": "old_primary", "within": "5s"}},
                {"no_failover": {"within": "5s"}},
                {"primary_demoted": {"within": "5s"}},
                {"writable_again": {"within": "5s"}},
                {"max_write_unavailability": {"max": "5s"}},
                {"replication_streaming": {"within": "5s"}},
                {"leader_is": {"target": {"member": "pg-2"}, "within": "5s"}},
                {"pg_dist_node": {"group": 1, "within": "5s"}},
                {"write_pause": {"group": 1, "max": "5s"}},
                {"alert": {"name": "FailoverDetected", "state": "firing", "within": "5s"}}
            ]"#,
        )
        .unwrap();
        let tl = run(None).build();
        let ctx = CheckContext::from_event(&opened(2, 10_000), 61_000).unwrap();
        for exp in &all {
            let v = evaluate_expectation(exp, &tl, &ctx);
            assert_eq!(v.check.split(' ').next(), Some(crate::scenario::variant_name(exp).as_str()), "{v:?}");
        }
        for inv in &scenario().invariants {
            assert_eq!(evaluate_invariant(*inv, &tl, 61_000).check, crate::scenario::variant_name(inv));
        }
    }
}
