//! `disconnect` detaches a container from the network (its cable pulled: no address at all),
//! `reconnect` attaches it again. Proven by the container's address on the network.
use async_trait::async_trait;

use crate::fault::{ActiveFault, Applied, Fault, FaultCx, FaultError, FaultRequest};
use crate::register_fault;
use crate::scenario::{Ends, FaultSpec, Lasting};

/// `disconnect` (true) or `reconnect` (false).
struct Cable(bool);

const DISCONNECT: Cable = Cable(true);
const RECONNECT: Cable = Cable(false);
register_fault!(DISCONNECT);
register_fault!(RECONNECT);

impl FaultSpec for Cable {
    fn name(&self) -> &'static str {
        if self.0 {
            "disconnect"
        } else {
            "reconnect"
        }
    }

    fn summary(&self) -> &'static str {
        if self.0 {
            "Detach the target's container from the Docker network."
        } else {
            "Attach a disconnected container again."
        }
    }

    fn lasting(&self) -> Option<Lasting> {
        self.0.then_some(Lasting { undo_at_end: true, leaves_down: false })
    }

    fn ends(&self) -> Ends {
        if self.0 {
            Ends::NOTHING
        } else {
            Ends { faults: &["disconnect"], any_target: false }
        }
    }

    fn chaos(&self) -> bool {
        self.0
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
