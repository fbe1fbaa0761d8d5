//! report.html in a real browser: render a synthetic run, let headless Chromium parse it
//! (`--dump-dom`) and draw it (`--screenshot`), and check that the timeline and the verdict
//! table are there. Also checks junit.xml against the common JUnit schema when xmllint exists.
//!
//! Needs Chromium (`apt-get install chromium`); `PGDRILL_SKIP_BROWSER=1` skips the browser
//! checks, `PGDRILL_CHROMIUM=/path` picks the binary.
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use pgdrill::check::{Status, Verdict};
use std::collections::BTreeMap;

use pgdrill::report::{
    write_all, CoverageRow, HarnessUsage, MonitoringSummary, PhaseTiming, RunReport, Timings, HTML_FILE, JUNIT_FILE,
    SCHEMA_VERSION,
};
use pgdrill::timeline::{DistNodeRow, Event, EventKind, MemberView, Millis, Role, Timeline, WriteOutcome};

/// How long one Chromium invocation may take before the test gives up on it.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(90);

fn view(role: Option<Role>, state: &str, tl: u64) -> MemberView {
    MemberView {
        reachable: role.is_some(),
        role,
        state: role.map(|_| state.to_string()),
        timeline: role.map(|_| tl),
        sync_standby: false,
        error: role.is_none().then(|| "connection refused".to_string()),
    }
}

fn verdict(check: &str, step: Option<usize>, status: Status, observed: &str, ms: Option<u64>) -> Verdict {
    Verdict {
        check: check.into(),
        step,
        status,
        observed: observed.into(),
        budget: "≤ 45s".into(),
        observed_ms: ms,
        budget_ms: Some(45_000),
    }
}

