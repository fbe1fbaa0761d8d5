//! `pause` freezes every process of a container (the cgroup freezer: it is there but answers
//! nothing), `unpause` thaws it. Proven by the executor's view of the container.
use async_trait::async_trait;

use crate::fault::container::{verify_state, ContainerCondition};
use crate::fault::{ActiveFault, Applied, Fault, FaultCx, FaultError, FaultRequest};
use crate::fault::executor::Operation;
use crate::register_fault;
use crate::scenario::{Ends, FaultSpec, Lasting, OnOffPair};

/// `pause` (true) or `unpause` (false).
struct Freeze(bool);

const PAUSE: Freeze = Freeze(true);
const UNPAUSE: Freeze = Freeze(false);
register_fault!(PAUSE);
register_fault!(UNPAUSE);

/// The pair's one declaration.
const FREEZE: OnOffPair = OnOffPair {
    on: &["pause"],
    off: "unpause",
    summaries: ("Freeze every process of the target's container (docker pause).", "Thaw a paused container."),
};

impl FaultSpec for Freeze {
    fn name(&self) -> &'static str {
        FREEZE.name(self.0)
    }

    fn summary(&self) -> &'static str {
        FREEZE.summary(self.0)
    }

    fn lasting(&self) -> Option<Lasting> {
        FREEZE.lasting(self.0)
    }

    fn ends(&self) -> Ends {
        FREEZE.ends(self.0)
    }

    fn chaos(&self) -> bool {
        FREEZE.chaos(self.0)
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
    fn needs(&self) -> &'static [Operation] {
        &[Operation::Pause, Operation::Unpause, Operation::State]
    }

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
