//! The cluster a run drills: a topology pgdrill started (its containers and their loopback ports)
//! or one it attached to (the cluster file's endpoints and command executor), with the endpoints
//! observers, the workload and the audit use, the executor faults act through, and health waits.
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use super::attach::Attached;
use super::EngineError;
use crate::observe::LiveView;
use crate::runtime::{RunningContainer, Runtime, RuntimeError};
use crate::scenario::Via;
use crate::timeline::{describe_dist_nodes, primaries_by_group, EventKind, MemberView, Millis, TimelineWriter};
use crate::topology::{Plan, HAPROXY_PRIMARY_PORT, PATRONI_PORT, PGBOUNCER_PORT};
use crate::wait::{try_poll_until, Probe};
use crate::workload::{AuditMember, AuditPlan, PgEndpoint, WorkloadTable};

/// The cluster of a run.
#[derive(Debug, Clone)]
pub struct Cluster {
    /// The scenario's topology as planned (attached: the names and groups the cluster file was
    /// checked against; its passwords are the cluster file's).
    pub plan: Plan,
    /// Where the cluster is.
    pub site: Site,
}

/// Started or attached.
#[derive(Debug, Clone)]
pub enum Site {
    /// Containers pgdrill started (and removes).
    Started {
        /// Docker side of the run.
        runtime: Runtime,
        /// Started containers by short name.
        containers: BTreeMap<String, RunningContainer>,
        /// The run's link proxies (in this process; they close with the cluster).
        proxies: crate::fault::LinkProxies,
    },
    /// A cluster pgdrill did not start, described by a cluster file.
    Attached(Arc<Attached>),
}

/// One Patroni cluster's members all answer: one running primary, the rest streaming replicas (one
/// of them the sync standby when required).
fn cluster_healthy(
    snapshot: &BTreeMap<String, (MemberView, Millis)>,
    members: &[String],
    require_sync_standby: bool,
) -> bool {
    let views: Vec<&MemberView> = members.iter().filter_map(|m| snapshot.get(m).map(|(v, _)| v)).collect();
    let primaries = views.iter().filter(|v| v.is_running_primary()).count();
    // Streaming, not merely running: a drill that kills the primary before a replica streams
    // loses every write that replica never received (seen in CI: the table itself was missing).
    let replicas = views.iter().filter(|v| v.is_streaming_replica()).count();
    let sync_ok = !require_sync_standby || views.iter().any(|v| v.is_streaming_replica() && v.sync_standby);
    views.len() == members.len() && primaries == 1 && primaries + replicas == members.len() && sync_ok
}

impl Cluster {
    /// Creates the network and starts every container, each cluster's bootstrapping member
    /// before the others (`start_order`).
    pub async fn start(runtime: Runtime, plan: Plan) -> Result<Self, RuntimeError> {
        runtime.create_network().await?;
        let containers = super::start_order::start_in_order(&runtime, &plan).await?;
        Ok(Self { plan, site: Site::Started { runtime, containers, proxies: Default::default() } })
    }

    /// The attached cluster, if this is one.
    pub fn attached(&self) -> Option<&Attached> {
        match &self.site {
            Site::Attached(a) => Some(a),
            Site::Started { .. } => None,
        }
    }

    /// The runtime and containers of a started cluster.
    pub fn started(&self) -> Option<(&Runtime, &BTreeMap<String, RunningContainer>)> {
        match &self.site {
            Site::Started { runtime, containers, .. } => Some((runtime, containers)),
            Site::Attached(_) => None,
        }
    }

    /// Every name a scenario target may resolve to: the containers, or the attached members.
    pub fn names(&self) -> Vec<String> {
        match &self.site {
            Site::Started { containers, .. } => containers.keys().cloned().collect(),
            Site::Attached(a) => a.members.keys().cloned().collect(),
        }
    }

    /// (etcd member name, client URL) for the etcd-leader target.
    pub fn etcd_urls(&self) -> Vec<(String, String)> {
        let names = self.plan.etcd.iter().map(|s| s.name.clone());
        match &self.site {
            Site::Started { containers, .. } => names
                .filter_map(|n| {
                    let port = containers.get(&n)?.host_port(crate::topology::ETCD_CLIENT_PORT)?;
                    Some((n, format!("http://127.0.0.1:{port}")))
                })
                .collect(),
            Site::Attached(a) => names.zip(a.etcd.iter().cloned()).collect(),
        }
    }