/// A kill-the-primary run: pg-1 leads, is killed at 20s, pg-2 takes over at 38s, pg-1 rejoins
/// at 55s; writes at 50/s that fail while there is no primary.
fn synthetic_report() -> RunReport {
    let mut events: Vec<Event> = Vec::new();
    let mut push = |at: Millis, kind: EventKind| events.push(Event { at, kind });
    let member = |name: &str, view: MemberView, prev: Option<Millis>| EventKind::Member {
        member: name.into(),
        view,
        prev_seen_at: prev,
    };
    push(0, EventKind::Phase { name: "images".into() });
    push(10, EventKind::Phase { name: "start".into() });
    push(4_000, EventKind::Phase { name: "steps".into() });
    push(4_000, EventKind::StepStarted { index: 0, description: "wait healthy".into() });
    push(4_100, member("pg-1", view(Some(Role::Primary), "running", 1), None));
    let mut sync = view(Some(Role::Replica), "streaming", 1);
    sync.sync_standby = true;
    push(4_100, member("pg-2", sync, None));
    push(4_100, member("pg-3", view(Some(Role::Replica), "streaming", 1), None));
    push(9_000, EventKind::StepFinished { index: 0, ok: true, detail: "healthy".into() });
    push(9_000, EventKind::StepStarted { index: 1, description: "fault kill primary".into() });
    push(20_000, EventKind::FaultApplied { step: 1, fault: "kill".into(), targets: vec!["pg-1".into()] });
    push(20_050, EventKind::FaultVerified { step: 1, ok: true, proof: "pg-1: container state exited".into() });
    push(20_060, EventKind::StepFinished { index: 1, ok: true, detail: "killed pg-1".into() });
    push(20_100, member("pg-1", view(None, "", 0), Some(20_000)));
    push(20_100, EventKind::StepStarted { index: 2, description: "expect new_leader <script>".into() });
    push(38_000, member("pg-2", view(Some(Role::Primary), "running", 2), Some(37_900)));
    push(38_000, EventKind::StepFinished { index: 2, ok: true, detail: "pg-2 primary".into() });
    push(38_000, EventKind::StepStarted { index: 3, description: "fault start old_primary".into() });
    push(40_000, EventKind::FaultApplied { step: 3, fault: "start".into(), targets: vec!["pg-1".into()] });
    push(40_100, EventKind::StepFinished { index: 3, ok: true, detail: "started pg-1".into() });
    push(42_000, member("pg-1", view(Some(Role::Replica), "starting", 1), Some(41_900)));
    push(42_000, member("pg-3", view(Some(Role::Replica), "streaming", 2), Some(41_900)));
    push(55_000, member("pg-1", view(Some(Role::Replica), "streaming", 2), Some(54_900)));
    push(60_000, EventKind::Phase { name: "audit".into() });
    push(61_000, EventKind::WriteAudit { present: vec![(1, 2_500)], source: "pg-2".into(), read: None });
    push(62_000, EventKind::Phase { name: "teardown".into() });
    push(62_500, EventKind::Note { source: "runtime".into(), text: "pg-1 exited with 137 & <kill>".into() });
    // Writes every 20 ms from 9s to 60s, alternating two writers; failed while nobody leads.
    let mut id = 0;
    for sent in (9_000..60_000).step_by(20) {
        id += 1;
        let outcome = if (20_000..38_500).contains(&sent) {
            WriteOutcome::Failed { failed_at: sent + 5, error: "connection refused".into() }
        } else {
            WriteOutcome::Acked { acked_at: sent + 3 }
        };
        let at = match &outcome {
            WriteOutcome::Acked { acked_at } => *acked_at,
            WriteOutcome::Failed { failed_at, .. } => *failed_at,
        };
        push(at, EventKind::Write { id, writer: (id % 2) as u32, group: None, txn: None, sent_at: sent, outcome });
    }
    events.sort_by_key(|e| e.at);
    RunReport {
        schema_version: SCHEMA_VERSION,
        run_id: "20261123-101500-ab12".into(),
        scenario: "patroni-kill-primary".into(),
        scenario_file: "scenarios/patroni-kill-primary.yaml".into(),
        started_at: "2026-11-23T10:15:00Z".into(),
        passed: false,
        verdicts: vec![
            verdict("new_leader", Some(2), Status::Pass, "pg-2 running primary on tl 2 after 18.0s", Some(18_000)),
            verdict("rejoins", Some(4), Status::Fail, "pg-1 replica streaming tl 2 after 15.0s", Some(15_000)),
            verdict("single_primary", None, Status::Pass, "one primary at a time", None),
        ],
        phases: vec![
            PhaseTiming { name: "images".into(), started_ms: 0, duration_ms: 10 },
            PhaseTiming { name: "start".into(), started_ms: 10, duration_ms: 3_990 },
            PhaseTiming { name: "steps".into(), started_ms: 4_000, duration_ms: 56_000 },
            PhaseTiming { name: "audit".into(), started_ms: 60_000, duration_ms: 1_500 },
            PhaseTiming { name: "teardown".into(), started_ms: 62_000, duration_ms: 900 },
        ],
        timings: Timings {
            image_build_ms: 10,
            containers_start_ms: 3_990,
            time_to_healthy_ms: Some(5_000),
            detection_latency_ms: Some(18_000),
            teardown_ms: 900,
        },
        harness: HarnessUsage { cpu_user_ms: 830, cpu_system_ms: 210, max_rss_kib: 24_680 },
        error: None,
        notes: vec!["containers kept (--keep)".into()],
        monitoring: None,
        images: Default::default(),
        configuration: Vec::new(),
        dynamic_configuration: None,
        cluster_from: None,
        timeline: Timeline::from_events(events),
    }
}

