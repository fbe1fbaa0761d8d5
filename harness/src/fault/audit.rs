//! What faults left behind at the end of a run: for every container, whether it is paused, off
//! the network or still has pgdrill iptables rules (the cuts' filter chains and the link faults'
//! nat chain, `PGDRILL_NAT`), and whatever a lasting fault detects as its own leftover (a link
//! proxy still running) — the `faults_undone` check reads the events.
use super::executor::Executor;
use super::iptables;
use super::kind::all_faults;
use crate::timeline::{EventKind, TimelineWriter};

/// Records a `ContainerAudit` for every container; `with_iptables` are those that can hold
/// pgdrill's rules (started with NET_ADMIN). Containers are audited concurrently (each is a few
/// `docker exec`s, ~0.2 s apiece) and recorded in their order.
pub async fn audit_leftovers(executor: &dyn Executor, with_iptables: &[String], timeline: &TimelineWriter) {
    let names = executor.containers();
    let audits = futures_util::future::join_all(names.iter().map(|name| audit_one(executor, name, with_iptables)));
    for events in audits.await {
        for event in events {
            timeline.record(event);
        }
    }
}

/// One container's `ContainerAudit` and the leftovers of the lasting faults found in it (none
/// when its state cannot be read: it is gone).
async fn audit_one(executor: &dyn Executor, name: &str, with_iptables: &[String]) -> Vec<EventKind> {
    let Ok(state) = executor.state(name).await else { return Vec::new() };
    let on_network = executor.address(name).await.ok().flatten().is_some();
    let running = state.running && state.status == "running";
    let iptables_rules = if running && with_iptables.iter().any(|n| n == name) {
        iptables::remaining_rules(executor, name).await.ok()
    } else {
        None
    };
    let mut events = vec![EventKind::ContainerAudit {
        container: name.to_string(),
        status: state.status,
        on_network,
        iptables_rules,
    }];
    // Faults the executor cannot perform cannot have left anything (and their probes would
    // only be refused).
    let possible = |f: &&'static dyn super::Fault| f.needs().iter().all(|op| executor.supports(*op));
    for fault in all_faults().into_iter().filter(|f| running && f.lasting().is_some()).filter(possible) {
        if let Some(what) = fault.leftover(executor, name).await {
            events.push(EventKind::FaultLeftover {
                container: name.to_string(),
                fault: fault.name().to_string(),
                what,
            });
        }
    }
    events
}
