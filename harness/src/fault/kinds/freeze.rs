//! `pause` freezes every process of a container (the cgroup freezer: it is there but answers
//! nothing), `unpause` thaws it. Proven by the executor's view of the container.
use async_trait::async_trait;

use crate::fault::container::{verify_state, ContainerCondition};
use crate::fault::{ActiveFault, Applied, Fault, FaultCx, FaultError, FaultRequest};
use crate::register_fault;
use crate::scenario::{Ends, FaultSpec, Lasting};

/// `pause` (true) or `unpause` (false).
struct Freeze(bool);

const PAUSE: Freeze = Freeze(true);
const UNPAUSE: Freeze = Freeze(false);
register_fault!(PAUSE);
register_fault!(UNPAUSE);

impl FaultSpec for Freeze {
    fn name(&self) -> &'static str {
        if self.0 {
            "pause"
        } else {
            "unpause"
        }
    }

    fn summary(&self) -> &'static str {
        if self.0 {
            "Freeze every process of the target's container (docker pause)."
        } else {
            "Thaw a paused container."
        }
    }

    fn lasting(&self) -> Option<Lasting> {
        self.0.then_some(Lasting { undo_at_end: true, leaves_down: false })
    }

    fn ends(&self) -> Ends {
        if self.0 {
            Ends::NOTHING
        } else {
            Ends { faults: &["pause"], any_target: false }
        }
    }

    fn chaos(&self) -> bool {
        self.0
    }
}

impl Freeze {
    async fn set(&self, cx: &FaultCx<'_>, targets: &[String], frozen: bool) -> Result<Vec<String>, FaultError> {
        for target in targets {
            let done = if frozen { cx.executor.pause(target).await } else { cx.executor.unpause(target).await };
            done.map_err(|e| FaultError::failed(self.name(), target, e))?;
        }
        Ok(Vec::new())
    }

    async fn prove(&self, cx: &FaultCx<'_>, targets: &[String], frozen: bool) -> Result<Vec<String>, FaultError> {
        let condition = if frozen { ContainerCondition::Paused } else { ContainerCondition::Running };
        let mut proofs = Vec::new();
        for target in targets {
            let proof = verify_state(cx.executor, target, condition).await;
            proofs.push(proof.map_err(|seen| FaultError::no_effect(self.name(), target, seen))?);
        }
        Ok(proofs)
    }
}

#[async_trait]
impl Fault for Freeze {
    async fn act(&self, cx: &FaultCx<'_>, request: &FaultRequest) -> Result<Applied, FaultError> {
        self.set(cx, &request.targets, self.0).await?;
        cx.applied(self, &request.targets);
        Ok(Applied { proofs: self.prove(cx, &request.targets, self.0).await?, via: None })
    }

    async fn undo(&self, cx: &FaultCx<'_>, active: &ActiveFault) -> Result<Vec<String>, FaultError> {
        self.set(cx, &active.targets, false).await?;
        self.prove(cx, &active.targets, false).await
    }
}
