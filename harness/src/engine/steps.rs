//! Driving a scenario's steps against a started cluster.
use std::time::Duration;

use super::{Cluster, EngineError, Progress};
use crate::check::{evaluate_expectation, CheckContext, Status, Verdict};
use std::sync::{Arc, Mutex};

use tokio::task::JoinSet;

use crate::fault::{apply, fault_by_name, undo, ActiveFault, FaultContext, FaultRequest, Resolver};
use crate::fault::{Fault, TargetMemory};
use crate::observe::LiveView;
use crate::scenario::{
    variant_name, Expectation, OptionKind, Scenario, Step, Target, TargetRule, Transactions, Via, WaitFor, CLIENTS,
};
use crate::timeline::{EventKind, Millis, TimelineWriter};
use crate::topology::{etcd_names, member_group, member_names};
use crate::workload::{buckets_by_group, prepare_table, WorkloadHandle, WriterConfig, BUCKETS};

mod exec;

/// Default bound for `wait: healthy` without `within`.
const DEFAULT_HEALTHY_WITHIN: Duration = Duration::from_secs(90);
/// Slack after the largest budget of an expect step before giving up waiting (the final verdict
/// is still judged against each budget exactly).
const EXPECT_SLACK: Duration = Duration::from_secs(1);
/// Bound for auto-heals already undoing their fault when the steps end (Docker calls and the
/// proof of the undo).
const HEAL_DRAIN: Duration = Duration::from_secs(60);

/// State carried from step to step.
pub struct StepDriver<'a> {
    /// The cluster.
    pub cluster: &'a Cluster,
    /// The run's timeline.
    pub timeline: &'a TimelineWriter,
    /// Latest observations.
    pub live: &'a LiveView,
    /// Progress output.
    pub progress: &'a Progress,
    /// What earlier faults resolved.
    pub memory: TargetMemory,
    /// The most recent fault: when it was applied, the primary (of its group, for Citus) at
    /// that moment, and its Citus group.
    last_fault: Option<LastFault>,
    /// Faults still in effect, shared with auto-heal tasks.
    pub active: Arc<Mutex<Vec<ActiveFault>>>,
    /// Auto-heal tasks (`duration:`): those still waiting are cancelled at the end of the steps;
    /// one that has begun its undo finishes it.
    heal_tasks: JoinSet<()>,
    /// The auto-heals whose undo is under way, by fault (what a second signal leaves in effect).
    healing: Arc<Mutex<Vec<String>>>,
    /// Cancels the auto-heal tasks that are still waiting.
    heal_cancel: tokio_util::sync::CancellationToken,
    /// What faults act through.
    faults: FaultContext,
    /// The workload, once started.
    pub workload: Option<WorkloadHandle>,
    /// Time the cluster first became healthy.
    pub first_healthy_at: Option<Millis>,
    /// The monitoring stack and Prometheus's port, when the scenario has one.
    pub monitoring: Option<(&'a super::monitoring::MonitoringSetup, u16)>,
    /// Attached runs: the rails (stop signal checked at every wait, fault deadline, undo of every
    /// fault at the end).
    pub rails: Option<Rails>,
    /// Attached: the faults the end-of-run heal left in effect because a second signal came.
    pub abandoned: Vec<String>,
}

/// What an attached run adds to the driver.
#[derive(Debug, Clone)]
pub struct Rails {
    /// Fired by a stop condition or a signal: the steps end at their next wait.
    pub stop: super::safety::StopSignal,
    /// Every lasting fault is undone at the latest this long after it was applied.
    pub fault_deadline: Duration,
    /// A second signal: the end-of-run heal gives up and lists what it left in effect.
    pub abort: tokio_util::sync::CancellationToken,
}

