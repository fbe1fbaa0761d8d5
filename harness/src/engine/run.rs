//! One run from start to finish. Whatever happens after the first container is created, the run's
//! resources are removed (explicit teardown; the guard covers panics) unless `keep` is set.
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::reuse::{origin_after, reuse_key, Claimed};
use super::steps::StepDriver;
use super::{Cluster, EngineError, Progress};
use crate::check::{faults_undone, judge, names, Status};
use crate::observe::{
    citus_transactions, DistNodeObserver, LiveView, PatroniObserver, PoolerObserver, PreparedXactsObserver,
    WritableProbe,
};
use crate::report::member_configurations;
use crate::report::{harness_usage, PhaseTiming, RunReport, Timings, WriteReportError};
use crate::runtime::images::{ensure_images, ImageName, ImageOptions, ResolvedImages};
use crate::runtime::{sweep, Runtime, SweepScope, TeardownGuard};
use crate::scenario::LoadedScenario;
use crate::timeline::{EventKind, TimelineWriter};
use crate::topology::{plan, Secrets};
use crate::workload::audit_writes;

/// Bound on the end-of-run write audit's waits (convergence, then replay on every replica).
const AUDIT_WITHIN: Duration = Duration::from_secs(30);

/// How to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Where `reports/<run-id>/` goes.
    pub reports_dir: PathBuf,
    /// Leave the containers running after the run (for debugging).
    pub keep: bool,
    /// Image options (image set, Citus flavour, rebuild).
    pub images: ImageOptions,
    /// Fires on Ctrl-C / SIGTERM.
    pub cancel: CancellationToken,
    /// No progress lines.
    pub quiet: bool,
    /// Also build the monitoring images (set from the scenario by `run_scenario`).
    pub monitoring: bool,
    /// Also build the Citus image (set from the scenario by `run_scenario`).
    pub citus: bool,
    /// Also build the PgBouncer image (set from the scenario's `topology.pooler` by `run_scenario`).
    pub pooler: bool,
    /// Drill a cluster pgdrill did not start instead of starting one.
    pub attach: Option<super::AttachOptions>,
    /// Hand a healed cluster on to the next drill with the same topology (`pgdrill drill`
    /// without `--fresh`); `None`: every run starts its own and tears it down.
    pub reuse: Option<std::sync::Arc<super::ReuseSlot>>,
}

/// A finished run.
#[derive(Debug)]
pub struct RunOutcome {
    /// The report (also written as JSON unless `write_error` says otherwise).
    pub report: RunReport,
    /// The run's report directory.
    pub report_dir: PathBuf,
    /// Why the report files could not be written (a full disk, a read-only directory): the
    /// verdicts are still in `report`, so the caller prints them before saying so.
    pub write_error: Option<WriteReportError>,
}

/// A run id: the start time (UTC, to the second, so ids sort by time) and 32 random bits from
/// the OS, e.g. `20261123-101500-9f3a61c2`: two runs started in the same second collide about
/// once in four billion, where a collision would let one run's sweep remove the other's
/// containers. Lowercase hex and dashes only, so it is valid in Docker names and labels.
pub fn new_run_id() -> String {
    let now = SystemTime::now();
    let stamp = humantime::format_rfc3339_seconds(now).to_string();
    let compact: String = stamp.chars().filter(char::is_ascii_digit).collect();
    // The OS's generator does not fail on the systems pgdrill runs on; should it, the clock's
    // nanoseconds and the pid still keep ids of one second apart.
    let suffix = getrandom::u32().unwrap_or_else(|_| {
        let nanos = now.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default().subsec_nanos();
        nanos ^ std::process::id().rotate_left(16)
    });
    format!("{}-{}-{suffix:08x}", &compact[..8], &compact[8..14])
}

/// Measured phase boundaries.
#[derive(Debug, Default)]
pub(super) struct Phases {
    pub(super) list: Vec<PhaseTiming>,
}

