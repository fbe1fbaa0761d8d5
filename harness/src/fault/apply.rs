//! Applying any fault of the catalog: act, prove the effect (or fail with "fault had no effect"),
//! and return how to undo it. Every step is recorded on the timeline.
use std::collections::BTreeMap;
use std::time::Duration;

use super::container::{verify_state, ContainerCondition};
use super::network::{self, Cut};
use super::process;
use super::rest::PatroniApi;
use super::FaultError;
use crate::observe::LiveView;
use crate::runtime::{RunningContainer, Runtime};
use crate::scenario::FaultKind;
use crate::timeline::{EventKind, TimelineWriter};
use crate::topology::PATRONI_PORT;

/// How long a REST-driven leader change may take to show before it counts as having no effect.
const LEADER_CHANGE_WITHIN: Duration = Duration::from_secs(60);
/// The file whose presence keeps the image's supervisor from restarting Patroni.
const PATRONI_HOLD_FILE: &str = "/tmp/pgdrill-hold-patroni";

/// What the run's faults act on (cheap to clone: auto-heal tasks take their own copy).
#[derive(Debug, Clone)]
pub struct FaultContext {
    /// Docker.
    pub runtime: Runtime,
    /// Containers by short name (for REST ports).
    pub containers: BTreeMap<String, RunningContainer>,
    /// Latest observations (to prove leader changes).
    pub live: LiveView,
    /// Where faults are recorded.
    pub timeline: TimelineWriter,
}

/// One fault, with its targets already resolved to container names.
#[derive(Debug, Clone, Default)]
pub struct FaultRequest {
    /// Step index.
    pub step: usize,
    /// Target containers.
    pub targets: Vec<String>,
    /// Other side of a partition/loss.
    pub peers: Vec<String>,
    /// Drop only outgoing traffic of the targets.
    pub one_way: bool,
    /// Share of packets to drop (`loss`).
    pub probability: Option<f64>,
    /// Leader at the time of the fault (switchover/failover/maintenance go through it).
    pub leader: Option<String>,
    /// Switchover/failover candidate.
    pub candidate: Option<String>,
    /// Switchover delay.
    pub scheduled_in: Option<Duration>,
}

/// How to undo an applied fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Undo {
    /// Start stopped/killed containers.
    Start(Vec<String>),
    /// Thaw paused containers.
    Unpause(Vec<String>),
    /// Flush pgdrill's iptables chains in these containers.
    FlushIptables(Vec<String>),
    /// Attach containers to the network again.
    Reconnect(Vec<String>),
    /// Let the supervisor start Patroni again.
    ResumePatroni(Vec<String>),
    /// Turn maintenance mode off (through this member's REST API).
    MaintenanceOff(String),
}

impl Undo {
    /// Whether the end of the run must undo it: network rules, frozen containers and maintenance
    /// mode would otherwise skew the audit (and survive a `--keep`); stopped containers need not
    /// be started just to be removed.
    pub fn needed_at_end(&self) -> bool {
        !matches!(self, Undo::Start(_))
    }

    /// Containers the undo touches.
    pub fn containers(&self) -> Vec<String> {
        match self {
            Undo::Start(c)
            | Undo::Unpause(c)
            | Undo::FlushIptables(c)
            | Undo::Reconnect(c)
            | Undo::ResumePatroni(c) => c.clone(),
            Undo::MaintenanceOff(m) => vec![m.clone()],
        }
    }
}

/// A fault that is still in effect.
#[derive(Debug, Clone)]
pub struct ActiveFault {
    /// The step that applied it.
    pub step: usize,
    /// Which fault.
    pub fault: FaultKind,
    /// Its targets.
    pub targets: Vec<String>,
    /// How to undo it.
    pub undo: Undo,
}

/// The scenario spelling of a fault (`kill_postgres`, ...).
pub fn fault_name(fault: FaultKind) -> String {
    crate::scenario::variant_name(&fault)
}

fn no_effect(fault: FaultKind, target: &str, seen: String) -> FaultError {
    FaultError::NoEffect { fault: fault_name(fault), target: target.to_string(), seen }
}

fn apply_error(fault: FaultKind, target: &str, reason: String) -> FaultError {
    FaultError::Failed { fault: fault_name(fault), target: target.to_string(), reason }
}

