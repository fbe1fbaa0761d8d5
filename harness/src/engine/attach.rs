//! Attaching a run to a cluster pgdrill did not start: the cluster file becomes the run's
//! endpoints (members' REST URLs and PostgreSQL, the client DSN, etcd) and its command executor,
//! after the scenario's topology (member names, Citus groups) and faults (every operation each
//! needs has a template) are checked against it. Nothing here acts on the cluster.
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::EngineError;
use crate::cluster::{ClusterFile, Safety};
use crate::fault::RestAuth;
use crate::fault::{fault_by_name, ActionLog, CommandConfig, CommandExecutor, CommandMember, Executor, Operation};
use crate::scenario::LoadedScenario;
use crate::topology::{member_group, member_names, plan, PgMajor, Plan, PlanImages, Secret, Secrets};
use crate::workload::{PgEndpoint, WorkloadTable};

/// Bound on one templated command unless the cluster file says otherwise.
const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// How a run attaches.
#[derive(Debug, Clone)]
pub struct AttachOptions {
    /// The cluster file.
    pub file: PathBuf,
    /// Print every action and change nothing.
    pub dry_run: bool,
    /// Fires on a second Ctrl-C / SIGTERM: the heal stops where it is, says what is still in
    /// effect, and the run ends.
    pub abort: tokio_util::sync::CancellationToken,
}

/// One member of an attached cluster, as the observers, the workload and the audit reach it.
#[derive(Debug, Clone)]
pub struct AttachedMember {
    /// Patroni's REST API.
    pub rest_url: String,
    /// Its own PostgreSQL, as the cluster file's superuser.
    pub pg: PgEndpoint,
}

/// A cluster pgdrill attached to.
#[derive(Debug)]
pub struct Attached {
    /// The cluster file's environment name.
    pub environment: String,
    /// The cluster file.
    pub path: PathBuf,
    /// Members by name.
    pub members: BTreeMap<String, AttachedMember>,
    /// The path clients take (the workload writes through it).
    pub client: PgEndpoint,
    /// etcd client URLs, in the file's order.
    pub etcd: Vec<String>,
    /// What faults act through.
    pub executor: Arc<CommandExecutor>,
    /// Stop conditions and fault deadlines.
    pub safety: Safety,
    /// The members faults may act on.
    pub allow: Vec<String>,
    /// The workload's table, in the cluster file's schema.
    pub workload_table: WorkloadTable,
    /// Where `safety.stop_on_alerts` reads alerts: Prometheus's URL, else Alertmanager's.
    pub alerts_from: Option<AlertsFrom>,
    /// Patroni's name of every member → the name the run drills it as (the same but for
    /// members the file gives an `as`): what `GET /cluster` says is read through it.
    pub patroni_names: BTreeMap<String, String>,
}

/// Where an attached run reads the alerts it stops on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlertsFrom {
    /// Prometheus (`GET /api/v1/alerts`, state `firing`).
    Prometheus(String),
    /// Alertmanager (`GET /api/v2/alerts`, state `active`).
    Alertmanager(String),
}

impl Attached {
    /// The members faults may act on.
    pub fn allowed_members(&self) -> Vec<String> {
        self.allow.clone()
    }
}

/// Why the cluster file does not fit the scenario's topology, or `None`.
pub fn topology_mismatch(file: &ClusterFile, loaded: &LoadedScenario) -> Option<String> {
    let topology = &loaded.scenario.topology;
    let wanted = member_names(topology);
    let have: Vec<String> = file.members.iter().map(|m| m.value.drilled_name().to_string()).collect();
    let (w, h): (BTreeSet<&String>, BTreeSet<&String>) = (wanted.iter().collect(), have.iter().collect());
    if w != h {
        return Some(format!(
            "the scenario's topology has {} members ({}), the cluster file {} ({}): attach needs the members named \
             as the scenario names them",
            wanted.len(),
            wanted.join(", "),
            have.len(),
            have.join(", ")
        ));
    }
    let citus = topology.kind == crate::scenario::TopologyKind::Citus;
    for member in &file.members {
        let m = &member.value;
        let wanted_group = if citus { member_group(m.drilled_name()) } else { None };
        let have_group = m.group.as_ref().map(|g| g.value);
        if wanted_group != have_group {
            let say = |g: Option<u32>| g.map_or("no group".to_string(), |g| format!("group {g}"));
            return Some(format!(
                "member {} is in {} in the scenario's topology, in {} in the cluster file",
                m.drilled_name(),
                say(wanted_group),
                say(have_group)
            ));
        }
    }
    None
}

