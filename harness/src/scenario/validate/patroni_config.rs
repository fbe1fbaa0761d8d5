//! Semantic checks of the users' own Patroni configuration (their patroni.yml and the inline
//! `topology.patroni.bootstrap/postgresql/tags`): which keys pgdrill owns (a collision is an
//! error at the user's key), which it cannot drill, the types Patroni needs, and settings
//! Patroni would silently ignore or change. Each rule cites Patroni's behaviour (4.x,
//! `patroni/config.py`, `docs/dynamic_configuration.rst`).
use std::path::Path;

use super::{At, Checker};
use crate::scenario::config_value::ConfigValue;
use crate::scenario::error::ScenarioError;
use crate::scenario::source::{suggest, SpanIndex};

/// Top-level keys pgdrill writes itself, and why: a user's value would point Patroni at hosts,
/// directories or credentials the drill does not have.
const OWNED_TOP: [(&str, &str); 14] = [
    ("scope", "the cluster name in etcd is the run's"),
    ("namespace", "the etcd key prefix is the run's"),
    ("name", "member names are pgdrill's (pg-1, coord-1, ...)"),
    ("restapi", "the REST API listens where the observers and HAProxy look, with the run's password"),
    ("ctl", "patronictl inside members uses the run's REST API credentials"),
    ("etcd", "the DCS endpoints are the run's etcd containers"),
    ("etcd3", "the DCS endpoints are the run's etcd containers"),
    ("consul", "the DCS is the run's etcd"),
    ("zookeeper", "the DCS is the run's etcd"),
    ("exhibitor", "the DCS is the run's etcd"),
    ("kubernetes", "the DCS is the run's etcd"),
    ("raft", "the DCS is the run's etcd"),
    ("citus", "Citus groups come from `topology.groups`"),
    ("watchdog", "containers have no /dev/watchdog"),
];
/// Local `postgresql` keys pgdrill writes itself.
const OWNED_POSTGRESQL: [(&str, &str); 8] = [
    ("listen", "PostgreSQL listens where the harness connects"),
    ("connect_address", "members reach each other by container name"),
    ("proxy_address", "clients reach members through the run's HAProxy"),
    ("data_dir", "the data directory is the image's"),
    ("bin_dir", "the binaries are the image's PostgreSQL major"),
    ("config_dir", "the configuration lives in the data directory"),
    ("pgpass", "pgdrill writes the pgpass file"),
    ("authentication", "superuser and replication credentials are the run's (passwords from the environment)"),
];
/// PostgreSQL parameters pgdrill (or Patroni from pgdrill's keys) sets.
const OWNED_PARAMETERS: [(&str, &str); 8] = [
    ("listen_addresses", "Patroni sets it from `postgresql.listen`, which pgdrill owns"),
    ("port", "Patroni sets it from `postgresql.listen`, which pgdrill owns"),
    ("cluster_name", "Patroni sets it from `scope`, which pgdrill owns"),
    ("unix_socket_directories", "commands run inside members find PostgreSQL's socket in /tmp"),
    ("data_directory", "the data directory is the image's"),
    ("config_file", "Patroni writes postgresql.conf"),
    ("hba_file", "Patroni writes pg_hba.conf from `postgresql.pg_hba`"),
    ("ident_file", "Patroni writes pg_ident.conf"),
];
/// Parameters Patroni takes only from the dynamic configuration (`ConfigHandler.CMDLINE_OPTIONS`):
/// in a local `postgresql.parameters` Patroni drops them without a word.
const DCS_ONLY_PARAMETERS: [&str; 12] = [
    "wal_level",
    "hot_standby",
    "max_connections",
    "max_wal_senders",
    "max_prepared_transactions",
    "max_locks_per_transaction",
    "track_commit_timestamp",
    "max_replication_slots",
    "max_worker_processes",
    "wal_keep_size",
    "wal_keep_segments",
    "wal_log_hints",
];
const TOP_KEYS: [&str; 3] = ["bootstrap", "postgresql", "tags"];
/// The `bootstrap.dcs` keys pgdrill drills, with their type.
const DCS_KEYS: [(&str, Type); 17] = [
    ("ttl", Type::Int(super::MIN_TTL as i64)),
    ("loop_wait", Type::Int(super::MIN_LOOP_WAIT as i64)),
    ("retry_timeout", Type::Int(super::MIN_RETRY_TIMEOUT as i64)),
    ("maximum_lag_on_failover", Type::Int(0)),
    ("maximum_lag_on_syncnode", Type::Int(-1)),
    ("max_timelines_history", Type::Int(0)),
    ("primary_start_timeout", Type::Int(0)),
    ("primary_stop_timeout", Type::Int(0)),
    ("primary_race_backoff", Type::Int(0)),
    ("synchronous_mode", Type::Bool),
    ("synchronous_mode_strict", Type::Bool),
    ("synchronous_node_count", Type::Int(1)),
    ("failsafe_mode", Type::Bool),
    ("check_timeline", Type::Bool),
    ("member_slots_ttl", Type::Scalar),
    ("slots", Type::Map),
    ("ignore_slots", Type::List),
];
const DCS_POSTGRESQL_KEYS: [(&str, Type); 3] =
    [("use_pg_rewind", Type::Bool), ("use_slots", Type::Bool), ("parameters", Type::Map)];
