//! A started cluster for a user's own `#[tokio::test]`: the scenario's topology up, the DSN an
//! application uses, the scenario's steps run while the application works, the timeline and the
//! verdicts, and teardown (explicit, or by the guard on drop and on panic).
//!
//! Small on purpose: the faults and expectations are the scenario's steps, validated as in any
//! drill — all at once ([`ClusterHandle::run_steps`]) or one call at a time
//! ([`ClusterHandle::fault`], [`ClusterHandle::expect`], [`ClusterHandle::step`]) for a scenario
//! started without `steps:`; monitoring (`topology.monitoring`) and chaos are run as drills
//! (`pgdrill run`).
use std::time::Duration;

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::run::{audit_workload, build_images, new_run_id, spawn_observers, start_cluster, Phases, RunOptions};
use super::steps::{Carried, StepDriver};
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
///
/// Or, started without `steps:`, one step per call (each validated with those before it):
///
/// ```no_run
/// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// use pgdrill::check::Status;
/// use pgdrill::testing::Cluster;
///
/// let mut cluster = Cluster::start(r#"
/// name: my-app-rides-through-a-switchover
/// topology: {kind: patroni, members: 2, etcd: 1, patroni: {ttl: 20, loop_wait: 2, retry_timeout: 5}}
/// invariants: [single_primary]
/// "#, &Default::default()).await?;
/// cluster.wait_healthy(Duration::from_secs(90)).await?;
/// // ... start your application on cluster.dsn() ...
/// cluster.fault("switchover", "primary").await?;
/// let verdicts = cluster.expect("new_leader: {within: 30s}").await?;
/// assert!(verdicts.iter().all(|v| v.status == Status::Pass));
/// cluster.finish().await?; // undo what is left, audit the scenario's workload
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
    /// Started without `steps:`: the scenario's text, and the steps run one call at a time
    /// (`None`: the scenario's own steps, for `run_steps`).
    stepwise: Option<Stepwise>,
}

/// A scenario driven one step per call: each call's step is validated with the steps before it
/// (an `expect` needs an earlier fault), as if they were one scenario file.
#[derive(Debug)]
struct Stepwise {
    /// The scenario's text, without `steps:`.
    base: String,
    /// Each step run so far, as a YAML list item.
    items: Vec<String>,
    /// What the driver carries between calls.
    carried: Carried,
    /// The workload has been stopped and audited (`finish`).
    finished: bool,
}

impl Stepwise {
    /// The scenario text with `items` and `next` as its steps.
    fn text_with(&self, next: &str) -> String {
        let mut text = self.base.trim_end().to_string();
        text.push_str("\nsteps:\n");
        for item in self.items.iter().map(String::as_str).chain([next]) {
            text.push_str(item);
        }
        text
    }
}

/// A libpq keyword DSN to `host:port` with `endpoint`'s user, password and database.
fn keyword_dsn(host: &str, port: u16, endpoint: &crate::workload::PgEndpoint) -> String {
    let e = endpoint;
    format!("host={host} port={port} user={} password={} dbname={}", e.user, e.password, e.dbname)
}

/// `step` (a YAML mapping, one or more lines) as an item of a block list indented by two.
fn list_item(step: &str) -> String {
    let mut item = String::new();
    for (i, line) in step.trim_matches('\n').lines().enumerate() {
        item.push_str(if i == 0 { "  - " } else { "    " });
        item.push_str(line);
        item.push('\n');
    }
    item
}