fn rest_api(ctx: &FaultContext, member: &str) -> Result<PatroniApi, String> {
    ctx.containers
        .get(member)
        .and_then(|c| c.host_port(PATRONI_PORT))
        .map(PatroniApi::new)
        .ok_or_else(|| format!("{member} has no Patroni REST API"))
}

/// Applies `fault`, records it and its proof, and returns the undo if it stays in effect.
pub async fn apply(
    ctx: &FaultContext,
    fault: FaultKind,
    req: &FaultRequest,
) -> Result<Option<ActiveFault>, FaultError> {
    let proofs = act_and_prove(ctx, fault, req).await;
    let (proofs, undo) = match proofs {
        Ok(ok) => ok,
        Err(error) => {
            ctx.timeline.record(EventKind::FaultVerified { step: req.step, ok: false, proof: error.to_string() });
            return Err(error);
        }
    };
    for proof in proofs {
        ctx.timeline.record(EventKind::FaultVerified { step: req.step, ok: true, proof });
    }
    Ok(undo.map(|undo| ActiveFault { step: req.step, fault, targets: req.targets.clone(), undo }))
}

/// Records FaultApplied right after the action, then proves its effect.
async fn act_and_prove(
    ctx: &FaultContext,
    fault: FaultKind,
    req: &FaultRequest,
) -> Result<(Vec<String>, Option<Undo>), FaultError> {
    let rt = &ctx.runtime;
    let targets = &req.targets;
    let applied = |detail: &[String]| {
        ctx.timeline.record(EventKind::FaultApplied {
            step: req.step,
            fault: fault_name(fault),
            targets: detail.to_vec(),
        });
    };
    let docker_err = |t: &str, e: crate::runtime::RuntimeError| apply_error(fault, t, e.to_string());
    let mut proofs = Vec::new();
    let undo = match fault {
        FaultKind::Kill | FaultKind::Stop => {
            for t in targets {
                match fault {
                    FaultKind::Kill => rt.kill(t, "SIGKILL").await,
                    _ => rt.stop(t, 10).await,
                }
                .map_err(|e| docker_err(t, e))?;
            }
            applied(targets);
            for t in targets {
                proofs.push(
                    verify_state(rt, t, ContainerCondition::NotRunning).await.map_err(|s| no_effect(fault, t, s))?,
                );
            }
            Some(Undo::Start(targets.clone()))
        }
        FaultKind::Start | FaultKind::Restart => {
            for t in targets {
                if fault == FaultKind::Restart {
                    rt.stop(t, 10).await.map_err(|e| docker_err(t, e))?;
                }
                rt.start_existing(t).await.map_err(|e| docker_err(t, e))?;
            }
            applied(targets);
            for t in targets {
                proofs
                    .push(verify_state(rt, t, ContainerCondition::Running).await.map_err(|s| no_effect(fault, t, s))?);
            }
            None
        }
        FaultKind::Pause => {
            for t in targets {
                rt.pause(t).await.map_err(|e| docker_err(t, e))?;
            }
            applied(targets);
            for t in targets {
                proofs.push(verify_state(rt, t, ContainerCondition::Paused).await.map_err(|s| no_effect(fault, t, s))?);
            }
            Some(Undo::Unpause(targets.clone()))
        }
        FaultKind::Unpause => {
            for t in targets {
                rt.unpause(t).await.map_err(|e| docker_err(t, e))?;
            }
            applied(targets);
            for t in targets {
                proofs
                    .push(verify_state(rt, t, ContainerCondition::Running).await.map_err(|s| no_effect(fault, t, s))?);
            }
            None
        }
        FaultKind::Partition | FaultKind::Isolate | FaultKind::Loss => {
            let cut = Cut {
                side: targets.clone(),
                peers: req.peers.clone(),
                one_way: req.one_way,
                loss: if fault == FaultKind::Loss { req.probability } else { None },
            };
            let first = targets.first().map(String::as_str).unwrap_or("?");
            network::install(rt, &cut).await.map_err(|reason| apply_error(fault, first, reason))?;
            let mut detail = targets.clone();
            detail.push(format!("peers: {}", req.peers.join(", ")));
            applied(&detail);
            let undo = Undo::FlushIptables(targets.clone());
            match network::verify(rt, &cut).await {
                Ok(proof) => proofs.push(proof),
                Err(seen) => {
                    // Leave nothing behind when the cut is rejected.
                    for t in targets {
                        let _ = network::heal(rt, t).await;
                    }
                    return Err(no_effect(fault, first, seen));
                }
            }
            Some(undo)
        }
        FaultKind::Disconnect => {
            for t in targets {
                rt.disconnect(t).await.map_err(|e| docker_err(t, e))?;
            }
            applied(targets);
            for t in targets {
                match rt.ip(t).await.map_err(|e| docker_err(t, e))? {
                    None => proofs.push(format!("{t}: no address on {}", rt.network())),
                    Some(ip) => return Err(no_effect(fault, t, format!("still has address {ip}"))),
                }
            }
            Some(Undo::Reconnect(targets.clone()))
        }
        FaultKind::Reconnect => {
            for t in targets {
                rt.reconnect(t).await.map_err(|e| docker_err(t, e))?;
            }
            applied(targets);
            for t in targets {
                match rt.ip(t).await.map_err(|e| docker_err(t, e))? {
                    Some(ip) => proofs.push(format!("{t}: address {ip} on {}", rt.network())),
                    None => return Err(no_effect(fault, t, "no address after reconnect".into())),
                }
            }
            None
        }
        FaultKind::KillPostgres => {
            let mut pids = Vec::new();
            for t in targets {
                pids.push(process::kill_postmaster(rt, t).await.map_err(|r| apply_error(fault, t, r))?);
            }
            applied(targets);
            for (t, pid) in targets.iter().zip(pids) {
                proofs.push(process::verify_gone(rt, t, pid).await.map_err(|s| no_effect(fault, t, s))?);
            }
            None
        }
        FaultKind::KillPatroni => {
            for t in targets {
                process::kill_patroni(rt, t, PATRONI_HOLD_FILE).await.map_err(|r| apply_error(fault, t, r))?;
            }
            applied(targets);
            for t in targets {
                proofs.push(process::verify_patroni_down(rt, t).await.map_err(|s| no_effect(fault, t, s))?);
            }
            Some(Undo::ResumePatroni(targets.clone()))
        }
        FaultKind::Switchover | FaultKind::Failover => {
            let leader =
                req.leader.clone().ok_or_else(|| apply_error(fault, "cluster", "no leader observed".into()))?;
            let via = if fault == FaultKind::Switchover {
                leader.clone()
            } else {
                req.candidate.clone().unwrap_or(leader.clone())
            };
            let api = rest_api(ctx, &via).map_err(|r| apply_error(fault, &via, r))?;
            let scheduled = req
                .scheduled_in
                .map(|d| humantime::format_rfc3339_seconds(std::time::SystemTime::now() + d).to_string());
            let answer = match fault {
                FaultKind::Switchover => api.switchover(&leader, req.candidate.as_deref(), scheduled.as_deref()).await,
                _ => {
                    let candidate = req
                        .candidate
                        .as_deref()
                        .ok_or_else(|| apply_error(fault, &via, "failover needs a candidate".into()))?;
                    api.failover(candidate).await
                }
            }
            .map_err(|r| apply_error(fault, &via, r))?;
            let mut detail = vec![leader.clone()];
            detail.extend(req.candidate.iter().map(|c| format!("→ {c}")));
            applied(&detail);
            proofs.push(format!("Patroni answered: {answer}"));
            let wait = LEADER_CHANGE_WITHIN + req.scheduled_in.unwrap_or_default();
            proofs.push(
                wait_leader_change(&ctx.live, &leader, req.candidate.as_deref(), wait)
                    .await
                    .map_err(|s| no_effect(fault, &leader, s))?,
            );
            None
        }
        FaultKind::MaintenanceOn | FaultKind::MaintenanceOff => {
            let via = req
                .leader
                .clone()
                .or_else(|| targets.first().cloned())
                .ok_or_else(|| apply_error(fault, "cluster", "no member to ask".into()))?;
            let api = rest_api(ctx, &via).map_err(|r| apply_error(fault, &via, r))?;
            let on = fault == FaultKind::MaintenanceOn;
            api.set_paused(on).await.map_err(|r| apply_error(fault, &via, r))?;
            applied(std::slice::from_ref(&via));
            proofs.push(wait_maintenance(&api, on).await.map_err(|s| no_effect(fault, &via, s))?);
            on.then_some(Undo::MaintenanceOff(via))
        }
        FaultKind::Heal => return Err(apply_error(fault, "-", "heal is handled by the engine".into())),
    };
    Ok((proofs, undo))
}

