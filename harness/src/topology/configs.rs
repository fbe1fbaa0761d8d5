//! Configuration text for the containers of a Patroni topology: etcd's command line, Patroni's
//! YAML and HAProxy's configuration. Pure functions of their inputs (no Docker, no I/O), so the
//! exact text a drill ran with can be reproduced and unit-tested.
//!
//! Everything refers to other containers by name (`pg-1`, `etcd-2`): they resolve through
//! Docker's DNS on the run's network, and keep resolving when a restarted container gets a new
//! address.
use crate::scenario::{ConfigValue, MemberTags, Pooler, UserPatroni};

use super::secrets::{Secrets, REST_API_USER};

/// Name of the superuser Patroni bootstraps.
pub const SUPERUSER: &str = "postgres";
/// Name of the replication user Patroni creates.
pub const REPLICATION_USER: &str = "replicator";
/// PostgreSQL data directory inside the Patroni image.
pub const DATA_DIR: &str = "/var/lib/postgresql/data";
/// The database Patroni creates the Citus extension in (`citus.database`), where the workload
/// writes.
pub const CITUS_DATABASE: &str = "citus";

const ETCD_CLIENT_PORT: u16 = 2379;
const ETCD_PEER_PORT: u16 = 2380;
const PATRONI_REST_PORT: u16 = 8008;
const POSTGRES_PORT: u16 = 5432;
const HAPROXY_PRIMARY_PORT: u16 = 5000;
const HAPROXY_REPLICA_PORT: u16 = 5001;
const HAPROXY_STATS_PORT: u16 = 7000;
/// PgBouncer's port (clients and the admin console), Debian's default.
pub const PGBOUNCER_PORT: u16 = 6432;

/// The command line of etcd member `name` in a static cluster of `peers` (all member names,
/// including `name`). `cluster_token` keeps members of different runs from ever joining each
/// other's cluster.
///
/// etcd 3.4 (Debian bookworm). On restart the data directory already exists, so
/// `--initial-cluster-state new` is ignored and the member rejoins with its old identity.
pub fn etcd_command(name: &str, peers: &[String], cluster_token: &str) -> Vec<String> {
    let initial_cluster =
        peers.iter().map(|peer| format!("{peer}=http://{peer}:{ETCD_PEER_PORT}")).collect::<Vec<_>>().join(",");
    [
        "etcd".to_string(),
        format!("--name={name}"),
        "--data-dir=/var/lib/etcd/data".to_string(),
        format!("--listen-client-urls=http://0.0.0.0:{ETCD_CLIENT_PORT}"),
        format!("--advertise-client-urls=http://{name}:{ETCD_CLIENT_PORT}"),
        format!("--listen-peer-urls=http://0.0.0.0:{ETCD_PEER_PORT}"),
        format!("--initial-advertise-peer-urls=http://{name}:{ETCD_PEER_PORT}"),
        format!("--initial-cluster={initial_cluster}"),
        "--initial-cluster-state=new".to_string(),
        format!("--initial-cluster-token={cluster_token}"),
        // Patroni talks to etcd through the v3 API only; v2 would be a second, unused DCS.
        "--enable-v2=false".to_string(),
        // 3.4 defaults to the deprecated capnslog logger and warns about it on every start.
        "--logger=zap".to_string(),
        "--log-outputs=stderr".to_string(),
    ]
    .into()
}