/// Tags pgdrill models (`topology.tags`); other Patroni tags change replication paths pgdrill
/// does not drill.
const KNOWN_TAGS: [(&str, Type); 4] = [
    ("nofailover", Type::Bool),
    ("failover_priority", Type::Int(0)),
    ("noloadbalance", Type::Bool),
    ("nosync", Type::Bool),
];
const UNSUPPORTED_TAGS: [&str; 4] = ["clonefrom", "nostream", "replicatefrom", "sync_priority"];

/// What a value must be.
#[derive(Clone, Copy)]
enum Type {
    Bool,
    /// A whole number, at least this.
    Int(i64),
    Scalar,
    Map,
    List,
}

/// Checks the user's patroni.yml (`file`, parsed to `value`); its problems point into it.
pub(crate) fn check_patroni_file(file: &Path, text: &str, value: &ConfigValue) -> Result<(), ScenarioError> {
    let mut checker =
        Checker { text, index: SpanIndex::build(text), problems: Vec::new(), alerts: None, workload: false };
    match value {
        ConfigValue::Map(pairs) => {
            for (key, value) in pairs {
                match key.as_str() {
                    "bootstrap" => checker.patroni_bootstrap("bootstrap", value),
                    "postgresql" => checker.patroni_postgresql("postgresql", value),
                    "tags" => checker.patroni_tags("tags", value),
                    other => checker.patroni_top_key(other),
                }
            }
        }
        _ => checker.report(
            "",
            At::Value,
            "a Patroni configuration file is a mapping (`bootstrap:`, `postgresql:`, `tags:`)",
            "not a mapping",
            None,
        ),
    }
    let mut problems = checker.problems;
    if problems.is_empty() {
        return Ok(());
    }
    problems.sort_by_key(|problem| (problem.line, problem.column));
    Err(ScenarioError::invalid(file, text, problems))
}

fn join(base: &str, key: &str) -> String {
    if base.is_empty() {
        key.to_owned()
    } else {
        format!("{base}.{key}")
    }
}

