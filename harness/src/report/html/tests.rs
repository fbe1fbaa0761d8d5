use super::coverage::coverage;
use super::ctx::Ctx;
use super::geometry::Lane;
use super::member_lanes::member_lanes;
use super::svg::{axis_label, tick_step};
use super::workload_lanes::workload_lanes;
use super::{render_html, render_suite_index, SuiteRun};
use crate::check::{Status, Verdict};
use crate::report::model::{MonitoringSummary, RunReport};
use crate::report::terminal::tests::sample;
use crate::timeline::{Event, EventKind, MemberView, Millis, Role, Timeline, WriteOutcome};

/// A 10-minute run: member flaps every 30 s, writes at 100/s, a fault a minute.
fn long_run() -> RunReport {
    let mut events = Vec::new();
    let view = |role, state: &str| MemberView {
        reachable: true,
        role: Some(role),
        state: Some(state.into()),
        timeline: Some(1),
        sync_standby: false,
        error: None,
    };
    for (i, t) in (0..600_000u64).step_by(30_000).enumerate() {
        for m in 1..=3 {
            let role = if (i + m) % 3 == 0 { Role::Primary } else { Role::Replica };
            let kind = EventKind::Member {
                member: format!("pg-{m}"),
                view: view(role, "running"),
                prev_seen_at: t.checked_sub(100),
            };
            events.push(Event { at: t + m as u64, kind });
        }
        if i % 2 == 0 {
            let kind = EventKind::FaultApplied { step: i, fault: "kill".into(), targets: vec!["pg-1".into()] };
            events.push(Event { at: t + 10, kind });
        }
    }
    for n in 0..60_000u64 {
        let sent = n * 10;
        let outcome = if n % 7 == 0 {
            WriteOutcome::Failed { failed_at: sent + 4, error: "connection reset".into() }
        } else {
            WriteOutcome::Acked { acked_at: sent + 2 }
        };
        events.push(Event {
            at: sent + 4,
            kind: EventKind::Write { id: n, writer: 0, group: None, txn: None, sent_at: sent, outcome },
        });
    }
    events.sort_by_key(|e| e.at);
    RunReport { timeline: Timeline::from_events(events), ..sample() }
}

#[test]
fn a_ten_minute_run_stays_under_a_megabyte() {
    let html = render_html(&long_run());
    assert!(html.len() < 1_000_000, "report.html of a 10-minute run is {} bytes", html.len());
    eprintln!("report.html of a 10-minute run: {} bytes", html.len());
    // One bar per 500 ms bucket, not one element per write.
    let bars = html.matches("<rect class=\"ack\"").count();
    assert!((1_100..=1_201).contains(&bars), "{bars} acked bars");
}

#[test]
fn a_flapping_member_costs_at_most_one_span_per_pixel() {
    let mut report = long_run();
    let mut flaps: Vec<Event> = (0..6_000u64)
        .map(|i| Event {
            at: i * 100 + 50,
            kind: EventKind::Member {
                member: "pg-9".into(),
                view: MemberView {
                    reachable: i % 2 == 0,
                    role: Some(Role::Replica),
                    state: Some("streaming".into()),
                    timeline: Some(1),
                    sync_standby: false,
                    error: None,
                },
                prev_seen_at: Some(i * 100),
            },
        })
        .collect();
    report.timeline.events.append(&mut flaps);
    report.timeline.events.sort_by_key(|e| e.at);
    let html = render_html(&report);
    let lane = html.split("data-name=\"pg-9\"").nth(1).unwrap().split("</g>").next().unwrap();
    let rects = lane.matches("<rect").count();
    assert!(rects <= 1_001, "{rects} rects for one member lane");
    assert!(html.len() < 1_000_000, "{} bytes", html.len());
}

#[test]
fn every_lane_type_is_drawn() {
    let html = render_html(&long_run());
    for lane in ["faults", "workload"] {
        assert!(html.contains(&format!("data-kind=\"{lane}\"")), "no {lane} lane");
    }
    for member in ["pg-1", "pg-2", "pg-3"] {
        assert!(html.contains(&format!("data-kind=\"member\" data-name=\"{member}\"")), "no lane for {member}");
    }
    assert!(html.contains("<text class=\"pause-label\""), "the longest pause is not marked");
}