/// What differs between the Patroni configurations of a cluster's members.
#[derive(Debug, Clone, Copy)]
pub struct PatroniConfigInput<'a> {
    /// Cluster name (the key prefix in etcd), the same for every member.
    pub scope: &'a str,
    /// This member's name, also its host name on the run network.
    pub member: &'a str,
    /// etcd client endpoints, `host:port`.
    pub etcd_hosts: &'a [String],
    /// Leader lock TTL in seconds (Patroni rejects < 20).
    pub ttl: u32,
    /// Seconds between HA loop runs (>= 1).
    pub loop_wait: u32,
    /// Seconds before DCS and PostgreSQL operations are retried (>= 3).
    pub retry_timeout: u32,
    /// Keep one synchronous standby.
    pub synchronous_mode: bool,
    /// Never fall back to asynchronous commits when no standby is left.
    pub synchronous_mode_strict: bool,
    /// Let the primary keep running while etcd is unreachable if all members agree.
    pub failsafe_mode: bool,
    /// Citus group of this member (0 = coordinator); `None` outside Citus topologies.
    pub citus_group: Option<u32>,
    /// Where the image's PostgreSQL binaries are (`/usr/lib/postgresql/<major>/bin`): Patroni
    /// runs initdb, pg_ctl, pg_rewind and pg_basebackup from there.
    pub bin_dir: &'a str,
    /// The scenario's Patroni tags for this member (`topology.tags`), if any.
    pub tags: Option<&'a MemberTags>,
    /// The users' own Patroni configuration (empty unless the scenario has one).
    pub user: &'a UserPatroni,
}

/// pg_hba lines pgdrill needs whatever the user's say: local connections (commands run inside
/// members), replication and the harness's superuser over the network. pg_hba.conf is read
/// first match first, so these go before the user's lines.
const PGDRILL_HBA: [&str; 3] =
    ["local all all trust", "local replication all trust", "host replication {replication} 0.0.0.0/0 scram-sha-256"];

/// The `bootstrap.dcs` section: pgdrill's defaults, the user's keys over them, the drill's
/// short keys last.
fn dcs_section(p: &PatroniConfigInput, wal_level: &str) -> ConfigValue {
    let mut parameters = ConfigValue::default();
    parameters.set("wal_level", ConfigValue::str(wal_level));
    parameters.set("wal_log_hints", ConfigValue::str("on"));
    parameters.set("max_wal_senders", ConfigValue::int(10));
    parameters.set("max_replication_slots", ConfigValue::int(10));
    parameters.set("wal_keep_size", ConfigValue::str("128MB"));
    parameters.set("hot_standby", ConfigValue::str("on"));
    let mut postgresql = ConfigValue::default();
    postgresql.set("use_pg_rewind", ConfigValue::bool(true));
    postgresql.set("use_slots", ConfigValue::bool(true));
    postgresql.set("parameters", parameters);
    let mut dcs = ConfigValue::default();
    dcs.set("ttl", ConfigValue::int(p.ttl));
    dcs.set("loop_wait", ConfigValue::int(p.loop_wait));
    dcs.set("retry_timeout", ConfigValue::int(p.retry_timeout));
    dcs.set("maximum_lag_on_failover", ConfigValue::int(1_048_576));
    dcs.set("synchronous_mode", ConfigValue::bool(p.synchronous_mode));
    dcs.set("synchronous_mode_strict", ConfigValue::bool(p.synchronous_mode_strict));
    dcs.set("failsafe_mode", ConfigValue::bool(p.failsafe_mode));
    dcs.set("postgresql", postgresql);
    dcs.merge(&p.user.dcs);
    if p.citus_group.is_some() {
        // Patroni forces logical decoding in Citus mode whatever the user wrote; the file says so.
        let mut wal_level = ConfigValue::default();
        wal_level.set("wal_level", ConfigValue::str("logical"));
        let mut parameters = ConfigValue::default();
        parameters.set("parameters", wal_level);
        let mut patch = ConfigValue::default();
        patch.set("postgresql", parameters);
        dcs.merge(&patch);
    }
    dcs
}

/// The member's `tags:`: the user's tags of every member, then the member's own.
fn tags_section(p: &PatroniConfigInput) -> ConfigValue {
    let mut tags = p.user.tags.clone();
    if let Some(own) = p.tags {
        let flags = [("nofailover", own.nofailover), ("noloadbalance", own.noloadbalance), ("nosync", own.nosync)];
        for (key, value) in flags {
            if let Some(value) = value {
                tags.set(key, ConfigValue::bool(value));
            }
        }
        if let Some(priority) = own.failover_priority {
            tags.set("failover_priority", ConfigValue::int(priority));
        }
    }
    tags
}

