//! The scenario file's types: what a user writes, deserialised as-is. Semantic checks that need
//! the whole file (references to members, exactly one action per step) live in `validate`.
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

use super::config_value::ConfigValue;
use super::expect::Invariant;
use super::step::Step;
use super::values::{Budget, Rate};

/// A whole scenario file.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Short name, used in reports and test names.
    pub name: String,
    /// What the drill proves, for humans.
    #[serde(default)]
    pub description: Option<String>,
    /// The cluster to start.
    pub topology: Topology,
    /// Client traffic during the drill (none when absent).
    #[serde(default)]
    pub workload: Option<Workload>,
    /// What happens, in order (with `chaos`: before the randomised schedule; may be omitted).
    #[serde(default)]
    #[schemars(with = "Vec<Step>")]
    pub steps: Vec<Spanned<Step>>,
    /// Properties checked over the whole run.
    #[serde(default)]
    pub invariants: Vec<Invariant>,
    /// Randomised fault schedules after the steps (`pgdrill chaos`).
    #[serde(default)]
    pub chaos: Option<super::chaos::Chaos>,
}

/// Which kind of cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TopologyKind {
    /// One Patroni cluster behind HAProxy.
    Patroni,
    /// A Citus cluster: a coordinator group and worker groups, each a Patroni cluster sharing one
    /// scope in etcd; HAProxy fronts the coordinator group.
    Citus,
}

/// The cluster: etcd, Patroni members and HAProxy.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Topology {
    /// Cluster kind.
    pub kind: TopologyKind,
    /// Number of Patroni members (named pg-1 .. pg-N); `kind: patroni` only.
    #[serde(default = "default_members")]
    pub members: u8,
    /// Citus groups and their members (`kind: citus` only): coordinator members coord-1 ..,
    /// worker group G's members workerG-1 ...
    #[serde(default)]
    pub groups: Option<CitusGroups>,
    /// Number of etcd members (named etcd-1 .. etcd-N).
    #[serde(default = "default_etcd")]
    pub etcd: u8,
    /// Patroni's dynamic configuration.
    #[serde(default)]
    pub patroni: PatroniSettings,
    /// Prometheus, Alertmanager and a postgres_exporter per member, with the users' alert rules.
    #[serde(default)]
    pub monitoring: Option<Monitoring>,
    /// Patroni tags of named members (`pg-3: {nofailover: true}`), written into each member's
    /// `tags:` as Patroni reads them.
    #[serde(default)]
    pub tags: std::collections::BTreeMap<String, MemberTags>,
    /// PgBouncer in the clients' path, in front of HAProxy's primary port (`kind: patroni` only).
    #[serde(default)]
    pub pooler: Option<super::pooler::Pooler>,
}

/// The Patroni tags a scenario may set on a member (Patroni's `tags:` section). Which member may
/// be promoted, and which one is preferred, is what a drill of these checks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberTags {
    /// Never promoted, never bootstraps the cluster (Patroni excludes it from leader races).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nofailover: Option<bool>,
    /// Preference among replicas at the same WAL position (higher wins; 0 = never promoted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failover_priority: Option<u32>,
    /// Left out of read balancing: Patroni's `GET /replica` answers 503, so HAProxy's replica
    /// port skips it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noloadbalance: Option<bool>,
    /// Never chosen as a synchronous standby.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nosync: Option<bool>,
}

impl MemberTags {
    /// Whether Patroni will never promote (or bootstrap) this member.
    pub fn never_promoted(&self) -> bool {
        self.nofailover == Some(true) || (self.nofailover.is_none() && self.failover_priority == Some(0))
    }

    /// The tags as Patroni's YAML `tags:` mapping lines (`nofailover: true`), in a fixed order.
    pub fn yaml_lines(&self) -> Vec<String> {
        let bools = [("nofailover", self.nofailover), ("noloadbalance", self.noloadbalance), ("nosync", self.nosync)];
        let mut lines: Vec<String> =
            bools.iter().filter_map(|(key, value)| value.map(|v| format!("{key}: {v}"))).collect();
        if let Some(priority) = self.failover_priority {
            lines.push(format!("failover_priority: {priority}"));
        }
        lines
    }
}