/// What a driver carries from step to step, for a caller that drives steps one call at a time
/// and cannot keep the driver's borrows between calls (the cluster handle's `fault`/`expect`).
#[derive(Default)]
pub struct Carried {
    memory: TargetMemory,
    last_fault: Option<LastFault>,
    active: Arc<Mutex<Vec<ActiveFault>>>,
    heal_tasks: JoinSet<()>,
    healing: Arc<Mutex<Vec<String>>>,
    heal_cancel: tokio_util::sync::CancellationToken,
    workload: Option<WorkloadHandle>,
    first_healthy_at: Option<Millis>,
}

impl std::fmt::Debug for Carried {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Carried")
            .field("faults_in_effect", &self.active.lock().map(|a| a.len()).unwrap_or_default())
            .field("workload", &self.workload.is_some())
            .field("first_healthy_at", &self.first_healthy_at)
            .finish()
    }
}

/// What expectations after a fault count from.
#[derive(Debug, Clone, Default)]
struct LastFault {
    at: Millis,
    leader: Option<String>,
    group: Option<u32>,
}

impl<'a> StepDriver<'a> {
    /// A driver with nothing done yet.
    pub fn new(cluster: &'a Cluster, timeline: &'a TimelineWriter, live: &'a LiveView, progress: &'a Progress) -> Self {
        Self::resume(cluster, timeline, live, progress, Carried::default())
    }

    /// A driver that goes on from what an earlier one left ([`Self::suspend`]).
    pub fn resume(
        cluster: &'a Cluster,
        timeline: &'a TimelineWriter,
        live: &'a LiveView,
        progress: &'a Progress,
        carried: Carried,
    ) -> Self {
        Self {
            cluster,
            timeline,
            live,
            progress,
            memory: carried.memory,
            last_fault: carried.last_fault,
            active: carried.active,
            heal_tasks: carried.heal_tasks,
            healing: carried.healing,
            heal_cancel: carried.heal_cancel,
            faults: FaultContext { executor: cluster.executor(), live: live.clone(), timeline: timeline.clone() },
            workload: carried.workload,
            first_healthy_at: carried.first_healthy_at,
            monitoring: None,
            rails: None,
            abandoned: Vec::new(),
        }
    }

    /// What the next driver needs to go on from here (faults in effect, auto-heals, the
    /// workload, the last fault's anchor).
    pub fn suspend(self) -> Carried {
        Carried {
            memory: self.memory,
            last_fault: self.last_fault,
            active: self.active,
            heal_tasks: self.heal_tasks,
            healing: self.healing,
            heal_cancel: self.heal_cancel,
            workload: self.workload,
            first_healthy_at: self.first_healthy_at,
        }
    }

    /// Fails with the stop condition's reason once one has fired.
    fn check_stop(&self) -> Result<(), EngineError> {
        match self.rails.as_ref().and_then(|r| r.stop.fired()) {
            Some(reason) => Err(EngineError::Stopped(reason)),
            None => Ok(()),
        }
    }

    /// Runs `wait` unless the stop signal fires first.
    async fn or_stop<T>(
        &self,
        wait: impl std::future::Future<Output = Result<T, EngineError>>,
    ) -> Result<T, EngineError> {
        match &self.rails {
            None => wait.await,
            Some(rails) => tokio::select! {
                result = wait => result,
                reason = rails.stop.wait() => Err(EngineError::Stopped(reason)),
            },
        }
    }

    /// Runs every step in order. Failed expectations do not stop the run (the report shows them
    /// all); errors (a fault that cannot apply, a wait that times out) do.
    pub async fn run_all(&mut self, scenario: &Scenario) -> Result<(), EngineError> {
        for index in 0..scenario.steps.len() {
            self.run_one(index, scenario).await?;
        }
        Ok(())
    }

