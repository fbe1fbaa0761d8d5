//! Judging a recorded run again: the verdicts [`judge`] derives from a report's timeline and the
//! scenario, set beside the verdicts the run recorded. A difference means a verdict depended on
//! something the timeline does not hold (or the scenario file changed since the run).
use super::case_names::case_names;
use super::model::RunReport;
use crate::check::{judge, observation_end, Status, Verdict};
use crate::scenario::Scenario;

/// One verdict, as recorded and as judged again, paired by [`case_names`] (`new_leader@4`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejudgedVerdict {
    /// The verdict's case name, e.g. `rejoins@6` or `rejoins@6#2` for the second of a step.
    pub name: String,
    /// What the run recorded; `None` when only judging again found this verdict.
    pub recorded: Option<Verdict>,
    /// What judging again found; `None` when only the run recorded this verdict.
    pub rejudged: Option<Verdict>,
}

impl RejudgedVerdict {
    /// Recorded and judged again, identically (status, texts and numbers).
    pub fn matches(&self) -> bool {
        self.recorded.is_some() && self.recorded == self.rejudged
    }
}

/// A run judged again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejudgement {
    /// Every verdict of either side: the recorded ones in report order, then those only judging
    /// again found.
    pub verdicts: Vec<RejudgedVerdict>,
    /// Why verdicts may differ, found before comparing (a scenario of another name, a timeline
    /// without the records checks need).
    pub warnings: Vec<String>,
}

impl Rejudgement {
    /// Whether every verdict matches (also true for a run without verdicts on either side).
    pub fn all_match(&self) -> bool {
        self.verdicts.iter().all(RejudgedVerdict::matches)
    }

    /// How many verdicts do not match.
    pub fn mismatches(&self) -> usize {
        self.verdicts.iter().filter(|v| !v.matches()).count()
    }
}

/// Judges `report`'s timeline again against `scenario` and pairs the result with the recorded
/// verdicts.
pub fn rejudge(report: &RunReport, scenario: &Scenario) -> Rejudgement {
    let mut warnings = Vec::new();
    if scenario.name != report.scenario {
        warnings.push(format!("the run was of scenario {}, the scenario file is {}", report.scenario, scenario.name));
    }
    if observation_end(&report.timeline).is_none() {
        warnings.push(
            "the timeline does not record the end of observation: written by a pgdrill that did not record \
             what checks need, or cut short; judged up to its last event"
                .to_string(),
        );
    }
    let rejudged = judge(scenario, &report.timeline);
    let mut others: Vec<(String, Verdict)> = case_names(&rejudged).into_iter().zip(rejudged).collect();
    let mut verdicts: Vec<RejudgedVerdict> = case_names(&report.verdicts)
        .into_iter()
        .zip(&report.verdicts)
        .map(|(name, recorded)| {
            let rejudged = others.iter().position(|(n, _)| *n == name).map(|i| others.remove(i).1);
            RejudgedVerdict { name, recorded: Some(recorded.clone()), rejudged }
        })
        .collect();
    verdicts.extend(others.into_iter().map(|(name, v)| RejudgedVerdict { name, recorded: None, rejudged: Some(v) }));
    Rejudgement { verdicts, warnings }
}

