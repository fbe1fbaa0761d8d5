//! Turns a scenario's topology into container specs: names, images, commands, configs and the
//! ports the harness needs on loopback.
use super::configs::{etcd_command, haproxy_cfg, patroni_secret_env, patroni_yaml, PatroniConfigInput, CITUS_DATABASE};
use super::pg_major::PgMajor;
use super::secrets::Secrets;
use super::spec::ContainerSpec;
use crate::scenario::{Topology, TopologyKind};

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
    /// Patroni + Citus image (stand-in or real) for `kind: citus` members.
    pub citus: String,
    /// The PostgreSQL major in the Patroni and Citus images (where Patroni finds its binaries).
    pub postgres: PgMajor,
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
    /// HAProxy in front of the members (of the coordinator group, for Citus).
    pub haproxy: ContainerSpec,
    /// Citus groups with their members; `None` for a plain Patroni topology.
    pub groups: Option<Vec<(u32, Vec<String>)>>,
    /// The run's passwords (in the members' environment; everything that connects reads them here).
    pub secrets: Secrets,
}

impl Plan {
    /// Names of the Patroni members (pg-1 .. pg-N).
    pub fn member_names(&self) -> Vec<String> {
        self.members.iter().map(|m| m.name.clone()).collect()
    }

    /// The database clients use: Patroni's Citus database, or `postgres`.
    pub fn database(&self) -> &'static str {
        if self.groups.is_some() {
            CITUS_DATABASE
        } else {
            "postgres"
        }
    }

    /// All specs in start order (etcd first: Patroni needs the DCS).
    pub fn all(&self) -> impl Iterator<Item = &ContainerSpec> {
        self.etcd.iter().chain(&self.members).chain(std::iter::once(&self.haproxy))
    }
}

/// Member names for a topology: pg-1 .. pg-N; for Citus, every group's members, coordinator
/// first.
pub fn member_names(topology: &Topology) -> Vec<String> {
    match citus_groups(topology) {
        Some(groups) => groups.into_iter().flat_map(|(_, members)| members).collect(),
        None => (1..=topology.members).map(|i| format!("pg-{i}")).collect(),
    }
}

/// A Citus topology's groups with their members: (0, [coord-1, ..]), (1, [worker1-1, ..]), ...
/// `None` for other kinds.
pub fn citus_groups(topology: &Topology) -> Option<Vec<(u32, Vec<String>)>> {
    if topology.kind != TopologyKind::Citus {
        return None;
    }
    let groups = topology.groups.clone().unwrap_or_default();
    let sizes = std::iter::once(groups.coordinator).chain(groups.workers.iter().copied());
    Some(
        sizes
            .enumerate()
            .map(|(group, size)| {
                let group = group as u32;
                (group, (1..=size).map(|i| format!("{}-{i}", group_prefix(group))).collect())
            })
            .collect(),
    )
}

fn group_prefix(group: u32) -> String {
    if group == 0 {
        "coord".to_string()
    } else {
        format!("worker{group}")
    }
}

/// The Citus group a member belongs to, from its name (coord-N: 0, workerG-N: G); `None` for
/// members of a plain Patroni topology (pg-N) and for other containers.
pub fn member_group(member: &str) -> Option<u32> {
    let (prefix, index) = member.rsplit_once('-')?;
    index.parse::<u32>().ok()?;
    if prefix == "coord" {
        return Some(0);
    }
    prefix.strip_prefix("worker")?.parse().ok().filter(|g| *g > 0)
}

/// etcd member names: etcd-1 .. etcd-N.
pub fn etcd_names(topology: &Topology) -> Vec<String> {
    (1..=topology.etcd).map(|i| format!("etcd-{i}")).collect()
}