/// Undoes an active fault and records it.
pub async fn undo(ctx: &FaultContext, active: &ActiveFault) -> Result<(), FaultError> {
    let rt = &ctx.runtime;
    let fault = active.fault;
    let mut done = Vec::new();
    match &active.undo {
        Undo::Start(targets) => {
            for t in targets {
                rt.start_existing(t).await.map_err(|e| apply_error(fault, t, e.to_string()))?;
                done.push(verify_state(rt, t, ContainerCondition::Running).await.map_err(|s| no_effect(fault, t, s))?);
            }
        }
        Undo::Unpause(targets) => {
            for t in targets {
                rt.unpause(t).await.map_err(|e| apply_error(fault, t, e.to_string()))?;
                done.push(verify_state(rt, t, ContainerCondition::Running).await.map_err(|s| no_effect(fault, t, s))?);
            }
        }
        Undo::FlushIptables(targets) => {
            for t in targets {
                network::heal(rt, t).await.map_err(|r| apply_error(fault, t, r))?;
                let left = network::remaining_rules(rt, t).await.map_err(|r| apply_error(fault, t, r))?;
                if left > 0 {
                    return Err(no_effect(fault, t, format!("{left} iptables rules remain after healing")));
                }
                done.push(format!("{t}: iptables rules removed"));
            }
        }
        Undo::Reconnect(targets) => {
            for t in targets {
                rt.reconnect(t).await.map_err(|e| apply_error(fault, t, e.to_string()))?;
                done.push(format!("{t}: reconnected"));
            }
        }
        Undo::ResumePatroni(targets) => {
            for t in targets {
                process::resume_patroni(rt, t, PATRONI_HOLD_FILE).await.map_err(|r| apply_error(fault, t, r))?;
                done.push(format!("{t}: Patroni allowed to start again"));
            }
        }
        Undo::MaintenanceOff(via) => {
            let api = rest_api(ctx, via).map_err(|r| apply_error(fault, via, r))?;
            api.set_paused(false).await.map_err(|r| apply_error(fault, via, r))?;
            done.push(wait_maintenance(&api, false).await.map_err(|s| no_effect(fault, via, s))?);
        }
    }
    ctx.timeline.record(EventKind::FaultHealed {
        step: active.step,
        detail: format!("{}: {}", fault_name(fault), done.join("; ")),
    });
    Ok(())
}

async fn wait_leader_change(
    live: &LiveView,
    old: &str,
    candidate: Option<&str>,
    within: Duration,
) -> Result<String, String> {
    let start = tokio::time::Instant::now();
    loop {
        // Citus: only the old leader's group changes leader.
        let group = crate::topology::member_group(old);
        let mut primaries = live.running_primaries();
        primaries.retain(|p| crate::topology::member_group(p) == group);
        let changed = match candidate {
            Some(c) => primaries.iter().any(|p| p == c),
            None => primaries.iter().any(|p| p != old),
        };
        if changed {
            return Ok(format!("leader changed from {old} to {}", primaries.join(", ")));
        }
        if start.elapsed() >= within {
            return Err(format!(
                "leader still not changed after {}s; last seen: {}",
                within.as_secs(),
                live.describe()
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn wait_maintenance(api: &PatroniApi, on: bool) -> Result<String, String> {
    let start = tokio::time::Instant::now();
    loop {
        match api.is_paused().await {
            Ok(p) if p == on => return Ok(format!("Patroni reports pause: {p}")),
            Ok(_) | Err(_) if start.elapsed() >= Duration::from_secs(15) => {
                return Err(format!("Patroni did not report pause: {on} within 15s"))
            }
            _ => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}