impl Phases {
    pub(super) fn push(&mut self, name: &str, started: Instant, origin: Instant) {
        self.list.push(PhaseTiming {
            name: name.to_string(),
            started_ms: started.duration_since(origin).as_millis() as u64,
            duration_ms: started.elapsed().as_millis() as u64,
        });
    }
    pub(super) fn duration(&self, name: &str) -> u64 {
        self.list.iter().find(|p| p.name == name).map_or(0, |p| p.duration_ms)
    }
}

/// Builds (or reuses) the images a Patroni topology needs.
pub async fn build_images(
    runtime: &Runtime,
    options: &RunOptions,
    progress: &Progress,
) -> Result<ResolvedImages, EngineError> {
    let mut wanted = vec![ImageName::Etcd, ImageName::Patroni, ImageName::Haproxy];
    if options.monitoring {
        wanted.extend(ImageName::MONITORING);
    }
    if options.citus {
        wanted.push(options.images.citus.image());
    }
    if options.pooler {
        wanted.push(ImageName::Pgbouncer);
    }
    Ok(ensure_images(runtime.docker(), &wanted, &options.images, &|line: &str| progress.say(line)).await?)
}

/// Starts the scenario's topology on a fresh network of `runtime`'s run, with fresh passwords.
pub async fn start_cluster(
    runtime: &Runtime,
    loaded: &LoadedScenario,
    images: &ResolvedImages,
    progress: &Progress,
) -> Result<Cluster, EngineError> {
    let plan_images = images.plan_images();
    let secrets = Secrets::generate().map_err(EngineError::Secrets)?;
    let plan = plan(&loaded.scenario.topology, &plan_images, runtime.run_id(), secrets);
    progress.say(&format!("starting {} containers on network {}", plan.all().count(), runtime.network()));
    Ok(Cluster::start(runtime.clone(), plan).await?)
}

/// Patroni's dynamic configuration as the cluster holds it at the end of the run (`GET /config`
/// of the first member that answers within 2 s), redacted; `None` when none answers.
pub(super) async fn patroni_dynamic_configuration(endpoints: &[(String, String)]) -> Option<serde_json::Value> {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(2)).no_proxy().build().ok()?;
    for (_, base) in endpoints {
        let Ok(answer) = client.get(format!("{base}/config")).send().await else { continue };
        let Ok(value) = answer.json::<crate::scenario::ConfigValue>().await else { continue };
        return serde_json::to_value(value.redacted()).ok();
    }
    None
}

/// What the report says about the images of the run.
fn run_images(images: &ResolvedImages, options: &RunOptions) -> crate::report::RunImages {
    crate::report::RunImages {
        patroni_version: images.set.patroni.clone(),
        postgres_major: Some(images.set.pg.number()),
        tags: images.tags_by_role().into_iter().map(|(role, tag)| (role.to_string(), tag.to_string())).collect(),
        citus: options.citus.then(|| options.images.citus.describe(&options.images.set)),
    }
}

/// Citus: puts the transactions Patroni's citus handler ran on each coordinator member (from
/// their logs, before teardown removes them) on the timeline, at the time they ended.
async fn record_citus_transactions(cluster: &Cluster, timeline: &crate::timeline::TimelineWriter) {
    let Some((runtime, _)) = cluster.started() else { return };
    for (member, _) in cluster.coordinator_endpoints() {
        let log = runtime.full_log(&member).await;
        for t in citus_transactions(&log) {
            let (Some(began_at), Some(ended_at)) = (timeline.at_wall(t.began), timeline.at_wall(t.ended)) else {
                continue;
            };
            let kind = EventKind::CitusTransaction {
                member: member.clone(),
                began_at,
                outcome: t.outcome,
                statements: t.statements,
            };
            timeline.record_at(ended_at, kind);
        }
    }
}

