//! What faults left behind at the end of a run: for every container, whether it is paused, off
//! the network or still has pgdrill iptables rules (the cuts' filter chains and the link faults'
//! nat chain, `PGDRILL_NAT`), and whatever a lasting fault detects as its own leftover (a link
//! proxy still running) — the `faults_undone` check reads the events.
use super::executor::Executor;
use super::iptables;
use super::kind::all_faults;
use crate::timeline::{EventKind, TimelineWriter};

/// Records a `ContainerAudit` for every container; `with_iptables` are those that can hold
/// pgdrill's rules (started with NET_ADMIN).
pub async fn audit_leftovers(executor: &dyn Executor, with_iptables: &[String], timeline: &TimelineWriter) {
    for name in executor.containers() {
        let Ok(state) = executor.state(&name).await else { continue };
        let on_network = executor.address(&name).await.ok().flatten().is_some();
        let iptables_rules = if state.running && state.status == "running" && with_iptables.contains(&name) {
            iptables::remaining_rules(executor, &name).await.ok()
        } else {
            None
        };
        let running = state.running && state.status == "running";
        timeline.record(EventKind::ContainerAudit {
            container: name.clone(),
            status: state.status,
            on_network,
            iptables_rules,
        });
        // Faults the executor cannot perform cannot have left anything (and their probes would
        // only be refused).
        let possible = |f: &&'static dyn super::Fault| f.needs().iter().all(|op| executor.supports(*op));
        for fault in all_faults().into_iter().filter(|f| running && f.lasting().is_some()).filter(possible) {
            if let Some(what) = fault.leftover(executor, &name).await {
                let fault = fault.name().to_string();
                timeline.record(EventKind::FaultLeftover { container: name.clone(), fault, what });
            }
        }
    }
}