    /// A member's Patroni REST API base URL.
    fn rest_url(&self, member: &str) -> Option<String> {
        match &self.site {
            Site::Started { containers, .. } => {
                containers.get(member)?.host_port(PATRONI_PORT).map(|p| format!("http://127.0.0.1:{p}"))
            }
            Site::Attached(a) => a.members.get(member).map(|m| m.rest_url.clone()),
        }
    }

    /// A member's own PostgreSQL as a superuser endpoint in the workload's database.
    fn member_pg(&self, member: &str) -> Option<PgEndpoint> {
        match &self.site {
            Site::Started { containers, .. } => {
                containers.get(member)?.host_port(crate::topology::POSTGRES_PORT).map(|p| self.endpoint(p))
            }
            Site::Attached(a) => a.members.get(member).map(|m| m.pg.clone()),
        }
    }

    /// (member, REST API base URL) for the Patroni observer.
    pub fn patroni_endpoints(&self) -> Vec<(String, String)> {
        self.plan.member_names().into_iter().filter_map(|m| self.rest_url(&m).map(|u| (m, u))).collect()
    }

    /// The coordinator group's members with their PostgreSQL endpoints on loopback (Citus; empty
    /// otherwise), for the pg_dist_node observer.
    pub fn coordinator_endpoints(&self) -> Vec<(String, PgEndpoint)> {
        let Some(groups) = &self.plan.groups else { return Vec::new() };
        let coordinators = groups.iter().filter(|(g, _)| *g == 0).flat_map(|(_, members)| members);
        coordinators.filter_map(|m| Some((m.clone(), self.member_pg(m)?))).collect()
    }

    /// Citus: the worker groups' members with their PostgreSQL endpoint on loopback, for the
    /// prepared-transactions observer.
    pub fn worker_endpoints(&self) -> Vec<(String, PgEndpoint)> {
        let Some(groups) = &self.plan.groups else { return Vec::new() };
        let workers = groups.iter().filter(|(g, _)| *g > 0).flat_map(|(_, members)| members);
        workers.filter_map(|m| Some((m.clone(), self.member_pg(m)?))).collect()
    }

    /// Every Patroni member with its own PostgreSQL endpoint on loopback, for the split-brain
    /// probe.
    pub fn member_pg_endpoints(&self) -> Vec<(String, PgEndpoint)> {
        self.plan.member_names().into_iter().filter_map(|m| Some((m.clone(), self.member_pg(&m)?))).collect()
    }

    /// What the end-of-run write audit reads: the members of the Patroni cluster holding the
    /// workload table (Citus: the coordinator group, whose replicas hold no rows and are not
    /// compared), each on its own PostgreSQL and REST ports, with the audit's bound.
    pub fn audit_plan(&self, within: Duration, left_down: &[String]) -> AuditPlan {
        let members = match &self.plan.groups {
            Some(groups) => groups.iter().filter(|(g, _)| *g == 0).flat_map(|(_, m)| m.clone()).collect(),
            None => self.plan.member_names(),
        };
        let members = members
            .into_iter()
            .filter_map(|name| {
                let pg = self.member_pg(&name)?;
                let rest_url = self.rest_url(&name)?;
                Some(AuditMember { name, pg, rest_url })
            })
            .collect();
        AuditPlan {
            members,
            compare_replicas: self.plan.groups.is_none(),
            within,
            table: self.workload_table(),
            left_down: left_down.to_vec(),
            patroni_names: match &self.site {
                Site::Started { .. } => Default::default(),
                Site::Attached(a) => a.patroni_names.clone(),
            },
        }
    }

    /// The workload's table: the default one on a started cluster, in the cluster file's schema
    /// on an attached one.
    pub fn workload_table(&self) -> WorkloadTable {
        match &self.site {
            Site::Started { .. } => WorkloadTable::default(),
            Site::Attached(a) => a.workload_table.clone(),
        }
    }

    /// A superuser endpoint on a loopback port, in the workload's database.
    fn endpoint(&self, port: u16) -> PgEndpoint {
        PgEndpoint {
            host: "127.0.0.1".into(),
            port,
            user: "postgres".into(),
            password: self.plan.secrets.superuser.expose().into(),
            dbname: self.plan.database().into(),
        }
    }

