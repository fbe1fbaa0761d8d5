//! Applying and undoing any fault: the fault acts and proves itself; this records the outcome on
//! the timeline and keeps what a lasting fault's undo needs.
use std::sync::Arc;

use super::error::FaultError;
use super::executor::Executor;
use super::kind::{ActiveFault, Fault, FaultCx, FaultRequest};
use crate::observe::LiveView;
use crate::timeline::{EventKind, TimelineWriter};

/// What the run's faults act on (cheap to clone: auto-heal tasks take their own copy).
#[derive(Debug, Clone)]
pub struct FaultContext {
    /// What faults act through.
    pub executor: Arc<dyn Executor>,
    /// Latest observations (to prove leader changes).
    pub live: LiveView,
    /// Where faults are recorded.
    pub timeline: TimelineWriter,
}

impl FaultContext {
    /// The context one step's fault acts in.
    pub fn for_step(&self, step: usize) -> FaultCx<'_> {
        FaultCx::new(self.executor.as_ref(), &self.live, &self.timeline, step)
    }
}

/// Applies `fault`, records its proofs, and returns it as active if it lasts.
pub async fn apply(
    ctx: &FaultContext,
    fault: &'static dyn Fault,
    request: &FaultRequest,
) -> Result<Option<ActiveFault>, FaultError> {
    let cx = ctx.for_step(request.step);
    let applied = match fault.act(&cx, request).await {
        Ok(applied) => applied,
        Err(error) => {
            ctx.timeline.record(EventKind::FaultVerified { step: request.step, ok: false, proof: error.to_string() });
            return Err(error);
        }
    };
    for proof in applied.proofs {
        ctx.timeline.record(EventKind::FaultVerified { step: request.step, ok: true, proof });
    }
    Ok(fault.lasting().map(|_| ActiveFault {
        step: request.step,
        fault,
        targets: request.targets.clone(),
        via: applied.via,
    }))
}

/// Undoes an active fault, proves it, and records it.
pub async fn undo(ctx: &FaultContext, active: &ActiveFault) -> Result<(), FaultError> {
    let cx = ctx.for_step(active.step);
    let done = active.fault.undo(&cx, active).await?;
    cx.timeline().record(EventKind::FaultHealed {
        step: active.step,
        detail: format!("{}: {}", active.fault.name(), done.join("; ")),
    });
    Ok(())
}
