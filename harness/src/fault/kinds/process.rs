//! Faults on one process inside a member: `kill_postgres` SIGKILLs the postmaster (Patroni keeps
//! running and decides what to do; proven by the old pid being gone), `kill_patroni` SIGKILLs
//! Patroni while PostgreSQL keeps running (the leader key is no longer renewed; proven by no
//! Patroni process and a live postmaster), and keeps it down until healed.
use async_trait::async_trait;

use crate::fault::process;
use crate::fault::{ActiveFault, Applied, Fault, FaultCx, FaultError, FaultRequest};
use crate::fault::executor::Operation;
use crate::register_fault;
use crate::scenario::{ActsOn, FaultSpec, Lasting};

/// The file whose presence keeps the image's supervisor from restarting Patroni.
const PATRONI_HOLD_FILE: &str = "/tmp/pgdrill-hold-patroni";

struct KillPostgres;
struct KillPatroni;

const KILL_POSTGRES: KillPostgres = KillPostgres;
const KILL_PATRONI: KillPatroni = KillPatroni;
register_fault!(KILL_POSTGRES);
register_fault!(KILL_PATRONI);

impl FaultSpec for KillPostgres {
    fn name(&self) -> &'static str {
        "kill_postgres"
    }
    fn summary(&self) -> &'static str {
        "SIGKILL the postmaster; Patroni keeps running and reacts."
    }
    fn acts_on(&self) -> ActsOn {
        ActsOn::PatroniMembers
    }
    fn chaos(&self) -> bool {
        true
    }
}

#[async_trait]
impl Fault for KillPostgres {
    fn needs(&self) -> &'static [Operation] {
        &[Operation::Exec]
    }

    async fn act(&self, cx: &FaultCx<'_>, request: &FaultRequest) -> Result<Applied, FaultError> {
        let mut pids = Vec::new();
        for target in &request.targets {
            let pid = process::kill_postmaster(cx.executor, target).await;
            pids.push(pid.map_err(|reason| FaultError::failed(self.name(), target, reason))?);
        }
        cx.applied(self, &request.targets);
        let mut proofs = Vec::new();
        for (target, pid) in request.targets.iter().zip(pids) {
            let proof = process::verify_gone(cx.executor, target, pid).await;
            proofs.push(proof.map_err(|seen| FaultError::no_effect(self.name(), target, seen))?);
        }
        Ok(Applied { proofs, via: None })
    }
}

impl FaultSpec for KillPatroni {
    fn name(&self) -> &'static str {
        "kill_patroni"
    }
    fn summary(&self) -> &'static str {
        "SIGKILL Patroni only; PostgreSQL keeps running (the leader key is no longer renewed). \
         Patroni stays down until healed (or `duration`)."
    }
    fn acts_on(&self) -> ActsOn {
        ActsOn::PatroniMembers
    }
    fn lasting(&self) -> Option<Lasting> {
        Some(Lasting { undo_at_end: true, leaves_down: false })
    }
    fn chaos(&self) -> bool {
        true
    }
}

#[async_trait]
impl Fault for KillPatroni {
    fn needs(&self) -> &'static [Operation] {
        &[Operation::Exec]
    }

    async fn act(&self, cx: &FaultCx<'_>, request: &FaultRequest) -> Result<Applied, FaultError> {
        for target in &request.targets {
            let killed = process::kill_patroni(cx.executor, target, PATRONI_HOLD_FILE).await;
            killed.map_err(|reason| FaultError::failed(self.name(), target, reason))?;
        }
        cx.applied(self, &request.targets);
        let mut proofs = Vec::new();
        for target in &request.targets {
            let proof = process::verify_patroni_down(cx.executor, target).await;
            proofs.push(proof.map_err(|seen| FaultError::no_effect(self.name(), target, seen))?);
        }
        Ok(Applied { proofs, via: None })
    }

    async fn undo(&self, cx: &FaultCx<'_>, active: &ActiveFault) -> Result<Vec<String>, FaultError> {
        let mut done = Vec::new();
        for target in &active.targets {
            let resumed = process::resume_patroni(cx.executor, target, PATRONI_HOLD_FILE).await;
            resumed.map_err(|reason| FaultError::failed(self.name(), target, reason))?;
            done.push(format!("{target}: Patroni allowed to start again"));
        }
        Ok(done)
    }
}
