//! What every fault is: its scenario declarations ([`FaultSpec`]) plus how it acts, proves its
//! effect and is undone ([`Fault`]), through an [`Executor`] only. Each family of faults lives in
//! one file of `kinds/` and registers itself with [`register_fault!`](crate::register_fault); the
//! engine, the validator, the chaos generator, the JSON Schema and `pgdrill list` ask the
//! registry, so nothing else enumerates faults.
use std::collections::BTreeMap;

use async_trait::async_trait;

use super::error::FaultError;
use super::executor::{Executor, Operation};
use crate::observe::LiveView;
use crate::scenario::{option_value, FaultOptions, FaultSpec};
use crate::timeline::{EventKind, TimelineWriter};

/// One fault, with its targets and target options already resolved to container names.
#[derive(Debug, Clone, Default)]
pub struct FaultRequest {
    /// Step index.
    pub step: usize,
    /// Target containers.
    pub targets: Vec<String>,
    /// The running primary (of the fault's Citus group) when the fault is sent.
    pub leader: Option<String>,
    /// Options of kind target (`peers`, `candidate`), resolved to container names.
    pub members: BTreeMap<String, Vec<String>>,
    /// Every option as written (validated against the fault's declaration).
    pub options: FaultOptions,
}

impl FaultRequest {
    /// The containers a target option resolved to.
    pub fn members(&self, key: &str) -> Option<&[String]> {
        self.members.get(key).map(Vec::as_slice)
    }

    /// The first container a target option resolved to.
    pub fn member(&self, key: &str) -> Option<&str> {
        self.members(key).and_then(|m| m.first()).map(String::as_str)
    }

    /// An option parsed as `T` (`None` when absent).
    pub fn option<T: serde::de::DeserializeOwned>(&self, key: &str) -> Option<T> {
        option_value(&self.options, key)
    }
}

/// What a fault acts with: the executor, the latest observations (to prove leader changes),
/// and the timeline its action is recorded on.
#[derive(Clone, Copy)]
pub struct FaultCx<'a> {
    /// What the fault acts through.
    pub executor: &'a dyn Executor,
    /// Latest Patroni observations.
    pub live: &'a LiveView,
    timeline: &'a TimelineWriter,
    step: usize,
}

impl<'a> FaultCx<'a> {
    /// A context for step `step`'s fault.
    pub fn new(executor: &'a dyn Executor, live: &'a LiveView, timeline: &'a TimelineWriter, step: usize) -> Self {
        Self { executor, live, timeline, step }
    }

    /// Records that `fault` was sent to `detail` (its targets, and what else a reader needs),
    /// right after the action and before its proof.
    pub fn applied(&self, fault: &dyn FaultSpec, detail: &[String]) {
        self.timeline.record(EventKind::FaultApplied {
            step: self.step,
            fault: fault.name().to_string(),
            targets: detail.to_vec(),
        });
    }

    /// The timeline (for undo records).
    pub(super) fn timeline(&self) -> &TimelineWriter {
        self.timeline
    }
}

/// A fault's outcome: proofs of its effect, and for a lasting fault what its undo needs.
#[derive(Debug, Clone, Default)]
pub struct Applied {
    /// One line per proof, recorded on the timeline.
    pub proofs: Vec<String>,
    /// The member the undo must go through (maintenance mode: the leader it was set on).
    pub via: Option<String>,
}

/// A fault, whole: declarations, action, proof and undo.
#[async_trait]
pub trait Fault: FaultSpec {
    /// Acts on the request's targets, records the action with [`FaultCx::applied`], and proves
    /// the effect (or fails with "fault had no effect" and what was seen).
    async fn act(&self, cx: &FaultCx<'_>, request: &FaultRequest) -> Result<Applied, FaultError>;

    /// The executor operations its action, proof and undo use (an executor lacking one refuses
    /// the fault when the scenario is checked against the cluster).
    fn needs(&self) -> &'static [Operation];

    /// Undoes a lasting fault and proves the undo; returns what was done, for the timeline.
    async fn undo(&self, _cx: &FaultCx<'_>, active: &ActiveFault) -> Result<Vec<String>, FaultError> {
        Err(FaultError::failed(self.name(), &active.targets.join(", "), "this fault is not undone"))
    }

    /// What this fault left on `container`, if anything, for the end-of-run audit (network cuts,
    /// pauses and disconnects are audited from the container's state for every run).
    async fn leftover(&self, _executor: &dyn Executor, _container: &str) -> Option<String> {
        None
    }
}

/// A fault that is still in effect.
#[derive(Clone)]
pub struct ActiveFault {
    /// The step that applied it.
    pub step: usize,
    /// Which fault.
    pub fault: &'static dyn Fault,
    /// Its targets.
    pub targets: Vec<String>,
    /// What its undo goes through, if not the targets.
    pub via: Option<String>,
}

impl ActiveFault {
    /// Whether the end of the run must undo it.
    pub fn undo_at_end(&self) -> bool {
        self.fault.lasting().is_some_and(|l| l.undo_at_end)
    }

    /// Whether it leaves its targets not running on purpose.
    pub fn leaves_down(&self) -> bool {
        self.fault.lasting().is_some_and(|l| l.leaves_down)
    }

    /// Whether `other` is the same application of the same fault.
    pub fn same(&self, other: &ActiveFault) -> bool {
        self.step == other.step && self.fault.name() == other.fault.name() && self.targets == other.targets
    }
}

impl std::fmt::Debug for ActiveFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActiveFault")
            .field("step", &self.step)
            .field("fault", &self.fault.name())
            .field("targets", &self.targets)
            .field("via", &self.via)
            .finish()
    }
}

/// A registered fault (see [`register_fault!`](crate::register_fault)).
pub struct RegisteredFault(pub &'static dyn Fault);

inventory::collect!(RegisteredFault);

/// Registers a fault for the engine and its declarations for the scenario layer.
#[macro_export]
macro_rules! register_fault {
    ($fault:expr) => {
        $crate::register_fault_spec!($fault);
        ::inventory::submit! { $crate::fault::RegisteredFault(&$fault) }
    };
}

/// The fault called `name`.
pub fn fault_by_name(name: &str) -> Option<&'static dyn Fault> {
    inventory::iter::<RegisteredFault>.into_iter().map(|r| r.0).find(|f| f.name() == name)
}

/// Every registered fault, by name.
pub fn all_faults() -> Vec<&'static dyn Fault> {
    let mut all: Vec<&'static dyn Fault> = inventory::iter::<RegisteredFault>.into_iter().map(|r| r.0).collect();
    all.sort_by_key(|f| f.name());
    all
}