fn member(at: Millis, name: &str, role: Role) -> Event {
    let view = MemberView {
        reachable: true,
        role: Some(role),
        state: Some("running".into()),
        timeline: Some(1),
        sync_standby: false,
        error: None,
    };
    Event { at, kind: EventKind::Member { member: name.into(), view, prev_seen_at: None } }
}

#[test]
fn citus_members_are_grouped_under_a_header_per_group() {
    let events = ["worker2-1", "coord-2", "worker1-1", "coord-1", "worker10-1", "worker1-2"]
        .iter()
        .map(|m| member(1_000, m, Role::Replica))
        .collect();
    let report = RunReport { timeline: Timeline::from_events(events), ..sample() };
    let lanes = member_lanes(&Ctx::new(&report));
    let order: Vec<(&str, &str)> = lanes.iter().map(|l| (l.kind, l.name.as_str())).collect();
    assert_eq!(
        order,
        [
            ("group", "coordinator (group 0)"),
            ("member", "coord-1"),
            ("member", "coord-2"),
            ("group", "worker group 1"),
            ("member", "worker1-1"),
            ("member", "worker1-2"),
            ("group", "worker group 2"),
            ("member", "worker2-1"),
            ("group", "worker group 10"),
            ("member", "worker10-1"),
        ]
    );
    assert!(!lanes[0].background);
    assert_eq!(lanes[3].texts[0].text, "worker1-1 · worker1-2");
}

#[test]
fn plain_members_get_no_group_headers() {
    let lanes = member_lanes(&Ctx::new(&long_run()));
    assert_eq!(lanes.iter().map(|l| l.kind).collect::<Vec<_>>(), ["member"; 3]);
}

#[test]
fn writes_with_groups_get_a_lane_per_group_with_its_own_pause() {
    // Groups 1 and 2 write every 10 ms for 30 s; group 1 pauses from 10 s to 13 s.
    let mut events = Vec::new();
    for n in 0..6_000u64 {
        let (group, sent) = (1 + (n % 2) as u32, n / 2 * 10);
        if group == 1 && (10_000..13_000).contains(&sent) {
            continue;
        }
        let outcome = WriteOutcome::Acked { acked_at: sent + 2 };
        let kind = EventKind::Write { id: n, writer: group, txn: None, group: Some(group), sent_at: sent, outcome };
        events.push(Event { at: sent + 2, kind });
    }
    let report = RunReport { timeline: Timeline::from_events(events), ..sample() };
    let lanes = workload_lanes(&Ctx::new(&report));
    let names: Vec<(&str, &str)> = lanes.iter().map(|l| (l.kind, l.name.as_str())).collect();
    assert_eq!(
        names,
        [("workload", "writes / 500 ms"), ("group-workload", "group 1 writes"), ("group-workload", "group 2 writes")]
    );
    let pause = |lane: &Lane| lane.rects.iter().find(|r| r.class == "pause").and_then(|r| r.title.clone());
    assert_eq!(pause(&lanes[1]).unwrap(), "group 1: longest pause 3.0s (10.0s–13.0s)");
    // Group 2 never paused beyond its 10 ms rhythm, so neither did the global lane.
    assert!(pause(&lanes[2]).unwrap().starts_with("group 2: longest pause 10 ms"), "{:?}", pause(&lanes[2]));
    assert!(pause(&lanes[0]).unwrap().starts_with("longest pause 10 ms"), "{:?}", pause(&lanes[0]));
    // Only the global pause is a guide across every lane.
    assert_eq!(lanes.iter().map(|l| l.guides.len()).collect::<Vec<_>>(), [1, 0, 0]);
    assert_eq!(lanes[1].detail, "2700 acked, 0 failed");
}