fn pg_hba_lines(p: &PatroniConfigInput) -> Vec<String> {
    let pgdrill = PGDRILL_HBA.iter().map(|line| line.replace("{replication}", REPLICATION_USER));
    match &p.user.pg_hba {
        // The harness connects as the superuser: its line comes before the user's too.
        Some(user) => pgdrill
            .chain(std::iter::once(format!("host all {SUPERUSER} 0.0.0.0/0 scram-sha-256")))
            .chain(user.iter().cloned())
            .collect(),
        None => pgdrill.chain(std::iter::once("host all all 0.0.0.0/0 scram-sha-256".to_string())).collect(),
    }
}

/// Patroni's YAML configuration for one member. It holds no password: those are in the
/// member's environment ([`patroni_secret_env`]), so the same file can be shown, mounted by a
/// Compose project or checked in.
///
/// Every string is single-quoted: Patroni reads YAML 1.1, where a bare `on` or `off` would
/// become a boolean.
pub fn patroni_yaml(p: &PatroniConfigInput) -> String {
    let member = p.member;
    let etcd_hosts: String = p.etcd_hosts.iter().map(|host| format!("\n    - {}", q(host))).collect();
    // Citus mode: Patroni's citus handler logs every statement it runs on the coordinator
    // (BEGIN, citus_update_node, COMMIT) at DEBUG; pgdrill reads the switchover window from it.
    let (loggers, citus, wal_level) = match p.citus_group {
        Some(group) => (
            "\n  loggers:\n    patroni.postgresql.mpp.citus: DEBUG",
            format!("citus:\n  group: {group}\n  database: {}\n", q(CITUS_DATABASE)),
            // Patroni forces it in Citus mode anyway; said here so the file tells the truth.
            "logical",
        ),
        None => ("", String::new(), "replica"),
    };
    let tags = match tags_section(p) {
        tags if tags.is_empty_map() => String::new(),
        tags => format!("tags:\n{}\n", tags.yaml_lines(2).join("\n")),
    };
    let dcs = dcs_section(p, wal_level).yaml_lines(4).join("\n");
    let mut parameters = ConfigValue::default();
    parameters.set("unix_socket_directories", ConfigValue::str("/tmp"));
    parameters.merge(&p.user.parameters);
    let parameters = parameters.yaml_lines(4).join("\n");
    let pg_hba: String = pg_hba_lines(p).iter().map(|line| format!("\n    - {}", q(line))).collect();
    let user_note = if p.user.is_empty() {
        ""
    } else {
        "# bootstrap.dcs, postgresql.parameters, postgresql.pg_hba and tags include the scenario's own\n\
         # Patroni configuration (topology.patroni); pgdrill's keys win where pgdrill owns them.\n"
    };
    format!(
        "# Patroni configuration of member {member} (generated by pgdrill).
{user_note}scope: {scope}
name: {name}
{tags}log:
  level: INFO{loggers}
{citus}# Passwords (superuser, replication, REST API) come from PATRONI_*_PASSWORD in the environment,
# which Patroni and patronictl merge over this file.
restapi:
  listen: {rest_listen}
  connect_address: {rest_connect}
  # Unsafe methods (POST, PUT, PATCH, DELETE) need Basic auth; GETs (health checks) do not.
  authentication:
    username: {rest_user}
etcd3:
  hosts:{etcd_hosts}
# No /dev/watchdog in containers; say so rather than have Patroni probe for one.
watchdog:
  mode: 'off'
bootstrap:
  dcs:
{dcs}
  initdb:
    - encoding: 'UTF8'
    - 'data-checksums'
postgresql:
  listen: {pg_listen}
  connect_address: {pg_connect}
  data_dir: {data_dir}
  bin_dir: {bin_dir}
  pgpass: '/tmp/pgpass'
  pg_hba:{pg_hba}
  authentication:
    superuser:
      username: {superuser}
    replication:
      username: {replication_user_q}
  # Without a fast checkpoint a new replica waits for the next timed checkpoint (minutes).
  # no-sync (and initdb's, through the image's wrapper): a drill never crashes the host kernel,
  # so syncing a new data directory buys nothing and costs seconds on 2 cores. The running
  # PostgreSQL keeps fsync and synchronous_commit as configured.
  basebackup:
    - checkpoint: 'fast'
    - 'no-sync'
  bin_name:
    initdb: '/opt/pgdrill/initdb-no-sync'
  parameters:
{parameters}
",
        scope = q(p.scope),
        name = q(member),
        rest_listen = q(&format!("0.0.0.0:{PATRONI_REST_PORT}")),
        rest_connect = q(&format!("{member}:{PATRONI_REST_PORT}")),
        pg_listen = q(&format!("0.0.0.0:{POSTGRES_PORT}")),
        pg_connect = q(&format!("{member}:{POSTGRES_PORT}")),
        data_dir = q(DATA_DIR),
        bin_dir = q(p.bin_dir),
        superuser = q(SUPERUSER),
        replication_user_q = q(REPLICATION_USER),
        rest_user = q(REST_API_USER),
    )
}