    /// Runs step `index` of `scenario`, recording its start and end on the timeline.
    pub async fn run_one(&mut self, index: usize, scenario: &Scenario) -> Result<(), EngineError> {
        let step = &scenario.steps[index].value;
        let description = describe_step(step);
        self.check_stop()?;
        self.progress.say(&format!("step {}: {description}", index + 1));
        self.timeline.record(EventKind::StepStarted { index, description });
        let result = self.run_step(index, step, scenario).await;
        let (ok, detail) = match &result {
            Ok(detail) => (true, detail.clone()),
            Err(e) => (false, e.to_string()),
        };
        self.timeline.record(EventKind::StepFinished { index, ok, detail: detail.clone() });
        if !detail.is_empty() {
            self.progress.say(&format!("  {detail}"));
        }
        result.map(|_| ())
    }

    async fn run_step(&mut self, index: usize, step: &Step, scenario: &Scenario) -> Result<String, EngineError> {
        if let Some(WaitFor::Healthy) = step.wait {
            let within = step.within.map_or(DEFAULT_HEALTHY_WITHIN, |b| b.0);
            let sync = scenario.topology.patroni.synchronous_mode;
            let down = self.down();
            self.or_stop(self.cluster.wait_healthy(self.live, self.timeline, within, &down, sync)).await?;
            let at = self.timeline.now();
            if self.first_healthy_at.is_none() {
                self.first_healthy_at = Some(at);
                self.timeline.record(EventKind::Phase { name: "healthy".into() });
                if let Some((setup, port)) = self.monitoring {
                    setup.wait_scraping(port, member_names(&scenario.topology).len(), self.progress).await?;
                }
                self.start_workload(scenario).await?;
            }
            return Ok(format!("healthy: {}", self.live.describe()));
        }
        if let Some(fault) = &step.fault {
            if fault.is_heal() {
                return self.heal(index, step, scenario).await;
            }
            // Validation refuses unknown names, so this only fails for a scenario built in code.
            let fault = fault_by_name(fault.as_str())
                .ok_or_else(|| EngineError::Target { step: index, reason: format!("no fault named `{fault}`") })?;
            return self.run_fault(index, fault, step, scenario).await;
        }
        if let Some(expectations) = &step.expect {
            let expectations: Vec<Expectation> = expectations.iter().map(|e| e.value.clone()).collect();
            return self
                .run_expect(index, expectations, step.group.as_ref().map(|g| g.value), &scenario.topology)
                .await;
        }
        if let Some(duration) = step.sleep {
            self.or_stop(async {
                tokio::time::sleep(duration.0).await;
                Ok(())
            })
            .await?;
            return Ok(String::new());
        }
        if let Some(spec) = &step.exec {
            return Ok(self.run_exec(index, spec, step.group.as_ref().map(|g| g.value), scenario).await);
        }
        Ok(String::new())
    }

    async fn start_workload(&mut self, scenario: &Scenario) -> Result<(), EngineError> {
        let Some(workload) = &scenario.workload else { return Ok(()) };
        let endpoint = self.cluster.primary_endpoint();
        let citus = self.cluster.plan.groups.is_some();
        let table = self.cluster.workload_table();
        if self.rails.is_some() {
            // An attached cluster keeps the table of an earlier run: start from an empty one.
            crate::workload::drop_table(&endpoint, &table, Duration::from_secs(10))
                .await
                .map_err(EngineError::Workload)?;
        }
        prepare_table(&endpoint, &table, citus, Duration::from_secs(30)).await.map_err(EngineError::Workload)?;
        let routes = if citus {
            let routes = buckets_by_group(&endpoint, &table).await.map_err(EngineError::Workload)?;
            let workers = self.cluster.plan.groups.iter().flatten().filter(|(g, _)| *g > 0).count();
            if routes.len() != workers {
                return Err(EngineError::Workload(format!(
                    "the workload table's {BUCKETS} buckets landed on {} worker groups, not all {workers}: {routes:?}",
                    routes.len()
                )));
            }
            Some(routes)
        } else {
            None
        };
        let route = workload.route(&scenario.topology);
        let pooled = route == Via::Pooler;
        let client = self.cluster.client_endpoint(route);
        let config = WriterConfig {
            pooled,
            writers: workload.writers,
            rate_per_second: workload.rate.per_second,
            // A Citus write waits (by design) while Patroni switches its worker group over, and
            // Patroni gives that transaction up to ttl before it rolls back.
            statement_timeout: if citus {
                Duration::from_secs(u64::from(scenario.topology.patroni.ttl) + 5)
            } else {
                Duration::from_secs(2)
            },
            routes,
            multi_shard: workload.transactions == Transactions::MultiShard,
            table,
        };
        let via = match (citus, &scenario.topology.pooler) {
            (true, _) => "the coordinator (HAProxy), into a distributed table".to_string(),
            (false, Some(pooler)) if pooled => {
                format!("PgBouncer ({} pooling) in front of HAProxy", pooler.pool_mode.as_str())
            }
            (false, _) => "HAProxy".to_string(),
        };
        self.progress.say(&format!("workload: {} writers at {} through {via}", workload.writers, workload.rate));
        let path = self.cluster.client_path();
        path.start(client);
        self.workload = Some(WorkloadHandle::start(&config, path, self.timeline.clone()));
        Ok(())
    }