/// Removes the run's containers and networks (or keeps them with `keep`); returns notes for the
/// report on what could not be removed.
async fn teardown(runtime: &Runtime, keep: bool, progress: &Progress) -> Vec<String> {
    let run_id = runtime.run_id();
    if keep {
        progress.say(&format!("keeping containers of run {run_id}: `pgdrill down {run_id}` removes them"));
        return vec![format!("containers kept (--keep); remove them with `pgdrill down {run_id}`")];
    }
    match sweep(runtime.docker(), SweepScope::Run(run_id)).await {
        Ok(report) => {
            progress.say(&format!(
                "teardown: removed {} containers, {} networks",
                report.containers.len(),
                report.networks.len()
            ));
            report.failed.iter().map(|f| format!("teardown could not remove {f}; run `pgdrill clean`")).collect()
        }
        Err(e) => vec![format!("teardown failed: {e}; run `pgdrill clean`")],
    }
}

/// Spawns the observers every run has: Patroni's REST API, the writable probe, and for Citus
/// pg_dist_node and the workers' orphaned prepared transactions.
pub(super) fn spawn_observers(
    cluster: &Cluster,
    timeline: &TimelineWriter,
    live: &LiveView,
    observers: &mut JoinSet<()>,
    cancel: &CancellationToken,
) {
    PatroniObserver::new(cluster.patroni_endpoints()).spawn(observers, timeline.clone(), live.clone(), cancel.clone());
    WritableProbe::new(cluster.member_pg_endpoints()).spawn(observers, timeline.clone(), cancel.clone());
    if let Some(console) = cluster.pooler_console() {
        PoolerObserver::new(console, cluster.plan.database()).spawn(observers, timeline.clone(), cancel.clone());
    }
    if cluster.plan.groups.is_some() {
        DistNodeObserver::new(cluster.coordinator_endpoints()).spawn(
            observers,
            timeline.clone(),
            live.clone(),
            cancel.clone(),
        );
        PreparedXactsObserver::new(cluster.worker_endpoints()).spawn(
            observers,
            timeline.clone(),
            live.clone(),
            cancel.clone(),
        );
    }
}

/// Stops the workload and audits what it wrote (the audit phase of every run).
pub(super) async fn audit_workload(
    cluster: &Cluster,
    workload: Option<crate::workload::WorkloadHandle>,
    left_down: &[String],
    timeline: &TimelineWriter,
    progress: &Progress,
    phases: &mut Phases,
) -> Result<(), EngineError> {
    let Some(workload) = workload else { return Ok(()) };
    workload.stop().await;
    let t = Instant::now();
    timeline.record(EventKind::Phase { name: "audit".into() });
    let plan = cluster.audit_plan(AUDIT_WITHIN, left_down);
    let summary = audit_writes(&plan, timeline).await.map_err(EngineError::Workload)?;
    progress.say(&format!(
        "audit: {} rows on {} (the DCS's leader), {} replicas read, {} not readable",
        summary.rows, summary.leader, summary.replicas, summary.skipped
    ));
    phases.push("audit", t, timeline.zero());
    Ok(())
}

/// What a finished run's report is made of, besides the timeline.
pub(super) struct Finished<'a> {
    pub(super) loaded: &'a LoadedScenario,
    pub(super) run_id: String,
    pub(super) started_at: String,
    pub(super) phases: Phases,
    pub(super) first_healthy_at: Option<crate::timeline::Millis>,
    pub(super) run_error: Option<EngineError>,
    pub(super) notes: Vec<String>,
    pub(super) monitoring: Option<crate::report::MonitoringSummary>,
    pub(super) images: crate::report::RunImages,
    pub(super) configuration: Vec<crate::report::MemberConfiguration>,
    pub(super) dynamic_configuration: Option<serde_json::Value>,
    pub(super) cluster_from: Option<crate::timeline::ClusterOrigin>,
}

