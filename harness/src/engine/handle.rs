//! A started cluster for a user's own `#[tokio::test]`: the scenario's topology up, the DSN an
//! application uses, the scenario's steps run while the application works, the timeline and the
//! verdicts, and teardown (explicit, or by the guard on drop and on panic).
//!
//! Small on purpose: the faults and expectations are the scenario's steps, validated as in any
//! drill; monitoring (`topology.monitoring`) and chaos are run as drills (`pgdrill run`).
use std::time::Duration;

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::run::{audit_workload, build_images, new_run_id, spawn_observers, start_cluster, Phases, RunOptions};
use super::steps::StepDriver;
use super::{Cluster, EngineError, Progress};
use crate::check::{judge, Verdict};
use crate::observe::LiveView;
use crate::runtime::images::ImageOptions;
use crate::runtime::{sweep, Runtime, SweepScope, TeardownGuard};
use crate::scenario::{parse_scenario, LoadedScenario, Via};
use crate::timeline::{EventKind, Timeline, TimelineWriter};

/// A cluster started from a scenario's YAML, removed by [`ClusterHandle::teardown`] or, failing
/// that, when dropped (also on a panic).
///
/// ```no_run
/// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
/// use pgdrill::testing::Cluster;
///
/// let mut cluster = Cluster::start(r#"
/// name: my-app-rides-through-a-failover
/// topology: {kind: patroni, members: 2, etcd: 1, patroni: {ttl: 20, loop_wait: 2, retry_timeout: 5}}
/// steps:
///   - wait: healthy
///   - fault: kill
///     target: primary
///   - expect: [new_leader: {within: 45s}]
/// "#, &Default::default()).await?;
/// let dsn = cluster.dsn(); // give it to your application, then:
/// cluster.run_steps().await?;
/// assert!(cluster.verdicts().iter().all(|v| v.status == pgdrill::check::Status::Pass));
/// cluster.teardown().await;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct ClusterHandle {
    /// The scenario the cluster was started from (its steps are [`Self::run_steps`]'s).
    loaded: LoadedScenario,
    /// Endpoints, plan and passwords.
    cluster: Cluster,
    /// The Docker side of the run (its id labels everything it created).
    runtime: Runtime,
    /// Everything observed since the start.
    timeline: TimelineWriter,
    /// The observers' latest view, which the steps read.
    live: LiveView,
    /// Progress lines (printed, so a test's output shows them).
    progress: Progress,
    /// The observers, stopped at teardown.
    observers: JoinSet<()>,
    /// Stops the observers.
    observer_cancel: CancellationToken,
    /// Removes the run's containers when the handle is dropped without `teardown`.
    guard: TeardownGuard,
}

impl ClusterHandle {
    /// Parses and validates `yaml` (a scenario file's text), builds the images it needs and
    /// starts its topology with its observers. Refuses `topology.monitoring` and `chaos:`.
    pub async fn start(yaml: &str, images: &ImageOptions) -> Result<Self, EngineError> {
        let loaded = parse_scenario("<cluster>", yaml).map_err(|e| EngineError::Scenario(format!("{e}")))?;
        if loaded.scenario.topology.monitoring.is_some() || loaded.scenario.chaos.is_some() {
            return Err(EngineError::Scenario(
                "a cluster handle runs neither `topology.monitoring` nor `chaos:`: run those as drills".into(),
            ));
        }
        let run_id = new_run_id();
        let progress = Progress::new("", false);
        let runtime = Runtime::new(Runtime::connect().await?, &run_id);
        let options = RunOptions {
            reports_dir: std::path::PathBuf::from("reports"),
            keep: false,
            images: images.clone(),
            cancel: CancellationToken::new(),
            quiet: false,
            monitoring: false,
            citus: loaded.scenario.topology.kind == crate::scenario::TopologyKind::Citus,
            pooler: loaded.scenario.topology.pooler.is_some(),
            attach: None,
        };
        let resolved = build_images(&runtime, &options, &progress).await?;
        let guard = TeardownGuard::new(&run_id);
        let timeline = TimelineWriter::start_now();
        timeline.record(EventKind::Phase { name: "start".into() });
        let cluster = start_cluster(&runtime, &loaded, &resolved, &progress).await?;
        let live = LiveView::default();
        let (mut observers, observer_cancel) = (JoinSet::new(), CancellationToken::new());
        spawn_observers(&cluster, &timeline, &live, &mut observers, &observer_cancel);
        Ok(Self { loaded, cluster, runtime, timeline, live, progress, observers, observer_cancel, guard })
    }

    /// The DSN an application should use (libpq keyword form): PgBouncer's when the topology
    /// has a pooler, else HAProxy's primary port — the path the scenario's own workload takes.
    pub fn dsn(&self) -> String {
        let e = self.cluster.client_endpoint(Via::Pooler);
        format!("host={} port={} user={} password={} dbname={}", e.host, e.port, e.user, e.password, e.dbname)
    }

    /// Runs the scenario's steps (waits, faults, expectations) against the cluster, then undoes
    /// what must not outlive them and audits the workload, as a drill does. Failed expectations
    /// are verdicts ([`Self::verdicts`]), not errors; a fault that cannot apply or a wait that
    /// runs out is an error.
    pub async fn run_steps(&mut self) -> Result<(), EngineError> {
        self.timeline.record(EventKind::Phase { name: "steps".into() });
        let mut driver = StepDriver::new(&self.cluster, &self.timeline, &self.live, &self.progress);
        let result = driver.run_all(&self.loaded.scenario).await;
        let workload = driver.workload.take();
        for problem in driver.heal_all_at_end().await {
            self.progress.say(&problem);
        }
        self.cluster.audit_containers(&self.timeline).await;
        result?;
        audit_workload(&self.cluster, workload, &self.timeline, &self.progress, &mut Phases::default()).await
    }

    /// Everything observed so far: Patroni's view of each member, writes, faults, steps.
    pub fn timeline(&self) -> Timeline {
        self.timeline.snapshot()
    }

    /// The scenario's verdicts judged on the timeline so far (as `check::judge` judges a drill).
    pub fn verdicts(&self) -> Vec<Verdict> {
        judge(&self.loaded.scenario, &self.timeline.snapshot())
    }

    /// Stops the observers and removes the cluster's containers and network (bounded by
    /// Docker's calls); returns what could not be removed.
    pub async fn teardown(mut self) -> Vec<String> {
        self.observer_cancel.cancel();
        let drain = async { while self.observers.join_next().await.is_some() {} };
        if tokio::time::timeout(Duration::from_secs(10), drain).await.is_err() {
            self.observers.abort_all();
        }
        self.timeline.record(EventKind::ObservationEnded { run_error: None });
        let problems = match sweep(self.runtime.docker(), SweepScope::Run(self.runtime.run_id())).await {
            Ok(report) => report.failed,
            Err(e) => vec![format!("teardown failed: {e}; run `pgdrill clean`")],
        };
        if problems.is_empty() {
            self.guard.disarm();
        }
        problems
    }
}
