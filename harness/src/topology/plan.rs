//! Turns a scenario's topology into container specs: names, images, commands, configs and the
//! ports the harness needs on loopback.
use super::configs::{
    etcd_command, haproxy_cfg, patroni_secret_env, patroni_yaml, pgbouncer_ini, pgbouncer_secret_env,
    PatroniConfigInput, CITUS_DATABASE,
};
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
/// PgBouncer's port (`topology.pooler`): clients and the admin console.
pub use super::configs::PGBOUNCER_PORT;
/// The pooler's container name.
pub const POOLER_NAME: &str = "pgbouncer";

/// Image tags the plan uses.
#[derive(Debug, Clone)]
pub struct PlanImages {
    /// etcd image.
    pub etcd: String,
    /// Patroni + PostgreSQL image.
    pub patroni: String,
    /// HAProxy image.
    pub haproxy: String,
    /// PgBouncer image (empty unless the topology has a pooler).
    pub pgbouncer: String,
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
    /// PgBouncer in front of HAProxy's primary port (`topology.pooler`), started after it.
    pub pooler: Option<ContainerSpec>,
    /// Citus groups with their members; `None` for a plain Patroni topology.
    pub groups: Option<Vec<(u32, Vec<String>)>>,
    /// The run's passwords (in the members' environment; everything that connects reads them here).
    pub secrets: Secrets,
    /// The member of each Patroni cluster (each Citus group) that bootstraps it: started alone
    /// first, so which member starts as the primary does not depend on a race between members.
    pub bootstrap: Vec<Bootstrapper>,
}

/// The member that bootstraps one Patroni cluster, and the DCS key that shows it claimed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bootstrapper {
    /// Member name (pg-1, coord-1, worker1-1, ...).
    pub member: String,
    /// Patroni's initialize key in etcd (`/service/<scope>[/<group>]/initialize`), written by the
    /// member that won the race for initialization (patroni/ha.py `bootstrap()`).
    pub initialize_key: String,
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
        self.etcd.iter().chain(&self.members).chain(std::iter::once(&self.haproxy)).chain(&self.pooler)
    }

    /// The bootstrapping members' specs.
    pub fn bootstrap_specs(&self) -> impl Iterator<Item = &ContainerSpec> {
        self.members.iter().filter(|m| self.bootstrap.iter().any(|b| b.member == m.name))
    }

    /// Every other member, then HAProxy and the pooler: what starts once each cluster's bootstrap
    /// is claimed.
    pub fn after_bootstrap_specs(&self) -> impl Iterator<Item = &ContainerSpec> {
        let others = self.members.iter().filter(|m| self.bootstrap.iter().all(|b| b.member != m.name));
        others.chain(std::iter::once(&self.haproxy)).chain(&self.pooler)
    }
}

/// Each Patroni cluster's first member that Patroni lets bootstrap (a `nofailover` member never
/// does), with its initialize key. A cluster whose members all refuse has no entry: its start
/// then waits for nothing and fails the health wait as it would without pgdrill.
fn bootstrappers(topology: &Topology, scope: &str) -> Vec<Bootstrapper> {
    let clusters: Vec<(Option<u32>, Vec<String>)> = match citus_groups(topology) {
        Some(groups) => groups.into_iter().map(|(g, members)| (Some(g), members)).collect(),
        None => vec![(None, member_names(topology))],
    };
    clusters
        .into_iter()
        .filter_map(|(group, members)| {
            let member = members.into_iter().find(|m| !topology.tags.get(m).is_some_and(|t| t.never_promoted()))?;
            let initialize_key = match group {
                Some(g) => format!("/service/{scope}/{g}/initialize"),
                None => format!("/service/{scope}/initialize"),
            };
            Some(Bootstrapper { member, initialize_key })
        })
        .collect()
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
    let database = if citus { CITUS_DATABASE } else { "postgres" };
    let pooler = topology.pooler.as_ref().map(|pooler| ContainerSpec {
        name: POOLER_NAME.into(),
        image: images.pgbouncer.clone(),
        env: std::iter::once(("PGBOUNCER_CONFIG".to_string(), pgbouncer_ini(pooler, database)))
            .chain(pgbouncer_secret_env(&secrets))
            .collect(),
        ports: vec![PGBOUNCER_PORT],
        component: "pgbouncer".into(),
        ..Default::default()
    });
    let bootstrap = bootstrappers(topology, &scope);
    Plan { scope, etcd, members, haproxy, pooler, groups: citus_groups(topology), secrets, bootstrap }
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
            pooler: None,
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
    fn each_cluster_is_bootstrapped_by_its_first_member_that_patroni_lets_lead() {
        let plain = topology(TopologyKind::Patroni, None);
        let keys = |t: &Topology| -> Vec<(String, String)> {
            bootstrappers(t, "s").into_iter().map(|b| (b.member, b.initialize_key)).collect()
        };
        assert_eq!(keys(&plain), [("pg-1".to_string(), "/service/s/initialize".to_string())]);
        // Patroni never bootstraps a nofailover member (or failover_priority 0).
        let mut tagged = plain.clone();
        tagged.tags.insert("pg-1".into(), crate::scenario::MemberTags { nofailover: Some(true), ..Default::default() });
        tagged
            .tags
            .insert("pg-2".into(), crate::scenario::MemberTags { failover_priority: Some(0), ..Default::default() });
        assert_eq!(keys(&tagged), [("pg-3".to_string(), "/service/s/initialize".to_string())]);
        let citus = topology(TopologyKind::Citus, Some(CitusGroups { coordinator: 2, workers: vec![2] }));
        assert_eq!(
            keys(&citus),
            [
                ("coord-1".to_string(), "/service/s/0/initialize".to_string()),
                ("worker1-1".to_string(), "/service/s/1/initialize".to_string())
            ]
        );
    }

    #[test]
    fn citus_plan_runs_the_citus_image_and_fronts_the_coordinator() {
        let t = topology(TopologyKind::Citus, None);
        let images = PlanImages {
            etcd: "e".into(),
            patroni: "p".into(),
            haproxy: "h".into(),
            pgbouncer: "b".into(),
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
        assert!(plan.pooler.is_none());
    }

    #[test]
    fn a_pooler_is_started_last_with_its_password_in_the_environment_only() {
        let mut t = topology(TopologyKind::Patroni, None);
        t.pooler = Some(crate::scenario::Pooler::with_defaults(crate::scenario::PoolMode::Transaction));
        let images = PlanImages {
            etcd: "e".into(),
            patroni: "p".into(),
            haproxy: "h".into(),
            pgbouncer: "b".into(),
            citus: "c".into(),
            postgres: PgMajor::Pg15,
        };
        let secrets = Secrets::generate().unwrap();
        let plan = plan(&t, &images, "run", secrets.clone());
        let last = plan.all().last().unwrap();
        assert_eq!((last.name.as_str(), last.image.as_str(), last.ports.as_slice()), ("pgbouncer", "b", &[6432][..]));
        let get = |var: &str| last.env.iter().find(|(k, _)| k == var).map(|(_, v)| v.clone()).unwrap();
        assert!(get("PGBOUNCER_CONFIG").contains("postgres = host=haproxy port=5000 dbname=postgres"));
        assert!(!get("PGBOUNCER_CONFIG").contains(secrets.superuser.expose()));
        assert_eq!(get("PGBOUNCER_PASSWORD"), secrets.superuser.expose());
        assert!(!format!("{plan:?}").contains(secrets.superuser.expose()), "Debug shows no password");
    }
}
