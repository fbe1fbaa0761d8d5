//! Turns a scenario's topology into container specs: names, images, commands, configs and the
//! ports the harness needs on loopback.
use crate::runtime::ContainerSpec;
use crate::scenario::Topology;

use super::configs::{etcd_command, haproxy_cfg, patroni_yaml, PatroniConfigInput};

/// Patroni REST API port inside member containers.
pub const PATRONI_PORT: u16 = 8008;
/// PostgreSQL port inside member containers.
pub const POSTGRES_PORT: u16 = 5432;
/// HAProxy port that routes to the primary.
pub const HAPROXY_PRIMARY_PORT: u16 = 5000;
/// HAProxy port that balances over replicas.
pub const HAPROXY_REPLICA_PORT: u16 = 5001;
/// etcd client port.
pub const ETCD_CLIENT_PORT: u16 = 2379;

/// Image tags the plan uses.
#[derive(Debug, Clone)]
pub struct PlanImages {
    /// etcd image.
    pub etcd: String,
    /// Patroni + PostgreSQL image.
    pub patroni: String,
    /// HAProxy image.
    pub haproxy: String,
}

/// Every container of a Patroni topology, in start order.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Patroni scope (cluster name in etcd).
    pub scope: String,
    /// etcd members.
    pub etcd: Vec<ContainerSpec>,
    /// Patroni members.
    pub members: Vec<ContainerSpec>,
    /// HAProxy in front of the members.
    pub haproxy: ContainerSpec,
}

impl Plan {
    /// Names of the Patroni members (pg-1 .. pg-N).
    pub fn member_names(&self) -> Vec<String> {
        self.members.iter().map(|m| m.name.clone()).collect()
    }

    /// All specs in start order (etcd first: Patroni needs the DCS).
    pub fn all(&self) -> impl Iterator<Item = &ContainerSpec> {
        self.etcd.iter().chain(&self.members).chain(std::iter::once(&self.haproxy))
    }
}

/// Member names for a topology: pg-1 .. pg-N.
pub fn member_names(topology: &Topology) -> Vec<String> {
    (1..=topology.members).map(|i| format!("pg-{i}")).collect()
}

/// etcd member names: etcd-1 .. etcd-N.
pub fn etcd_names(topology: &Topology) -> Vec<String> {
    (1..=topology.etcd).map(|i| format!("etcd-{i}")).collect()
}

/// Plans the containers of a Patroni topology for run `run_id`.
pub fn plan(topology: &Topology, images: &PlanImages, run_id: &str) -> Plan {
    let scope = "pgdrill".to_string();
    let etcd_peers = etcd_names(topology);
    let etcd = etcd_peers
        .iter()
        .map(|name| ContainerSpec {
            name: name.clone(),
            image: images.etcd.clone(),
            cmd: Some(etcd_command(name, &etcd_peers, run_id)),
            ports: vec![ETCD_CLIENT_PORT],
            net_admin: true,
            component: "etcd".into(),
            ..Default::default()
        })
        .collect();
    let etcd_hosts: Vec<String> = etcd_peers.iter().map(|n| format!("{n}:{ETCD_CLIENT_PORT}")).collect();
    let names = member_names(topology);
    let members = names
        .iter()
        .map(|name| {
            let settings = &topology.patroni;
            let config = patroni_yaml(&PatroniConfigInput {
                scope: &scope,
                member: name,
                etcd_hosts: &etcd_hosts,
                ttl: settings.ttl,
                loop_wait: settings.loop_wait,
                retry_timeout: settings.retry_timeout,
                synchronous_mode: settings.synchronous_mode,
                failsafe_mode: settings.failsafe_mode,
            });
            ContainerSpec {
                name: name.clone(),
                image: images.patroni.clone(),
                env: vec![("PATRONI_CONFIG_YAML".into(), config)],
                ports: vec![PATRONI_PORT, POSTGRES_PORT],
                net_admin: true,
                component: "patroni".into(),
                ..Default::default()
            }
        })
        .collect();
    let haproxy = ContainerSpec {
        name: "haproxy".into(),
        image: images.haproxy.clone(),
        env: vec![("HAPROXY_CONFIG".into(), haproxy_cfg(&names))],
        ports: vec![HAPROXY_PRIMARY_PORT, HAPROXY_REPLICA_PORT],
        component: "haproxy".into(),
        ..Default::default()
    };
    Plan { scope, etcd, members, haproxy }
}