/// A Citus worker switchover with monitoring: coordinator group 0 and worker groups 1 and 2 (two
/// members each), ~100 writes/s for 90 s routed to the worker groups; at 40 s Patroni switches
/// group 1 over from worker1-1 to worker1-2 (its pg_dist_node transaction 40.2–42.9 s pauses
/// group 1's writes), alerts go pending and fire in Prometheus and reach Alertmanager.
fn citus_report() -> RunReport {
    let mut events: Vec<Event> = Vec::new();
    let mut push = |at: Millis, kind: EventKind| events.push(Event { at, kind });
    let member = |name: &str, view: MemberView, prev: Option<Millis>| EventKind::Member {
        member: name.into(),
        view,
        prev_seen_at: prev,
    };
    let dist = |group1: &str| {
        let row = |group: u32, node: &str, role: &str| DistNodeRow {
            group,
            node: node.into(),
            port: 5432,
            role: role.into(),
            active: true,
        };
        let secondary1 = if group1 == "worker1-2" { "worker1-1" } else { "worker1-2" };
        EventKind::DistNodes {
            source: "coord-1".into(),
            rows: vec![
                row(0, "coord-1", "primary"),
                row(0, "coord-2", "secondary"),
                row(1, group1, "primary"),
                row(1, secondary1, "secondary"),
                row(2, "worker2-1", "primary"),
                row(2, "worker2-2", "secondary"),
            ],
        }
    };
    let alert = |name: &str, group: &str, from: &str, state: &str, source: &str| {
        let mut labels: BTreeMap<String, String> =
            [("citus_group", group), ("cluster_name", "pgdrill"), ("severity", "critical")]
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
        if source == "alertmanager" {
            labels.insert("prometheus".into(), "pgdrill".into()); // an external label
        }
        EventKind::Alert {
            alert: name.into(),
            labels,
            state: state.into(),
            from: from.into(),
            source: source.into(),
            seen_unix_ms: None,
            source_unix_ms: None,
        }
    };
    push(0, EventKind::Phase { name: "images".into() });
    push(10, EventKind::Phase { name: "start".into() });
    push(6_000, EventKind::Phase { name: "steps".into() });
    push(6_000, EventKind::StepStarted { index: 0, description: "wait healthy".into() });
    for (name, role) in [
        ("coord-1", Role::Primary),
        ("coord-2", Role::Replica),
        ("worker1-1", Role::Primary),
        ("worker1-2", Role::Replica),
        ("worker2-1", Role::Primary),
        ("worker2-2", Role::Replica),
    ] {
        let state = if role == Role::Primary { "running" } else { "streaming" };
        push(6_100, member(name, view(Some(role), state, 1), None));
    }
    push(7_000, dist("worker1-1"));
    push(9_000, EventKind::StepFinished { index: 0, ok: true, detail: "healthy".into() });
    push(9_000, EventKind::StepStarted { index: 1, description: "fault switchover group 1".into() });
    push(40_000, EventKind::FaultApplied { step: 1, fault: "switchover".into(), targets: vec!["worker1-1".into()] });
    push(40_300, member("worker1-1", view(Some(Role::Primary), "stopping", 1), Some(40_200)));
    push(41_500, dist("worker1-1-demoted"));
    push(42_500, member("worker1-2", view(Some(Role::Primary), "running", 2), Some(42_400)));
    push(
        42_900,
        EventKind::CitusTransaction {
            member: "coord-1".into(),
            began_at: 40_200,
            outcome: "commit".into(),
            statements: vec![
                "SELECT pg_catalog.citus_update_node(%s, %s, %s, true, %s), (2, 'worker1-1-demoted', 5432, 5000)"
                    .into(),
                "SELECT pg_catalog.citus_update_node(%s, %s, %s, true, %s), (2, 'worker1-2', 5432, 5000)".into(),
            ],
        },
    );
    push(43_000, dist("worker1-2"));
    push(43_000, EventKind::FaultVerified { step: 1, ok: true, proof: "worker1-2 leads group 1".into() });
    push(43_000, EventKind::StepFinished { index: 1, ok: true, detail: "worker1-2 leads group 1".into() });
    push(45_000, member("worker1-1", view(Some(Role::Replica), "streaming", 2), Some(44_900)));
    push(41_000, alert("FailoverDetected", "1", "inactive", "pending", "prometheus"));
    push(44_000, alert("FailoverDetected", "1", "pending", "firing", "prometheus"));
    push(45_000, alert("FailoverDetected", "1", "inactive", "firing", "alertmanager"));
    push(70_000, alert("FailoverDetected", "1", "firing", "resolved", "prometheus"));
    push(71_000, alert("FailoverDetected", "1", "firing", "resolved", "alertmanager"));
    push(40_500, alert("NoPrimaryInCluster", "1", "inactive", "pending", "prometheus"));
    push(42_800, alert("NoPrimaryInCluster", "1", "pending", "inactive", "prometheus"));
    push(96_000, EventKind::Phase { name: "audit".into() });
    push(98_000, EventKind::Phase { name: "teardown".into() });
    // ~100 writes/s from 6s to 96s, alternating groups 1 and 2; group 1 waits for the transaction.
    for (n, sent) in (6_000..96_000u64).step_by(10).enumerate() {
        let group = 1 + (n % 2) as u32;
        let acked_at = if group == 1 && (40_200..42_900).contains(&sent) { 42_910 } else { sent + 3 };
        let outcome = WriteOutcome::Acked { acked_at };
        push(
            acked_at,
            EventKind::Write { id: n as u64, writer: group - 1, group: Some(group), txn: None, sent_at: sent, outcome },
        );
    }
    events.sort_by_key(|e| e.at);
    let coverage = |alert: &str, outcome: &str, missing: &[&str]| CoverageRow {
        alert: alert.into(),
        defined_at: "rules/pgdrill-alerts.yaml:12".into(),
        outcome: outcome.into(),
        missing: missing.iter().map(|m| m.to_string()).collect(),
    };
    RunReport {
        scenario: "citus-worker-switchover".into(),
        scenario_file: "scenarios/citus-worker-switchover.yaml".into(),
        passed: true,
        verdicts: vec![
            verdict("leader_is", Some(2), Status::Pass, "worker1-2 leads group 1 after 2.5s", Some(2_500)),
            verdict("write_pause", Some(2), Status::Pass, "group 1 paused 2.7s, group 2 kept writing", Some(2_700)),
            verdict("alert", Some(3), Status::Pass, "FailoverDetected firing after 4.0s", Some(4_000)),
        ],
        phases: vec![
            PhaseTiming { name: "images".into(), started_ms: 0, duration_ms: 10 },
            PhaseTiming { name: "start".into(), started_ms: 10, duration_ms: 5_990 },
            PhaseTiming { name: "steps".into(), started_ms: 6_000, duration_ms: 90_000 },
            PhaseTiming { name: "audit".into(), started_ms: 96_000, duration_ms: 2_000 },
            PhaseTiming { name: "teardown".into(), started_ms: 98_000, duration_ms: 1_500 },
        ],
        monitoring: Some(MonitoringSummary {
            for_scale: 0.1,
            scaled: vec!["FailoverDetected for: 1m → 6s (rules/pgdrill-alerts.yaml:12)".into()],
            coverage: vec![
                coverage("FailoverDetected", "fired", &[]),
                coverage("NoPrimaryInCluster", "went_pending", &[]),
                coverage("ReplicationLagHigh", "stayed_inactive", &[]),
                coverage("CitusMetadataNotSynced", "series_absent", &["citus_dist_node_synced"]),
            ],
            coverage_error: None,
            ..MonitoringSummary::default()
        }),
        timeline: Timeline::from_events(events),
        ..synthetic_report()
    }
}