impl Checker<'_> {
    /// The inline keys of `topology.patroni` (their problems point into the scenario).
    pub(super) fn patroni_inline(&mut self, patroni: &crate::scenario::PatroniSettings) {
        if let Some(bootstrap) = &patroni.bootstrap {
            self.patroni_bootstrap("topology.patroni.bootstrap", bootstrap);
        }
        if let Some(postgresql) = &patroni.postgresql {
            self.patroni_postgresql("topology.patroni.postgresql", postgresql);
        }
        if let Some(tags) = &patroni.tags {
            self.patroni_tags("topology.patroni.tags", tags);
        }
    }

    fn patroni_top_key(&mut self, key: &str) {
        if let Some((_, why)) = OWNED_TOP.iter().find(|(owned, _)| *owned == key) {
            self.collision(key, key, why);
        } else {
            self.unsupported(key, key, &TOP_KEYS);
        }
    }

    fn collision(&mut self, path: &str, key: &str, why: &str) {
        self.report(
            path,
            At::Key,
            format!("`{key}` collides with a key pgdrill owns: {why}"),
            "owned by pgdrill",
            Some(
                "pgdrill writes names, addresses, DCS endpoints, the REST API, the data directory and credentials \
                 itself; remove this key (the report shows each member's effective configuration)"
                    .into(),
            ),
        );
    }

    fn unsupported(&mut self, path: &str, key: &str, allowed: &[&str]) {
        let help = suggest(key, allowed).unwrap_or_else(|| format!("pgdrill takes {} here", allowed.join(", ")));
        self.report(
            path,
            At::Key,
            format!(
                "`{key}` is not a key pgdrill takes from a Patroni configuration here, expected one of: {}",
                allowed.join(", ")
            ),
            "not taken by pgdrill",
            Some(help),
        );
    }

    fn typed(&mut self, path: &str, key: &str, value: &ConfigValue, ty: Type) {
        let problem = match ty {
            Type::Bool if value.as_bool().is_none() => Some("true or false".to_string()),
            Type::Int(min) => match value.as_i64() {
                None => Some("a whole number".to_string()),
                Some(n) if n < min => Some(format!("a whole number of at least {min} (Patroni would not run {n})")),
                Some(_) => None,
            },
            Type::Scalar if !value.is_scalar() => Some("a single value".to_string()),
            Type::Map if !matches!(value, ConfigValue::Map(_)) => Some("a mapping".to_string()),
            Type::List if !matches!(value, ConfigValue::List(_)) => Some("a list".to_string()),
            _ => None,
        };
        if let Some(expected) = problem {
            self.report(
                path,
                At::Value,
                format!("invalid value for `{key}`: expected {expected}"),
                format!("not {expected}"),
                None,
            );
        }
    }

    fn patroni_bootstrap(&mut self, base: &str, value: &ConfigValue) {
        if !matches!(value, ConfigValue::Map(_)) {
            return self.typed(base, "bootstrap", value, Type::Map);
        }
        for (key, value) in value.pairs() {
            let path = join(base, key);
            match key.as_str() {
                "dcs" => self.patroni_dcs(&path, value),
                "initdb" => self.report(
                    &path,
                    At::Key,
                    "`initdb` is pgdrill's: it initialises with data checksums, which pg_rewind needs",
                    "owned by pgdrill",
                    Some("remove it; pgdrill takes only `bootstrap.dcs`".into()),
                ),
                other => self.unsupported(&path, other, &["dcs"]),
            }
        }
    }

    fn patroni_dcs(&mut self, base: &str, value: &ConfigValue) {
        if !matches!(value, ConfigValue::Map(_)) {
            return self.typed(base, "dcs", value, Type::Map);
        }
        for (key, value) in value.pairs() {
            let path = join(base, key);
            if key == "synchronous_mode" && value.as_str().is_some_and(|mode| mode.eq_ignore_ascii_case("quorum")) {
                self.report(
                    &path,
                    At::Value,
                    "`synchronous_mode: quorum` is not drilled by pgdrill yet: its checks know one synchronous standby role",
                    "quorum commit",
                    Some("use `synchronous_mode: true` (priority-based synchronous replication)".into()),
                );
            } else if key == "standby_cluster" {
                self.report(
                    &path,
                    At::Key,
                    "`standby_cluster` would make the run's cluster replicate from a host the drill does not have",
                    "not drilled",
                    Some("remove it; pgdrill drills a primary cluster".into()),
                );
            } else if key == "postgresql" {
                self.patroni_dcs_postgresql(&path, value);
            } else if let Some((_, ty)) = DCS_KEYS.iter().find(|(known, _)| known == key) {
                self.typed(&path, key, value, *ty);
            } else {
                let allowed: Vec<&str> = DCS_KEYS.iter().map(|(k, _)| *k).chain(["postgresql"]).collect();
                self.unsupported(&path, key, &allowed);
            }
        }
    }

    fn patroni_dcs_postgresql(&mut self, base: &str, value: &ConfigValue) {
        if !matches!(value, ConfigValue::Map(_)) {
            return self.typed(base, "postgresql", value, Type::Map);
        }
        for (key, value) in value.pairs() {
            let path = join(base, key);
            if key == "pg_hba" {
                self.report(
                    &path,
                    At::Key,
                    "`pg_hba` in `bootstrap.dcs.postgresql` would never apply: every member's file has a local \
                     `postgresql.pg_hba`, which Patroni prefers",
                    "ignored by Patroni",
                    Some("move these lines to `postgresql.pg_hba` (pgdrill puts its own lines first)".into()),
                );
            } else if key == "parameters" {
                self.parameters(&path, value, false);
            } else if let Some((_, ty)) = DCS_POSTGRESQL_KEYS.iter().find(|(known, _)| known == key) {
                self.typed(&path, key, value, *ty);
            } else {
                let allowed: Vec<&str> = DCS_POSTGRESQL_KEYS.iter().map(|(k, _)| *k).collect();
                self.unsupported(&path, key, &allowed);
            }
        }
    }

    fn patroni_postgresql(&mut self, base: &str, value: &ConfigValue) {
        if !matches!(value, ConfigValue::Map(_)) {
            return self.typed(base, "postgresql", value, Type::Map);
        }
        for (key, value) in value.pairs() {
            let path = join(base, key);
            match key.as_str() {
                "parameters" => self.parameters(&path, value, true),
                "pg_hba" => match value {
                    ConfigValue::List(lines) => {
                        for (i, _) in lines.iter().enumerate().filter(|(_, line)| line.as_str().is_none()) {
                            self.report(
                                &format!("{path}.{i}"),
                                At::Value,
                                "a pg_hba line is a string, e.g. `host all all 0.0.0.0/0 scram-sha-256`",
                                "not a line",
                                None,
                            );
                        }
                    }
                    other => self.typed(&path, "pg_hba", other, Type::List),
                },
                other => match OWNED_POSTGRESQL.iter().find(|(owned, _)| *owned == other) {
                    Some((_, why)) => self.collision(&path, other, why),
                    None => self.unsupported(&path, other, &["parameters", "pg_hba"]),
                },
            }
        }
    }

    /// PostgreSQL parameters: scalars, none that pgdrill owns; `local` ones not among those
    /// Patroni takes only from `bootstrap.dcs`.
    fn parameters(&mut self, base: &str, value: &ConfigValue, local: bool) {
        if !matches!(value, ConfigValue::Map(_)) {
            return self.typed(base, "parameters", value, Type::Map);
        }
        for (name, value) in value.pairs() {
            let path = join(base, name);
            let lower = name.to_lowercase();
            if let Some((_, why)) = OWNED_PARAMETERS.iter().find(|(owned, _)| *owned == lower) {
                self.collision(&path, name, why);
            } else if local && DCS_ONLY_PARAMETERS.contains(&lower.as_str()) {
                self.report(
                    &path,
                    At::Key,
                    format!(
                        "Patroni ignores `{name}` in a local `postgresql.parameters`: it must be equal on every \
                         member, so Patroni takes it only from the dynamic configuration"
                    ),
                    "ignored by Patroni here",
                    Some(format!("move it to `bootstrap.dcs.postgresql.parameters.{name}`")),
                );
            } else if lower == "hot_standby" && value.as_bool() == Some(false)
                || value.as_str().is_some_and(|v| lower == "hot_standby" && v.eq_ignore_ascii_case("off"))
            {
                self.report(
                    &path,
                    At::Value,
                    "Patroni always runs replicas with `hot_standby: on`",
                    "Patroni forces on",
                    None,
                );
            } else {
                self.typed(&path, name, value, Type::Scalar);
            }
        }
    }

    fn patroni_tags(&mut self, base: &str, value: &ConfigValue) {
        if !matches!(value, ConfigValue::Map(_)) {
            return self.typed(base, "tags", value, Type::Map);
        }
        let known: Vec<&str> = KNOWN_TAGS.iter().map(|(k, _)| *k).collect();
        for (key, value) in value.pairs() {
            let path = join(base, key);
            if let Some((_, ty)) = KNOWN_TAGS.iter().find(|(k, _)| k == key) {
                self.typed(&path, key, value, *ty);
            } else if UNSUPPORTED_TAGS.contains(&key.as_str()) {
                self.report(
                    &path,
                    At::Key,
                    format!("tag `{key}` changes how members replicate or clone, which pgdrill does not drill"),
                    "not drilled",
                    Some(format!("pgdrill drills {}, and custom tags", known.join(", "))),
                );
            } else if let Some(typo) = suggest(key, &known) {
                self.report(
                    &path,
                    At::Key,
                    format!("unknown tag `{key}`: Patroni would keep it as a custom tag and ignore it"),
                    "custom tag?",
                    Some(typo),
                );
            } else {
                self.typed(&path, key, value, Type::Scalar);
            }
        }
    }
}