#[test]
fn the_coverage_matrix_has_one_mark_per_alert() {
    use crate::report::model::CoverageRow;
    let row = |alert: &str, outcome: &str, missing: &[&str]| CoverageRow {
        alert: alert.into(),
        defined_at: "rules.yaml:10".into(),
        outcome: outcome.into(),
        missing: missing.iter().map(|m| m.to_string()).collect(),
    };
    let monitoring = MonitoringSummary {
        for_scale: 0.1,
        scaled: vec!["FailoverDetected for: 1m → 6s (rules.yaml:52)".into()],
        coverage: vec![
            row("FailoverDetected", "fired", &[]),
            row("ReplicationLag", "went_pending", &[]),
            row("DiskFull", "stayed_inactive", &[]),
            row("CitusWorkerDown", "series_absent", &["citus_worker_nodes_is_active"]),
            row("Future", "exploded", &[]),
        ],
        coverage_error: None,
        ..MonitoringSummary::default()
    };
    let (rows, scaling) = coverage(Some(&monitoring));
    let marks: Vec<[bool; 4]> = rows.iter().map(|r| r.cells).collect();
    assert_eq!(
        marks,
        [
            [true, false, false, false],
            [false, true, false, false],
            [false, false, true, false],
            [false, false, false, true],
            [false; 4]
        ]
    );
    assert_eq!(rows[3].detail, "no series: citus_worker_nodes_is_active");
    assert_eq!(rows[4].detail, "outcome: exploded");
    assert!(scaling.contains("for_scale 0.1") && scaling.contains("(1 value changed)"), "{scaling}");

    let html = render_html(&RunReport { monitoring: Some(monitoring), ..sample() });
    let table = html.split("<table class=\"coverage\" id=\"coverage\">").nth(1).unwrap();
    assert_eq!(table.split("</table>").next().unwrap().matches('●').count(), 4);
    assert!(html.contains("<li>FailoverDetected for: 1m → 6s (rules.yaml:52)</li>"), "{html}");
    assert!(!render_html(&sample()).contains("Alert coverage"));
}

/// Blind spots of two rules on a kill: one column per fault step, ✕ where the rule cannot detect
/// it, and the remedy listed under the matrix.
fn blind_spots() -> Vec<crate::monitoring::blind_spots::FaultBlindSpots> {
    use crate::monitoring::blind_spots::{FaultBlindSpots, Finding, RuleAtFault, StaleSeries, WindowEnd};
    let rule = |alert: &str, finding: Finding, remedy: Option<&str>| RuleAtFault {
        alert: alert.into(),
        reason: format!("reason of {alert}"),
        finding,
        remedy: remedy.map(String::from),
    };
    let stale = StaleSeries {
        target: "pg-1".into(),
        selector: "patroni_postgres_running".into(),
        job: "patroni".into(),
        last_sample_ms: -400,
    };
    vec![FaultBlindSpots {
        step: 2,
        fault: "kill".into(),
        acted_on: vec!["pg-1".into()],
        targets: vec!["pg-1".into()],
        window_ms: 20_000,
        window_end: WindowEnd::RunEnd,
        rules: vec![
            rule(
                "PostgreSQLDown",
                Finding::CannotDetect { stale: vec![stale] },
                Some("add `up{job=\"patroni\"} == 0`"),
            ),
            rule("PatroniScrapeFailed", Finding::Fired { after_ms: 7_000 }, None),
            rule("FailoverDetected", Finding::SeriesAbsent { missing: vec!["patroni_timeline".into()] }, None),
        ],
    }]
}