/// The opening tags of the lanes of `kind` in `dom`, each with its content up to `</g>`.
fn lanes_of<'a>(dom: &'a str, kind: &str) -> Vec<&'a str> {
    let marker = format!("<g class=\"lane\" data-kind=\"{kind}\"");
    dom.split(&marker).skip(1).map(|lane| lane.split("</g>").next().unwrap()).collect()
}

fn out_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pgdrill-report-html-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The Chromium binary, or `None` when the browser checks are to be skipped.
fn chromium() -> Option<PathBuf> {
    if std::env::var("PGDRILL_SKIP_BROWSER").is_ok_and(|v| v == "1") {
        eprintln!("PGDRILL_SKIP_BROWSER=1: skipping the browser checks");
        return None;
    }
    if let Some(path) = std::env::var_os("PGDRILL_CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    let found = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"].iter().find_map(|name| {
        std::env::var_os("PATH")
            .map(|paths| std::env::split_paths(&paths).map(|dir| dir.join(name)).collect::<Vec<_>>())
            .unwrap_or_default()
            .into_iter()
            .find(|p| p.is_file())
    });
    match found {
        Some(path) => Some(path),
        None => panic!(
            "no Chromium found on PATH (chromium, chromium-browser, google-chrome): install it with \
             `apt-get install chromium`, point PGDRILL_CHROMIUM at it, or set PGDRILL_SKIP_BROWSER=1"
        ),
    }
}