/// Plans the containers of a Patroni topology for run `run_id`, with the run's `secrets`.
pub fn plan(topology: &Topology, images: &PlanImages, run_id: &str, secrets: Secrets) -> Plan {
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
    let citus = topology.kind == TopologyKind::Citus;
    let bin_dir = images.postgres.bin_dir();
    let members = names
        .iter()
        .map(|name| {
            let settings = &topology.patroni;
            let config = patroni_yaml(&PatroniConfigInput {
                citus_group: if citus { member_group(name) } else { None },
                scope: &scope,
                member: name,
                etcd_hosts: &etcd_hosts,
                ttl: settings.ttl,
                loop_wait: settings.loop_wait,
                retry_timeout: settings.retry_timeout,
                synchronous_mode: settings.synchronous_mode,
                synchronous_mode_strict: settings.synchronous_mode_strict,
                failsafe_mode: settings.failsafe_mode,
                bin_dir: &bin_dir,
                tags: topology.tags.get(name),
                user: &settings.user,
            });
            ContainerSpec {
                name: name.clone(),
                image: if citus { images.citus.clone() } else { images.patroni.clone() },
                env: std::iter::once(("PATRONI_CONFIG_YAML".to_string(), config))
                    .chain(patroni_secret_env(&secrets))
                    .collect(),
                ports: vec![PATRONI_PORT, POSTGRES_PORT],
                net_admin: true,
                component: "patroni".into(),
                ..Default::default()
            }
        })
        .collect();
    // Clients of a Citus cluster talk to the coordinator only.
    let fronted: Vec<String> = names.iter().filter(|n| !citus || member_group(n) == Some(0)).cloned().collect();
    let haproxy = ContainerSpec {
        name: "haproxy".into(),
        image: images.haproxy.clone(),
        env: vec![("HAPROXY_CONFIG".into(), haproxy_cfg(&fronted))],
        ports: vec![HAPROXY_PRIMARY_PORT, HAPROXY_REPLICA_PORT],
        component: "haproxy".into(),
        ..Default::default()
    };
    Plan { scope, etcd, members, haproxy, groups: citus_groups(topology), secrets }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{CitusGroups, PatroniSettings};

    fn topology(kind: TopologyKind, groups: Option<CitusGroups>) -> Topology {
        Topology {
            kind,
            members: 3,
            groups,
            etcd: 1,
            patroni: PatroniSettings::default(),
            monitoring: None,
            tags: Default::default(),
        }
    }

    #[test]
    fn citus_members_are_named_by_group() {
        let t = topology(TopologyKind::Citus, Some(CitusGroups { coordinator: 2, workers: vec![2, 3] }));
        assert_eq!(
            member_names(&t),
            ["coord-1", "coord-2", "worker1-1", "worker1-2", "worker2-1", "worker2-2", "worker2-3"]
        );
        for name in member_names(&t) {
            let group = member_group(&name).expect("a Citus member has a group");
            let groups = citus_groups(&t).unwrap();
            assert!(groups[group as usize].1.contains(&name), "{name}");
        }
    }

    #[test]
    fn plain_members_and_other_containers_have_no_group() {
        let t = topology(TopologyKind::Patroni, None);
        assert_eq!(member_names(&t), ["pg-1", "pg-2", "pg-3"]);
        assert!(citus_groups(&t).is_none());
        for name in ["pg-1", "etcd-1", "haproxy", "worker0-1", "workerx-1", "coord", "coord-x"] {
            assert_eq!(member_group(name), None, "{name}");
        }
        assert_eq!(member_group("worker12-3"), Some(12));
    }

    #[test]
    fn citus_plan_runs_the_citus_image_and_fronts_the_coordinator() {
        let t = topology(TopologyKind::Citus, None);
        let images = PlanImages {
            etcd: "e".into(),
            patroni: "p".into(),
            haproxy: "h".into(),
            citus: "c".into(),
            postgres: PgMajor::Pg17,
        };
        let secrets = Secrets::generate().unwrap();
        let plan = plan(&t, &images, "run", secrets.clone());
        assert_eq!(plan.members.len(), 6);
        assert!(plan.members.iter().all(|m| m.image == "c"));
        let cfg = &plan.haproxy.env[0].1;
        assert!(cfg.contains("server coord-2 coord-2:5432"));
        assert!(!cfg.contains("worker1-1"));
        let worker = &plan.members[2].env[0].1;
        assert!(worker.contains("citus:\n  group: 1\n  database: 'citus'"), "{worker}");
        assert!(worker.contains("bin_dir: '/usr/lib/postgresql/17/bin'"), "{worker}");
        // Every member gets the run's passwords, and only in the environment.
        for member in &plan.members {
            let var = member.env.iter().find(|(k, _)| k == "PATRONI_RESTAPI_PASSWORD").map(|(_, v)| v.as_str());
            assert_eq!(var, Some(secrets.rest_api.expose()), "{}", member.name);
            assert!(!member.env[0].1.contains(secrets.superuser.expose()), "{}", member.name);
        }
        assert_eq!(plan.secrets, secrets);
    }
}
