//! Unit tests of `monitoring::blind_spots` on synthetic samples.
use super::*;

const FAULT: UnixMillis = 1_000_000;

fn members() -> BTreeSet<String> {
    ["pg-1", "pg-2"].iter().map(|s| s.to_string()).collect()
}

fn window(until_s: u64) -> FaultWindow {
    FaultWindow {
        step: 2,
        fault: "kill".into(),
        acted_on: vec!["pg-1".into()],
        started: FAULT - 400,
        at: FAULT,
        until: FAULT + until_s * 1000,
        end: WindowEnd::RunEnd,
    }
}

/// A sample every second from `from_s` to `to_s` (relative to the fault, inclusive).
fn every_second(from_s: i64, to_s: i64) -> Vec<UnixMillis> {
    (from_s..=to_s).map(|s| (FAULT as i64 + s * 1000 - 300) as UnixMillis).collect()
}

fn series(member: &str, job: &str, times: Vec<UnixMillis>) -> (BTreeMap<String, String>, Vec<UnixMillis>) {
    let labels = BTreeMap::from([(MEMBER_LABEL.to_string(), member.to_string()), ("job".to_string(), job.to_string())]);
    (labels, times)
}

/// `patroni_postgres_running == 0` on a kill of pg-1: pg-1's series ends at the fault, pg-2's
/// goes on (its value is 1, so no ALERTS).
fn postgres_down() -> RuleSamples {
    RuleSamples {
        alert: "PostgreSQLDown".into(),
        missing: vec![],
        eval_interval_ms: 1_000,
        alerts: vec![],
        selectors: vec![SelectorSamples {
            pooled: false,
            selector: "patroni_postgres_running".into(),
            series: vec![
                series("pg-1", "patroni", every_second(-20, 0)),
                series("pg-2", "patroni", every_second(-20, 25)),
            ],
        }],
    }
}

/// PostgreSQLDown's `ALERTS` samples of pg-1 in `state`.
fn alert(state: &str, times: Vec<UnixMillis>) -> AlertSamples {
    AlertSamples {
        alert: "PostgreSQLDown".into(),
        alertstate: state.into(),
        labels: BTreeMap::from([("member".into(), "pg-1".into())]),
        times,
    }
}

fn timing() -> Timing {
    Timing::for_interval(1000)
}

#[test]
fn a_series_that_ends_at_the_fault_cannot_detect_it() {
    let finding = classify_rule(&window(25), &["pg-1".into()], &postgres_down(), timing());
    assert_eq!(
        finding,
        Finding::CannotDetect {
            stale: vec![StaleSeries {
                target: "pg-1".into(),
                selector: "patroni_postgres_running".into(),
                job: "patroni".into(),
                last_sample_ms: -300,
            }]
        }
    );
}

#[test]
fn the_report_says_why_and_names_the_remedy() {
    let spots = classify_fault(&window(25), &members(), &[postgres_down()], timing());
    assert_eq!(spots.targets, vec!["pg-1"]);
    assert_eq!(spots.window_ms, 25_000);
    let rule = &spots.rules[0];
    assert_eq!(rule.finding.name(), "cannot_detect");
    assert!(rule.reason.contains("series patroni_postgres_running of pg-1 went stale at the fault"), "{}", rule.reason);
    assert!(rule.reason.contains("never evaluated for pg-1"), "{}", rule.reason);
    assert_eq!(
        rule.remedy.as_deref(),
        Some("add a companion rule: `up{job=\"patroni\"} == 0` or `absent(patroni_postgres_running{member=\"pg-1\"})`")
    );
}

#[test]
fn a_series_still_scraped_could_have_fired() {
    let mut rule = postgres_down();
    rule.selectors[0].series[0].1 = every_second(-20, 25);
    assert_eq!(
        classify_rule(&window(25), &["pg-1".into()], &rule, timing()),
        Finding::CouldHaveFired { longest_gap_ms: 1_000, pooled_over: vec![] }
    );
    // Scrapes failing for 8s in the middle: still live, and the gap says so.
    rule.selectors[0].series[0].1.retain(|t| !(FAULT + 5_000..=FAULT + 13_000).contains(t));
    let spots = classify_fault(&window(25), &members(), &[rule], timing());
    assert_eq!(spots.rules[0].finding, Finding::CouldHaveFired { longest_gap_ms: 9_000, pooled_over: vec![] });
    assert!(spots.rules[0].reason.contains("kept being scraped (longest gap 9.0s)"), "{}", spots.rules[0].reason);
}