/// Each step whose fault (or `exec`) needs an operation `executor` cannot perform, as
/// `file:line:col: …` naming the missing template.
pub fn missing_operations(loaded: &LoadedScenario, executor: &dyn Executor, cluster_file: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for (index, step) in loaded.scenario.steps.iter().enumerate() {
        let mut needs: Vec<(String, Operation)> = Vec::new();
        if let Some(name) = step.value.fault.as_ref().filter(|f| !f.is_heal()) {
            if let Some(fault) = fault_by_name(name.as_str()) {
                needs.extend(fault.needs().iter().map(|op| (format!("fault `{}`", fault.name()), *op)));
            }
        }
        if step.value.exec.is_some() {
            needs.push(("an exec step".to_string(), Operation::Exec));
        }
        for (what, op) in needs.into_iter().filter(|(_, op)| !executor.supports(*op)) {
            if op == Operation::LinkProxy {
                out.push(format!(
                    "{}:{}:{}: step {}: {what} routes a link through pgdrill's own proxy, which only runs on clusters pgdrill started",
                    loaded.path.display(),
                    step.referenced.line(),
                    step.referenced.column(),
                    index + 1
                ));
                continue;
            }
            let key = op.template().unwrap_or("rest");
            out.push(format!(
                "{}:{}:{}: step {}: {what} needs the command executor's `{key}` template, which {} does not have",
                loaded.path.display(),
                step.referenced.line(),
                step.referenced.column(),
                index + 1,
                cluster_file.display()
            ));
        }
    }
    out.dedup();
    out
}

/// The client DSN as an endpoint (password from the superuser's credential).
fn client_endpoint(dsn: &str, user: &str, password: &str) -> Result<PgEndpoint, String> {
    let config: tokio_postgres::Config = dsn.parse().map_err(|e| format!("client_dsn does not parse: {e}"))?;
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        _ => return Err("client_dsn names no TCP host".into()),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    Ok(PgEndpoint {
        host,
        port,
        user: config.get_user().unwrap_or(user).to_string(),
        password: password.to_string(),
        dbname: config.get_dbname().unwrap_or("postgres").to_string(),
    })
}

