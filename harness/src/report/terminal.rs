//! The terminal sink: a plain-text summary for people and CI logs. ASCII table, no colour, no
//! terminal-width detection, so it reads the same in a CI log as in a shell.
use comfy_table::{
    presets::ASCII_FULL_CONDENSED, Cell, CellAlignment, ContentArrangement, LineStyle, Table, TableStyle,
};

use super::model::RunReport;
use crate::check::{ExecRecord, Status};
use crate::timeline::EventKind;

/// Table width: wide enough for "last seen" texts of a 3-member cluster on two lines.
const TABLE_WIDTH: u16 = 120;
/// ASCII borders, no lines between rows, and a header rule with column junctions.
const STYLE: TableStyle = ASCII_FULL_CONDENSED.header_separator(LineStyle::new('+', '=', '+', '+'));

/// Renders the summary printed after a run: scenario, run id, PASSED/FAILED, the verdict table
/// (check | step | status | observed | budget), the timings and harness-usage lines and the run error if any.
/// Steps are numbered from 1, like the progress lines during the run.
pub fn render_summary(report: &RunReport) -> String {
    let mut out = String::new();
    out.push_str(&format!("scenario {} ({})\n", report.scenario, report.scenario_file));
    out.push_str(&format!("run {} started {}\n", report.run_id, report.started_at));
    if report.images.postgres_major.is_some() {
        out.push_str(&format!("images: {}\n", report.images.describe_set()));
    }
    if let Some(citus) = &report.images.citus {
        out.push_str(&format!("citus: {citus}\n"));
    }
    if let Some(from) = &report.cluster_from {
        out.push_str(&format!(
            "cluster: reused from run {} ({} drills on it before, the last {}); baseline on the timeline\n",
            from.started_by_run, from.drills_before, from.previous_scenario
        ));
    }
    let failed = report.verdicts.iter().filter(|v| v.status != Status::Pass).count();
    let result = if report.passed { "PASSED" } else { "FAILED" };
    let detail = match (report.verdicts.len(), failed, &report.error) {
        (0, _, _) => "no checks were evaluated".to_string(),
        (n, 0, None) => format!("{n} of {n} checks passed"),
        (n, 0, Some(_)) => format!("{n} of {n} checks passed, but the run stopped with an error"),
        (n, f, _) => format!("{f} of {n} checks did not pass"),
    };
    out.push_str(&format!("{result}: {detail}\n"));

    if !report.verdicts.is_empty() {
        let mut table = Table::new();
        table
            .load_style(STYLE)
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_width(TABLE_WIDTH)
            .set_header(vec!["check", "step", "status", "observed", "budget"]);
        for v in &report.verdicts {
            let step = v.step.map_or_else(|| "-".to_string(), |s| (s + 1).to_string());
            let status = match v.status {
                Status::Pass => "PASS",
                Status::Fail => "FAIL",
                Status::Pending => "PENDING",
            };
            table.add_row(vec![
                Cell::new(&v.check),
                Cell::new(step).set_alignment(CellAlignment::Right),
                Cell::new(status),
                Cell::new(&v.observed),
                Cell::new(&v.budget),
            ]);
        }
        out.push_str(&table.to_string());
        out.push('\n');
    }
    out.push_str(&render_execs(report));
    out.push_str(&render_links(report));

    let t = &report.timings;
    let h = &report.harness;
    out.push_str(&format!(
        "timings: image build {}, start {}, healthy {}, detection {}, teardown {}\n\
         harness: CPU {} user + {} system, max RSS {:.1} MiB\n",
        secs(t.image_build_ms),
        secs(t.containers_start_ms),
        t.time_to_healthy_ms.map_or_else(|| "never".to_string(), secs),
        t.detection_latency_ms.map_or_else(|| "n/a".to_string(), secs),
        secs(t.teardown_ms),
        secs(h.cpu_user_ms),
        secs(h.cpu_system_ms),
        h.max_rss_kib as f64 / 1024.0,
    ));
    if let Some(monitoring) = &report.monitoring {
        out.push_str(&render_coverage(monitoring));
    }
    if let Some(error) = &report.error {
        out.push_str(&format!("error: {error}\n"));
    }
    for note in &report.notes {
        out.push_str(&format!("note: {note}\n"));
    }
    out
}