    /// The path clients take to the primary: HAProxy's primary port, or the cluster file's
    /// client DSN.
    pub fn primary_endpoint(&self) -> PgEndpoint {
        match &self.site {
            Site::Started { containers, .. } => {
                let port =
                    containers.get("haproxy").and_then(|c| c.host_port(HAPROXY_PRIMARY_PORT)).unwrap_or_default();
                self.endpoint(port)
            }
            Site::Attached(a) => a.client.clone(),
        }
    }

    /// PgBouncer's port (`topology.pooler`) as a PostgreSQL endpoint in the workload's database;
    /// `None` without a pooler, and on an attached cluster (its client DSN is the clients' path,
    /// whatever pooler it goes through).
    pub fn pooler_endpoint(&self) -> Option<PgEndpoint> {
        let spec = self.plan.pooler.as_ref()?;
        let (_, containers) = self.started()?;
        let port = containers.get(&spec.name)?.host_port(PGBOUNCER_PORT)?;
        Some(self.endpoint(port))
    }

    /// PgBouncer's admin console (database `pgbouncer`, as the superuser, an admin user), for
    /// the pooler observer's `SHOW POOLS` and `SHOW STATS`.
    pub fn pooler_console(&self) -> Option<PgEndpoint> {
        self.pooler_endpoint().map(|endpoint| PgEndpoint { dbname: "pgbouncer".into(), ..endpoint })
    }

    /// The path the run's writers take, which a client link fault can route through a proxy;
    /// an attached cluster's is the run's own (no client link fault runs there yet).
    pub fn client_path(&self) -> crate::workload::ClientPath {
        match &self.site {
            Site::Started { proxies, .. } => proxies.client_path().clone(),
            Site::Attached(_) => crate::workload::ClientPath::default(),
        }
    }

    /// Where the scenario's clients connect: the pooler when the workload goes through it, else
    /// HAProxy's primary port.
    pub fn client_endpoint(&self, via: Via) -> PgEndpoint {
        match via {
            Via::Pooler => self.pooler_endpoint().unwrap_or_else(|| self.primary_endpoint()),
            Via::Haproxy => self.primary_endpoint(),
        }
    }

    /// Fails with the container's log tail if any container of the run is not running.
    /// `expected_down` lists containers a fault stopped on purpose. An attached cluster's
    /// members are watched through Patroni (and the stop conditions) instead.
    pub async fn ensure_running(&self, phase: &str, expected_down: &[String]) -> Result<(), RuntimeError> {
        let Some((runtime, containers)) = self.started() else { return Ok(()) };
        for name in containers.keys() {
            if expected_down.contains(name) {
                continue;
            }
            let (status, running, exit_code) = runtime.state(name).await?;
            if !running && status != "paused" {
                return Err(RuntimeError::ContainerExited {
                    container: runtime.docker_name(name),
                    phase: phase.to_string(),
                    exit_code,
                    log_tail: runtime.log_tail(name, 30).await,
                });
            }
        }
        Ok(())
    }

    /// Waits until every member answers, each cluster (each Citus group) has exactly one running
    /// primary and its other members are streaming replicas — in synchronous mode one
    /// of them the designated sync standby (until Patroni names one, no replica may promote and a
    /// failover is blocked) — and, for Citus, pg_dist_node on the coordinator names every group's
    /// primary. Bounded by `within`; checks for exited containers as it goes.
    pub async fn wait_healthy(
        &self,
        live: &LiveView,
        timeline: &TimelineWriter,
        within: Duration,
        expected_down: &[String],
        require_sync_standby: bool,
    ) -> Result<(), EngineError> {
        let clusters = self.patroni_clusters();
        let citus = self.plan.groups.is_some();
        let mut what = if require_sync_standby {
            "a healthy cluster (one running primary, every other member a streaming replica, one of them the sync standby)".to_string()
        } else {
            "a healthy cluster (one running primary, every other member a streaming replica)".to_string()
        };
        if citus {
            what = format!("{what} in every Citus group, and pg_dist_node naming each group's primary");
        }
        let clusters = &clusters;
        let mut last_container_check = tokio::time::Instant::now();
        try_poll_until(&what, within, Duration::from_millis(100), move || {
            let check_containers = last_container_check.elapsed() >= Duration::from_secs(1);
            if check_containers {
                last_container_check = tokio::time::Instant::now();
            }
            async move {
                let snapshot = live.snapshot();
                let groups_ok =
                    clusters.iter().all(|members| cluster_healthy(&snapshot, members, require_sync_standby));
                let dist_disagreement = if citus { self.dist_nodes_disagreement(&snapshot, timeline) } else { None };
                if groups_ok && dist_disagreement.is_none() {
                    return Ok(Probe::Done(()));
                }
                if check_containers {
                    self.ensure_running("the wait for a healthy cluster", expected_down).await?;
                }
                Ok::<_, EngineError>(match dist_disagreement {
                    Some(dist) => Probe::NotYet(format!("{}; {dist}", live.describe())),
                    None => Probe::NotYet(live.describe()),
                })
            }
        })
        .await
    }

