//! One test per shipped scenario file (scenarios/*.yaml), through `pgdrill::testing` — the
//! runner users get from `pgdrill init`: each runs the real drill against real containers and
//! passes only if every check of the scenario passed, nothing is left in Docker, and the written
//! report.json judges again to the same verdicts. pgdrill's own checks on top (the Citus
//! stand-in named in the report, the monitoring view, the known blind spots) are `check`s here.
//! Also one expected-failure
//! drill (tests/fixtures/tight-budget.yaml) that must fail with observed-vs-budget output, one
//! whose planted lost write and divergent replica the write audit must report
//! (tests/fixtures/planted-audit.yaml), one whose lost COMMIT PREPARED Citus's recovery (turned off)
//! never finishes (tests/fixtures/citus-2pc-no-recovery.yaml), and the
//! kill-primary drill once more on the PostgreSQL 17 image set (Debian trixie base).
use std::path::{Path, PathBuf};

use pgdrill::check::{names, Status};
use pgdrill::engine::RunOutcome;
use pgdrill::report::{read_json, render_summary, REPORT_FILE};
use pgdrill::runtime::images::{ImageOptions, ImageSet, PgMajor};
use pgdrill::testing::{run_drill, DrillOptions, Drills, Failed};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("harness/ is inside the workspace").to_path_buf()
}

/// pgdrill's own checks of a passed drill, beyond the runner's.
fn check_passed(path: &Path, outcome: &RunOutcome) -> Result<(), Failed> {
    check_citus_release(outcome)?;
    check_monitoring(outcome)?;
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    check_blind_spots(&stem, outcome)?;
    if stem == "alerts-seed000-citus-fault-tour" {
        check_fault_tour(outcome)?;
    }
    Ok(())
}

/// The fault tour's report.json judges the users' rules on every fault it ran, and an
/// aggregate over members is not called blind when one member's series ends:
/// NoPrimaryInCluster (`sum(patroni_primary{…, citus_group="0"}) == 0`) on the kill of the
/// coordinator's replica kept pooling the coordinator primary's series.
fn check_fault_tour(outcome: &RunOutcome) -> Result<(), Failed> {
    use pgdrill::monitoring::blind_spots::Finding;
    let written = read_json(&outcome.report_dir.join(REPORT_FILE)).map_err(|e| Failed::from(format!("{e}")))?;
    let spots = written.monitoring.as_ref().map(|m| m.blind_spots.clone()).unwrap_or_default();
    let tour = [
        "partition",
        "isolate",
        "loss",
        "throttle",
        "disconnect",
        "stop",
        "kill",
        "restart",
        "kill_patroni",
        "link_delay",
        "patroni_restart",
        "patroni_reinit",
        "switchover",
        "failover",
    ];
    let judged: Vec<&str> = spots.iter().filter(|s| s.rules.len() >= 10).map(|s| s.fault.as_str()).collect();
    if judged != tour {
        return Err(format!("the tour should judge every rule on {tour:?}, judged {judged:?}").into());
    }
    let kill = spots.iter().find(|s| s.fault == "kill").ok_or("no kill step")?;
    let rule = kill.rules.iter().find(|r| r.alert == "NoPrimaryInCluster").ok_or("no NoPrimaryInCluster finding")?;
    let pools_the_primary =
        |pooled: &[String]| pooled.iter().any(|m| m.starts_with("coord-") && !kill.targets.contains(m));
    match &rule.finding {
        Finding::CouldHaveFired { pooled_over, .. } if pools_the_primary(pooled_over) => {
            println!("aggregate judged on its pool: NoPrimaryInCluster on kill {:?}: {}", kill.targets, rule.reason);
            Ok(())
        }
        finding => Err(format!(
            "NoPrimaryInCluster on the kill of {:?} should be could_have_fired pooling the coordinator primary, got {finding:?}",
            kill.targets
        )
        .into()),
    }
}

/// Blind spots a drill's report.json must name: (scenario file stem, alert, fault, the alert's
/// selector whose series of the faulted member went stale, a companion rule that fired instead).
const BLIND_SPOTS: &[(&str, &str, &str, &str, &str)] = &[
    ("alerts-seed000-kill-primary", "PostgreSQLDown", "kill", "patroni_postgres_running", "PatroniScrapeFailed"),
    ("alerts-seed000-citus-kill-worker", "PostgreSQLDown", "kill", "patroni_postgres_running", "PatroniScrapeFailed"),
    (
        "alerts-seed000-citus-pause-worker-replica",
        "PostgreSQLDown",
        "pause",
        "patroni_postgres_running",
        "PatroniScrapeFailed",
    ),
];