/// The member's environment variables that carry the run's passwords, in Patroni's own names
/// (Patroni reads them, merges them over its file and removes them from its environment before
/// it starts PostgreSQL; patronictl in `docker exec` reads them the same way).
pub fn patroni_secret_env(secrets: &Secrets) -> Vec<(String, String)> {
    [
        ("PATRONI_SUPERUSER_PASSWORD", &secrets.superuser),
        ("PATRONI_REPLICATION_PASSWORD", &secrets.replication),
        ("PATRONI_RESTAPI_PASSWORD", &secrets.rest_api),
    ]
    .into_iter()
    .map(|(var, secret)| (var.to_string(), secret.expose().to_string()))
    .collect()
}

/// HAProxy's configuration: port 5000 goes to whichever member answers `GET /primary` with 200,
/// port 5001 balances over members answering `GET /replica`; 7000 serves the stats page.
///
/// Servers are re-resolved through Docker's DNS (`resolvers docker`), so a member restarted with
/// a new address is found again; `on-marked-down shutdown-sessions` cuts clients off a demoted
/// primary instead of leaving them on a read-only server.
pub fn haproxy_cfg(members: &[String]) -> String {
    let servers: String = members
        .iter()
        .map(|m| format!("    server {m} {m}:{POSTGRES_PORT} check port {PATRONI_REST_PORT}\n"))
        .collect();
    let default_server = "    default-server inter 500ms fall 2 rise 1 on-marked-down shutdown-sessions \
                          resolvers docker init-addr last,libc,none\n";
    format!(
        "# HAProxy configuration (generated by pgdrill).
global
    maxconn 1000

# No log target: in the foreground (-db) HAProxy prints server state changes and, with
# log-health-checks, every failed check to stderr, which is the container log. A log target
# would add a line per client connection.
defaults
    mode tcp
    option log-health-checks
    timeout connect 2s
    timeout client 30m
    timeout server 30m
    timeout check 2s

# Docker's embedded DNS: re-resolve member names so a restarted container's new address is used.
resolvers docker
    nameserver dns 127.0.0.11:53
    resolve_retries 3
    timeout resolve 1s
    timeout retry 1s
    hold valid 1s
    hold other 1s
    hold refused 1s
    hold nx 1s
    hold timeout 1s
    hold obsolete 1s

listen stats
    mode http
    bind *:{HAPROXY_STATS_PORT}
    stats enable
    stats uri /

listen primary
    bind *:{HAPROXY_PRIMARY_PORT}
    option httpchk GET /primary
    http-check expect status 200
{default_server}{servers}
listen replicas
    bind *:{HAPROXY_REPLICA_PORT}
    balance roundrobin
    option httpchk GET /replica
    http-check expect status 200
{default_server}{servers}"
    )
}