/// One line per exec step: where the command ran and what it answered.
fn render_execs(report: &RunReport) -> String {
    let records: Vec<ExecRecord<'_>> =
        report.timeline.events.iter().filter_map(|e| ExecRecord::from_event(e.at, &e.kind)).collect();
    if records.is_empty() {
        return String::new();
    }
    let mut out = String::from("runbook commands:\n");
    for r in records {
        let answer = match (r.exit_code, r.error) {
            (_, Some(error)) => error.to_string(),
            (Some(code), None) => format!("exit {code}"),
            (None, None) => "no exit code".into(),
        };
        out.push_str(&format!(
            "  step {} in {}: `{}` → {answer} ({} attempt(s), {})\n",
            r.step + 1,
            r.container,
            crate::scenario::command_line(r.command),
            r.attempts,
            secs(r.ended_at.saturating_sub(r.started_at))
        ));
    }
    out
}

/// What link faults measured (the link before and during each one) and what their query
/// filters did.
fn render_links(report: &RunReport) -> String {
    let mut out = String::new();
    for event in &report.timeline.events {
        let line = match &event.kind {
            EventKind::LinkMeasured { step, source, destination, measured, .. } => {
                format!("  step {} {source} → {destination}: {measured}\n", step + 1)
            }
            EventKind::LinkFilterActed { step, source, destination, query, action, nth } => {
                format!("  step {} {source} → {destination}: {action} on match {nth}: {query}\n", step + 1)
            }
            _ => continue,
        };
        if out.is_empty() {
            out.push_str("link measurements:\n");
        }
        out.push_str(&line);
    }
    out
}

fn secs(ms: u64) -> String {
    format!("{:.1}s", ms as f64 / 1000.0)
}

/// The alert coverage block: what each alert did, and plainly which ones could not have fired.
fn render_coverage(monitoring: &crate::report::MonitoringSummary) -> String {
    let mut out = format!(
        "alert rules scaled by for_scale {} ({} values changed)\n",
        monitoring.for_scale,
        monitoring.scaled.len()
    );
    if let Some(error) = &monitoring.coverage_error {
        out.push_str(&format!("alert coverage unavailable: {error}\n"));
    }
    for row in &monitoring.coverage {
        let what = match row.outcome.as_str() {
            "fired" => "fired".to_string(),
            "went_pending" => "went pending, never fired".to_string(),
            "stayed_inactive" => "stayed inactive".to_string(),
            "series_absent" => format!("COULD NOT FIRE: no series for {}", row.missing.join(", ")),
            other => other.to_string(),
        };
        out.push_str(&format!("  alert {:<28} {what}  ({})\n", row.alert, row.defined_at));
    }
    out.push_str(&render_blind_spots(monitoring));
    out.push_str(&render_latency(&monitoring.alert_latency));
    for unknown in &monitoring.unknown_metrics {
        out.push_str(&format!("warning: {unknown}\n"));
    }
    if let Some(check) = &monitoring.metric_list {
        if !check.missing.is_empty() {
            out.push_str(&format!(
                "metric list STALE: {} listed metric(s) never appeared: {}\n",
                check.missing.len(),
                check.missing.join(", ")
            ));
        }
        if !check.unlisted.is_empty() {
            out.push_str(&format!(
                "metric list: {} unlisted metric(s) appeared: {}\n",
                check.unlisted.len(),
                check.unlisted.join(", ")
            ));
        }
    }
    out
}