/// Every monitoring drill's report.json has the rules' findings for every fault step; the
/// drills of [`BLIND_SPOTS`] name that rule as unable to detect that fault, say why (its series
/// of the killed member went stale), give the remedy, and the companion rule detected it.
fn check_blind_spots(stem: &str, outcome: &RunOutcome) -> Result<(), Failed> {
    let written = read_json(&outcome.report_dir.join(REPORT_FILE)).map_err(|e| Failed::from(format!("{e}")))?;
    let Some(monitoring) = &written.monitoring else { return Ok(()) };
    if let Some(error) = &monitoring.blind_spots_error {
        return Err(format!("blind spots not computed: {error}").into());
    }
    let faults = written
        .timeline
        .events
        .iter()
        .filter(|e| matches!(e.kind, pgdrill::timeline::EventKind::FaultApplied { .. }))
        .count();
    if monitoring.blind_spots.len() != faults {
        return Err(format!("{} fault steps but {} in blind_spots", faults, monitoring.blind_spots.len()).into());
    }
    for (_, alert, fault, selector, companion) in BLIND_SPOTS.iter().filter(|b| b.0 == stem) {
        let spot = monitoring.blind_spots.iter().find(|s| s.fault == *fault).ok_or(format!("no {fault} step"))?;
        let target = spot.targets.first().ok_or(format!("the {fault} step names no member"))?;
        let rule = spot.rules.iter().find(|r| r.alert == *alert).ok_or(format!("no finding for {alert}"))?;
        let stale_ok = match &rule.finding {
            pgdrill::monitoring::blind_spots::Finding::CannotDetect { stale } => {
                stale.iter().any(|s| s.selector == *selector && s.target == *target && s.job == "patroni")
            }
            _ => false,
        };
        let why = format!("its series {selector} of {target} went stale at the fault");
        let remedy_ok = rule.remedy.as_deref().is_some_and(|r| r.contains("`up{job=\"patroni\"} == 0`"));
        let companion_ok = spot.rules.iter().any(|r| r.alert == *companion && r.finding.name() == "fired");
        if !(stale_ok && rule.reason.contains(&why) && remedy_ok && companion_ok) {
            return Err(format!(
                "{alert} should be reported unable to detect the {fault} of {target} ({why}), with the remedy, \
                 and {companion} should have fired; got {:#?}",
                spot.rules
            )
            .into());
        }
        println!(
            "blind spot confirmed: {alert} on {fault} {target}: {}; {}",
            rule.reason,
            rule.remedy.as_deref().unwrap_or("")
        );
    }
    Ok(())
}

/// A Citus drill's report says what ran: here always the stand-in, with the release it imitates.
fn check_citus_release(outcome: &RunOutcome) -> Result<(), Failed> {
    match &outcome.report.images.citus {
        Some(citus) if !citus.contains("stand-in (NOT Citus), imitating Citus 12.1") => {
            Err(format!("the report should name the stand-in and the release it imitates, got {citus}").into())
        }
        _ => Ok(()),
    }
}

/// A monitoring drill also tests pgdrill's view of the stack: the shipped list of exporter
/// metrics (behind the unknown-metric warnings) still matches what the real exporters produced,
/// and every alert change was measured for observation latency.
fn check_monitoring(outcome: &RunOutcome) -> Result<(), Failed> {
    let Some(monitoring) = &outcome.report.monitoring else { return Ok(()) };
    match (&monitoring.metric_list, &monitoring.metric_list_skipped) {
        (Some(check), _) if !check.missing.is_empty() => {
            return Err(format!(
                "harness/src/monitoring/exporter_metrics.txt is stale: listed but never produced in this run: {}",
                check.missing.join(", ")
            )
            .into())
        }
        (Some(_), _) => {}
        (None, reason) => return Err(format!("the metric list was not checked: {reason:?}").into()),
    }
    let latency = &monitoring.alert_latency;
    if latency.prometheus_firing.is_none() || latency.error.is_some() {
        return Err(format!("alert observation latency not measured: {latency:?}").into());
    }
    Ok(())
}