#[test]
fn samples_within_the_grace_after_the_fault_still_count_as_stale() {
    let mut rule = postgres_down();
    // A scrape in flight at the fault, stamped 1.7s after it (interval 1s + 1s grace).
    rule.selectors[0].series[0].1.push(FAULT + 1_700);
    let Finding::CannotDetect { stale } = classify_rule(&window(25), &["pg-1".into()], &rule, timing()) else {
        panic!("expected cannot_detect");
    };
    assert_eq!(stale[0].last_sample_ms, 1_700);
}

#[test]
fn a_frozen_member_scraped_again_just_before_its_heal_was_recorded_went_stale() {
    let mut w = window(12);
    w.end = WindowEnd::Healed;
    let mut rule = postgres_down();
    // Unpaused at +11.5s, scraped at +11.7s, FaultHealed recorded at +12s.
    rule.selectors[0].series[0].1.push(FAULT + 11_700);
    assert!(matches!(classify_rule(&w, &["pg-1".into()], &rule, timing()), Finding::CannotDetect { .. }));
}

#[test]
fn a_window_too_short_to_tell_is_not_called_stale() {
    // 3s: shorter than twice the grace (2 x 2s).
    assert_eq!(
        classify_rule(&window(3), &["pg-1".into()], &postgres_down(), timing()),
        Finding::CouldHaveFired { longest_gap_ms: 3_000, pooled_over: vec![] }
    );
}

#[test]
fn a_series_that_did_not_exist_before_the_fault_is_not_watched() {
    let mut rule = postgres_down();
    rule.selectors[0].series[0].1 = every_second(10, 25); // appears only later
    assert_eq!(classify_rule(&window(25), &["pg-1".into()], &rule, timing()), Finding::NotWatched);
}

#[test]
fn firing_and_pending_in_the_window_are_detections() {
    let mut rule = postgres_down();
    rule.alerts = vec![alert("pending", vec![FAULT + 2_000, FAULT + 3_000])];
    assert_eq!(classify_rule(&window(25), &["pg-1".into()], &rule, timing()), Finding::WentPending { after_ms: 2_000 });
    rule.alerts.push(alert("firing", vec![FAULT + 9_000]));
    assert_eq!(classify_rule(&window(25), &["pg-1".into()], &rule, timing()), Finding::Fired { after_ms: 9_000 });
}

#[test]
fn an_alert_after_the_next_fault_began_is_that_faults() {
    let mut rule = postgres_down();
    rule.alerts = vec![AlertSamples {
        alert: "PostgreSQLDown".into(),
        alertstate: "pending".into(),
        labels: BTreeMap::new(),
        times: vec![FAULT + 26_000],
    }];
    let mut w = window(25);
    assert_eq!(classify_rule(&w, &["pg-1".into()], &rule, timing()), Finding::WentPending { after_ms: 26_000 });
    w.end = WindowEnd::NextFault;
    assert!(matches!(classify_rule(&w, &["pg-1".into()], &rule, timing()), Finding::CannotDetect { .. }));
}

#[test]
fn a_pending_evaluated_just_before_the_fault_was_recorded_is_this_faults() {
    // Measured: the kill's effect was evaluated 79 ms before its FaultApplied was recorded.
    let mut rule = postgres_down();
    rule.alerts = vec![
        AlertSamples {
            alert: "PostgreSQLDown".into(),
            alertstate: "pending".into(),
            labels: BTreeMap::new(),
            times: vec![FAULT - 79, FAULT + 921, FAULT + 1_921],
        },
        AlertSamples {
            alert: "PostgreSQLDown".into(),
            alertstate: "firing".into(),
            labels: BTreeMap::new(),
            times: vec![FAULT + 5_921],
        },
    ];
    assert_eq!(classify_rule(&window(25), &["pg-1".into()], &rule, timing()), Finding::Fired { after_ms: 5_921 });
}