/// Per fault step: what each rule did about it, blind spots in capitals with their remedy.
fn render_blind_spots(monitoring: &crate::report::MonitoringSummary) -> String {
    let mut out = String::new();
    if let Some(error) = &monitoring.blind_spots_error {
        out.push_str(&format!("alert blind spots unavailable: {error}\n"));
    }
    if monitoring.blind_spots.is_empty() {
        return out;
    }
    out.push_str("alert rules per fault step (can each rule see the fault?):\n");
    for spot in &monitoring.blind_spots {
        out.push_str(&format!(
            "  step {} {} {} ({} window, until {}):\n",
            spot.step + 1,
            spot.fault,
            spot.acted_on.join(", "),
            secs(spot.window_ms),
            window_end(spot.window_end)
        ));
        for rule in &spot.rules {
            let finding = rule.finding.name().replace('_', " ");
            let finding = if rule.finding.name() == "cannot_detect" { finding.to_uppercase() } else { finding };
            out.push_str(&format!("    {:<26} {finding}: {}\n", rule.alert, rule.reason));
            if let Some(remedy) = &rule.remedy {
                out.push_str(&format!("    {:<26} remedy: {remedy}\n", ""));
            }
        }
    }
    out
}

/// How a fault's window ended, in words.
pub(crate) fn window_end(end: crate::monitoring::blind_spots::WindowEnd) -> &'static str {
    use crate::monitoring::blind_spots::WindowEnd;
    match end {
        WindowEnd::Healed => "it was undone",
        WindowEnd::NextFault => "the next fault",
        WindowEnd::RunEnd => "the steps ended",
    }
}

/// One line per source: max and median of the observation latency, against the bar.
pub(crate) fn latency_lines(latency: &crate::report::AlertLatency) -> Vec<String> {
    let stats = |s: &crate::monitoring::latency::LatencyStats| {
        format!("max {}, median {} over {}", ms(s.max_ms), ms(s.median_ms), s.count)
    };
    let mut lines = Vec::new();
    if let Some(s) = &latency.prometheus_firing {
        let verdict = if latency.within_bar() { "within" } else { "OVER" };
        lines.push(format!(
            "Prometheus marked firing → timeline: {} ({verdict} the {} bar)",
            stats(s),
            ms(latency.bar_ms)
        ));
    }
    if let Some(s) = &latency.prometheus {
        lines.push(format!("every Prometheus change (pending, firing, ended): {}", stats(s)));
    }
    if let Some(s) = &latency.alertmanager_firing {
        lines.push(format!("Prometheus marked firing → seen in Alertmanager: {}", stats(s)));
    }
    if let Some(error) = &latency.error {
        lines.push(format!("not measured: {error}"));
    }
    lines
}

fn render_latency(latency: &crate::report::AlertLatency) -> String {
    let lines = latency_lines(latency);
    if lines.is_empty() {
        return String::new();
    }
    let mut out = String::from("alert observation latency:\n");
    for line in lines {
        out.push_str(&format!("  {line}\n"));
    }
    out
}