/// The drill passes on PostgreSQL 17 too, and its report says that it ran 17.
fn expect_pass_on_pg17(path: &Path, options: &DrillOptions) -> Result<(), Failed> {
    let set = ImageSet { pg: PgMajor::Pg17, ..ImageSet::default() };
    let options = DrillOptions { images: ImageOptions { set, ..ImageOptions::default() }, ..options.clone() };
    let outcome = run_drill(path, &options)?;
    let summary = render_summary(&outcome.report);
    println!("{summary}");
    if outcome.report.images.postgres_major != Some(17) {
        return Err(format!("the report should record PostgreSQL 17, got {:?}", outcome.report.images).into());
    }
    if outcome.report.passed {
        Ok(())
    } else {
        Err(format!("drill failed on PostgreSQL 17 (report: {}):\n{summary}", outcome.report_dir.display()).into())
    }
}

fn expect_budget_failure(path: &Path, options: &DrillOptions) -> Result<(), Failed> {
    let outcome = run_drill(path, options)?;
    let summary = render_summary(&outcome.report);
    println!("{summary}");
    let verdict = outcome
        .report
        .verdicts
        .iter()
        .find(|v| v.check == names::NEW_LEADER)
        .ok_or("no new_leader verdict in the report")?;
    if outcome.report.passed || verdict.status != Status::Fail {
        return Err(format!("the 1s new_leader budget should have failed:\n{summary}").into());
    }
    // The verdict states the budget and what was (not) seen within it; the table shows both.
    if verdict.budget != "≤ 1s" || !verdict.observed.contains("within 1s") {
        return Err(format!("the verdict should say observed vs budget, got {verdict:?}").into());
    }
    if !(summary.contains("FAIL") && summary.contains("≤ 1s") && summary.contains("no new primary")) {
        return Err(format!("the summary should show observed vs budget:\n{summary}").into());
    }
    Ok(())
}

/// The planted drill fails for exactly its two planted faults: the deleted row is a lost write on
/// the leader, and the replica cut off from the primary's WAL is named as divergent with the ids
/// it lacks, after the audit's bounded wait for it to replay up to the leader.
fn expect_planted_audit_failure(path: &Path, options: &DrillOptions) -> Result<(), Failed> {
    let outcome = run_drill(path, options)?;
    let report = &outcome.report;
    let summary = render_summary(report);
    println!("{summary}");
    let verdict = |name: &str| report.verdicts.iter().find(|v| v.check == name).ok_or(format!("no {name} verdict"));
    let (lost, audit) = (verdict(names::NO_ACKED_WRITE_LOST)?, verdict(names::WRITE_AUDIT)?);
    let ran_in = |step: usize| {
        report.timeline.events.iter().find_map(|e| match &e.kind {
            pgdrill::timeline::EventKind::Exec { step: s, container, .. } if *s == step => Some(container.clone()),
            _ => None,
        })
    };
    let (primary, cut_off) = ran_in(2).zip(ran_in(3)).ok_or("the exec steps were not recorded")?;
    let others_pass = report
        .verdicts
        .iter()
        .filter(|v| v.check != names::NO_ACKED_WRITE_LOST && v.check != names::WRITE_AUDIT)
        .all(|v| v.status == Status::Pass);
    let lost_ok = lost.status == Status::Fail && lost.observed.contains(&format!("missing on {primary}: ids 3;"));
    let divergence = format!("divergence: {cut_off} lacks ");
    let audit_ok = audit.status == Status::Fail
        && audit.observed.starts_with(&format!("read {primary} (leader named by the DCS"))
        && audit.observed.contains(&divergence)
        && audit.observed.contains("to replay up to the leader's")
        && audit.observed.matches("divergence:").count() == 1;
    if report.passed || report.error.is_some() || !others_pass || !lost_ok || !audit_ok {
        return Err(format!(
            "expected only no_acked_write_lost (id 3 on {primary}) and write_audit ({divergence}…) to fail:\n{summary}"
        )
        .into());
    }
    Ok(())
}