#[test]
fn an_instance_that_ended_before_the_fault_and_starts_again_is_this_faults() {
    // Measured: PatroniScrapeFailed of worker1-2 flapped pending during start-up, ended 5s before
    // the freeze, and fired for it.
    let mut rule = postgres_down();
    rule.alerts = vec![
        alert("pending", vec![FAULT - 8_000, FAULT - 7_000, FAULT - 6_000, FAULT + 2_000]),
        alert("firing", vec![FAULT + 8_000]),
    ];
    assert_eq!(classify_rule(&window(25), &["pg-1".into()], &rule, timing()), Finding::Fired { after_ms: 8_000 });
}

#[test]
fn a_pending_before_the_faults_step_began_is_not_its() {
    let mut rule = postgres_down();
    rule.alerts = vec![AlertSamples {
        alert: "PostgreSQLDown".into(),
        alertstate: "pending".into(),
        labels: BTreeMap::new(),
        times: vec![FAULT - 1_200, FAULT - 200],
    }];
    assert!(matches!(classify_rule(&window(25), &["pg-1".into()], &rule, timing()), Finding::CannotDetect { .. }));
}

#[test]
fn an_instance_already_active_before_the_fault_is_not_this_faults_detection() {
    let mut rule = postgres_down();
    rule.alerts = vec![AlertSamples {
        alert: "PostgreSQLDown".into(),
        alertstate: "firing".into(),
        labels: BTreeMap::from([("member".into(), "pg-2".into())]),
        times: every_second(-5, 25),
    }];
    assert!(matches!(classify_rule(&window(25), &["pg-1".into()], &rule, timing()), Finding::CannotDetect { .. }));
}

#[test]
fn a_selector_without_series_in_the_run_cannot_fire_at_all() {
    let rule = RuleSamples {
        alert: "FailoverDetected".into(),
        missing: vec!["patroni_timeline".into()],
        eval_interval_ms: 1_000,
        alerts: vec![],
        selectors: vec![SelectorSamples { selector: "patroni_timeline".into(), pooled: false, series: vec![] }],
    };
    let spots = classify_fault(&window(25), &members(), &[rule], timing());
    assert_eq!(spots.rules[0].finding, Finding::SeriesAbsent { missing: vec!["patroni_timeline".into()] });
    assert!(spots.rules[0].reason.contains("no series for patroni_timeline"), "{}", spots.rules[0].reason);
    assert_eq!(spots.rules[0].remedy, None);
}

#[test]
fn a_fault_on_etcd_reads_no_member_series() {
    let mut w = window(25);
    w.acted_on = vec!["etcd-1".into()];
    let spots = classify_fault(&w, &members(), &[postgres_down()], timing());
    assert!(spots.targets.is_empty());
    assert_eq!(spots.rules[0].finding, Finding::NotWatched);
    assert!(spots.rules[0].reason.contains("reads no series of etcd-1"), "{}", spots.rules[0].reason);
}

#[test]
fn exporter_series_get_their_job_and_many_series_of_a_member_are_one_finding() {
    let rule = RuleSamples {
        alert: "HighConnectionUsage".into(),
        missing: vec![],
        eval_interval_ms: 1_000,
        alerts: vec![],
        selectors: vec![SelectorSamples {
            pooled: false,
            selector: "pg_stat_database_numbackends".into(),
            series: vec![
                series("pg-1", "postgres-exporter", every_second(-20, 0)),
                series("pg-1", "postgres-exporter", every_second(-20, 0)),
            ],
        }],
    };
    let spots = classify_fault(&window(25), &members(), &[rule], timing());
    let Finding::CannotDetect { stale } = &spots.rules[0].finding else { panic!("{:?}", spots.rules[0]) };
    assert_eq!(stale.len(), 1);
    assert_eq!(
        spots.rules[0].remedy.as_deref(),
        Some(
            "add a companion rule: `up{job=\"postgres-exporter\"} == 0` or \
             `absent(pg_stat_database_numbackends{member=\"pg-1\"})`"
        )
    );
}