/// PgBouncer's configuration: one database, `database`, pooled in front of HAProxy's primary
/// port with the scenario's settings; clients authenticate with SCRAM against the auth file the
/// image's entrypoint writes from the environment ([`pgbouncer_secret_env`]), so this text holds
/// no password. The admin console (database `pgbouncer`) lets the superuser run `SHOW POOLS`.
///
/// What is not a scenario setting is what a production pooler in front of HAProxy runs with:
/// logs of connections and pooler errors (they are the container log), `server_check_query` on
/// reused idle connections, `DISCARD ALL` when a session-mode client leaves, no Unix socket.
pub fn pgbouncer_ini(pooler: &Pooler, database: &str) -> String {
    let seconds = |b: crate::scenario::Budget| format!("{}", b.0.as_secs_f64());
    format!(
        "; PgBouncer configuration (generated by pgdrill). The auth file is written by the image's
; entrypoint from PGBOUNCER_USER and PGBOUNCER_PASSWORD.
[databases]
{database} = host=haproxy port={HAPROXY_PRIMARY_PORT} dbname={database}

[pgbouncer]
listen_addr = 0.0.0.0
listen_port = {PGBOUNCER_PORT}
unix_socket_dir =
auth_type = scram-sha-256
auth_file = /etc/pgbouncer/pgdrill/userlist.txt
admin_users = {SUPERUSER}
stats_users = {SUPERUSER}
pool_mode = {pool_mode}
default_pool_size = {pool_size}
max_client_conn = 500
server_login_retry = {server_login_retry}
server_connect_timeout = {server_connect_timeout}
query_wait_timeout = {query_wait_timeout}
server_check_delay = {server_check_delay}
server_check_query = select 1
server_reset_query = DISCARD ALL
; Clients may send it (JDBC does); PgBouncer would refuse them otherwise.
ignore_startup_parameters = extra_float_digits
log_connections = 1
log_disconnections = 1
log_pooler_errors = 1
",
        pool_mode = pooler.pool_mode.as_str(),
        pool_size = pooler.pool_size,
        server_login_retry = seconds(pooler.server_login_retry),
        server_connect_timeout = seconds(pooler.server_connect_timeout),
        query_wait_timeout = seconds(pooler.query_wait_timeout),
        server_check_delay = seconds(pooler.server_check_delay),
    )
}

/// PgBouncer's environment that carries the password its auth file gets: the superuser's, which
/// clients log in with and PgBouncer logs in to PostgreSQL with.
pub fn pgbouncer_secret_env(secrets: &Secrets) -> Vec<(String, String)> {
    vec![
        ("PGBOUNCER_USER".to_string(), SUPERUSER.to_string()),
        ("PGBOUNCER_PASSWORD".to_string(), secrets.superuser.expose().to_string()),
    ]
}