fn ms(ms: i64) -> String {
    format!("{:.2}s", ms as f64 / 1000.0)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::check::Verdict;
    use crate::report::model::{HarnessUsage, PhaseTiming, Timings, SCHEMA_VERSION};
    use crate::timeline::{Event, EventKind, MemberView, Role, Timeline, WriteOutcome};

    fn verdict(check: &str, step: Option<usize>, status: Status, observed: &str, budget: &str) -> Verdict {
        Verdict {
            check: check.into(),
            step,
            status,
            observed: observed.into(),
            budget: budget.into(),
            observed_ms: None,
            budget_ms: None,
        }
    }

    /// A failed run with one event of each shape the JSON must round-trip.
    pub(crate) fn sample() -> RunReport {
        let view = MemberView {
            reachable: true,
            role: Some(Role::Primary),
            state: Some("running".into()),
            timeline: Some(2),
            sync_standby: false,
            error: None,
        };
        let events = vec![
            Event { at: 0, kind: EventKind::Phase { name: "images".into() } },
            Event { at: 29_400, kind: EventKind::Member { member: "pg-2".into(), view, prev_seen_at: Some(29_300) } },
            Event {
                at: 29_800,
                kind: EventKind::Write {
                    id: 7,
                    writer: 1,
                    group: None,
                    txn: None,
                    sent_at: 29_790,
                    outcome: WriteOutcome::Acked { acked_at: 29_800 },
                },
            },
            Event {
                at: 60_000,
                kind: EventKind::WriteAudit { present: vec![(1, 7), (9, 12)], source: "pg-2".into(), read: None },
            },
        ];
        RunReport {
            schema_version: SCHEMA_VERSION,
            run_id: "20261123-101500-ab12".into(),
            scenario: "patroni-kill-primary".into(),
            scenario_file: "scenarios/patroni-kill-primary.yaml".into(),
            started_at: "2026-11-23T10:15:00Z".into(),
            passed: false,
            verdicts: vec![
                verdict("new_leader", Some(2), Status::Pass, "pg-2 running primary on tl 2 after 19.4s", "≤ 45s"),
                verdict(
                    "rejoins",
                    Some(4),
                    Status::Fail,
                    "pg-1 not a running or streaming replica on tl 2 within 1m 30s; last seen: pg-1 unreachable, \
                     pg-2 primary running tl 2, pg-3 replica streaming tl 2",
                    "≤ 1m 30s",
                ),
                verdict("single_primary", None, Status::Pass, "one primary at a time", "≤ 1 primary"),
            ],
            phases: vec![PhaseTiming { name: "images".into(), started_ms: 0, duration_ms: 240 }],
            timings: Timings {
                image_build_ms: 240,
                containers_start_ms: 4_500,
                time_to_healthy_ms: Some(3_100),
                detection_latency_ms: Some(19_400),
                teardown_ms: 1_250,
            },
            harness: HarnessUsage { cpu_user_ms: 830, cpu_system_ms: 210, max_rss_kib: 24_680 },
            error: Some("step 5 (wait healthy) timed out after 1m: pg-1 unreachable".into()),
            notes: vec!["containers kept (--keep)".into()],
            monitoring: None,
            images: Default::default(),
            configuration: Vec::new(),
            dynamic_configuration: None,
            cluster_from: None,
            timeline: Timeline::from_events(events),
        }
    }

    #[test]
    fn a_reused_cluster_is_named_in_the_summary() {
        let origin = crate::timeline::ClusterOrigin {
            started_by_run: "20261203-115738-5f5151a5".into(),
            started_by_scenario: "citus-worker-switchover".into(),
            previous_run: "20261203-115803-01876387".into(),
            previous_scenario: "citus-two-workers-switchover".into(),
            drills_before: 2,
        };
        let text = render_summary(&RunReport { cluster_from: Some(origin), ..sample() });
        assert!(
            text.lines().any(|l| l
                == "cluster: reused from run 20261203-115738-5f5151a5 (2 drills on it before, the last \
                    citus-two-workers-switchover); baseline on the timeline"),
            "{text}"
        );
        assert!(!render_summary(&sample()).contains("cluster: reused"));
    }

    #[test]
    fn summary_has_the_key_content() {
        let text = render_summary(&sample());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "scenario patroni-kill-primary (scenarios/patroni-kill-primary.yaml)");
        assert_eq!(lines[1], "run 20261123-101500-ab12 started 2026-11-23T10:15:00Z");
        assert_eq!(lines[2], "FAILED: 1 of 3 checks did not pass");
        assert!(lines[5].starts_with("+====="), "{text}");
        assert!(
            lines[4].contains("| check") && lines[4].contains("| observed") && lines[4].contains("| budget"),
            "{text}"
        );
        let row = |check: &str| {
            *lines.iter().find(|l| l.starts_with(&format!("| {check} "))).unwrap_or_else(|| panic!("{text}"))
        };
        assert!(row("new_leader").contains("|    3 | PASS "), "{text}");
        assert!(row("new_leader").contains("pg-2 running primary on tl 2 after 19.4s"), "{text}");
        assert!(row("rejoins").contains("| FAIL "), "{text}");
        assert!(row("single_primary").contains("|    - | PASS "), "{text}");
        assert!(
            text.contains(
                "timings: image build 0.2s, start 4.5s, healthy 3.1s, detection 19.4s, teardown 1.2s\n\
             harness: CPU 0.8s user + 0.2s system, max RSS 24.1 MiB\n"
            ),
            "{text}"
        );
        assert!(text.contains("error: step 5 (wait healthy) timed out after 1m: pg-1 unreachable\n"), "{text}");
        assert!(text.ends_with("note: containers kept (--keep)\n"), "{text}");
        for line in &lines {
            assert!(line.chars().count() <= usize::from(TABLE_WIDTH), "too wide: {line}");
        }
    }

    #[test]
    fn exec_steps_are_listed_with_their_answers() {
        let mut report = sample();
        let exec = |step, exit_code, error: Option<&str>| EventKind::Exec {
            step,
            container: "pg-2".into(),
            command: vec!["patronictl".into(), "failover".into(), "--candidate".into(), "pg 2".into()],
            started_at: 30_000,
            attempts: 3,
            exit_code,
            output: "Current cluster topology".into(),
            error: error.map(str::to_string),
        };
        report.timeline.events.push(Event { at: 32_500, kind: exec(3, Some(0), None) });
        report.timeline.events.push(Event { at: 40_000, kind: exec(5, None, Some("timed out after 10.0s")) });
        let text = render_summary(&report);
        assert!(
            text.contains(
                "runbook commands:\n  step 4 in pg-2: `patronictl failover --candidate 'pg 2'` → exit 0 (3 attempt(s), 2.5s)\n  \
                 step 6 in pg-2: `patronictl failover --candidate 'pg 2'` → timed out after 10.0s (3 attempt(s), 10.0s)\n"
            ),
            "{text}"
        );
        assert!(!render_summary(&sample()).contains("runbook commands"));
    }

    #[test]
    fn link_measurements_are_listed_and_round_trip() {
        let mut report = sample();
        report.timeline.events.push(Event {
            at: 15_500,
            kind: EventKind::LinkMeasured {
                step: 1,
                source: "pg-2".into(),
                destination: "pg-1:5432".into(),
                toxic: "latency 300 ms ± 100 ms".into(),
                before_ms: 4.0,
                during_ms: 257.0,
                measured: "round trip 4.0 ms → 257.0 ms (+253.0 ms, median of 5)".into(),
            },
        });
        report.timeline.events.push(Event {
            at: 16_000,
            kind: EventKind::LinkFilterActed {
                step: 2,
                source: "coord-1".into(),
                destination: "worker1-1:5432".into(),
                query: "PREPARE TRANSACTION 'citus_0_1'".into(),
                action: "kill".into(),
                nth: 1,
            },
        });
        let text = render_summary(&report);
        assert!(
            text.contains(
                "link measurements:\n  step 2 pg-2 → pg-1:5432: round trip 4.0 ms → 257.0 ms (+253.0 ms, median of 5)\n  \
                 step 3 coord-1 → worker1-1:5432: kill on match 1: PREPARE TRANSACTION 'citus_0_1'\n"
            ),
            "{text}"
        );
        let json = serde_json::to_string(&report).unwrap();
        let back: RunReport = serde_json::from_str(&json).unwrap();
        assert_eq!(back.timeline.events.last().map(|e| &e.kind), report.timeline.events.last().map(|e| &e.kind));
        assert!(!render_summary(&sample()).contains("link measurements"));
    }

    #[test]
    fn blind_spots_print_per_fault_step_with_the_remedy() {
        use crate::monitoring::blind_spots::{FaultBlindSpots, Finding, RuleAtFault, WindowEnd};
        let monitoring = crate::report::MonitoringSummary {
            blind_spots: vec![FaultBlindSpots {
                step: 2,
                fault: "kill".into(),
                acted_on: vec!["pg-1".into()],
                targets: vec!["pg-1".into()],
                window_ms: 14_600,
                window_end: WindowEnd::RunEnd,
                rules: vec![
                    RuleAtFault {
                        alert: "PostgreSQLDown".into(),
                        finding: Finding::CannotDetect { stale: vec![] },
                        reason: "its series went stale".into(),
                        remedy: Some("add a companion rule: `up{job=\"patroni\"} == 0`".into()),
                    },
                    RuleAtFault {
                        alert: "PatroniScrapeFailed".into(),
                        finding: Finding::Fired { after_ms: 6_000 },
                        reason: "6.0s after the fault".into(),
                        remedy: None,
                    },
                ],
            }],
            ..Default::default()
        };
        let text = render_summary(&RunReport { monitoring: Some(monitoring), ..sample() });
        assert!(
            text.contains(
                "  step 3 kill pg-1 (14.6s window, until the steps ended):\n    PostgreSQLDown             CANNOT DETECT: \
                 its series went stale\n                               remedy: add a companion rule: `up{job=\"patroni\"} == 0`\n    \
                 PatroniScrapeFailed        fired: 6.0s after the fault\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn passed_run_without_detection() {
        let mut report = sample();
        report.passed = true;
        report.error = None;
        report.notes.clear();
        report.verdicts.retain(|v| v.status == Status::Pass);
        report.timings.detection_latency_ms = None;
        let text = render_summary(&report);
        assert!(text.contains("PASSED: 2 of 2 checks passed\n"), "{text}");
        assert!(text.contains("detection n/a"), "{text}");
        assert!(!text.contains("error:"), "{text}");
    }
}

#[cfg(test)]
mod latency_tests {
    use super::*;
    use crate::monitoring::latency::{LatencyRow, MarkedBy};
    use crate::report::AlertLatency;

    fn row(source: &str, state: &str, latency_ms: i64) -> LatencyRow {
        LatencyRow {
            at_ms: 0,
            alert: "HighReplicationLag".into(),
            instance: "pod=pg-1".into(),
            source: source.into(),
            state: state.into(),
            marked_unix_ms: 1_000,
            seen_unix_ms: 1_000 + latency_ms as u64,
            latency_ms,
            marked_by: MarkedBy::FirstFiringSample,
        }
    }

    #[test]
    fn latency_lines_summarise_each_source_against_the_bar() {
        let rows = vec![
            row("prometheus", "pending", 90),
            row("prometheus", "firing", 250),
            row("prometheus", "firing", 120),
            row("alertmanager", "firing", 300),
        ];
        let latency = AlertLatency::from_rows(rows, 1000);
        assert!(latency.within_bar());
        assert_eq!(
            latency_lines(&latency),
            [
                "Prometheus marked firing → timeline: max 0.25s, median 0.12s over 2 (within the 1.00s bar)",
                "every Prometheus change (pending, firing, ended): max 0.25s, median 0.12s over 3",
                "Prometheus marked firing → seen in Alertmanager: max 0.30s, median 0.30s over 1",
            ]
        );
        let slow = AlertLatency::from_rows(vec![row("prometheus", "firing", 1500)], 1000);
        assert!(!slow.within_bar());
        assert!(latency_lines(&slow)[0].ends_with("(OVER the 1.00s bar)"), "{:?}", latency_lines(&slow));
        assert!(latency_lines(&AlertLatency::default()).is_empty(), "no changes, no lines");
    }
}