impl Topology {
    /// The tags Patroni runs `member` with: the cluster-wide tags (`topology.patroni.tags`, the
    /// user's file), then the member's own from `topology.tags`.
    pub fn member_tags(&self, member: &str) -> MemberTags {
        let cluster = &self.patroni.user.tags;
        let flag = |key: &str| cluster.get(key).and_then(ConfigValue::as_bool);
        let mut tags = MemberTags {
            nofailover: flag("nofailover"),
            failover_priority: cluster.get("failover_priority").and_then(ConfigValue::as_i64).map(|p| p as u32),
            noloadbalance: flag("noloadbalance"),
            nosync: flag("nosync"),
        };
        if let Some(own) = self.tags.get(member) {
            tags.nofailover = own.nofailover.or(tags.nofailover);
            tags.failover_priority = own.failover_priority.or(tags.failover_priority);
            tags.noloadbalance = own.noloadbalance.or(tags.noloadbalance);
            tags.nosync = own.nosync.or(tags.nosync);
        }
        tags
    }

    /// The member `topology.tags`' `failover_priority` prefers among `candidates` (Patroni's
    /// default priority is 1; members never promoted are left out); `None` on a tie.
    pub fn highest_priority<'a>(&self, candidates: impl IntoIterator<Item = &'a String>) -> Option<String> {
        let mut ranked: Vec<(u32, &String)> = candidates
            .into_iter()
            .map(|m| (self.member_tags(m), m))
            .filter(|(tags, _)| !tags.never_promoted())
            .map(|(tags, m)| (tags.failover_priority.unwrap_or(1), m))
            .collect();
        ranked.sort_by_key(|(priority, _)| std::cmp::Reverse(*priority));
        match ranked.as_slice() {
            [(best, member), rest @ ..] if rest.first().is_none_or(|(next, _)| next < best) => Some((*member).clone()),
            _ => None,
        }
    }
}

/// The groups of a Citus topology.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CitusGroups {
    /// Members of the coordinator group (group 0).
    #[serde(default = "default_group_members")]
    pub coordinator: u8,
    /// Members of each worker group (groups 1..N), e.g. `[2, 2]`.
    #[serde(default = "default_workers")]
    pub workers: Vec<u8>,
}

impl Default for CitusGroups {
    fn default() -> Self {
        Self { coordinator: default_group_members(), workers: default_workers() }
    }
}

fn default_group_members() -> u8 {
    2
}
fn default_workers() -> Vec<u8> {
    vec![2, 2]
}

/// The monitoring stack of a drill.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Monitoring {
    /// Rule files (plain Prometheus rule files or PrometheusRule manifests), relative to the
    /// scenario file.
    #[schemars(with = "Vec<String>")]
    pub rules: Vec<Spanned<String>>,
    /// Time compression of the rules: every `for:` and range window is multiplied by it (0.1
    /// drills a `for: 2m` alert in 12s; values never go below a floor tied to the scrape
    /// interval). The report lists every value changed.
    #[serde(default = "default_for_scale")]
    pub for_scale: f64,
    /// Scrape and evaluation interval.
    #[serde(default = "default_scrape_interval")]
    pub interval: Budget,
    /// The `cluster_name` label of every scrape target: the value the users' relabelling gives
    /// it (their rules select on it, e.g. seed 000's `citusdemo`). Default: the Patroni scope,
    /// `pgdrill`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_name: Option<String>,
}

fn default_for_scale() -> f64 {
    1.0
}
fn default_scrape_interval() -> Budget {
    Budget(std::time::Duration::from_secs(1))
}

fn default_members() -> u8 {
    3
}
fn default_etcd() -> u8 {
    3
}

