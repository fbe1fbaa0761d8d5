//! The scenario file's types: what a user writes, deserialised as-is. Semantic checks that need
//! the whole file (references to members, exactly one action per step) live in `validate`.
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

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
}

fn default_for_scale() -> f64 {
    1.0
}
fn default_scrape_interval() -> Budget {
    Budget(std::time::Duration::from_secs(1))
}

/// States an `alert` expectation can wait for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AlertExpect {
    /// Prometheus has the alert pending (or already firing).
    Pending,
    /// The alert fires.
    Firing,
    /// A firing alert ends.
    Resolved,
    /// The alert never fires during the whole window.
    Never,
}

/// Which API an `alert` expectation reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AlertSourceName {
    /// Prometheus's rule evaluation.
    #[default]
    Prometheus,
    /// Alertmanager (the alert reached the notification pipeline).
    Alertmanager,
}

fn default_members() -> u8 {
    3
}
fn default_etcd() -> u8 {
    3
}

/// Patroni settings the drill depends on (timings decide the budgets).
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
    /// Keep the primary running while the DCS is unreachable, if all members agree.
    #[serde(default)]
    pub failsafe_mode: bool,
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
            failsafe_mode: false,
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
    /// Where the writers connect.
    #[serde(default)]
    pub via: Via,
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
}

/// Who a fault hits, resolved from the latest observed cluster state when the step runs.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// The current primary (leader).
    Primary,
    /// One current replica (the first healthy one by name).
    Replica,
    /// Every current replica.
    Replicas,
    /// The replica Patroni names as the synchronous standby.
    SyncStandby,
    /// The member that the most recent fault aimed at `primary` hit.
    OldPrimary,
    /// Every Patroni member.
    Members,
    /// The current etcd leader (asked from etcd itself).
    EtcdLeader,
    /// Every etcd member.
    Etcd,
    /// A container by name (pg-1 .. pg-N, etcd-1 .. etcd-N, haproxy).
    Member(String),
    /// Citus: every member of a group (0 = the coordinator), e.g. `peers: {group: 0}` to cut a
    /// worker group off from the coordinator.
    Group(u32),
}

/// Expectations, each with its own budget measured from the most recent fault step. Unknown
/// keys inside one are errors: a misspelt key would otherwise run with a default or drop a check.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Expectation {
    /// A member other than the primary at the time of the fault becomes a running primary.
    NewLeader {
        /// Budget.
        within: Budget,
    },
    /// The primary's PostgreSQL timeline grows by `increments`.
    Timeline {
        /// How many timeline switches.
        #[serde(default = "default_increments")]
        increments: u32,
        /// Budget.
        within: Budget,
    },
    /// The target runs again as a replica (running or streaming) on the new timeline.
    Rejoins {
        /// Who must rejoin.
        target: Target,
        /// Budget.
        within: Budget,
    },
    /// For this long after the fault, the primary at the time of the fault stays the only
    /// primary: no promotion, no demotion (e.g. a paused etcd with failsafe_mode on).
    NoFailover {
        /// How long nothing may change.
        within: Budget,
    },
    /// The primary at the time of the fault stops being a running primary while still answering
    /// (Patroni demoted it), within the budget.
    PrimaryDemoted {
        /// Budget.
        within: Budget,
    },
    /// A write sent after the fault is acknowledged within the budget.
    WritableAgain {
        /// Budget.
        within: Budget,
    },
    /// From the fault to the end of the run, the longest time without an acknowledged write.
    MaxWriteUnavailability {
        /// The most it may be.
        max: Budget,
    },
    /// Every member is answering again and every non-primary is a streaming replica.
    ReplicationStreaming {
        /// Budget.
        within: Budget,
    },
    /// A Prometheus alert (defined in the monitoring rule files) reaches a state.
    Alert {
        /// The alert's name.
        name: String,
        /// The state to reach (`never`: must not fire during the window).
        state: AlertExpect,
        /// Budget (the window for `never`).
        within: Budget,
        /// Label matchers the alert instance must carry.
        #[serde(default)]
        labels: std::collections::BTreeMap<String, String>,
        /// Which API to read.
        #[serde(default)]
        source: AlertSourceName,
    },
    /// Citus: pg_dist_node on the coordinator's running primary names every group's running
    /// primary (or only `group`'s), and the group the fault hit has a primary other than the one
    /// at the time of the fault.
    PgDistNode {
        /// Only this group (default: every group).
        #[serde(default)]
        group: Option<u32>,
        /// Require the faulted group to have a primary other than the one at the fault (the
        /// default); `false` only checks that pg_dist_node agrees with the leaders (e.g. after a
        /// heal, when nothing had to change).
        #[serde(default = "default_true")]
        new_primary: bool,
        /// Budget.
        within: Budget,
    },
    /// Citus: writes routed to worker group `group` pause at most `max` (longest stretch without
    /// an acknowledged write to that group, from the fault to the end of the run), fail at most
    /// `errors` times (absent: counted, not limited — e.g. after a kill writes fail until
    /// pg_dist_node is fixed), and resume within `resumes_within`; optionally, the other groups'
    /// longest stretch during that pause stays under `others_max` (they keep writing).
    WritePause {
        /// The worker group.
        group: u32,
        /// The longest pause allowed.
        max: Budget,
        /// Failed writes to the group allowed (absent: not limited, only reported).
        #[serde(default)]
        errors: Option<u32>,
        /// The pause must end this long after the fault at the latest.
        #[serde(default)]
        resumes_within: Option<Budget>,
        /// The other groups' longest stretch without an acknowledged write during the pause.
        #[serde(default)]
        others_max: Option<Budget>,
    },
    /// The target (a named member, e.g. a switchover candidate) is a running primary.
    LeaderIs {
        /// Who must lead.
        target: Target,
        /// Budget.
        within: Budget,
    },
}

fn default_true() -> bool {
    true
}

fn default_increments() -> u32 {
    1
}

/// Whole-run properties.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Invariant {
    /// Never two members observed as primary at overlapping times.
    SinglePrimary,
    /// Every acknowledged write is present at the end of the run.
    NoAckedWriteLost,
}