/// Runs headless Chromium on `page` with `args`, killing it after [`BROWSER_TIMEOUT`]; returns stdout.
fn headless(chromium: &Path, page: &Path, profile: &Path, args: &[&str]) -> String {
    let mut child = Command::new(chromium)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("failed to start {}: {e}", chromium.display()));
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || std::io::read_to_string(stdout).unwrap_or_default());
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > BROWSER_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium {args:?} did not finish within {BROWSER_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let out = reader.join().unwrap();
    let err = child.stderr.take().map(|e| std::io::read_to_string(e).unwrap_or_default()).unwrap_or_default();
    assert!(status.success(), "chromium {args:?} failed ({status}): {err}");
    out
}

#[test]
fn the_browser_draws_the_timeline_and_the_verdicts() {
    let dir = out_dir("browser");
    let report = synthetic_report();
    write_all(&report, &dir).unwrap();
    let page = dir.join(HTML_FILE);
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(!html.contains("<script"), "the page must not carry scripts (and must escape texts)");
    let outside = html.replace("http://www.w3.org/2000/svg", ""); // the SVG namespace is a name, not a fetch
    assert!(!outside.contains("http://") && !outside.contains("https://"), "the page must not load anything");

    let Some(chromium) = chromium() else { return };
    let dom = headless(&chromium, &page, &dir.join("profile-dom"), &["--dump-dom"]);
    assert!(dom.contains("<svg class=\"timeline\""), "no SVG timeline in the DOM:\n{dom}");
    for member in ["pg-1", "pg-2", "pg-3"] {
        assert!(
            dom.contains(&format!("data-kind=\"member\" data-name=\"{member}\"")),
            "no lane for {member} in the DOM"
        );
    }
    for lane in ["phases", "steps", "faults", "workload"] {
        assert!(dom.contains(&format!("data-kind=\"{lane}\"")), "no {lane} lane in the DOM");
    }
    let table = dom.split("<table class=\"verdicts\" id=\"verdicts\">").nth(1).expect("a verdict table");
    let body = table.split("</table>").next().unwrap();
    assert_eq!(body.matches("<tr class=\"pass\">").count(), 2, "{body}");
    assert_eq!(body.matches("<tr class=\"fail\">").count(), 1, "{body}");
    assert!(body.contains("<td>rejoins</td>"), "{body}");
    assert!(dom.contains("&lt;script&gt;"), "a step description must arrive escaped");

    let png = dir.join("report.png");
    let shot = format!("--screenshot={}", png.display());
    headless(&chromium, &page, &dir.join("profile-shot"), &[&shot, "--window-size=1280,1300"]);
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    assert!(bytes.len() > 40_000, "the screenshot is suspiciously small ({} bytes): a blank page?", bytes.len());
    eprintln!("screenshot: {} ({} bytes)", png.display(), bytes.len());
}