    /// Containers a fault stopped on purpose (not an error when they are not running).
    pub fn down(&self) -> Vec<String> {
        let active = self.active.lock().expect("active faults lock");
        active.iter().filter(|a| a.leaves_down()).flat_map(|a| a.targets.clone()).collect()
    }

    /// Resolves `target` among every member, or among Citus group `group`'s.
    async fn resolve(&self, target: &Target, scenario: &Scenario, group: Option<u32>) -> Result<Vec<String>, String> {
        let mut members = member_names(&scenario.topology);
        if let Some(group) = group {
            members.retain(|m| member_group(m) == Some(group));
        }
        let etcd = etcd_names(&scenario.topology);
        let names = self.cluster.names();
        let etcd_urls = self.cluster.etcd_urls();
        let resolver = Resolver {
            live: self.live,
            memory: &self.memory,
            members: &members,
            etcd: &etcd,
            names: &names,
            etcd_urls: &etcd_urls,
        };
        resolver.resolve(target).await
    }

    async fn run_fault(
        &mut self,
        index: usize,
        fault: &'static dyn Fault,
        step: &Step,
        scenario: &Scenario,
    ) -> Result<String, EngineError> {
        let target_err = |reason| EngineError::Target { step: index, reason };
        let step_group = step.group.as_ref().map(|g| g.value);
        let targets = match &step.target {
            Some(t) => self.resolve(&t.value, scenario, step_group).await.map_err(target_err)?,
            None if fault.target_rule() == TargetRule::DefaultsToLeader => {
                self.leader_of(step_group).iter().cloned().collect()
            }
            None if fault.target_rule() == TargetRule::Clients => vec![CLIENTS.to_string()],
            None => return Err(target_err(format!("fault `{}` needs a target", fault.name()))),
        };
        // The group the fault is about: the step's, else that of the (first) member it hits.
        let group = step_group.or_else(|| targets.iter().find_map(|t| member_group(t)));
        let leader = self.leader_of(group);
        // Target options (`peers`, `candidate`) are resolved like the target, when the step runs.
        let mut members = std::collections::BTreeMap::new();
        for option in fault.options().iter().filter(|o| o.kind == OptionKind::Target) {
            if let Some(target) = step.option::<Target>(option.key) {
                let resolved = self.resolve(&target, scenario, step_group).await.map_err(target_err)?;
                members.insert(option.key.to_string(), resolved);
            }
        }
        let request = FaultRequest {
            step: index,
            targets: targets.clone(),
            leader: leader.clone(),
            members,
            options: step.options.clone(),
        };
        // Budgets count from the moment the fault is sent, not from when its effect was proven
        // (a switchover is proven by the leader change it causes).
        let at = self.timeline.now();
        let active = apply(&self.faults, fault, &request).await?;
        if step.target.as_ref().is_some_and(|t| t.value == Target::Primary) {
            self.memory.old_primary = targets.first().cloned();
        }
        self.forget_ended(fault, &targets);
        if let Some(active) = active {
            // Attached: no fault outlives the cluster file's deadline, whatever the scenario says.
            let deadline = self.rails.as_ref().map(|r| r.fault_deadline);
            let after = match (step.duration.map(|d| d.0), deadline) {
                (Some(d), Some(limit)) => Some(d.min(limit)),
                (d, limit) => d.or(limit),
            };
            if let Some(after) = after {
                self.schedule_heal(active.clone(), after);
            }
            self.active.lock().expect("active faults lock").push(active);
        }
        self.last_fault = Some(LastFault { at, leader, group });
        Ok(format!("{} → {}", fault.name(), targets.join(", ")))
    }

