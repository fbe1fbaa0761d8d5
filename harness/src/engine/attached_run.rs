//! One run against a cluster pgdrill did not start: no image, no container, no teardown. The
//! cluster file gives the endpoints and the command executor; the observers, the workload, the
//! steps, the audit and the verdicts are the same as for a started cluster. The rails: a stop
//! watch (writes failing too long, too many members down, replication lag, a named alert, a
//! signal) ends the steps at their next
//! wait, every fault is undone by its deadline and at the end (a second signal stops that heal:
//! what is left in effect is said, logged and noted), and every action is in
//! `audit-log.jsonl` beside the report. `--dry-run` prints what would be done and touches nothing.
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::attach::{attach, AttachOptions};
use super::cluster::Site;
use super::run::{
    audit_workload, finish, new_run_id, patroni_dynamic_configuration, spawn_observers, Finished, Phases,
};
use super::safety::{StopSignal, Watch};
use super::steps::{describe_step, Rails, StepDriver};
use super::{Cluster, EngineError, Progress, RunOptions, RunOutcome};
use crate::cluster::load_cluster_file;
use crate::fault::{fault_by_name, ActionLog};
use crate::observe::LiveView;
use crate::scenario::{LoadedScenario, Target};
use crate::timeline::{EventKind, TimelineWriter};

/// The audit log's name in the report folder.
pub const AUDIT_LOG: &str = "audit-log.jsonl";

/// Runs `loaded` against the cluster `attach` names and writes its report.
pub async fn run_attached(
    loaded: &LoadedScenario,
    options: &RunOptions,
    attach_options: &AttachOptions,
) -> Result<RunOutcome, EngineError> {
    let scenario = &loaded.scenario;
    let run_id = new_run_id();
    let progress = Progress::new("", options.quiet);
    let started_at = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    let file = load_cluster_file(&attach_options.file).map_err(|e| EngineError::Attach(e.to_string()))?;
    let report_dir = options.reports_dir.join(&run_id);
    let log_path = report_dir.join(AUDIT_LOG);
    let log = ActionLog::create(&log_path)
        .map_err(|e| EngineError::Attach(format!("failed to create the audit log {}: {e}", log_path.display())))?;
    let (attached, plan) = attach(loaded, &attach_options.file, &file, log.clone(), &run_id)?;
    progress.say(&format!(
        "run {run_id}: scenario {} on environment {} ({}), attached: pgdrill starts and removes nothing",
        scenario.name,
        attached.environment,
        attach_options.file.display()
    ));
    let cluster = Cluster { plan, site: Site::Attached(Arc::new(attached)) };
    let attached = cluster.attached().expect("attached");
    log.record("attach", "cluster", &attach_options.file.display().to_string(), &format!("run {run_id}"));

    let timeline = TimelineWriter::start_now();
    let origin = timeline.zero();
    let mut phases = Phases::default();
    timeline.record(EventKind::Phase { name: "start".into() });
    phases.push("start", Instant::now(), origin);
    let live = LiveView::default();
    let observer_cancel = CancellationToken::new();
    let mut observers = JoinSet::new();
    spawn_observers(&cluster, &timeline, &live, &mut observers, &observer_cancel);
    let stop = StopSignal::default();
    let watch = Watch {
        safety: attached.safety.clone(),
        members: cluster.plan.member_names(),
        timeline: timeline.clone(),
        live: live.clone(),
        stop: stop.clone(),
        log: log.clone(),
        signal: options.cancel.clone(),
        rest: cluster.patroni_endpoints(),
        alerts_from: attached.alerts_from.clone(),
        patroni_names: attached.patroni_names.clone(),
    };
    watch.spawn(&mut observers, observer_cancel.clone());

    timeline.record(EventKind::Phase { name: "steps".into() });
    let t = Instant::now();
    let mut driver = StepDriver::new(&cluster, &timeline, &live, &progress);
    driver.rails = Some(Rails {
        stop: stop.clone(),
        fault_deadline: attached.safety.fault_deadline.0,
        abort: attach_options.abort.clone(),
    });
    let mut result = driver.run_all(scenario).await;
    phases.push("steps", t, origin);
    if let Some(reason) = stop.fired() {
        progress.say(&format!("stop condition: {reason}; undoing every active fault"));
    }
    let first_healthy_at = driver.first_healthy_at;
    let workload = driver.workload.take();
    let heal_problems = driver.heal_all_at_end().await;
    // A second signal: say what is left in effect, and end without the slow epilogue (the
    // leftover audit's commands, the retried drop of the table).
    let aborted = attach_options.abort.is_cancelled();
    if !driver.abandoned.is_empty() {
        log.record("heal-abandoned", "cluster", "", &format!("still in effect: {}", driver.abandoned.join("; ")));
    }
    if !aborted {
        cluster.audit_containers(&timeline).await;
    }
    let had_workload = workload.is_some();
    if result.is_ok() {
        result = audit_workload(&cluster, workload, &[], &timeline, &progress, &mut phases).await;
    } else if let Some(workload) = workload {
        workload.stop().await;
    }
    let dynamic_configuration =
        if aborted { None } else { patroni_dynamic_configuration(&cluster.patroni_endpoints()).await };
    let mut notes = Vec::new();
    if had_workload {
        // The cluster is not pgdrill's: leave no table of the run in it.
        let table = cluster.workload_table();
        let within = std::time::Duration::from_secs(if aborted { 3 } else { 30 });
        let dropped = crate::workload::drop_table(&cluster.primary_endpoint(), &table, within).await;
        let result = match &dropped {
            Ok(done) => format!("ok: {done}"),
            Err(e) => format!("failed: {e}"),
        };
        log.record("drop-table", "cluster", &table.sql(), &result);
        match dropped {
            Ok(done) => notes.push(done),
            Err(e) => notes.push(format!("could not drop the workload table {table}: {e}")),
        }
    }
    observer_cancel.cancel();
    while observers.join_next().await.is_some() {}
    let run_error = result.err();
    timeline.record(EventKind::ObservationEnded { run_error: run_error.as_ref().map(ToString::to_string) });
    if let Some(e) = &run_error {
        progress.say(&format!("run error: {e}"));
    }
    notes.insert(
        0,
        format!(
            "attached to environment {} ({}); every action is in {AUDIT_LOG}",
            attached.environment,
            attach_options.file.display()
        ),
    );
    notes.extend(heal_problems);
    let images = crate::report::RunImages {
        patroni_version: "attached cluster (not known to pgdrill)".into(),
        ..Default::default()
    };
    let done = Finished {
        loaded,
        run_id,
        started_at,
        phases,
        first_healthy_at,
        run_error,
        notes,
        monitoring: None,
        images,
        // The members' files are the cluster's own, not pgdrill's to report.
        configuration: Vec::new(),
        dynamic_configuration,
        cluster_from: None,
    };
    Ok(finish(done, &timeline, report_dir))
}