#[test]
fn a_citus_drill_with_alerts_draws_its_lanes_in_the_browser() {
    let dir = out_dir("citus");
    write_all(&citus_report(), &dir).unwrap();
    let page = dir.join(HTML_FILE);
    let html = std::fs::read_to_string(&page).unwrap();
    eprintln!("report.html of a 90 s Citus drill (6 members, 3 groups, 100 writes/s, alerts): {} bytes", html.len());
    assert!(html.len() <= 1_000_000, "report.html is {} bytes", html.len());
    assert!(!html.contains("<script"), "the page must not carry scripts");
    // No URL of any scheme except the SVG namespace (a name, never fetched).
    let outside = html.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
    for needle in ["http:", "https:", "//", "url(", "@import", "src=", "href="] {
        assert!(!outside.contains(needle), "the page must not refer to anything outside it ({needle:?})");
    }

    let Some(chromium) = chromium() else { return };
    let dom = headless(&chromium, &page, &dir.join("profile-dom"), &["--dump-dom"]);
    assert!(dom.contains("<svg class=\"timeline\""), "no SVG timeline in the DOM");
    let verdicts = dom.split("<table class=\"verdicts\" id=\"verdicts\">").nth(1).expect("a verdict table");
    assert_eq!(verdicts.split("</table>").next().unwrap().matches("<tr class=\"pass\">").count(), 3);

    let groups: Vec<&str> = lanes_of(&dom, "group");
    assert_eq!(groups.len(), 3, "a header per Citus group");
    assert_eq!(lanes_of(&dom, "member").len(), 6);

    let alerts = lanes_of(&dom, "alert");
    assert_eq!(alerts.len(), 2, "one lane per alert instance");
    let firing = alerts.iter().find(|l| l.contains("data-name=\"FailoverDetected\"")).expect("a FailoverDetected lane");
    for class in ["alert-pending", "alert-firing", "alert-resolved", "am-firing", "am-resolved"] {
        assert_eq!(firing.matches(&format!("<rect class=\"{class}\"")).count(), 1, "{class} in {firing}");
    }
    assert!(firing.contains("firing in Prometheus 44.0s–70.0s (26.0s)"), "{firing}");

    let dist = lanes_of(&dom, "pg_dist_node");
    assert_eq!(dist.len(), 3, "one pg_dist_node lane per Citus group");
    for lane in &dist {
        assert!(lane.matches("<rect class=\"dist-").count() >= 1, "an empty pg_dist_node lane: {lane}");
    }
    let group1 = dist.iter().find(|l| l.contains("data-name=\"pg_dist_node 1\"")).unwrap();
    assert_eq!(group1.matches("<rect class=\"dist-demoted\"").count(), 1, "{group1}");
    assert_eq!(group1.matches("<rect class=\"citus-tx demoting\"").count(), 1, "{group1}");

    let per_group = lanes_of(&dom, "group-workload");
    assert_eq!(per_group.len(), 2, "a throughput lane per worker group");
    let pause = per_group[0].split("longest pause ").nth(1).unwrap().split(' ').next().unwrap();
    assert_eq!(pause, "2.7s", "group 1's pause is its own, not the global one");

    let coverage = dom.split("<table class=\"coverage\" id=\"coverage\">").nth(1).expect("a coverage table");
    let coverage = coverage.split("</table>").next().unwrap();
    assert_eq!(coverage.matches("<tr class=").count(), 4, "{coverage}");
    assert!(coverage.contains("no series: citus_dist_node_synced"), "{coverage}");

    let png = dir.join("report.png");
    let shot = format!("--screenshot={}", png.display());
    headless(&chromium, &page, &dir.join("profile-shot"), &[&shot, "--window-size=1280,2200"]);
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    eprintln!("screenshot: {} ({} bytes)", png.display(), bytes.len());
}