/// Judges the run from the scenario and the timeline alone (as `pgdrill report --rejudge`
/// does), builds its report and writes it into `report_dir`.
pub(super) fn finish(done: Finished<'_>, timeline: &TimelineWriter, report_dir: PathBuf) -> RunOutcome {
    let scenario = &done.loaded.scenario;
    let final_timeline = timeline.snapshot();
    let verdicts = judge(scenario, &final_timeline);
    let detection = verdicts.iter().find(|v| v.check == names::NEW_LEADER).and_then(|v| v.observed_ms);
    let phases = done.phases;
    let healthy_ms = done.first_healthy_at.map(|at| {
        let start_phase_end =
            phases.list.iter().find(|p| p.name == "start").map_or(0, |p| p.started_ms + p.duration_ms);
        at.saturating_sub(start_phase_end)
    });
    let passed = done.run_error.is_none() && !verdicts.is_empty() && verdicts.iter().all(|v| v.status == Status::Pass);
    let report = RunReport {
        schema_version: 1,
        run_id: done.run_id,
        scenario: scenario.name.clone(),
        scenario_file: done.loaded.path.display().to_string(),
        started_at: done.started_at,
        passed,
        verdicts,
        timings: Timings {
            image_build_ms: phases.duration("images"),
            containers_start_ms: phases.duration("start"),
            time_to_healthy_ms: healthy_ms,
            detection_latency_ms: detection,
            teardown_ms: phases.duration("teardown"),
        },
        phases: phases.list,
        harness: harness_usage(),
        error: done.run_error.as_ref().map(ToString::to_string),
        notes: done.notes,
        monitoring: done.monitoring,
        images: done.images,
        configuration: done.configuration,
        dynamic_configuration: done.dynamic_configuration,
        cluster_from: done.cluster_from,
        timeline: final_timeline,
    };
    let write_error = crate::report::write_all(&report, &report_dir).err();
    RunOutcome { report, report_dir, write_error }
}

/// Why a run's cluster must not be handed on to the next drill: a run error, a fault not
/// undone, a member a fault left down, or a leftover the end-of-run container audit found
/// (whether or not the run judged `faults_undone`: a drill without fault steps can leave a rule
/// behind too).
fn not_handed_on_because(
    run_error: Option<&EngineError>,
    heal_problems: Option<&[String]>,
    left_down: &[String],
    timeline: &TimelineWriter,
) -> Option<String> {
    if let Some(e) = run_error {
        return Some(format!("the run stopped with an error ({e})"));
    }
    if !left_down.is_empty() {
        return Some(format!("{} left down by a fault", left_down.join(", ")));
    }
    match heal_problems {
        None => return Some("its faults were not healed".into()),
        Some(problems) if !problems.is_empty() => return Some(problems.join("; ")),
        Some(_) => {}
    }
    let audit = faults_undone(&timeline.snapshot());
    (audit.status != Status::Pass).then_some(audit.observed)
}