/// Patroni settings the drill depends on (timings decide the budgets), and the users' own
/// Patroni configuration (`file` and the inline `bootstrap`, `postgresql` and `tags`), which
/// pgdrill merges into every member's file. The six short keys written here win over the same
/// keys of `bootstrap.dcs` (so one production file serves drills with short timings); unwritten,
/// they take the user's values, else pgdrill's defaults.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PatroniSettings {
    /// Leader key TTL in seconds (Patroni enforces >= 20).
    #[serde(default = "default_ttl")]
    pub ttl: u32,
    /// Seconds between HA loop runs (>= 1).
    #[serde(default = "default_loop_wait")]
    pub loop_wait: u32,
    /// Seconds to retry DCS and PostgreSQL operations (>= 3).
    #[serde(default = "default_retry_timeout")]
    pub retry_timeout: u32,
    /// Synchronous replication: only a sync standby may be promoted, so acknowledged writes
    /// survive the loss of the primary.
    #[serde(default)]
    pub synchronous_mode: bool,
    /// With `synchronous_mode`: never fall back to asynchronous commits when no standby is left,
    /// so commits wait (writes block) rather than risk losing acknowledged data.
    #[serde(default)]
    pub synchronous_mode_strict: bool,
    /// Keep the primary running while the DCS is unreachable, if all members agree.
    #[serde(default)]
    pub failsafe_mode: bool,
    /// The users' own patroni.yml, relative to the scenario file (inside its repository). Its
    /// `bootstrap.dcs`, `postgresql.parameters`, `postgresql.pg_hba` and `tags` are used; keys
    /// pgdrill owns (names, addresses, DCS endpoints, REST API, data directory, credentials) are
    /// errors at their line and column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub file: Option<Spanned<String>>,
    /// Patroni's `bootstrap` section (only `dcs`), merged over the file's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bootstrap: Option<ConfigValue>,
    /// Patroni's local `postgresql` section (only `parameters` and `pg_hba`), merged over the file's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postgresql: Option<ConfigValue>,
    /// Patroni tags of every member, merged over the file's; `topology.tags` of a member wins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<ConfigValue>,
    /// The file and the inline keys merged and checked, when the scenario was loaded (not
    /// written back: a report carries each member's effective configuration instead).
    #[serde(skip)]
    #[schemars(skip)]
    pub user: UserPatroni,
}

/// The users' Patroni configuration, merged (file, then inline keys) and checked at load time.
/// The six keys the scenario's short keys carry are not in `dcs`: they live in
/// [`PatroniSettings`]' fields.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserPatroni {
    /// `bootstrap.dcs` without ttl, loop_wait, retry_timeout, synchronous_mode,
    /// synchronous_mode_strict and failsafe_mode.
    pub dcs: ConfigValue,
    /// Local `postgresql.parameters`.
    pub parameters: ConfigValue,
    /// Local `postgresql.pg_hba` lines, when given.
    pub pg_hba: Option<Vec<String>>,
    /// Tags of every member (the four pgdrill knows and any custom ones).
    pub tags: ConfigValue,
}

impl UserPatroni {
    /// Whether the user configured anything.
    pub fn is_empty(&self) -> bool {
        self.dcs.is_empty_map() && self.parameters.is_empty_map() && self.pg_hba.is_none() && self.tags.is_empty_map()
    }
}

fn default_ttl() -> u32 {
    20
}
fn default_loop_wait() -> u32 {
    2
}
fn default_retry_timeout() -> u32 {
    5
}

impl Default for PatroniSettings {
    fn default() -> Self {
        Self {
            ttl: default_ttl(),
            loop_wait: default_loop_wait(),
            retry_timeout: default_retry_timeout(),
            synchronous_mode: false,
            synchronous_mode_strict: false,
            failsafe_mode: false,
            file: None,
            bootstrap: None,
            postgresql: None,
            tags: None,
            user: UserPatroni::default(),
        }
    }
}

/// Client traffic.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Workload {
    /// Concurrent writer connections.
    #[serde(default = "default_writers")]
    pub writers: u16,
    /// Total insert rate, e.g. `100/s`.
    #[serde(default = "default_rate")]
    pub rate: Rate,
    /// Where the writers connect: through `topology.pooler` when there is one, else HAProxy.
    #[serde(default)]
    pub via: Option<Via>,
    /// What one write is: a row (`single_row`, the default) or, on Citus, a transaction block
    /// writing a row to two worker groups (`multi_shard`: Citus commits it with two-phase commit).
    #[serde(default)]
    pub transactions: Transactions,
}

/// What one write of the workload is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Transactions {
    /// One INSERT, committed on its own.
    #[default]
    SingleRow,
    /// `BEGIN; INSERT …; INSERT …; COMMIT` with the two rows on different worker groups (Citus).
    MultiShard,
}

impl Workload {
    /// Where the writers connect in `topology`: what `via` says, else the pooler when the topology
    /// has one, else HAProxy.
    pub fn route(&self, topology: &Topology) -> Via {
        self.via.unwrap_or(if topology.pooler.is_some() { Via::Pooler } else { Via::Haproxy })
    }
}

fn default_writers() -> u16 {
    2
}
fn default_rate() -> Rate {
    Rate::per_second(100)
}

/// Where writers connect.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    /// HAProxy's primary port (follows Patroni's `/primary` health check).
    #[default]
    Haproxy,
    /// PgBouncer (`topology.pooler`), which connects to HAProxy's primary port.
    Pooler,
}
