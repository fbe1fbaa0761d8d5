//! The order a run's containers start in: every etcd member at once; then each Patroni
//! cluster's bootstrapping member (pg-1; for Citus coord-1, worker1-1, …) alone, until etcd holds
//! that cluster's initialize key; then every other container at once.
//!
//! Why not all at once: which member wins Patroni's race for initialization — and so starts as
//! the primary — would be chance, and a drill that names a member (`failover --candidate pg-2`)
//! would sometimes drill the wrong one. Holding the others back costs nothing: they cannot take
//! a base backup before the bootstrapping member runs as the primary anyway.
//! Why each wave at once: `docker start` of one container takes ~0.3–0.7 s on 2 cores; a Citus
//! run has ten or more.
use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine as _;
use futures_util::future::try_join_all;
use serde_json::Value;

use crate::runtime::{ContainerSpec, RunningContainer, Runtime, RuntimeError};
use crate::topology::{Bootstrapper, Plan, ETCD_CLIENT_PORT};
use crate::wait::{try_poll_until, Probe};

/// How long the bootstrapping members get to claim their clusters (Patroni's start and one
/// round trip to etcd: ~2 s warm, longer on a loaded machine).
const CLAIM_WITHIN: Duration = Duration::from_secs(60);

/// Starts every container of `plan` in the order above; returns them by short name.
pub async fn start_in_order(
    runtime: &Runtime,
    plan: &Plan,
) -> Result<BTreeMap<String, RunningContainer>, RuntimeError> {
    let mut started = BTreeMap::new();
    start_wave(runtime, plan.etcd.iter(), &mut started).await?;
    start_wave(runtime, plan.bootstrap_specs(), &mut started).await?;
    wait_claimed(runtime, &plan.bootstrap, &started).await?;
    start_wave(runtime, plan.after_bootstrap_specs(), &mut started).await?;
    Ok(started)
}

/// Starts `specs` concurrently (port leases stay serialised by their host-wide lock).
async fn start_wave<'a>(
    runtime: &Runtime,
    specs: impl Iterator<Item = &'a ContainerSpec>,
    started: &mut BTreeMap<String, RunningContainer>,
) -> Result<(), RuntimeError> {
    let containers = try_join_all(specs.map(|spec| runtime.start(spec))).await?;
    started.extend(containers.into_iter().map(|c| (c.name.clone(), c)));
    Ok(())
}

/// Waits until etcd holds every bootstrapper's initialize key; fails at once, with its log, if a
/// bootstrapping member exits.
async fn wait_claimed(
    runtime: &Runtime,
    bootstrap: &[Bootstrapper],
    started: &BTreeMap<String, RunningContainer>,
) -> Result<(), RuntimeError> {
    if bootstrap.is_empty() {
        return Ok(());
    }
    let etcd_ports: Vec<u16> = started
        .values()
        .filter(|c| c.name.starts_with("etcd-"))
        .filter_map(|c| c.host_port(ETCD_CLIENT_PORT))
        .collect();
    // Building a client without TLS cannot fail for a reason the default client would survive.
    let client = reqwest::Client::builder().timeout(Duration::from_secs(2)).no_proxy().build().unwrap_or_default();
    let what = format!(
        "{} to claim the initialization of {} in etcd",
        names(bootstrap.iter().map(|b| b.member.as_str())),
        if bootstrap.len() == 1 { "its cluster" } else { "their clusters" }
    );
    let (client, etcd_ports) = (&client, &etcd_ports);
    try_poll_until(&what, CLAIM_WITHIN, Duration::from_millis(100), move || async move {
        let mut waiting = Vec::new();
        for b in bootstrap {
            if !key_exists(client, etcd_ports, &b.initialize_key).await {
                ensure_running(runtime, &b.member).await?;
                waiting.push(b.member.as_str());
            }
        }
        Ok::<_, RuntimeError>(if waiting.is_empty() {
            Probe::Done(())
        } else {
            Probe::NotYet(format!("no initialize key yet for {}", names(waiting.into_iter())))
        })
    })
    .await
}

/// Whether any etcd member answers that `key` exists (etcd's v3 JSON gateway).
async fn key_exists(client: &reqwest::Client, etcd_ports: &[u16], key: &str) -> bool {
    let body = serde_json::json!({
        "key": base64::engine::general_purpose::STANDARD.encode(key),
        "count_only": true,
    });
    for port in etcd_ports {
        let url = format!("http://127.0.0.1:{port}/v3/kv/range");
        let Ok(response) = client.post(&url).json(&body).send().await else { continue };
        let Ok(answer) = response.json::<Value>().await else { continue };
        if count(&answer) > 0 {
            return true;
        }
    }
    false
}

/// The gateway's `count` (an int64, so a JSON string; absent when zero).
fn count(answer: &Value) -> u64 {
    match answer.get("count") {
        Some(Value::String(s)) => s.parse().unwrap_or(0),
        Some(Value::Number(n)) => n.as_u64().unwrap_or(0),
        _ => 0,
    }
}

/// Fails with the container's log tail when `name` is no longer running.
async fn ensure_running(runtime: &Runtime, name: &str) -> Result<(), RuntimeError> {
    let (status, running, exit_code) = runtime.state(name).await?;
    if running || status == "paused" {
        return Ok(());
    }
    Err(RuntimeError::ContainerExited {
        container: runtime.docker_name(name),
        phase: "the wait for the bootstrapping member to claim its cluster".to_string(),
        exit_code,
        log_tail: runtime.log_tail(name, 30).await,
    })
}

fn names<'a>(names: impl Iterator<Item = &'a str>) -> String {
    names.collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gateway_count_is_read_as_string_number_or_absent() {
        assert_eq!(count(&serde_json::json!({"count": "1"})), 1);
        assert_eq!(count(&serde_json::json!({"count": 2})), 2);
        assert_eq!(count(&serde_json::json!({"header": {}})), 0);
    }
}