    /// The running primary of Citus group `group`, or of the cluster.
    fn leader_of(&self, group: Option<u32>) -> Option<String> {
        self.live.running_primaries().into_iter().find(|m| group.is_none() || member_group(m) == group)
    }

    /// An explicit undo (`start`, `unpause`, …) ends the lasting faults it names.
    fn forget_ended(&self, fault: &dyn Fault, targets: &[String]) {
        let ends = fault.ends();
        let mut active = self.active.lock().expect("active faults lock");
        active.retain(|a| {
            !(ends.faults.contains(&a.fault.name())
                && (ends.any_target || a.targets.iter().any(|t| targets.contains(t))))
        });
    }

    /// Undoes `active` after `after`, unless something else undid it first.
    fn schedule_heal(&mut self, fault: ActiveFault, after: Duration) {
        let registry = self.active.clone();
        let ctx = self.faults.clone();
        let cancel = self.heal_cancel.clone();
        let healing = self.healing.clone();
        self.heal_tasks.spawn(async move {
            tokio::select! {
                () = tokio::time::sleep(after) => {}
                () = cancel.cancelled() => return,
            }
            let still_active = {
                let mut active = registry.lock().expect("active faults lock");
                let position = active.iter().position(|a| a.same(&fault));
                position.map(|i| active.remove(i))
            };
            if let Some(fault) = still_active {
                let what = describe_active(&fault);
                healing.lock().expect("healing lock").push(what.clone());
                if let Err(e) = undo(&ctx, &fault).await {
                    ctx.timeline
                        .record(EventKind::Note { source: "fault".into(), text: format!("auto-heal failed: {e}") });
                }
                healing.lock().expect("healing lock").retain(|h| h != &what);
            }
        });
    }

    /// `fault: heal`: undo the active faults aimed at the target (all without a target).
    async fn heal(&mut self, index: usize, step: &Step, scenario: &Scenario) -> Result<String, EngineError> {
        let group = step.group.as_ref().map(|g| g.value);
        let targets = match &step.target {
            Some(t) => Some(
                self.resolve(&t.value, scenario, group)
                    .await
                    .map_err(|reason| EngineError::Target { step: index, reason })?,
            ),
            None => None,
        };
        let chosen: Vec<ActiveFault> = {
            let mut active = self.active.lock().expect("active faults lock");
            let (chosen, kept): (Vec<_>, Vec<_>) = active
                .drain(..)
                .partition(|a| targets.as_ref().is_none_or(|t| a.targets.iter().any(|x| t.contains(x))));
            *active = kept;
            chosen
        };
        let group = group.or_else(|| chosen.iter().flat_map(|f| &f.targets).find_map(|t| member_group(t)));
        let leader = self.leader_of(group);
        let mut healed = Vec::new();
        for fault in &chosen {
            undo(&self.faults, fault).await?;
            healed.push(format!("{} on {}", fault.fault.name(), fault.targets.join(", ")));
        }
        // Expectations after a heal count from it (e.g. "rejoins within 60s of the heal").
        self.last_fault = Some(LastFault { at: self.timeline.now(), leader, group });
        if healed.is_empty() {
            Ok("nothing to heal".into())
        } else {
            Ok(format!("healed {}", healed.join("; ")))
        }
    }