/// With Citus's transaction recovery off, the transaction whose COMMIT PREPARED was lost stays
/// prepared on worker group 1 and exactly the three 2PC checks fail, each naming what it saw; the
/// transaction whose PREPARE was lost leaves nothing behind (the coordinator rolled back what it
/// had prepared).
fn expect_orphan_without_recovery(path: &Path, options: &DrillOptions) -> Result<(), Failed> {
    use pgdrill::timeline::EventKind;
    let outcome = run_drill(path, options)?;
    let report = &outcome.report;
    let summary = render_summary(report);
    println!("{summary}");
    let expected =
        [names::NO_ORPHANED_PREPARED_TRANSACTIONS, names::NO_ACKED_WRITE_LOST, names::NO_PARTIAL_TRANSACTIONS];
    let verdict = |name: &str| report.verdicts.iter().find(|v| v.check == name).ok_or(format!("no {name} verdict"));
    let orphan = verdict(names::NO_ORPHANED_PREPARED_TRANSACTIONS)?;
    let (lost, partial) = (verdict(names::NO_ACKED_WRITE_LOST)?, verdict(names::NO_PARTIAL_TRANSACTIONS)?);
    let others_pass =
        report.verdicts.iter().filter(|v| !expected.contains(&v.check.as_str())).all(|v| v.status == Status::Pass);
    let events = || report.timeline.events.iter().map(|e| &e.kind);
    // The gids the filters acted on, by the statement that carried them.
    let acted = |statement: &str| -> Vec<String> {
        events()
            .filter_map(|k| match k {
                EventKind::LinkFilterActed { query, .. } => {
                    query.strip_prefix(statement).map(|g| g.trim_matches(|c| c == ' ' || c == '\'').to_string())
                }
                _ => None,
            })
            .collect()
    };
    let (killed, lost_prepares) = (acted("COMMIT PREPARED"), acted("PREPARE TRANSACTION"));
    let last_read = |member: &str| {
        events().rev().find_map(|k| match k {
            EventKind::PreparedXacts { member: m, gids, error: None, .. } if m == member => Some(gids.clone()),
            _ => None,
        })
    };
    let left: Vec<String> = ["worker1-1", "worker2-1"].iter().flat_map(|m| last_read(m).unwrap_or_default()).collect();
    // A transaction whose PREPARE was lost has no part left (its gids share `citus_0_<pid>_<xid>_`).
    let transaction_of = |gid: &str| gid.rsplit_once('_').map(|(txn, _)| format!("{txn}_")).unwrap_or_default();
    let aborted_left = lost_prepares.iter().any(|g| left.iter().any(|l| l.starts_with(&transaction_of(g))));
    // Arming a filter resets the link's open connections, which may lose a COMMIT PREPARED in
    // flight too: the killed ones must be left, others may be.
    let left_ok =
        !killed.is_empty() && killed.iter().all(|g| left.contains(g)) && !lost_prepares.is_empty() && !aborted_left;
    let orphan_ok = orphan.status == Status::Fail && orphan.observed.contains("worker1-1: ");
    let lost_ok = lost.status == Status::Fail && lost.observed.contains(" acked writes missing on coord-1: ids ");
    let partial_ok = partial.status == Status::Fail && partial.observed.contains(" partial: txn ");
    if report.passed || report.error.is_some() || !others_pass || !orphan_ok || !lost_ok || !partial_ok || !left_ok {
        return Err(format!(
            "expected only the three 2PC checks to fail, the killed COMMIT PREPARED {killed:?} left prepared and \
             nothing of the transactions whose PREPARE was lost {lost_prepares:?} (left: {left:?}):\n{summary}"
        )
        .into());
    }
    Ok(())
}

fn main() {
    Drills::new(workspace_root().join("scenarios"))
        .prefix("scenario::")
        .reports_dir(workspace_root().join("reports"))
        .check(check_passed)
        .run_with(|drills, args| {
            let fixture = |name: &str| Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name);
            let (tight, planted) = (fixture("tight-budget.yaml"), fixture("planted-audit.yaml"));
            let kill_primary = workspace_root().join("scenarios/patroni-kill-primary.yaml");
            let no_recovery = fixture("citus-2pc-no-recovery.yaml");
            vec![
                drills.docker_trial(args, "expected_failure::tight_budget", move |o| expect_budget_failure(&tight, o)),
                drills.docker_trial(args, "expected_failure::planted_audit", move |o| {
                    expect_planted_audit_failure(&planted, o)
                }),
                drills.docker_trial(args, "expected_failure::citus_2pc_no_recovery", move |o| {
                    expect_orphan_without_recovery(&no_recovery, o)
                }),
                drills.docker_trial(args, "image_set::pg17::patroni-kill-primary", move |o| {
                    expect_pass_on_pg17(&kill_primary, o)
                }),
            ]
        })
}