impl Checker<'_> {
    /// Where a `bootstrap.dcs` key of the merged configuration was written: inline, or (the
    /// path of) `topology.patroni.file`.
    fn dcs_origin(&self, key: &str) -> String {
        let inline = format!("topology.patroni.bootstrap.dcs.{key}");
        match &self.index {
            Some(index) if index.get(&inline).is_none() && index.get("topology.patroni.file").is_some() => {
                "topology.patroni.file".into()
            }
            _ => inline,
        }
    }

    /// `synchronous_node_count` needs synchronous replication and enough replicas: Patroni
    /// ignores it without `synchronous_mode` and lowers it to the replicas there are.
    pub(super) fn synchronous_node_count(&mut self, topology: &crate::scenario::Topology) {
        let Some(count) = topology.patroni.user.dcs.get("synchronous_node_count").and_then(ConfigValue::as_i64) else {
            return;
        };
        let path = self.dcs_origin("synchronous_node_count");
        let smallest = match crate::topology::citus_groups(topology) {
            Some(groups) => groups.iter().map(|(_, members)| members.len()).min().unwrap_or(1),
            None => topology.members as usize,
        };
        let replicas = smallest.saturating_sub(1) as i64;
        if !topology.patroni.synchronous_mode {
            self.report(
                &path,
                At::Value,
                format!("`synchronous_node_count: {count}` has no effect: Patroni uses it only with `synchronous_mode: true`"),
                "without synchronous_mode",
                Some("set `synchronous_mode: true`, or remove `synchronous_node_count`".into()),
            );
        } else if count > replicas {
            self.report(
                &path,
                At::Value,
                format!(
                    "`synchronous_node_count: {count}` is more than the {replicas} replica(s) a cluster of {smallest} \
                     has: Patroni would lower it, so the drill would not run what it states"
                ),
                format!("at most {replicas}"),
                Some("lower it, or add members".into()),
            );
        }
    }
}