    /// End of the steps: stop auto-heal timers and undo what must not outlive the run
    /// (iptables rules, paused containers, maintenance mode, held Patroni).
    pub async fn heal_all_at_end(&mut self) -> Vec<String> {
        // Not `abort_all`: an auto-heal that has taken its fault off the active list and is
        // undoing it must finish, or the fault stays (found by `pgdrill chaos`: a heal step at
        // the moment a `duration` ran out left the container paused).
        self.heal_cancel.cancel();
        // Attached: a second signal ends the heal where it is (never fires on a started run).
        let abort = self.rails.as_ref().map(|r| r.abort.clone()).unwrap_or_default();
        let drain = async { while self.heal_tasks.join_next().await.is_some() {} };
        let drained = tokio::select! {
            done = tokio::time::timeout(HEAL_DRAIN, drain) => done.is_ok(),
            () = abort.cancelled() => false,
        };
        if !drained {
            // Those whose undo was under way are left as they are; waiting ones had nothing done.
            let undoing = self.healing.lock().expect("healing lock").clone();
            self.heal_tasks.abort_all();
            while self.heal_tasks.join_next().await.is_some() {}
            if abort.is_cancelled() {
                self.abandoned.extend(undoing.into_iter().map(|h| format!("{h} (its auto-heal was under way)")));
            }
        }
        let remaining: Vec<ActiveFault> = self.active.lock().expect("active faults lock").drain(..).collect();
        let mut problems = Vec::new();
        // A started cluster is removed after the run, so a killed container need not be started
        // again; an attached cluster stays, so every fault still in effect is undone.
        let attached = self.rails.is_some();
        let to_undo: Vec<&ActiveFault> = remaining.iter().filter(|f| attached || f.undo_at_end()).collect();
        for (index, fault) in to_undo.iter().enumerate() {
            let undone = tokio::select! {
                result = undo(&self.faults, fault) => Some(result),
                () = abort.cancelled() => None,
            };
            match undone {
                Some(Ok(())) => {}
                Some(Err(e)) => problems.push(format!("could not undo {} at the end: {e}", fault.fault.name())),
                None => {
                    self.abandoned.extend(to_undo[index..].iter().map(|f| describe_active(f)));
                    break;
                }
            }
        }
        if !self.abandoned.is_empty() {
            let list = self.abandoned.join("; ");
            self.progress.say(&format!("second signal: the heal stopped; still in effect: {list}"));
            problems.push(format!("a second signal stopped the heal; still in effect (undo by hand): {list}"));
        }
        problems
    }