/// One line per verdict (`match` or what differs, with both sides), then a total line:
///
/// ```text
/// match     new_leader@4   PASS  pg-2 running primary on tl 2 after 19.4s
/// MISMATCH  rejoins@6
///   recorded: PASS  pg-1 replica streaming tl 2 after 8.4s (≤ 1m; observed 8400 ms, budget 60000 ms)
///   rejudged: FAIL  ...
/// rejudged: 1 of 2 verdicts differ from the recorded ones
/// ```
pub fn render_rejudgement(rejudgement: &Rejudgement) -> String {
    let mut out = String::new();
    for warning in &rejudgement.warnings {
        out.push_str(&format!("warning: {warning}\n"));
    }
    let width = rejudgement.verdicts.iter().map(|v| v.name.chars().count()).max().unwrap_or(0);
    for v in &rejudgement.verdicts {
        match (&v.recorded, &v.rejudged) {
            (Some(recorded), Some(_)) if v.matches() => out.push_str(&format!(
                "{:<9} {:width$}  {:4}  {}\n",
                "match",
                v.name,
                status(recorded.status),
                recorded.observed
            )),
            (recorded, rejudged) => {
                let (label, note) = match (recorded, rejudged) {
                    (Some(_), None) => ("MISSING", " (recorded, not found judging again)"),
                    (None, _) => ("EXTRA", " (found judging again, not recorded)"),
                    _ => ("MISMATCH", ""),
                };
                out.push_str(&format!("{label:<9} {}{note}\n", v.name));
                for (side, verdict) in [("recorded", recorded), ("rejudged", rejudged)] {
                    if let Some(verdict) = verdict {
                        out.push_str(&format!("  {side}: {}\n", describe(verdict)));
                    }
                }
            }
        }
    }
    let total = rejudgement.verdicts.len();
    let summary = match rejudgement.mismatches() {
        0 if total == 0 => "no verdicts, recorded or judged again".to_string(),
        0 => format!("all {total} verdicts match the recorded ones"),
        n => format!("{n} of {total} verdicts differ from the recorded ones"),
    };
    out.push_str(&format!("rejudged: {summary}\n"));
    out
}

fn status(status: Status) -> &'static str {
    match status {
        Status::Pass => "PASS",
        Status::Fail => "FAIL",
        Status::Pending => "PENDING",
    }
}

