//! Network cuts with iptables inside the target's containers (this kernel has no `tc netem`):
//! `partition` drops everything between the target and `peers`, `isolate` between the target
//! and every other container, `loss` a share of packets. Proven by the DROP rules' counters
//! growing; undone by flushing pgdrill's chains, proven by no rule remaining.
use async_trait::async_trait;

use crate::fault::iptables::{self, Cut};
use crate::fault::{ActiveFault, Applied, Fault, FaultCx, FaultError, FaultRequest};
use crate::fault::executor::Operation;
use crate::register_fault;
use crate::scenario::{FaultSpec, Lasting, OptionKind, OptionSpec};

/// Which cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Partition,
    Isolate,
    Loss,
}

struct Network(Shape);

const PARTITION: Network = Network(Shape::Partition);
const ISOLATE: Network = Network(Shape::Isolate);
const LOSS: Network = Network(Shape::Loss);
register_fault!(PARTITION);
register_fault!(ISOLATE);
register_fault!(LOSS);

const PEERS: OptionSpec = OptionSpec {
    key: "peers",
    kind: OptionKind::Target,
    required: false,
    doc: "the other side of the cut (default: every other container), e.g. `peers: {group: 0}`",
};
const ONE_WAY: OptionSpec = OptionSpec {
    key: "one_way",
    kind: OptionKind::Bool,
    required: false,
    doc: "drop only what the target sends to the peers (default: both ways)",
};
const PROBABILITY: OptionSpec = OptionSpec {
    key: "probability",
    kind: OptionKind::SHARE,
    required: true,
    doc: "e.g. `probability: 0.3` drops 30% of packets",
};

impl FaultSpec for Network {
    fn name(&self) -> &'static str {
        match self.0 {
            Shape::Partition => "partition",
            Shape::Isolate => "isolate",
            Shape::Loss => "loss",
        }
    }

    fn summary(&self) -> &'static str {
        match self.0 {
            Shape::Partition => "Drop all traffic between the target and `peers` (iptables in the target's containers).",
            Shape::Isolate => "Drop all traffic between the target and every other container.",
            Shape::Loss => "Drop a share (`probability`) of packets between the target and `peers`.",
        }
    }

    fn options(&self) -> &'static [OptionSpec] {
        match self.0 {
            Shape::Partition => &[PEERS, ONE_WAY],
            Shape::Isolate => &[],
            Shape::Loss => &[PEERS, ONE_WAY, PROBABILITY],
        }
    }

    fn lasting(&self) -> Option<Lasting> {
        Some(Lasting { undo_at_end: true, leaves_down: false })
    }

    fn chaos(&self) -> bool {
        true
    }
}

#[async_trait]
impl Fault for Network {
    fn needs(&self) -> &'static [Operation] {
        &[Operation::Exec, Operation::Address]
    }

    async fn act(&self, cx: &FaultCx<'_>, request: &FaultRequest) -> Result<Applied, FaultError> {
        let targets = &request.targets;
        // Without peers a cut separates the targets from every other container.
        let peers = match request.members(PEERS.key) {
            Some(peers) => peers.to_vec(),
            None => cx.executor.containers().into_iter().filter(|c| !targets.contains(c)).collect(),
        };
        let cut = Cut {
            side: targets.clone(),
            peers: peers.clone(),
            one_way: request.option(ONE_WAY.key).unwrap_or(false),
            loss: if self.0 == Shape::Loss { request.option(PROBABILITY.key) } else { None },
        };
        let first = targets.first().map(String::as_str).unwrap_or("?");
        iptables::install(cx.executor, &cut).await.map_err(|reason| FaultError::failed(self.name(), first, reason))?;
        let mut detail = targets.clone();
        detail.push(format!("peers: {}", peers.join(", ")));
        cx.applied(self, &detail);
        match iptables::verify(cx.executor, &cut).await {
            Ok(proof) => Ok(Applied { proofs: vec![proof], via: None }),
            Err(seen) => {
                // Leave nothing behind when the cut is rejected.
                for target in targets {
                    let _ = iptables::heal(cx.executor, target).await;
                }
                Err(FaultError::no_effect(self.name(), first, seen))
            }
        }
    }

    async fn undo(&self, cx: &FaultCx<'_>, active: &ActiveFault) -> Result<Vec<String>, FaultError> {
        let mut done = Vec::new();
        for target in &active.targets {
            let failed = |reason| FaultError::failed(self.name(), target, reason);
            iptables::heal(cx.executor, target).await.map_err(failed)?;
            let left = iptables::remaining_cut_rules(cx.executor, target).await.map_err(failed)?;
            if left > 0 {
                return Err(FaultError::no_effect(
                    self.name(),
                    target,
                    format!("{left} iptables rules remain after healing"),
                ));
            }
            done.push(format!("{target}: iptables rules removed"));
        }
        Ok(done)
    }
}