    async fn run_expect(
        &mut self,
        index: usize,
        expectations: Vec<Expectation>,
        group: Option<u32>,
        topology: &crate::scenario::Topology,
    ) -> Result<String, EngineError> {
        let last = self.last_fault.clone().unwrap_or_default();
        let anchor = last.at;
        // An expect step may look at another group than the fault's; the leader at the fault
        // is then that group's (as far as it is known now).
        let leader_at_anchor = match group {
            Some(g) if last.group != Some(g) => self.leader_of(Some(g)),
            _ => last.leader,
        };
        let group = group.or(last.group);
        let others: Vec<String> = crate::topology::member_names(topology)
            .into_iter()
            .filter(|m| group.is_none_or(|g| crate::topology::member_group(m) == Some(g)))
            .filter(|m| Some(m) != leader_at_anchor.as_ref())
            .collect();
        let context = CheckContext {
            step: index,
            anchor,
            now: 0,
            highest_priority: topology.highest_priority(&others),
            leader_at_anchor,
            old_primary: self.memory.old_primary.clone(),
            group,
        };
        // Recorded, so the final verdicts can be judged from the timeline alone.
        self.timeline.record(context.opened_event());
        let longest = expectations.iter().map(budget_of).max().unwrap_or_default();
        let deadline = anchor + longest.as_millis() as Millis + EXPECT_SLACK.as_millis() as Millis;
        let verdicts = loop {
            let ctx = CheckContext { now: self.timeline.now(), ..context.clone() };
            let snapshot = self.timeline.snapshot();
            let verdicts: Vec<Verdict> =
                expectations.iter().map(|e| evaluate_expectation(e, &snapshot, &ctx)).collect();
            let settled = verdicts.iter().all(|v| v.status != Status::Pending);
            if settled || ctx.now >= deadline {
                break verdicts;
            }
            self.check_stop()?;
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let summary: Vec<String> =
            verdicts.iter().map(|v| format!("{} {:?}: {}", v.check, v.status, v.observed).to_lowercase()).collect();
        Ok(summary.join("; "))
    }
}

/// A fault still in effect, for the reader who must undo it by hand.
fn describe_active(fault: &ActiveFault) -> String {
    let via = fault.via.as_ref().map(|v| format!(" (through {v})")).unwrap_or_default();
    format!("{} on {} from step {}{via}", fault.fault.name(), fault.targets.join(", "), fault.step + 1)
}

fn budget_of(expectation: &Expectation) -> Duration {
    match expectation {
        Expectation::NewLeader { within }
        | Expectation::Timeline { within, .. }
        | Expectation::Rejoins { within, .. }
        | Expectation::NoFailover { within }
        | Expectation::PrimaryDemoted { within }
        | Expectation::WritableAgain { within }
        | Expectation::ReplicationStreaming { within }
        | Expectation::LeaderIs { within, .. }
        | Expectation::NoWriteAcked { within }
        | Expectation::PgDistNode { within, .. }
        | Expectation::NoOrphanedPreparedTransactions { within }
        | Expectation::PoolerRecovers { within, .. }
        | Expectation::Alert { within, .. } => within.0,
        // Judged over the rest of the run (write_pause needs the end-of-run shard placements);
        // nothing to wait for here.
        Expectation::MaxWriteUnavailability { .. }
        | Expectation::WritePause { .. }
        | Expectation::NeverLeader { .. } => Duration::ZERO,
    }
}

/// A one-line description of a step, for progress and the timeline.
pub fn describe_step(step: &Step) -> String {
    if let Some(wait) = step.wait {
        let within = step.within.map(|w| format!(" (within {w})")).unwrap_or_default();
        return format!("wait {}{within}", variant_name(&wait));
    }
    if let Some(fault) = &step.fault {
        let target = step.target.as_ref().map(|t| describe_target(&t.value)).unwrap_or_else(|| "leader".into());
        let peers =
            step.option::<Target>("peers").map(|p| format!(" from {}", describe_target(&p))).unwrap_or_default();
        let duration = step.duration.map(|d| format!(" for {d}")).unwrap_or_default();
        return format!("fault {} {target}{peers}{duration}", fault.as_str());
    }
    if let Some(expectations) = &step.expect {
        let names: Vec<String> = expectations.iter().map(|e| variant_name(&e.value)).collect();
        return format!("expect {}", names.join(", "));
    }
    if let Some(sleep) = step.sleep {
        return format!("sleep {sleep}");
    }
    if let Some(exec) = &step.exec {
        return format!("exec `{}` in {}", exec.command_line(), describe_target(&exec.target));
    }
    "empty step".into()
}

fn describe_target(target: &Target) -> String {
    match target {
        Target::Member(m) => m.clone(),
        Target::Group(g) => format!("group {g}"),
        other => variant_name(other),
    }
}

/// The scenario spelling of an expectation.
pub fn expectation_name(expectation: &Expectation) -> String {
    variant_name(expectation)
}