/// What `--dry-run` prints: the cluster as its REST API shows it now (one `GET /cluster`, which
/// changes nothing), then every step and, for each fault, the commands and REST calls it would
/// make on the members it would hit. Each line also goes to the audit log as `dry-run`.
pub async fn dry_run(
    loaded: &LoadedScenario,
    attach_options: &AttachOptions,
    log_path: &std::path::Path,
) -> Result<Vec<String>, EngineError> {
    let file = load_cluster_file(&attach_options.file).map_err(|e| EngineError::Attach(e.to_string()))?;
    let log = ActionLog::create(log_path)
        .map_err(|e| EngineError::Attach(format!("failed to create the audit log {}: {e}", log_path.display())))?;
    let (attached, plan) = attach(loaded, &attach_options.file, &file, log.clone(), "dry-run")?;
    let mut lines = vec![format!(
        "dry run on environment {} ({}): nothing is changed; faults may act on {}",
        attached.environment,
        attach_options.file.display(),
        attached.allow.join(", ")
    )];
    let roles = read_roles(&attached).await;
    let leader = roles.iter().find(|(_, role)| role == "leader").map(|(m, _)| m.clone());
    let replicas: Vec<String> = roles.iter().filter(|(_, r)| r != "leader").map(|(m, _)| m.clone()).collect();
    lines.push(match &leader {
        Some(_) => format!("now: {}", roles.iter().map(|(m, r)| format!("{m} {r}")).collect::<Vec<_>>().join(", ")),
        None => format!("now: no leader seen ({} members answered GET /cluster)", roles.len()),
    });
    if let Some(w) = &loaded.scenario.workload {
        lines.push(format!(
            "workload: {} writers at {} through {}:{} into pgdrill's own table {} (created for the run, dropped after it)",
            w.writers,
            w.rate,
            attached.client.host,
            attached.client.port,
            attached.workload_table
        ));
    }
    let executor = attached.executor.clone();
    let mut old_primary = None;
    for (index, step) in loaded.scenario.steps.iter().enumerate() {
        let step = &step.value;
        lines.push(format!("step {}: {}", index + 1, describe_step(step)));
        let Some(name) = step.fault.as_ref().filter(|f| !f.is_heal()) else { continue };
        let Some(fault) = fault_by_name(name.as_str()) else { continue };
        let targets: Vec<String> = match step.target.as_ref().map(|t| &t.value) {
            Some(Target::Member(m)) => vec![m.clone()],
            Some(Target::Primary) | None => leader.iter().cloned().collect(),
            Some(Target::OldPrimary) => old_primary.iter().cloned().collect(),
            Some(Target::Replica) => replicas.first().cloned().into_iter().collect(),
            Some(Target::Replicas) => replicas.clone(),
            Some(Target::Members) => plan.member_names(),
            Some(other) => {
                lines.push(format!("  target {other:?} is resolved when the step runs"));
                Vec::new()
            }
        };
        if step.target.as_ref().is_some_and(|t| t.value == Target::Primary) {
            old_primary = targets.first().cloned();
        }
        for target in &targets {
            for op in fault.needs() {
                let line = match op.template() {
                    Some(_) => match executor.preview(*op, target, &["sh", "-c", "<the fault's script>"]) {
                        Ok(command) => format!("  {} {target}: {command}", op.template().unwrap_or_default()),
                        Err(e) => format!("  {} {target}: {e}", op.template().unwrap_or_default()),
                    },
                    None => format!(
                        "  Patroni REST API of {target} ({}), with the rest_api credential",
                        attached.members.get(target).map_or("?", |m| m.rest_url.as_str())
                    ),
                };
                let refused = if attached.allow.contains(target) { "" } else { " (REFUSED: not on the allow-list)" };
                log.record(fault.name(), target, line.trim(), &format!("dry-run{refused}"));
                lines.push(format!("{line}{refused}"));
            }
        }
    }
    Ok(lines)
}

/// (member, role) from the first member whose `GET /cluster` answers, under the run's names.
async fn read_roles(attached: &super::Attached) -> Vec<(String, String)> {
    let Ok(client) = reqwest::Client::builder().timeout(std::time::Duration::from_secs(3)).no_proxy().build() else {
        return Vec::new();
    };
    let rest: Vec<(String, String)> = attached.members.iter().map(|(n, m)| (n.clone(), m.rest_url.clone())).collect();
    match crate::workload::read_cluster(&client, &rest).await {
        Ok(view) => view.renamed(&attached.patroni_names).members.into_iter().map(|m| (m.name, m.role)).collect(),
        Err(_) => Vec::new(),
    }
}
