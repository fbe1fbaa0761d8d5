//! Container lifecycle faults: `kill` (SIGKILL), `stop` (graceful), `start` and `restart`.
//! Proven by the executor's view of the container; `kill` and `stop` last until a `start`, a
//! heal or the end of the run (which need not start a container just to remove it).
use std::time::Duration;

use async_trait::async_trait;

use crate::fault::container::{verify_state, ContainerCondition};
use crate::fault::{Applied, Fault, FaultCx, FaultError, FaultRequest, ActiveFault};
use crate::fault::executor::Operation;
use crate::register_fault;
use crate::scenario::{Ends, FaultSpec, Lasting};

/// How long a graceful stop waits before Docker sends SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// Which lifecycle action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Kill,
    Stop,
    Start,
    Restart,
}

/// A container lifecycle fault.
struct Lifecycle(Action);

const KILL: Lifecycle = Lifecycle(Action::Kill);
const STOP: Lifecycle = Lifecycle(Action::Stop);
const START: Lifecycle = Lifecycle(Action::Start);
const RESTART: Lifecycle = Lifecycle(Action::Restart);
register_fault!(KILL);
register_fault!(STOP);
register_fault!(START);
register_fault!(RESTART);

impl FaultSpec for Lifecycle {
    fn name(&self) -> &'static str {
        match self.0 {
            Action::Kill => "kill",
            Action::Stop => "stop",
            Action::Start => "start",
            Action::Restart => "restart",
        }
    }

    fn summary(&self) -> &'static str {
        match self.0 {
            Action::Kill => "SIGKILL the target's container.",
            Action::Stop => "Stop the target's container gracefully (SIGTERM, then SIGKILL after 10s).",
            Action::Start => "Start the target's (stopped or killed) container again.",
            Action::Restart => "Restart the target's container (graceful stop, then start).",
        }
    }

    fn lasting(&self) -> Option<Lasting> {
        matches!(self.0, Action::Kill | Action::Stop).then_some(Lasting { undo_at_end: false, leaves_down: true })
    }

    fn ends(&self) -> Ends {
        match self.0 {
            Action::Start => Ends { faults: &["kill", "stop"], any_target: false },
            _ => Ends::NOTHING,
        }
    }

    fn chaos(&self) -> bool {
        self.0 != Action::Start
    }
}

#[async_trait]
impl Fault for Lifecycle {
    fn needs(&self) -> &'static [Operation] {
        match self.0 {
            Action::Kill => &[Operation::Signal, Operation::State, Operation::Start],
            Action::Stop => &[Operation::Stop, Operation::State, Operation::Start],
            Action::Start => &[Operation::Start, Operation::State],
            Action::Restart => &[Operation::Stop, Operation::Start, Operation::State],
        }
    }

    async fn act(&self, cx: &FaultCx<'_>, request: &FaultRequest) -> Result<Applied, FaultError> {
        let ex = cx.executor;
        for target in &request.targets {
            let done = match self.0 {
                Action::Kill => ex.signal(target, "SIGKILL").await,
                Action::Stop => ex.stop(target, STOP_GRACE).await,
                Action::Start => ex.start(target).await,
                Action::Restart => match ex.stop(target, STOP_GRACE).await {
                    Ok(()) => ex.start(target).await,
                    Err(e) => Err(e),
                },
            };
            done.map_err(|e| FaultError::failed(self.name(), target, e))?;
        }
        cx.applied(self, &request.targets);
        let condition = match self.0 {
            Action::Kill | Action::Stop => ContainerCondition::NotRunning,
            Action::Start | Action::Restart => ContainerCondition::Running,
        };
        let mut proofs = Vec::new();
        for target in &request.targets {
            let proof = verify_state(ex, target, condition).await;
            proofs.push(proof.map_err(|seen| FaultError::no_effect(self.name(), target, seen))?);
        }
        Ok(Applied { proofs, via: None })
    }

    async fn undo(&self, cx: &FaultCx<'_>, active: &ActiveFault) -> Result<Vec<String>, FaultError> {
        let mut done = Vec::new();
        for target in &active.targets {
            cx.executor.start(target).await.map_err(|e| FaultError::failed(self.name(), target, e))?;
            let proof = verify_state(cx.executor, target, ContainerCondition::Running).await;
            done.push(proof.map_err(|seen| FaultError::no_effect(self.name(), target, seen))?);
        }
        Ok(done)
    }
}