#[test]
fn windows_end_at_the_heal_the_next_fault_or_the_steps_end() {
    use crate::timeline::Event;
    let applied = |at, step: usize, fault: &str| Event {
        at,
        kind: EventKind::FaultApplied { step, fault: fault.into(), targets: vec!["pg-1".into()] },
    };
    let timeline = Timeline::from_events(vec![
        applied(1_000, 1, "freeze"),
        Event { at: 6_000, kind: EventKind::FaultHealed { step: 1, detail: "unpaused".into() } },
        applied(8_000, 3, "kill"),
        applied(20_000, 5, "start"),
        Event { at: 30_000, kind: EventKind::StepFinished { index: 6, ok: true, detail: String::new() } },
        Event { at: 31_000, kind: EventKind::FaultHealed { step: 5, detail: "at teardown".into() } },
    ]);
    let windows = fault_windows(&timeline, 100_000);
    let got: Vec<(usize, UnixMillis, UnixMillis, WindowEnd)> =
        windows.iter().map(|w| (w.step, w.at, w.until, w.end)).collect();
    assert_eq!(
        got,
        vec![
            (1, 101_000, 106_000, WindowEnd::Healed),
            (3, 108_000, 120_000, WindowEnd::NextFault),
            (5, 120_000, 130_000, WindowEnd::RunEnd),
        ]
    );
}

#[test]
fn targets_are_the_members_among_what_the_fault_recorded() {
    let acted_on: Vec<String> =
        ["pg-1 (0.5 CPUs)", "peers: pg-2", "→ pg-2", "pg-1", "etcd-1"].iter().map(|s| s.to_string()).collect();
    assert_eq!(fault_targets(&acted_on, &members()), vec!["pg-1"]);
}

#[test]
fn selectors_get_the_member_matcher() {
    assert_eq!(with_member("x", "pg-1"), "x{member=\"pg-1\"}");
    assert_eq!(with_member("x{a=\"b\"}", "pg-1"), "x{a=\"b\", member=\"pg-1\"}");
    assert_eq!(with_member("x{}", "pg-1"), "x{member=\"pg-1\"}");
}

#[test]
fn findings_serialize_tagged() {
    let json = serde_json::to_value(Finding::Fired { after_ms: 5 }).unwrap();
    assert_eq!(json, serde_json::json!({"kind": "fired", "after_ms": 5}));
    let back: Finding =
        serde_json::from_value(serde_json::json!({"kind": "could_have_fired", "longest_gap_ms": 1000})).unwrap();
    assert_eq!(back, Finding::CouldHaveFired { longest_gap_ms: 1000, pooled_over: vec![] });
}

/// `sum(patroni_primary) == 0`: the same samples, read as an aggregate over the members.
fn no_primary() -> RuleSamples {
    let mut rule = postgres_down();
    rule.alert = "NoPrimaryInCluster".into();
    rule.selectors[0].pooled = true;
    rule.selectors[0].selector = "patroni_primary".into();
    rule
}

#[test]
fn an_aggregate_over_members_still_evaluates_when_one_members_series_ends() {
    let spots = classify_fault(&window(25), &members(), &[no_primary()], timing());
    assert_eq!(spots.rules[0].finding, Finding::CouldHaveFired { longest_gap_ms: 0, pooled_over: vec!["pg-2".into()] });
    assert!(spots.rules[0].reason.contains("aggregates over members"), "{}", spots.rules[0].reason);
    assert!(spots.rules[0].remedy.is_none());
}

#[test]
fn an_aggregate_whose_every_series_ended_cannot_detect_the_fault() {
    let mut rule = no_primary();
    rule.selectors[0].series[1] = series("pg-2", "patroni", every_second(-20, 0));
    let mut both = window(25);
    both.acted_on = vec!["pg-1".into(), "pg-2".into()];
    let spots = classify_fault(&both, &members(), &[rule], timing());
    let Finding::CannotDetect { stale } = &spots.rules[0].finding else {
        panic!("expected cannot_detect, got {:?}", spots.rules[0].finding)
    };
    assert_eq!(stale.iter().map(|s| s.target.as_str()).collect::<Vec<_>>(), ["pg-1", "pg-2"]);
}

#[test]
fn an_earlier_faults_pending_ending_as_the_step_begins_does_not_hide_a_new_activation() {
    // Measured in the fault tour: the disconnect's PatroniScrapeFailed pending of worker1-2 was
    // still evaluated 1.3 s into the next step (a stop of the same member); the stop's own pending
    // began 1 s later and fired.
    let mut rule = postgres_down();
    rule.alerts = vec![
        alert("pending", vec![FAULT - 3_000, FAULT - 2_000, FAULT - 1_000, FAULT, FAULT + 4_000, FAULT + 5_000]),
        alert("firing", vec![FAULT + 10_000, FAULT + 11_000]),
    ];
    assert_eq!(classify_rule(&window(25), &["pg-1".into()], &rule, timing()), Finding::Fired { after_ms: 10_000 });
}