/// Builds the run's view of the attached cluster and the plan its checks use. Errors say what
/// does not fit; nothing is contacted.
pub fn attach(
    loaded: &LoadedScenario,
    path: &Path,
    file: &ClusterFile,
    log: ActionLog,
    run_id: &str,
) -> Result<(Attached, Plan), EngineError> {
    let fail = |why: String| EngineError::Attach(format!("{}: {why}", path.display()));
    if loaded.scenario.topology.monitoring.is_some() {
        return Err(fail("scenarios with `monitoring:` cannot run on an attached cluster yet".into()));
    }
    if let Some(why) = topology_mismatch(file, loaded) {
        return Err(fail(why));
    }
    let Some(section) = &file.executor else {
        return Err(fail("an attached run needs an `executor:` section (at least its `allow:` list)".into()));
    };
    // `cluster.yaml` alone has the empty path as parent: commands run in the current folder.
    let base =
        path.parent().filter(|p| !p.as_os_str().is_empty()).map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let superuser = file.superuser.value.password(&base).map_err(|e| fail(format!("superuser: {e}")))?;
    let rest_password = file.rest_api.value.password(&base).map_err(|e| fail(format!("rest_api: {e}")))?;
    let client = client_endpoint(&file.client_dsn.value, &file.superuser.value.user.value, &superuser).map_err(fail)?;
    let mut members = BTreeMap::new();
    let mut command_members = BTreeMap::new();
    let mut patroni_names = BTreeMap::new();
    for member in &file.members {
        let m = &member.value;
        let (host, port) = m.postgres.value.rsplit_once(':').expect("validated as host:port");
        let pg = PgEndpoint {
            host: host.trim_start_matches('[').trim_end_matches(']').to_string(),
            port: port.parse().expect("validated as a port"),
            user: file.superuser.value.user.value.clone(),
            password: superuser.clone(),
            dbname: client.dbname.clone(),
        };
        let rest_url = m.patroni.value.trim_end_matches('/').to_string();
        let drilled = m.drilled_name().to_string();
        let name = m.name.value.clone();
        patroni_names.insert(name.clone(), drilled.clone());
        command_members.insert(
            drilled.clone(),
            CommandMember { name, host: m.host().to_string(), rest_url: rest_url.clone(), pg: pg.clone() },
        );
        members.insert(drilled, AttachedMember { rest_url, pg });
    }
    let executor = &section.value;
    // The allow-list names members as the file does; the run, as the scenario does.
    let allow: Vec<String> = executor
        .allow
        .iter()
        .map(|a| patroni_names.get(&a.value).cloned().unwrap_or_else(|| a.value.clone()))
        .collect();
    let templates = executor
        .templates
        .all()
        .into_iter()
        .filter_map(|(key, t)| t.map(|t| (key.to_string(), t.value.clone())))
        .collect();
    let config = CommandConfig {
        members: command_members,
        allow: allow.iter().cloned().collect(),
        templates,
        prelude: executor.prelude.as_ref().map(|p| p.value.clone()),
        workdir: base,
        timeout: executor.timeout.as_ref().map_or(DEFAULT_COMMAND_TIMEOUT, |t| t.value.0),
        environment: file.environment.value.clone(),
    };
    let rest = RestAuth::new(&file.rest_api.value.user.value, Secret::from_source(rest_password.clone()));
    let command = CommandExecutor::new(config, rest, log);
    let missing = missing_operations(loaded, &command, path);
    if !missing.is_empty() {
        return Err(EngineError::Attach(missing.join("\n")));
    }
    let secrets = Secrets {
        superuser: Secret::from_source(superuser),
        // Never used by an attached run: pgdrill starts no member.
        replication: Secret::from_source(String::new()),
        rest_api: Secret::from_source(rest_password),
    };
    let images = PlanImages {
        etcd: String::new(),
        patroni: String::new(),
        haproxy: String::new(),
        pgbouncer: String::new(),
        citus: String::new(),
        postgres: PgMajor::Pg15,
    };
    let plan = plan(&loaded.scenario.topology, &images, run_id, secrets);
    let attached = Attached {
        environment: file.environment.value.clone(),
        path: path.to_path_buf(),
        members,
        client,
        etcd: file.etcd.iter().map(|e| e.value.trim_end_matches('/').to_string()).collect(),
        executor: Arc::new(command),
        safety: file.safety(),
        allow,
        workload_table: WorkloadTable::in_schema(file.workload_schema()).map_err(fail)?,
        alerts_from: match (&file.prometheus, &file.alertmanager) {
            (Some(p), _) => Some(AlertsFrom::Prometheus(p.value.trim_end_matches('/').to_string())),
            (None, Some(a)) => Some(AlertsFrom::Alertmanager(a.value.trim_end_matches('/').to_string())),
            (None, None) => None,
        },
        patroni_names,
    };
    Ok((attached, plan))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::{attach, client_endpoint};
    use crate::cluster::parse_cluster_file;
    use crate::fault::{ActionLog, Executor};
    use crate::scenario::parse_scenario;

    const SCENARIO: &str = "name: t
description: kill then switch over
topology: {kind: patroni, members: 3, etcd: 1}
steps:
  - wait: healthy
    within: 90s
  - fault: kill
    target: primary
  - fault: switchover
";

    fn cluster(members: &[&str], templates: &str) -> String {
        let members: String = members
            .iter()
            .enumerate()
            .map(|(i, m)| {
                format!(
                    "  - {{name: {m}, patroni: 'http://127.0.0.1:{}', postgres: '127.0.0.1:{}'}}\n",
                    8008 + i,
                    5432 + i
                )
            })
            .collect();
        format!(
            "environment: t\nmembers:\n{members}client_dsn: 'postgresql://postgres@127.0.0.1:5000/postgres'\n\
             etcd: ['http://127.0.0.1:2379']\nsuperuser: {{user: postgres, password_env: PATH}}\n\
             rest_api: {{user: pgdrill, password_env: PATH}}\n\
             executor:\n  kind: command\n  allow: [pg-1, pg-2]\n  templates:\n{templates}"
        )
    }

    /// Attaches `SCENARIO` to `cluster_text`, logging into a fresh folder of the caller's (which
    /// the caller removes).
    fn try_attach(cluster_text: &str, dir: &Path) -> Result<super::Attached, String> {
        let loaded = parse_scenario("s.yaml", SCENARIO).expect("scenario");
        let file = parse_cluster_file(Path::new("c.yaml"), cluster_text).map_err(|e| e.to_string())?;
        let log = ActionLog::create(&dir.join("audit-log.jsonl")).expect("log");
        attach(&loaded, Path::new("c.yaml"), &file, log, "t").map(|(a, _)| a).map_err(|e| e.to_string())
    }

    fn scratch(name: &str) -> std::path::PathBuf {
        std::env::temp_dir().join(format!("pgdrill-attach-unit-{name}-{}", std::process::id()))
    }

    #[test]
    fn a_fault_without_its_template_is_refused_naming_the_template_and_the_step() {
        let dir = scratch("missing");
        let error =
            try_attach(&cluster(&["pg-1", "pg-2", "pg-3"], "    state: 'echo running'\n    start: 'true'\n"), &dir)
                .expect_err("no kill template");
        assert!(
            error.contains("s.yaml:7:5: step 2: fault `kill` needs the command executor's `kill` template, which c.yaml does not have"),
            "{error}"
        );
        // The switchover needs no template: Patroni's REST API.
        assert!(!error.contains("switchover"), "{error}");
        let templates = "    kill: 'true'\n    state: 'echo running'\n    start: 'true'\n";
        assert!(try_attach(&cluster(&["pg-1", "pg-2", "pg-3"], templates), &dir).is_ok());
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn the_topology_must_name_the_same_members() {
        let templates = "    kill: 'true'\n    state: 'echo running'\n    start: 'true'\n";
        let dir = scratch("topology");
        let error = try_attach(&cluster(&["pg-1", "pg-2"], templates), &dir).expect_err("two members");
        let _ = std::fs::remove_dir_all(dir);
        assert!(
            error.contains("the scenario's topology has 3 members (pg-1, pg-2, pg-3), the cluster file 2 (pg-1, pg-2)"),
            "{error}"
        );
    }

    #[test]
    fn members_patroni_calls_otherwise_are_drilled_as_the_scenario_names_them() {
        let templates = "    kill: 'true'\n    state: 'echo running'\n    start: 'true'\n";
        let text = cluster(&["postgres-0", "postgres-1", "postgres-2"], templates)
            .replace("{name: postgres-0,", "{name: postgres-0, as: pg-1,")
            .replace("{name: postgres-1,", "{name: postgres-1, as: pg-2,")
            .replace("{name: postgres-2,", "{name: postgres-2, as: pg-3,")
            .replace("allow: [pg-1, pg-2]", "allow: [postgres-0, postgres-1]");
        let dir = scratch("aliases");
        let attached = try_attach(&text, &dir).expect("members drilled as pg-1..pg-3");
        let _ = std::fs::remove_dir_all(dir);
        assert_eq!(attached.members.keys().collect::<Vec<_>>(), ["pg-1", "pg-2", "pg-3"]);
        assert_eq!(attached.allow, ["pg-1", "pg-2"], "the allow-list in the run's names");
        assert_eq!(attached.patroni_names.get("postgres-2").map(String::as_str), Some("pg-3"));
        // Commands get the member's own name.
        let with_member = text.replace("kill: 'true'", "kill: 'docker kill {member}'");
        let dir = scratch("aliases-member");
        let attached = try_attach(&with_member, &dir).expect("attach");
        let _ = std::fs::remove_dir_all(dir);
        let kill = attached.executor.preview(crate::fault::Operation::Signal, "pg-2", &[]).expect("a kill command");
        assert_eq!(kill, "docker kill postgres-1");
    }

    #[tokio::test]
    async fn members_off_the_allow_list_are_never_acted_on_and_every_action_is_logged() {
        let templates =
            "    kill: 'echo killed {member} >> killed.txt'\n    state: 'echo running 0'\n    start: 'true'\n";
        let dir = scratch("allow");
        let attached = try_attach(&cluster(&["pg-1", "pg-2", "pg-3"], templates), &dir).expect("attach");
        let executor = attached.executor.clone();
        let refused = executor.signal("pg-3", "SIGKILL").await.expect_err("pg-3 is not allowed");
        assert!(refused.to_string().contains("refused: pg-3 is not on the cluster file's allow-list"), "{refused}");
        assert!(executor.patroni("pg-3").is_none());
        let state = executor.state("pg-3").await.expect("reads may look at any member");
        assert!(state.running);
        let log = std::fs::read_to_string(executor.log().path()).unwrap_or_default();
        let lines: Vec<serde_json::Value> = log.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert!(lines.iter().any(|l| l["action"] == "kill"
            && l["target"] == "pg-3"
            && l["result"].as_str().unwrap().starts_with("refused")));
        assert!(lines.iter().any(|l| l["action"] == "state" && l["result"] == "ok: running 0"));
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn the_client_dsn_becomes_the_workload_endpoint() {
        let e = client_endpoint("postgresql://app@10.0.0.5:6432/shop", "postgres", "pw").unwrap();
        assert_eq!((e.host.as_str(), e.port, e.user.as_str(), e.dbname.as_str()), ("10.0.0.5", 6432, "app", "shop"));
        assert_eq!(e.password, "pw");
        assert!(client_endpoint("postgresql:///x?host=/tmp", "postgres", "pw").is_err());
    }
}
