//! `disconnect` detaches a container from the network (its cable pulled: no address at all),
//! `reconnect` attaches it again. Proven by the container's address on the network.
use async_trait::async_trait;

use crate::fault::{ActiveFault, Applied, Fault, FaultCx, FaultError, FaultRequest};
use crate::fault::executor::Operation;
use crate::register_fault;
use crate::scenario::{Ends, FaultSpec, Lasting, OnOffPair};

/// `disconnect` (true) or `reconnect` (false).
struct Cable(bool);

const DISCONNECT: Cable = Cable(true);
const RECONNECT: Cable = Cable(false);
register_fault!(DISCONNECT);
register_fault!(RECONNECT);

/// The pair's one declaration.
const CABLE: OnOffPair = OnOffPair {
    on: &["disconnect"],
    off: "reconnect",
    summaries: ("Detach the target's container from the Docker network.", "Attach a disconnected container again."),
};

impl FaultSpec for Cable {
    fn name(&self) -> &'static str {
        CABLE.name(self.0)
    }

    fn summary(&self) -> &'static str {
        CABLE.summary(self.0)
    }

    fn lasting(&self) -> Option<Lasting> {
        CABLE.lasting(self.0)
    }

    fn ends(&self) -> Ends {
        CABLE.ends(self.0)
    }

    fn chaos(&self) -> bool {
        CABLE.chaos(self.0)
    }
}

impl Cable {
    async fn plug(&self, cx: &FaultCx<'_>, targets: &[String], plugged: bool) -> Result<(), FaultError> {
        for target in targets {
            let done = if plugged { cx.executor.reconnect(target).await } else { cx.executor.disconnect(target).await };
            done.map_err(|e| FaultError::failed(self.name(), target, e))?;
        }
        Ok(())
    }
}

#[async_trait]
impl Fault for Cable {
    fn needs(&self) -> &'static [Operation] {
        &[Operation::Disconnect, Operation::Reconnect, Operation::Address]
    }

    async fn act(&self, cx: &FaultCx<'_>, request: &FaultRequest) -> Result<Applied, FaultError> {
        let plugged = !self.0;
        self.plug(cx, &request.targets, plugged).await?;
        cx.applied(self, &request.targets);
        let network = cx.executor.network();
        let mut proofs = Vec::new();
        for target in &request.targets {
            let address =
                cx.executor.address(target).await.map_err(|e| FaultError::failed(self.name(), target, e))?;
            match (plugged, address) {
                (false, None) => proofs.push(format!("{target}: no address on {network}")),
                (false, Some(ip)) => {
                    return Err(FaultError::no_effect(self.name(), target, format!("still has address {ip}")))
                }
                (true, Some(ip)) => proofs.push(format!("{target}: address {ip} on {network}")),
                (true, None) => return Err(FaultError::no_effect(self.name(), target, "no address after reconnect")),
            }
        }
        Ok(Applied { proofs, via: None })
    }

    async fn undo(&self, cx: &FaultCx<'_>, active: &ActiveFault) -> Result<Vec<String>, FaultError> {
        self.plug(cx, &active.targets, true).await?;
        Ok(active.targets.iter().map(|t| format!("{t}: reconnected")).collect())
    }
}