/// Everything a verdict holds, so that any difference shows.
fn describe(v: &Verdict) -> String {
    let ms = |ms: Option<u64>| ms.map_or_else(|| "-".to_string(), |ms| format!("{ms} ms"));
    format!(
        "{:4}  {} ({}; observed {}, budget {})",
        status(v.status),
        v.observed,
        v.budget,
        ms(v.observed_ms),
        ms(v.budget_ms)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::testkit::*;
    use crate::check::CheckContext;
    use crate::report::{read_json, write_json, SCHEMA_VERSION};
    use crate::scenario::parse_scenario;
    use crate::timeline::{DistNodeRow, EventKind, Timeline};

    const SCENARIO: &str = "\
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
      - writable_again: {within: 45s}
  - fault: start
    target: old_primary
  - expect:
      - rejoins: {target: old_primary, within: 60s}
invariants: [single_primary, no_acked_write_lost]
";

    fn scenario() -> Scenario {
        parse_scenario("kill-primary.yaml", SCENARIO).unwrap().scenario
    }

    fn opened(step: usize, anchor: u64) -> EventKind {
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
        EventKind::StepFinished { index, ok: true, detail: "done".into() }
    }

    /// A kill-primary run with events of most shapes the JSON holds.
    fn timeline() -> Timeline {
        let audit = |container: &str, status: &str, rules| EventKind::ContainerAudit {
            container: container.into(),
            status: status.into(),
            on_network: true,
            iptables_rules: rules,
        };
        Tl::new()
            .event(0, EventKind::Phase { name: "steps".into() })
            .healthy()
            .acked(9_000, 1)
            .failed(10_150, 2)
            .poll(10_100, "pg-1", down())
            .event(10_000, EventKind::FaultApplied { step: 1, fault: "kill".into(), targets: vec!["pg-1".into()] })
            .event(10_200, opened(2, 10_000))
            .poll(29_400, "pg-2", primary(2))
            .acked(29_800, 3)
            .poll(30_000, "pg-3", replica(2))
            .event(30_100, finished(2))
            .event(35_100, opened(4, 35_000))
            .poll(50_000, "pg-1", replica(2))
            .event(50_100, finished(4))
            .event(
                50_200,
                EventKind::DistNodes {
                    source: "pg-2".into(),
                    rows: vec![DistNodeRow {
                        group: 0,
                        node: "pg-2".into(),
                        port: 5432,
                        role: "x".into(),
                        active: true,
                    }],
                },
            )
            .event(60_000, audit("pg-1", "running", Some(0)))
            .event(60_000, audit("etcd-1", "exited", None))
            .leader_audit(60_500, &[(1, 1), (3, 3)])
            .event(61_000, EventKind::ObservationEnded { run_error: None })
            .event(62_000, EventKind::Phase { name: "teardown".into() })
            .build()
    }

    fn report(timeline: Timeline, verdicts: Vec<Verdict>) -> RunReport {
        RunReport {
            schema_version: SCHEMA_VERSION,
            run_id: "20261201-101500-ab12".into(),
            scenario: "kill-primary".into(),
            scenario_file: "kill-primary.yaml".into(),
            started_at: "2026-12-01T10:15:00Z".into(),
            passed: true,
            verdicts,
            phases: Vec::new(),
            timings: Default::default(),
            harness: Default::default(),
            error: None,
            notes: Vec::new(),
            monitoring: None,
            images: Default::default(),
            configuration: Vec::new(),
            dynamic_configuration: None,
            cluster_from: None,
            timeline,
        }
    }

    #[test]
    fn a_report_read_back_from_its_file_rejudges_identically() {
        let tl = timeline();
        let verdicts = judge(&scenario(), &tl);
        assert_eq!(verdicts.len(), 8, "{verdicts:#?}");
        let dir = std::env::temp_dir().join(format!("pgdrill-rejudge-{}", std::process::id()));
        let written = report(tl, verdicts);
        let path = write_json(&written, &dir).unwrap();
        let back = read_json(&path).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(back, written, "the timeline survives the file unchanged");
        let rejudgement = rejudge(&back, &scenario());
        assert!(rejudgement.all_match(), "{}", render_rejudgement(&rejudgement));
        assert!(rejudgement.warnings.is_empty(), "{:?}", rejudgement.warnings);
        let text = render_rejudgement(&rejudgement);
        let line = text.lines().find(|l| l.starts_with("match     new_leader@3 ")).unwrap_or_default();
        assert!(line.ends_with("  PASS  pg-2 running primary on tl 2 after 19.4s"), "{text}");
        assert!(text.ends_with("rejudged: all 8 verdicts match the recorded ones\n"), "{text}");
    }

    #[test]
    fn differences_missing_and_extra_verdicts_are_each_named() {
        let tl = timeline();
        let mut verdicts = judge(&scenario(), &tl);
        verdicts[0].observed_ms = Some(1);
        let rejoins = verdicts.remove(3);
        assert_eq!(rejoins.check, crate::check::names::REJOINS);
        verdicts.push(Verdict { check: "made_up".into(), ..rejoins });
        let rejudgement = rejudge(&report(tl, verdicts), &scenario());
        assert!(!rejudgement.all_match());
        assert_eq!(rejudgement.mismatches(), 3);
        let text = render_rejudgement(&rejudgement);
        assert!(text.contains("MISMATCH  new_leader@3\n"), "{text}");
        assert!(
            text.contains("  recorded: PASS  pg-2 running primary on tl 2 after 19.4s (≤ 45s; observed 1 ms"),
            "{text}"
        );
        assert!(
            text.contains("  rejudged: PASS  pg-2 running primary on tl 2 after 19.4s (≤ 45s; observed 19400 ms"),
            "{text}"
        );
        assert!(text.contains("MISSING   made_up@5 (recorded, not found judging again)\n"), "{text}");
        assert!(text.contains("EXTRA     rejoins@5 (found judging again, not recorded)\n"), "{text}");
        assert!(text.ends_with("rejudged: 3 of 9 verdicts differ from the recorded ones\n"), "{text}");
    }

    #[test]
    fn an_old_report_or_another_scenario_is_warned_about() {
        let mut tl = timeline();
        let verdicts = judge(&scenario(), &tl);
        tl.events.retain(|e| !matches!(e.kind, EventKind::ExpectOpened { .. } | EventKind::ObservationEnded { .. }));
        let mut old = report(tl, verdicts);
        old.scenario = "something-else".into();
        let rejudgement = rejudge(&old, &scenario());
        assert_eq!(rejudgement.warnings.len(), 2, "{:?}", rejudgement.warnings);
        assert!(rejudgement.warnings[0].contains("scenario something-else"), "{:?}", rejudgement.warnings);
        assert!(!rejudgement.all_match(), "the expect steps' verdicts cannot be found without their records");
    }
}