/// Jenkins' junit-10.xsd (xunit-plugin, MIT licence, © 2014 Gregory Boissinot): the schema
/// CI tools that read JUnit files (GitLab, GitHub reporters, Jenkins) follow.
const JUNIT_XSD: &str = r#"<?xml version="1.0" encoding="UTF-8" ?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <xs:simpleType name="SUREFIRE_TIME">
    <xs:restriction base="xs:string"><xs:pattern value="(([0-9]{0,3},)*[0-9]{3}|[0-9]{0,3})*(\.[0-9]*)?"/></xs:restriction>
  </xs:simpleType>
  <xs:complexType name="rerunType" mixed="true">
    <xs:sequence>
      <xs:element name="stackTrace" type="xs:string" minOccurs="0"/>
      <xs:element name="system-out" type="xs:string" minOccurs="0"/>
      <xs:element name="system-err" type="xs:string" minOccurs="0"/>
    </xs:sequence>
    <xs:attribute name="message" type="xs:string"/>
    <xs:attribute name="type" type="xs:string" use="required"/>
  </xs:complexType>
  <xs:element name="failure"><xs:complexType mixed="true"><xs:attribute name="type" type="xs:string"/><xs:attribute name="message" type="xs:string"/></xs:complexType></xs:element>
  <xs:element name="error"><xs:complexType mixed="true"><xs:attribute name="type" type="xs:string"/><xs:attribute name="message" type="xs:string"/></xs:complexType></xs:element>
  <xs:element name="skipped"><xs:complexType mixed="true"><xs:attribute name="type" type="xs:string"/><xs:attribute name="message" type="xs:string"/></xs:complexType></xs:element>
  <xs:element name="properties"><xs:complexType><xs:sequence><xs:element ref="property" minOccurs="0" maxOccurs="unbounded"/></xs:sequence></xs:complexType></xs:element>
  <xs:element name="property"><xs:complexType><xs:attribute name="name" type="xs:string" use="required"/><xs:attribute name="value" type="xs:string" use="required"/></xs:complexType></xs:element>
  <xs:element name="system-err" type="xs:string"/>
  <xs:element name="system-out" type="xs:string"/>
  <xs:element name="rerunFailure" type="rerunType"/>
  <xs:element name="rerunError" type="rerunType"/>
  <xs:element name="flakyFailure" type="rerunType"/>
  <xs:element name="flakyError" type="rerunType"/>
  <xs:element name="testcase">
    <xs:complexType>
      <xs:sequence>
        <xs:choice minOccurs="0" maxOccurs="unbounded">
          <xs:element ref="skipped"/><xs:element ref="error"/><xs:element ref="failure"/>
          <xs:element ref="rerunFailure" minOccurs="0" maxOccurs="unbounded"/>
          <xs:element ref="rerunError" minOccurs="0" maxOccurs="unbounded"/>
          <xs:element ref="flakyFailure" minOccurs="0" maxOccurs="unbounded"/>
          <xs:element ref="flakyError" minOccurs="0" maxOccurs="unbounded"/>
          <xs:element ref="system-out"/><xs:element ref="system-err"/>
        </xs:choice>
      </xs:sequence>
      <xs:attribute name="name" type="xs:string" use="required"/>
      <xs:attribute name="time" type="xs:string"/>
      <xs:attribute name="classname" type="xs:string"/>
      <xs:attribute name="group" type="xs:string"/>
    </xs:complexType>
  </xs:element>
  <xs:element name="testsuite">
    <xs:complexType>
      <xs:choice minOccurs="0" maxOccurs="unbounded">
        <xs:element ref="testsuite"/><xs:element ref="properties"/><xs:element ref="testcase"/>
        <xs:element ref="system-out"/><xs:element ref="system-err"/>
      </xs:choice>
      <xs:attribute name="name" type="xs:string" use="required"/>
      <xs:attribute name="tests" type="xs:string" use="required"/>
      <xs:attribute name="failures" type="xs:string" use="required"/>
      <xs:attribute name="errors" type="xs:string" use="required"/>
      <xs:attribute name="group" type="xs:string"/>
      <xs:attribute name="time" type="SUREFIRE_TIME"/>
      <xs:attribute name="skipped" type="xs:string"/>
      <xs:attribute name="timestamp" type="xs:string"/>
      <xs:attribute name="hostname" type="xs:string"/>
      <xs:attribute name="id" type="xs:string"/>
      <xs:attribute name="package" type="xs:string"/>
      <xs:attribute name="file" type="xs:string"/>
      <xs:attribute name="log" type="xs:string"/>
      <xs:attribute name="url" type="xs:string"/>
    </xs:complexType>
  </xs:element>
  <xs:element name="testsuites">
    <xs:complexType>
      <xs:sequence><xs:element ref="testsuite" minOccurs="0" maxOccurs="unbounded"/></xs:sequence>
      <xs:attribute name="name" type="xs:string"/>
      <xs:attribute name="time" type="SUREFIRE_TIME"/>
      <xs:attribute name="tests" type="xs:string"/>
      <xs:attribute name="failures" type="xs:string"/>
      <xs:attribute name="errors" type="xs:string"/>
    </xs:complexType>
  </xs:element>
</xs:schema>
"#;

#[test]
fn junit_xml_validates_against_the_common_schema() {
    let dir = out_dir("junit");
    let mut report = synthetic_report();
    report.error = Some("step 5 timed out <after> 1m & more".into());
    write_all(&report, &dir).unwrap();
    let xsd = dir.join("junit-10.xsd");
    std::fs::write(&xsd, JUNIT_XSD).unwrap();
    let output =
        match Command::new("xmllint").arg("--noout").arg("--schema").arg(&xsd).arg(dir.join(JUNIT_FILE)).output() {
            Ok(output) => output,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                eprintln!("xmllint not found (apt-get install libxml2-utils): schema check skipped");
                return;
            }
            Err(e) => panic!("failed to run xmllint: {e}"),
        };
    let text = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "junit.xml does not validate:\n{text}");
    assert!(text.contains("validates"), "{text}");
}
