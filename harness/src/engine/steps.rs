//! Driving a scenario's steps against a started cluster.
use std::time::Duration;

use super::{Cluster, EngineError, Progress};
use crate::check::{evaluate_expectation, CheckContext, Status, Verdict};
use crate::fault::{apply_fault, resolve_target, TargetMemory};
use crate::observe::LiveView;
use crate::scenario::{Expectation, FaultKind, Scenario, Step, Target, WaitFor};
use crate::timeline::{EventKind, Millis, TimelineWriter};
use crate::workload::{prepare_table, WorkloadHandle, WriterConfig};

/// Default bound for `wait: healthy` without `within`.
const DEFAULT_HEALTHY_WITHIN: Duration = Duration::from_secs(90);
/// Slack after the largest budget of an expect step before giving up waiting (the final verdict
/// is still judged against each budget exactly).
const EXPECT_SLACK: Duration = Duration::from_secs(1);

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
    /// Contexts of expect steps, for final judgement on the whole timeline.
    pub expect_contexts: Vec<(CheckContext, Vec<Expectation>)>,
    /// The most recent fault: (time applied, primary at that moment).
    last_fault: Option<(Millis, Option<String>)>,
    /// Containers a fault took down on purpose.
    pub down: Vec<String>,
    /// The workload, once started.
    pub workload: Option<WorkloadHandle>,
    /// Time the cluster first became healthy.
    pub first_healthy_at: Option<Millis>,
}

impl<'a> StepDriver<'a> {
    /// A driver with nothing done yet.
    pub fn new(cluster: &'a Cluster, timeline: &'a TimelineWriter, live: &'a LiveView, progress: &'a Progress) -> Self {
        Self {
            cluster,
            timeline,
            live,
            progress,
            memory: TargetMemory::default(),
            expect_contexts: Vec::new(),
            last_fault: None,
            down: Vec::new(),
            workload: None,
            first_healthy_at: None,
        }
    }

    /// Runs every step in order. Failed expectations do not stop the run (the report shows them
    /// all); errors (a fault that cannot apply, a wait that times out) do.
    pub async fn run_all(&mut self, scenario: &Scenario) -> Result<(), EngineError> {
        for (index, step) in scenario.steps.iter().enumerate() {
            let step = &step.value;
            let description = describe_step(step);
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
            result?;
        }
        Ok(())
    }

    async fn run_step(&mut self, index: usize, step: &Step, scenario: &Scenario) -> Result<String, EngineError> {
        if let Some(WaitFor::Healthy) = step.wait {
            let within = step.within.map_or(DEFAULT_HEALTHY_WITHIN, |b| b.0);
            let sync = scenario.topology.patroni.synchronous_mode;
            self.cluster.wait_healthy(self.live, within, &self.down, sync).await?;
            let at = self.timeline.now();
            if self.first_healthy_at.is_none() {
                self.first_healthy_at = Some(at);
                self.timeline.record(EventKind::Phase { name: "healthy".into() });
                self.start_workload(scenario).await?;
            }
            return Ok(format!("healthy: {}", self.live.describe()));
        }
        if let Some(fault) = step.fault {
            let target = step.target.as_ref().map(|t| t.value.clone()).unwrap_or(Target::Primary);
            return self.run_fault(index, fault, &target).await;
        }
        if let Some(expectations) = &step.expect {
            let expectations: Vec<Expectation> = expectations.iter().map(|e| e.value.clone()).collect();
            return self.run_expect(index, expectations).await;
        }
        if let Some(duration) = step.sleep {
            tokio::time::sleep(duration.0).await;
            return Ok(String::new());
        }
        Ok(String::new())
    }

    async fn start_workload(&mut self, scenario: &Scenario) -> Result<(), EngineError> {
        let Some(workload) = &scenario.workload else { return Ok(()) };
        let endpoint = self.cluster.primary_endpoint();
        prepare_table(&endpoint, Duration::from_secs(30)).await.map_err(EngineError::Workload)?;
        let config = WriterConfig { writers: workload.writers, rate_per_second: workload.rate.per_second };
        self.progress.say(&format!("workload: {} writers at {} through HAProxy", workload.writers, workload.rate));
        self.workload = Some(WorkloadHandle::start(&config, endpoint, self.timeline.clone()));
        Ok(())
    }

    async fn run_fault(&mut self, index: usize, fault: FaultKind, target: &Target) -> Result<String, EngineError> {
        let targets = resolve_target(target, self.live, &self.memory)
            .map_err(|reason| EngineError::Target { step: index, reason })?;
        let primary_before = self.live.running_primaries().into_iter().next();
        apply_fault(&self.cluster.runtime, index, fault, &targets, self.timeline).await?;
        let at = self.timeline.now();
        if *target == Target::Primary {
            self.memory.old_primary = targets.first().cloned();
        }
        match fault {
            FaultKind::Kill => self.down.extend(targets.iter().cloned()),
            FaultKind::Start => self.down.retain(|d| !targets.contains(d)),
        }
        self.last_fault = Some((at, primary_before));
        Ok(format!("{} → {}", crate::fault::fault_name(fault), targets.join(", ")))
    }

    async fn run_expect(&mut self, index: usize, expectations: Vec<Expectation>) -> Result<String, EngineError> {
        let (anchor, leader_at_anchor) = self.last_fault.clone().unwrap_or((0, None));
        let context = CheckContext {
            step: index,
            anchor,
            now: 0,
            leader_at_anchor,
            old_primary: self.memory.old_primary.clone(),
        };
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
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        self.expect_contexts.push((context, expectations));
        let summary: Vec<String> =
            verdicts.iter().map(|v| format!("{} {:?}: {}", v.check, v.status, v.observed).to_lowercase()).collect();
        Ok(summary.join("; "))
    }
}

fn budget_of(expectation: &Expectation) -> Duration {
    match expectation {
        Expectation::NewLeader { within }
        | Expectation::Timeline { within, .. }
        | Expectation::Rejoins { within, .. } => within.0,
    }
}

/// A one-line description of a step, for progress and the timeline.
pub fn describe_step(step: &Step) -> String {
    if let Some(wait) = step.wait {
        let within = step.within.map(|w| format!(" (within {w})")).unwrap_or_default();
        return format!("wait {wait:?}{within}").to_lowercase();
    }
    if let Some(fault) = step.fault {
        let target = step.target.as_ref().map(|t| describe_target(&t.value)).unwrap_or_else(|| "primary".into());
        return format!("fault {} {target}", crate::fault::fault_name(fault));
    }
    if let Some(expectations) = &step.expect {
        let names: Vec<&str> = expectations.iter().map(|e| expectation_name(&e.value)).collect();
        return format!("expect {}", names.join(", "));
    }
    if let Some(sleep) = step.sleep {
        return format!("sleep {sleep}");
    }
    "empty step".into()
}

fn describe_target(target: &Target) -> String {
    match target {
        Target::Primary => "primary".into(),
        Target::Replica => "replica".into(),
        Target::OldPrimary => "old_primary".into(),
        Target::Member(m) => m.clone(),
    }
}

/// The scenario spelling of an expectation.
pub fn expectation_name(expectation: &Expectation) -> &'static str {
    match expectation {
        Expectation::NewLeader { .. } => "new_leader",
        Expectation::Timeline { .. } => "timeline",
        Expectation::Rejoins { .. } => "rejoins",
    }
}