#[test]
fn the_fault_matrix_marks_blind_spots_and_names_the_remedy() {
    let monitoring = MonitoringSummary { blind_spots: blind_spots(), ..MonitoringSummary::default() };
    let html = render_html(&RunReport { monitoring: Some(monitoring), ..sample() });
    let matrix = html.split("id=\"fault-matrix\">").nth(1).unwrap().split("</table>").next().unwrap();
    assert!(matrix.contains("<th>step 3: kill pg-1</th>"), "{matrix}");
    assert!(
        matrix.contains("<tr><td>PostgreSQLDown</td><td class=\"cell m-blind\" title=\"cannot detect: its series for the target went stale at the fault: reason of PostgreSQLDown\">✕</td></tr>"),
        "{matrix}"
    );
    assert!(matrix.contains("<td>PatroniScrapeFailed</td><td class=\"cell m-fired\""), "{matrix}");
    assert!(matrix.contains("<td>FailoverDetected</td><td class=\"cell m-absent\""), "{matrix}");
    assert!(
        html.contains("<li>PostgreSQLDown cannot detect step 3 (kill pg-1): reason of PostgreSQLDown; add `up{job=&#34;patroni&#34;} == 0`</li>")
            || html.contains("<li>PostgreSQLDown cannot detect step 3 (kill pg-1): reason of PostgreSQLDown; add `up{job=&quot;patroni&quot;} == 0`</li>"),
        "{html}"
    );
    assert!(!render_html(&sample()).contains("id=\"fault-matrix\""));
}

#[test]
fn the_suite_index_has_the_matrix_of_every_run() {
    let monitoring = MonitoringSummary { blind_spots: blind_spots(), ..MonitoringSummary::default() };
    let report = RunReport { monitoring: Some(monitoring), scenario: "kill-drill".into(), ..sample() };
    let runs = [crate::report::SuiteRun {
        scenario_file: "kill.yaml".into(),
        report: Some(&report),
        href: None,
        problem: None,
        versus_previous: String::new(),
    }];
    let html = crate::report::render_suite_index("seed 000", &runs);
    assert!(html.contains("<th>kill-drill step 3: kill pg-1</th>"), "{html}");
    assert_eq!(html.matches("class=\"cell m-blind\"").count(), 1, "{html}");
}

#[test]
fn the_page_has_the_header_and_the_verdicts() {
    let html = render_html(&sample());
    assert!(html.contains("<span class=\"badge failed\" id=\"result\">FAILED</span>"), "{html}");
    assert!(html.contains("<p class=\"sub\">1 of 3 checks did not pass</p>"), "{html}");
    assert!(html.contains("<td>rejoins</td><td class=\"num\">5</td><td class=\"status\">FAIL</td>"), "{html}");
    assert!(html.contains("<td class=\"num\">invariant</td>"), "{html}");
    assert!(html.contains("<strong>run error:</strong> step 5 (wait healthy) timed out"), "{html}");
    assert!(html.contains("<th>harness max RSS</th><td class=\"num\">24.1 MiB</td>"), "{html}");
    assert!(html.contains("<th>detection latency</th><td class=\"num\">19.4s</td>"), "{html}");
}

#[test]
fn texts_from_the_run_are_escaped() {
    let mut report = sample();
    report.scenario = "<b>bold</b>".into();
    report.verdicts.push(Verdict {
        check: "x\" onload=\"alert(1)".into(),
        step: None,
        status: Status::Fail,
        observed: "<script>alert('x')</script> & more".into(),
        budget: "≤ 1s".into(),
        observed_ms: None,
        budget_ms: None,
    });
    report.timeline.events.push(Event {
        at: 61_000,
        kind: EventKind::Member {
            member: "pg-<i>".into(),
            view: MemberView {
                reachable: false,
                role: None,
                state: None,
                timeline: None,
                sync_standby: false,
                error: Some("</title><script>".into()),
            },
            prev_seen_at: None,
        },
    });
    let html = render_html(&report);
    assert!(!html.contains("<script"), "{html}");
    assert!(!html.contains("<b>bold"), "{html}");
    assert!(!html.contains("pg-<i>"), "{html}");
    assert!(!html.contains("x\" onload"), "{html}");
    assert!(html.contains("&#60;script&#62;alert(&#39;x&#39;)&#60;/script&#62; &#38; more"), "{html}");
}