impl ClusterHandle {
    /// Parses and validates `yaml` (a scenario file's text), builds the images it needs and
    /// starts its topology with its observers. Refuses `topology.monitoring` and `chaos:`.
    ///
    /// Without `steps:` in `yaml` (a block mapping), the steps are given one call at a time:
    /// [`Self::wait_healthy`], [`Self::fault`], [`Self::expect`], [`Self::step`].
    pub async fn start(yaml: &str, images: &ImageOptions) -> Result<Self, EngineError> {
        let (loaded, stepwise) = match parse_scenario("<cluster>", yaml) {
            Ok(loaded) => (loaded, None),
            // No steps: valid once it has one, so check it with a wait for health.
            Err(error) => match parse_scenario(
                "<cluster>",
                &format!("{}\nsteps: [{{wait: healthy, within: 90s}}]\n", yaml.trim_end()),
            ) {
                Ok(loaded) if loaded.scenario.steps.len() == 1 => {
                    let stepwise = Stepwise {
                        base: yaml.to_string(),
                        items: Vec::new(),
                        carried: Carried::default(),
                        finished: false,
                    };
                    (loaded, Some(stepwise))
                }
                _ => return Err(EngineError::Scenario(format!("{error}"))),
            },
        };
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
            reuse: None,
        };
        let resolved = build_images(&runtime, &options, &progress).await?;
        let guard = TeardownGuard::new(&run_id);
        let timeline = TimelineWriter::start_now();
        timeline.record(EventKind::Phase { name: "start".into() });
        let cluster = start_cluster(&runtime, &loaded, &resolved, &progress).await?;
        let live = LiveView::default();
        let (mut observers, observer_cancel) = (JoinSet::new(), CancellationToken::new());
        spawn_observers(&cluster, &timeline, &live, &mut observers, &observer_cancel);
        Ok(Self { loaded, cluster, runtime, timeline, live, progress, observers, observer_cancel, guard, stepwise })
    }

    /// The DSN an application should use (libpq keyword form): PgBouncer's when the topology
    /// has a pooler, else HAProxy's primary port — the path the scenario's own workload takes.
    pub fn dsn(&self) -> String {
        let e = self.cluster.client_endpoint(Via::Pooler);
        keyword_dsn(&e.host, e.port, &e)
    }

    /// The Docker network the cluster's containers are on. A container of the application's own
    /// joins it (`docker run --network NAME`, testcontainers' `with_network(NAME)`) and reaches
    /// the cluster by name with [`Self::dsn_in_network`].
    pub fn network(&self) -> String {
        self.runtime.network().to_string()
    }

    /// [`Self::dsn`] for a container on [`Self::network`]: PgBouncer's or HAProxy's container
    /// name and port inside the network (`host=haproxy port=5000 …`).
    pub fn dsn_in_network(&self) -> String {
        let e = self.cluster.client_endpoint(Via::Pooler);
        let (host, port) = match &self.cluster.plan.pooler {
            Some(pooler) => (pooler.name.as_str(), crate::topology::PGBOUNCER_PORT),
            None => (self.cluster.plan.haproxy.name.as_str(), crate::topology::HAPROXY_PRIMARY_PORT),
        };
        keyword_dsn(host, port, &e)
    }

    /// Runs the scenario's steps (waits, faults, expectations) against the cluster, then undoes
    /// what must not outlive them and audits the workload, as a drill does. Failed expectations
    /// are verdicts ([`Self::verdicts`]), not errors; a fault that cannot apply or a wait that
    /// runs out is an error.
    pub async fn run_steps(&mut self) -> Result<(), EngineError> {
        if self.stepwise.is_some() {
            return Err(EngineError::Scenario(
                "this cluster was started without `steps:`: give them one at a time (fault, expect, step)".into(),
            ));
        }
        self.timeline.record(EventKind::Phase { name: "steps".into() });
        let mut driver = StepDriver::new(&self.cluster, &self.timeline, &self.live, &self.progress);
        let result = driver.run_all(&self.loaded.scenario).await;
        self.end_steps(driver, result).await
    }

    /// What ends the steps, as in a drill: undo what must not outlive them, record what faults
    /// left behind, then (when the steps ran) stop the workload and audit its writes.
    async fn end_steps(&self, mut driver: StepDriver<'_>, steps: Result<(), EngineError>) -> Result<(), EngineError> {
        let workload = driver.workload.take();
        let left_down = driver.down();
        for problem in driver.heal_all_at_end().await {
            self.progress.say(&problem);
        }
        self.cluster.audit_containers(&self.timeline).await;
        steps?;
        let phases = &mut Phases::default();
        audit_workload(&self.cluster, workload, &left_down, &self.timeline, &self.progress, phases).await
    }

    /// Runs one step, written as in a scenario file (`fault: kill\ntarget: primary`, `sleep: 2s`,
    /// `exec: {...}`), after validating it with the steps before it; returns the verdicts of its
    /// expectations (none for other steps). A failed expectation is a verdict, not an error.
    pub async fn step(&mut self, yaml: &str) -> Result<Vec<Verdict>, EngineError> {
        let Some(stepwise) = self.stepwise.as_mut() else {
            return Err(EngineError::Scenario(
                "this cluster runs its scenario's own `steps:` (run_steps); start it without them to step".into(),
            ));
        };
        if stepwise.finished {
            return Err(EngineError::Scenario("the steps are finished (finish was called)".into()));
        }
        let item = list_item(yaml);
        let loaded = parse_scenario("<cluster>", &stepwise.text_with(&item))
            .map_err(|e| EngineError::Scenario(format!("{e}")))?;
        stepwise.items.push(item);
        let index = stepwise.items.len() - 1;
        let carried = std::mem::take(&mut stepwise.carried);
        let mut driver = StepDriver::resume(&self.cluster, &self.timeline, &self.live, &self.progress, carried);
        let result = driver.run_one(index, &loaded.scenario).await;
        stepwise.carried = driver.suspend();
        self.loaded = loaded;
        result?;
        Ok(self.verdicts().into_iter().filter(|v| v.step == Some(index)).collect())
    }

    /// `wait: healthy` bounded by `within` (the first one also starts the scenario's workload).
    pub async fn wait_healthy(&mut self, within: Duration) -> Result<(), EngineError> {
        let within = format!("{}ms", within.as_millis());
        self.step(&format!("wait: healthy\nwithin: {within}")).await.map(|_| ())
    }

    /// Applies fault `name` (`kill`, `switchover`, `partition`, ...) to `target` (`primary`,
    /// `replica`, `{member: pg-2}`, ...), proves it took effect and records it; the
    /// expectations after it count from here.
    pub async fn fault(&mut self, name: &str, target: &str) -> Result<(), EngineError> {
        self.step(&format!("fault: {name}\ntarget: {target}")).await.map(|_| ())
    }

    /// Waits on `expectations` (`new_leader: {within: 45s}`, several separated by commas) as
    /// an `expect` step does and returns their verdicts.
    pub async fn expect(&mut self, expectations: &str) -> Result<Vec<Verdict>, EngineError> {
        self.step(&format!("expect: [{expectations}]")).await
    }

    /// Ends the steps given one at a time as a drill ends them: undoes what must not outlive
    /// them, records what faults left behind, stops the workload and audits its writes (the
    /// invariants of [`Self::verdicts`] then judge them).
    pub async fn finish(&mut self) -> Result<(), EngineError> {
        let Some(stepwise) = self.stepwise.as_mut().filter(|s| !s.finished) else { return Ok(()) };
        stepwise.finished = true;
        let carried = std::mem::take(&mut stepwise.carried);
        let driver = StepDriver::resume(&self.cluster, &self.timeline, &self.live, &self.progress, carried);
        self.end_steps(driver, Ok(())).await
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