    /// The member sets that are each one Patroni cluster: every Citus group, or all members.
    pub(super) fn patroni_clusters(&self) -> Vec<Vec<String>> {
        match &self.plan.groups {
            Some(groups) => groups.iter().map(|(_, members)| members.clone()).collect(),
            None => vec![self.plan.member_names()],
        }
    }

    /// What the latest pg_dist_node read names instead of every group's running primary, or
    /// `None` when it names them all.
    fn dist_nodes_disagreement(
        &self,
        snapshot: &BTreeMap<String, (MemberView, Millis)>,
        timeline: &TimelineWriter,
    ) -> Option<String> {
        let Some((_, (source, rows))) = timeline.latest(|kind| match kind {
            EventKind::DistNodes { source, rows } => Some((source.clone(), rows.clone())),
            _ => None,
        }) else {
            return Some("pg_dist_node not read yet".into());
        };
        let named = primaries_by_group(&rows);
        let agrees = self.plan.groups.iter().flatten().all(|(group, members)| {
            let primary = members.iter().find(|m| snapshot.get(*m).is_some_and(|(v, _)| v.is_running_primary()));
            primary.is_some() && named.get(group) == primary
        });
        (!agrees).then(|| format!("pg_dist_node on {source}: {}", describe_dist_nodes(&rows)))
    }

    /// The executor faults act through: the run's containers, and Patroni's REST API with the
    /// run's REST password; or the attached cluster's command executor.
    pub fn executor(&self) -> Arc<dyn crate::fault::Executor> {
        match &self.site {
            Site::Started { runtime, containers, proxies } => {
                let rest =
                    crate::fault::RestAuth::new(crate::topology::REST_API_USER, self.plan.secrets.rest_api.clone());
                let superuser = self.endpoint(0);
                Arc::new(crate::fault::DockerExecutor::new(
                    runtime.clone(),
                    containers.clone(),
                    rest,
                    superuser,
                    proxies.clone(),
                ))
            }
            Site::Attached(a) => a.executor.clone(),
        }
    }

    /// Records, for every container, whether a fault left it paused, off the network or with
    /// pgdrill iptables rules (the `faults_undone` check reads these events). Attached: every
    /// member the executor can read the state of (and look into, with an `exec` template).
    pub async fn audit_containers(&self, timeline: &crate::timeline::TimelineWriter) {
        let executor = self.executor();
        let with_iptables: Vec<String> = match &self.site {
            Site::Started { .. } => self.plan.all().filter(|s| s.net_admin).map(|s| s.name.clone()).collect(),
            Site::Attached(a) if executor.supports(crate::fault::Operation::Exec) => a.allowed_members(),
            Site::Attached(_) => Vec::new(),
        };
        if executor.supports(crate::fault::Operation::State) {
            crate::fault::audit_leftovers(executor.as_ref(), &with_iptables, timeline).await;
        }
    }

    /// Writes the last lines of every container's log to `dir/logs/<name>.log` (for the reader
    /// of a failed drill: the containers are gone after teardown).
    pub async fn save_logs(&self, dir: &std::path::Path, lines: usize) -> std::io::Result<()> {
        let Some((runtime, containers)) = self.started() else { return Ok(()) };
        let logs = dir.join("logs");
        std::fs::create_dir_all(&logs)?;
        for name in containers.keys() {
            let text = runtime.raw_log_tail(name, lines).await;
            std::fs::write(logs.join(format!("{name}.log")), text)?;
        }
        Ok(())
    }
}