/// A single-quoted YAML scalar.
fn q(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    static NO_USER: std::sync::LazyLock<UserPatroni> = std::sync::LazyLock::new(UserPatroni::default);

    fn names(prefix: &str, n: usize) -> Vec<String> {
        (1..=n).map(|i| format!("{prefix}-{i}")).collect()
    }

    fn input<'a>(hosts: &'a [String], synchronous_mode: bool) -> PatroniConfigInput<'a> {
        PatroniConfigInput {
            scope: "pgdrill",
            member: "pg-2",
            etcd_hosts: hosts,
            ttl: 20,
            loop_wait: 2,
            retry_timeout: 5,
            synchronous_mode,
            synchronous_mode_strict: false,
            failsafe_mode: false,
            citus_group: None,
            bin_dir: "/usr/lib/postgresql/17/bin",
            tags: None,
            user: &NO_USER,
        }
    }

    #[test]
    fn etcd_command_names_every_peer() {
        let cmd = etcd_command("etcd-2", &names("etcd", 3), "run-1");
        assert_eq!(cmd[0], "etcd");
        assert!(cmd.contains(&"--name=etcd-2".to_string()));
        assert!(cmd.contains(&"--advertise-client-urls=http://etcd-2:2379".to_string()));
        assert!(cmd.contains(&"--initial-advertise-peer-urls=http://etcd-2:2380".to_string()));
        assert!(cmd.contains(
            &"--initial-cluster=etcd-1=http://etcd-1:2380,etcd-2=http://etcd-2:2380,etcd-3=http://etcd-3:2380"
                .to_string()
        ));
        assert!(cmd.contains(&"--initial-cluster-token=run-1".to_string()));
    }

    #[test]
    fn patroni_yaml_parses_with_the_values_given() {
        let hosts = names("etcd", 3).iter().map(|h| format!("{h}:2379")).collect::<Vec<_>>();
        let yaml = patroni_yaml(&input(&hosts, true));
        let v: Value = serde_saphyr::from_str(&yaml).expect("valid YAML");
        assert_eq!(v["scope"], "pgdrill");
        assert_eq!(v["name"], "pg-2");
        assert_eq!(v["restapi"]["connect_address"], "pg-2:8008");
        assert_eq!(v["etcd3"]["hosts"][2], "etcd-3:2379");
        let dcs = &v["bootstrap"]["dcs"];
        assert_eq!(dcs["ttl"], 20);
        assert_eq!(dcs["loop_wait"], 2);
        assert_eq!(dcs["retry_timeout"], 5);
        assert_eq!(dcs["synchronous_mode"], true);
        assert_eq!(dcs["synchronous_mode_strict"], false);
        assert_eq!(dcs["failsafe_mode"], false);
        assert_eq!(dcs["postgresql"]["use_pg_rewind"], true);
        assert_eq!(dcs["postgresql"]["parameters"]["wal_log_hints"], "on");
        assert_eq!(dcs["postgresql"]["parameters"]["wal_keep_size"], "128MB");
        assert_eq!(v["bootstrap"]["initdb"][1], "data-checksums");
        let pg = &v["postgresql"];
        assert_eq!(pg["connect_address"], "pg-2:5432");
        assert_eq!(pg["data_dir"], DATA_DIR);
        assert_eq!(pg["bin_dir"], "/usr/lib/postgresql/17/bin");
        assert_eq!(pg["authentication"]["superuser"]["username"], SUPERUSER);
        assert_eq!(pg["authentication"]["replication"]["username"], REPLICATION_USER);
        assert_eq!(v["restapi"]["authentication"]["username"], REST_API_USER);
        assert!(!yaml.contains("password:"), "the file holds no password: {yaml}");
        assert_eq!(pg["basebackup"][0]["checkpoint"], "fast");
        assert_eq!(pg["basebackup"][1], "no-sync");
        assert_eq!(pg["bin_name"]["initdb"], "/opt/pgdrill/initdb-no-sync");
        assert_eq!(pg["parameters"]["unix_socket_directories"], "/tmp");
        assert_eq!(v["watchdog"]["mode"], "off");
    }

    #[test]
    fn the_passwords_are_in_patronis_own_variables() {
        let secrets = Secrets::generate().unwrap();
        let env = patroni_secret_env(&secrets);
        let get = |var: &str| env.iter().find(|(k, _)| k == var).map(|(_, v)| v.as_str());
        assert_eq!(get("PATRONI_SUPERUSER_PASSWORD"), Some(secrets.superuser.expose()));
        assert_eq!(get("PATRONI_REPLICATION_PASSWORD"), Some(secrets.replication.expose()));
        assert_eq!(get("PATRONI_RESTAPI_PASSWORD"), Some(secrets.rest_api.expose()));
    }

    #[test]
    fn citus_members_get_the_citus_section_and_debug_citus_logging() {
        let hosts = vec!["etcd-1:2379".to_string()];
        let plain: Value = serde_saphyr::from_str(&patroni_yaml(&input(&hosts, false))).expect("valid YAML");
        assert!(plain.get("citus").is_none());
        assert_eq!(plain["bootstrap"]["dcs"]["postgresql"]["parameters"]["wal_level"], "replica");
        let citus = PatroniConfigInput { citus_group: Some(2), ..input(&hosts, false) };
        let v: Value = serde_saphyr::from_str(&patroni_yaml(&citus)).expect("valid YAML");
        assert_eq!(v["citus"]["group"], 2);
        assert_eq!(v["citus"]["database"], "citus");
        assert_eq!(v["log"]["loggers"]["patroni.postgresql.mpp.citus"], "DEBUG");
        assert_eq!(v["bootstrap"]["dcs"]["postgresql"]["parameters"]["wal_level"], "logical");
    }

    #[test]
    fn member_tags_become_patronis_tags_section() {
        let hosts = vec!["etcd-1:2379".to_string()];
        let plain: Value = serde_saphyr::from_str(&patroni_yaml(&input(&hosts, false))).expect("valid YAML");
        assert!(plain.get("tags").is_none(), "no tags unless the scenario sets some");
        let tags = MemberTags {
            nofailover: Some(true),
            nosync: Some(false),
            failover_priority: Some(3),
            ..Default::default()
        };
        let tagged = PatroniConfigInput { tags: Some(&tags), ..input(&hosts, false) };
        let v: Value = serde_saphyr::from_str(&patroni_yaml(&tagged)).expect("valid YAML");
        assert_eq!(v["tags"]["nofailover"], true);
        assert_eq!(v["tags"]["nosync"], false);
        assert_eq!(v["tags"]["failover_priority"], 3);
        assert!(v["tags"].get("noloadbalance").is_none());
        assert_eq!(v["name"], "pg-2", "the rest of the file is unchanged");
    }

    #[test]
    fn patroni_yaml_quotes_awkward_strings() {
        let hosts = vec!["it's:2379".to_string()];
        let mut p = input(&hosts, false);
        p.scope = "a: b # c";
        let v: Value = serde_saphyr::from_str(&patroni_yaml(&p)).expect("valid YAML");
        assert_eq!(v["scope"], "a: b # c");
        assert_eq!(v["etcd3"]["hosts"][0], "it's:2379");
    }

    #[test]
    fn pgbouncer_ini_pools_the_database_in_front_of_haproxy_without_a_password() {
        let mut pooler = Pooler::with_defaults(crate::scenario::PoolMode::Transaction);
        pooler.server_login_retry = crate::scenario::Budget(std::time::Duration::from_millis(1500));
        let ini = pgbouncer_ini(&pooler, "postgres");
        assert!(ini.contains("[databases]\npostgres = host=haproxy port=5000 dbname=postgres\n"), "{ini}");
        for line in [
            "pool_mode = transaction",
            "default_pool_size = 20",
            "server_login_retry = 1.5",
            "server_connect_timeout = 15",
            "query_wait_timeout = 120",
            "auth_type = scram-sha-256",
            "admin_users = postgres",
            "listen_port = 6432",
        ] {
            assert!(ini.lines().any(|l| l == line), "`{line}` not in {ini}");
        }
        let secrets = Secrets::generate().unwrap();
        let env = pgbouncer_secret_env(&secrets);
        assert_eq!(env[1], ("PGBOUNCER_PASSWORD".to_string(), secrets.superuser.expose().to_string()));
        assert!(!ini.contains(secrets.superuser.expose()));
    }

    #[test]
    fn haproxy_cfg_has_a_server_per_member_in_both_listeners() {
        let cfg = haproxy_cfg(&names("pg", 3));
        assert_eq!(cfg.matches("server pg-2 pg-2:5432 check port 8008").count(), 2);
        assert_eq!(cfg.matches("resolvers docker init-addr last,libc,none").count(), 2);
        assert!(cfg.contains("bind *:5000\n    option httpchk GET /primary"));
        assert!(cfg.contains("bind *:5001\n    balance roundrobin\n    option httpchk GET /replica"));
        assert!(cfg.contains("nameserver dns 127.0.0.11:53"));
        assert!(cfg.ends_with('\n'));
    }
}