/// Runs a loaded (validated) scenario and writes its report.
pub async fn run_scenario(loaded: &LoadedScenario, options: &RunOptions) -> Result<RunOutcome, EngineError> {
    if let Some(attach) = &options.attach {
        return Box::pin(super::attached_run::run_attached(loaded, options, attach)).await;
    }
    let scenario = &loaded.scenario;
    let run_id = new_run_id();
    let progress = Progress::new("", options.quiet);
    let started_at = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    progress.say(&format!("run {run_id}: scenario {} ({})", scenario.name, loaded.path.display()));
    let docker = Runtime::connect().await?;
    let runtime = Runtime::new(docker, &run_id).kept(options.keep);
    let timeline = TimelineWriter::start_now();
    let origin = timeline.zero();
    let mut phases = Phases::default();
    let mut guard = TeardownGuard::new(&run_id);

    // Images first: a build failure leaves nothing to tear down.
    let t = Instant::now();
    timeline.record(EventKind::Phase { name: "images".into() });
    let monitoring = match super::monitoring::prepare(loaded) {
        Ok(m) => m,
        Err(e) => {
            guard.disarm();
            return Err(e);
        }
    };
    if let Some(setup) = &monitoring {
        for unknown in setup.unknown_metrics() {
            progress.warn(&unknown.to_string());
        }
    }
    let citus = scenario.topology.kind == crate::scenario::TopologyKind::Citus;
    let pooler = scenario.topology.pooler.is_some();
    let options = &RunOptions { monitoring: monitoring.is_some(), citus, pooler, ..options.clone() };
    let images = match build_images(&runtime, options, &progress).await {
        Ok(images) => images,
        Err(e) => {
            guard.disarm();
            return Err(e);
        }
    };
    phases.push("images", t, origin);
    if let Some(setup) = &monitoring {
        // Rule errors are found before any container of the run starts.
        if let Err(e) = setup.check(&images, &run_id, &runtime).await {
            guard.disarm();
            return Err(e);
        }
        progress.say("monitoring: promtool accepts the rule files");
    }
    // A cluster an earlier drill left, if its baseline passes (else it is torn down here).
    let reuse_key = options.reuse.as_ref().and_then(|_| reuse_key(loaded, options));
    let claimed = match (&options.reuse, &reuse_key) {
        (Some(slot), Some(key)) => slot.claim(key, &timeline, &progress).await,
        (Some(slot), None) => {
            slot.release(&progress).await;
            None
        }
        (None, _) => None,
    };
    let cluster_from = claimed.as_ref().map(|c| c.origin.clone());
    let (runtime, mut reused, mut claimed_guard) = match claimed {
        Some(c) => (c.runtime, Some(c.cluster), Some(c.guard)),
        None => (runtime, None, None),
    };
    let wall_start = SystemTime::now();
    let mut prom_port: Option<u16> = None;

    let live = LiveView::default();
    let observer_cancel = CancellationToken::new();
    let mut observers = JoinSet::new();
    let mut driver_state = None;
    let mut left_down_at_end = Vec::new();
    let mut first_healthy_at = None;
    let mut dynamic_configuration = None;
    let mut logs_of: Option<Cluster> = None;

    let body = async {
        let t = Instant::now();
        timeline.record(EventKind::Phase { name: "start".into() });
        let mut cluster = match reused.take() {
            Some(cluster) => cluster,
            None => start_cluster(&runtime, loaded, &images, &progress).await?,
        };
        if let Some(setup) = &monitoring {
            prom_port =
                Some(setup.start(&mut cluster, &images, &timeline, &mut observers, observer_cancel.clone()).await?);
        }
        logs_of = Some(cluster.clone());
        phases.push("start", t, origin);
        spawn_observers(&cluster, &timeline, &live, &mut observers, &observer_cancel);
        timeline.record(EventKind::Phase { name: "steps".into() });
        let t = Instant::now();
        let mut driver = StepDriver::new(&cluster, &timeline, &live, &progress);
        driver.monitoring = monitoring.as_ref().zip(prom_port);
        let result = driver.run_all(scenario).await;
        phases.push("steps", t, origin);
        first_healthy_at = driver.first_healthy_at;
        let workload = driver.workload.take();
        left_down_at_end = driver.down();
        let heal_problems = driver.heal_all_at_end().await;
        cluster.audit_containers(&timeline).await;
        driver_state = Some(heal_problems);
        result?;
        audit_workload(&cluster, workload, &left_down_at_end, &timeline, &progress, &mut phases).await?;
        dynamic_configuration = patroni_dynamic_configuration(&cluster.patroni_endpoints()).await;
        Ok::<(), EngineError>(())
    };
    let (run_error, interrupted) = tokio::select! {
        result = body => (result.err(), false),
        () = options.cancel.cancelled() => (Some(EngineError::Interrupted("a signal".into())), true),
    };
    observer_cancel.cancel();
    if interrupted {
        // Nothing they would record after the signal is wanted: do not wait for a probe.
        observers.abort_all();
    }
    while observers.join_next().await.is_some() {}
    // Final verdicts are judged up to here: after this nothing is observed, so a state seen last
    // must not be assumed to last through teardown.
    timeline.record(EventKind::ObservationEnded { run_error: run_error.as_ref().map(ToString::to_string) });
    if let Some(e) = &run_error {
        progress.say(&format!("run error: {e}"));
    }

    // After a signal, teardown comes first: nextest and `docker stop` send SIGKILL about 10 s
    // after SIGTERM, and the summaries and log reads below take longer than that on a loaded
    // host. What they would have added to the report is lost, and the report says so.
    let mut notes = Vec::new();
    let report_dir = options.reports_dir.join(&run_id);
    if interrupted {
        let t = Instant::now();
        timeline.record(EventKind::Phase { name: "teardown".into() });
        notes.extend(teardown(&runtime, options.keep, &progress).await);
        phases.push("teardown", t, origin);
        notes.push(
            "interrupted: torn down first, so container logs, Citus transactions and the monitoring summary \
             were not collected"
                .to_string(),
        );
    }

    let monitoring_summary = match &monitoring {
        Some(setup) if !interrupted => {
            // The shipped metric list was read off the default image set.
            let default_patroni = options.images.set == crate::runtime::images::ImageSet::default();
            Some(
                setup
                    .summary(prom_port, (wall_start, timeline.wall_zero()), &timeline.snapshot(), default_patroni)
                    .await,
            )
        }
        _ => None,
    };

    if let Some(cluster) = logs_of.as_ref().filter(|_| !interrupted) {
        record_citus_transactions(cluster, &timeline).await;
        // Keep every container's log tail beside the report: after teardown they are gone.
        // 10000 lines reach back to a killed member's restart: 2000 did not when Patroni retried a
        // failing start for a minute (55 lines every 2 s), 300 not even without that.
        if let Err(e) = cluster.save_logs(&report_dir, 10_000).await {
            progress.say(&format!("could not save container logs: {e}"));
        }
    }

    if !interrupted {
        let t = Instant::now();
        timeline.record(EventKind::Phase { name: "teardown".into() });
        let unclean = not_handed_on_because(run_error.as_ref(), driver_state.as_deref(), &left_down_at_end, &timeline);
        match (&options.reuse, reuse_key, logs_of.clone(), unclean) {
            (Some(slot), Some(key), Some(cluster), None) if slot.next_takes(&key) => {
                let origin = origin_after(cluster_from.as_ref(), runtime.run_id(), &run_id, &scenario.name);
                // The guard moves with the cluster: a panic later in the suite still removes it.
                let guard = claimed_guard.take().unwrap_or_else(|| TeardownGuard::new(runtime.run_id()));
                let parked = Claimed { runtime: runtime.clone(), cluster, guard, origin };
                notes.extend(slot.park(key, parked, &progress).await.err());
            }
            (Some(slot), Some(key), Some(_), Some(why)) if slot.next_takes(&key) => {
                notes.push(format!("cluster not handed on to the next drill: {why}"));
                notes.extend(teardown(&runtime, options.keep, &progress).await);
            }
            _ => notes.extend(teardown(&runtime, options.keep, &progress).await),
        }
        phases.push("teardown", t, origin);
    }
    // Torn down above (or moved into the slot).
    if let Some(claimed_guard) = claimed_guard.as_mut() {
        claimed_guard.disarm();
    }
    guard.disarm();
    notes.extend(driver_state.unwrap_or_default());

    let done = Finished {
        loaded,
        run_id,
        started_at,
        phases,
        first_healthy_at,
        run_error,
        notes,
        monitoring: monitoring_summary,
        images: run_images(&images, options),
        configuration: logs_of.as_ref().map(|cluster| member_configurations(&cluster.plan)).unwrap_or_default(),
        dynamic_configuration,
        cluster_from,
    };
    Ok(finish(done, &timeline, report_dir))
}