#[test]
fn a_run_without_events_still_renders() {
    let mut report = sample();
    report.timeline = Timeline::default();
    report.phases.clear();
    report.verdicts.clear();
    let html = render_html(&report);
    assert!(html.contains("<svg class=\"timeline\""), "{html}");
    assert!(html.contains("<p>no checks were evaluated</p>"), "{html}");
    assert!(!html.contains("data-kind="), "{html}");
}

#[test]
fn ticks_and_labels() {
    assert_eq!(tick_step(50_000), 5_000);
    assert_eq!(tick_step(600_000), 60_000);
    assert_eq!(axis_label(0), "0s");
    assert_eq!(axis_label(90_000), "1m 30s");
    assert_eq!(axis_label(120_000), "2m");
}

#[test]
fn the_suite_index_links_every_run() {
    let passed = RunReport { passed: true, run_id: "run-b".into(), ..sample() };
    let failed = sample();
    let runs = [
        SuiteRun {
            scenario_file: "scenarios/a.yaml".into(),
            report: Some(&failed),
            href: Some("../20261123-101500-ab12/report.html".into()),
            problem: None,
            versus_previous: "FAILED (was passed …)".into(),
        },
        SuiteRun {
            scenario_file: "scenarios/b.yaml".into(),
            report: Some(&passed),
            href: Some("../run-b/report.html".into()),
            problem: None,
            versus_previous: "first drill of this scenario in the history".into(),
        },
        SuiteRun {
            scenario_file: "scenarios/c.yaml".into(),
            report: None,
            href: None,
            problem: Some("docker unreachable".into()),
            versus_previous: String::new(),
        },
    ];
    let html = render_suite_index("suite-20261123-101500", &runs);
    assert!(html.contains("<a href=\"../20261123-101500-ab12/report.html\">20261123-101500-ab12</a>"), "{html}");
    assert!(html.contains("<a href=\"../run-b/report.html\">run-b</a>"), "{html}");
    assert!(html.contains("<p class=\"sub\">1 of 3 runs passed</p>"), "{html}");
    assert!(html.contains("<strong>docker unreachable</strong>"), "{html}");
    assert!(html.contains("2 / 3"), "{html}");
}

#[test]
fn an_exec_step_shows_its_command_answer_and_output_in_the_event_log() {
    let mut report = sample();
    let kind = EventKind::Exec {
        step: 2,
        container: "pg-2".into(),
        command: vec!["patronictl".into(), "list".into()],
        started_at: 30_000,
        attempts: 2,
        exit_code: Some(0),
        output: "| pg-2 | Leader | running |\n Maintenance mode: <on>\n".into(),
        error: None,
    };
    report.timeline.events.push(Event { at: 31_250, kind });
    let html = render_html(&report);
    assert!(
        html.contains(
            "step 3: `patronictl list` in pg-2: exit 0 after 1.2s, 2 attempt(s): | pg-2 | Leader | running | ⏎  \
             Maintenance mode: &#60;on&#62;"
        ) || html.contains(
            "step 3: `patronictl list` in pg-2: exit 0 after 1.2s, 2 attempt(s): | pg-2 | Leader | running | ⏎  \
             Maintenance mode: &lt;on&gt;"
        ),
        "{}",
        html.lines().filter(|l| l.contains("patronictl")).collect::<Vec<_>>().join("\n")
    );
}

#[test]
fn each_members_configuration_is_on_the_page_escaped() {
    assert!(!render_html(&sample()).contains("Patroni configuration"), "no section without a configuration");
    let configuration = vec![crate::report::MemberConfiguration {
        member: "pg-2".into(),
        patroni: serde_json::json!({"tags": {"failover_priority": 2}, "postgresql": {"pg_hba": ["host all all 0.0.0.0/0 <reject>"]}}),
    }];
    let html = render_html(&RunReport { configuration, ..sample() });
    let section = html.split("<details id=\"configuration\">").nth(1).expect("a configuration section");
    assert!(section.contains("<h3>pg-2</h3>"), "{section}");
    assert!(section.contains("&#34;failover_priority&#34;: 2"), "{section}");
    assert!(section.contains("&#60;reject&#62;") && !section.contains("<reject>"), "escaped: {section}");
}
