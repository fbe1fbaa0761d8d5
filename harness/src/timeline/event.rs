//! Event types recorded on the timeline. Times are milliseconds since the run started
//! (monotonic clock), so checks never depend on wall-clock jumps.
use serde::{Deserialize, Serialize};

/// Milliseconds since the run's start (monotonic).
pub type Millis = u64;

/// One timestamped fact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// When it was observed or done, in ms since the run started.
    pub at: Millis,
    /// What happened.
    #[serde(flatten)]
    pub kind: EventKind,
}

/// The role Patroni reports for a member (REST `role`), normalised across Patroni versions
/// (`master` before 4.0 is `primary`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Accepts writes (leader of a normal cluster).
    Primary,
    /// Streams from, or follows, the primary.
    Replica,
    /// Leader of a standby cluster: read-only, so it is not counted as a primary.
    StandbyLeader,
    /// Patroni answered with a role we do not know.
    Other,
}

/// What one poll of a member's Patroni REST API returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberView {
    /// Whether the REST API answered at all.
    pub reachable: bool,
    /// Role, when reachable.
    pub role: Option<Role>,
    /// Patroni's `state` (running, streaming, starting, stopped, crashed, ...).
    pub state: Option<String>,
    /// PostgreSQL timeline, when reported.
    pub timeline: Option<u64>,
    /// Whether Patroni reports this member as in the cluster's sync standby set.
    #[serde(default)]
    pub sync_standby: bool,
    /// Why the poll failed, when it did (shortened error text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl MemberView {
    /// A member that answers as a running primary: the only kind that accepts writes.
    pub fn is_running_primary(&self) -> bool {
        self.reachable && self.role == Some(Role::Primary) && self.state.as_deref() == Some("running")
    }

    /// A member that answers as a replica that is running or streaming.
    pub fn is_healthy_replica(&self) -> bool {
        self.reachable
            && self.role == Some(Role::Replica)
            && matches!(self.state.as_deref(), Some("running" | "streaming"))
    }

    /// A replica whose WAL receiver streams from its upstream: only such a replica holds what the
    /// primary acknowledged a moment ago ("running" may still be replaying from its own pg_wal).
    pub fn is_streaming_replica(&self) -> bool {
        self.reachable && self.role == Some(Role::Replica) && self.state.as_deref() == Some("streaming")
    }
}

/// How a write attempt ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum WriteOutcome {
    /// The server acknowledged the commit at `acked_at`.
    Acked {
        /// When the acknowledgement arrived.
        acked_at: Millis,
    },
    /// The attempt failed; it may or may not have committed.
    Failed {
        /// When the failure was seen.
        failed_at: Millis,
        /// Error text.
        error: String,
    },
}

/// One row of Citus's pg_dist_node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DistNodeRow {
    /// `groupid` (0 = coordinator).
    pub group: u32,
    /// `nodename` (Patroni writes `<host>-demoted` while a worker switchover is in flight).
    pub node: String,
    /// `nodeport`.
    pub port: i32,
    /// `noderole`: primary or secondary.
    pub role: String,
    /// `isactive`.
    pub active: bool,
}

/// One line of PgBouncer's `SHOW POOLS` (the workload's pool): who waits for what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolerPools {
    /// Clients linked to a server connection or idle with nothing waiting (`cl_active`).
    pub cl_active: i64,
    /// Clients that sent a query and have no server connection yet (`cl_waiting`).
    pub cl_waiting: i64,
    /// Server connections linked to a client (`sv_active`).
    pub sv_active: i64,
    /// Server connections unused and ready (`sv_idle`).
    pub sv_idle: i64,
    /// Server connections idle past `server_check_delay`, to be checked before reuse (`sv_used`).
    pub sv_used: i64,
    /// Server connections running `server_reset_query` or `server_check_query` (`sv_tested`).
    pub sv_tested: i64,
    /// Server connections logging in (`sv_login`).
    pub sv_login: i64,
    /// How long the oldest waiting client has waited, in ms (`maxwait` + `maxwait_us`).
    pub maxwait_ms: u64,
}

/// Counters of PgBouncer's `SHOW STATS` for the workload's database, since PgBouncer started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolerStats {
    /// Transactions pooled (`total_xact_count`).
    pub xact_count: i64,
    /// Queries pooled (`total_query_count`).
    pub query_count: i64,
    /// Time clients spent waiting for a server connection, in µs (`total_wait_time`).
    pub wait_time_us: i64,
}

/// Everything the timeline can hold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    /// A run phase began (images, start, healthy, steps, audit, teardown).
    Phase {
        /// Phase name.
        name: String,
    },
    /// A scenario step began.
    StepStarted {
        /// Index in the scenario's `steps`.
        index: usize,
        /// Human description, e.g. "fault kill primary".
        description: String,
    },
    /// A scenario step finished (successfully or not).
    StepFinished {
        /// Index in the scenario's `steps`.
        index: usize,
        /// Whether the step did what it should.
        ok: bool,
        /// What was seen.
        detail: String,
    },
    /// An expect step began: what its expectations count from and compare against. With the
    /// scenario this is all its verdicts need, so they can be judged again from report.json.
    ExpectOpened {
        /// Index of the expect step in the scenario's `steps`.
        step: usize,
        /// Time of the fault (or heal) the budgets count from: the most recent one before.
        anchor: Millis,
        /// The running primary when that fault was applied (of `group`, for Citus).
        leader_at_anchor: Option<String>,
        /// The member hit by the most recent fault aimed at `primary`.
        old_primary: Option<String>,
        /// Citus: the group the expectations look at; `None` looks at every member.
        group: Option<u32>,
        /// The member `highest_priority` names: the highest `failover_priority` among the
        /// members other than `leader_at_anchor` that may be promoted (`None` on a tie).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        highest_priority: Option<String>,
    },
    /// The observers stopped: nothing later was observed, so final verdicts are judged up to
    /// this event's time (a state seen last is not assumed to last through teardown).
    ObservationEnded {
        /// The error that ended the run early, if any (then `faults_undone` is not judged: the
        /// run may have stopped before it could undo its faults).
        run_error: Option<String>,
    },
    /// A member's observed state changed (only changes are recorded).
    Member {
        /// Member name (e.g. `pg-1`).
        member: String,
        /// The new view.
        view: MemberView,
        /// The last time the previous view was still observed: the previous state certainly
        /// held until then. `None` for a member's first observation.
        prev_seen_at: Option<Millis>,
    },
    /// A member's own answer to "do you accept writes?" changed (the split-brain probe asks its
    /// PostgreSQL directly; only changes are recorded).
    Writable {
        /// Member name.
        member: String,
        /// `Some(true)`: accepts writes; `Some(false)`: in recovery; `None`: no answer.
        writable: Option<bool>,
        /// The last time the previous answer was still given; `None` for the first answer.
        prev_seen_at: Option<Millis>,
    },
    /// A fault was applied to concrete members/containers.
    FaultApplied {
        /// Step index.
        step: usize,
        /// Fault name (kill, start, ...).
        fault: String,
        /// The resolved targets.
        targets: Vec<String>,
    },
    /// The fault's effect was verified (or not).
    FaultVerified {
        /// Step index.
        step: usize,
        /// Whether the effect was seen.
        ok: bool,
        /// The proof (e.g. "pg-1: container state exited").
        proof: String,
    },
    /// A link fault's measurement: the link timed from inside its source before and during the
    /// fault (what is timed depends on the toxic: the round trip, the close, a transfer).
    LinkMeasured {
        /// Step index.
        step: usize,
        /// The container the link starts in.
        source: String,
        /// Where it goes (`pg-1:5432`).
        destination: String,
        /// The toxic (`latency 300 ms ± 100 ms`).
        toxic: String,
        /// The probe's median time before the fault, in milliseconds.
        before_ms: f64,
        /// Its median time during the fault.
        during_ms: f64,
        /// What was measured, in words.
        measured: String,
    },
    /// A link's query filter (`link_on_query`) acted on a message the source sent: it killed,
    /// reset or held the connection instead of forwarding the message.
    LinkFilterActed {
        /// Step index.
        step: usize,
        /// The container(s) the link starts in.
        source: String,
        /// Where it goes (`worker1-1:5432`).
        destination: String,
        /// The message's SQL (its first 120 characters).
        query: String,
        /// What was done (`kill`, `reset`, `delay 500 ms`).
        action: String,
        /// Which match of the pattern it was, counted over the link's connections from the fault on.
        nth: u64,
    },
    /// A fault was undone (explicitly, after its duration, or at teardown).
    FaultHealed {
        /// Step index of the fault.
        step: usize,
        /// What was undone.
        detail: String,
    },
    /// One write attempted by the workload.
    Write {
        /// Row id (unique in the run).
        id: u64,
        /// Writer index.
        writer: u32,
        /// Citus: the worker group the row is routed to (from its shard's placement).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        group: Option<u32>,
        /// A multi-shard transaction's first row id, on each of its rows (they commit or fail
        /// together: one outcome, one event per row).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        txn: Option<u64>,
        /// When the statement was sent (the event's `at` is when it ended).
        sent_at: Millis,
        /// How it ended.
        #[serde(flatten)]
        outcome: WriteOutcome,
    },
    /// The end-of-run audit of the written table on one member: which ids are present.
    WriteAudit {
        /// Present ids as inclusive ranges (compact: ids are mostly sequential).
        present: Vec<(u64, u64)>,
        /// The member the audit read from.
        source: String,
        /// Why that member and what it said about itself (`None` in reports written before the
        /// audit read every member: then it read the primary through HAProxy).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        read: Option<super::AuditRead>,
    },
    /// The end-of-run audit could not read a member's rows (it is then not compared).
    AuditSkipped {
        /// The member.
        member: String,
        /// Why, e.g. `failed to connect to 127.0.0.1:32771: connection refused`.
        reason: String,
    },
    /// The system identifier a member's Patroni reported (`database_system_identifier` of
    /// `GET /patroni`), recorded when first seen and when it changes.
    MemberIdentity {
        /// Member name.
        member: String,
        /// The identifier, as Patroni spells it (decimal).
        system_identifier: String,
    },
    /// An alert instance changed state in Prometheus or Alertmanager.
    Alert {
        /// Alert name.
        alert: String,
        /// The instance's labels (without `alertname`).
        labels: std::collections::BTreeMap<String, String>,
        /// New state: inactive, pending, firing, resolved.
        state: String,
        /// State before.
        from: String,
        /// prometheus or alertmanager.
        source: String,
        /// Wall clock (Unix ms) when pgdrill recorded the change: with `source_at` and the
        /// source's own record it gives the observation latency.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seen_unix_ms: Option<u64>,
        /// The source's time for the instance (Unix ms): Prometheus's `activeAt` (start of
        /// pending), Alertmanager's `startsAt` (when Prometheus marked it firing).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        source_unix_ms: Option<u64>,
    },
    /// Citus: pg_dist_node as read on the coordinator's running primary (recorded when the rows
    /// or the coordinator read from change).
    DistNodes {
        /// The coordinator member it was read on.
        source: String,
        /// Every row, ordered by group, role and name.
        rows: Vec<DistNodeRow>,
    },
    /// Citus: the prepared transactions on a worker group's running primary older than the
    /// observer's threshold (orphans: a two-phase commit that never got its COMMIT or ROLLBACK
    /// PREPARED), recorded when the set or the read's success changes.
    PreparedXacts {
        /// The worker member read.
        member: String,
        /// How many there are.
        count: u64,
        /// Their names (the first few).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        gids: Vec<String>,
        /// Why the member could not be read (the count is then unknown, recorded as 0).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// Citus: one transaction Patroni's citus handler ran on the coordinator (from its DEBUG log),
    /// e.g. the one that keeps a worker group's writes waiting during a switchover. The event's
    /// `at` is when it ended.
    CitusTransaction {
        /// The coordinator member whose Patroni ran it.
        member: String,
        /// When BEGIN was logged.
        began_at: Millis,
        /// commit or rollback.
        outcome: String,
        /// The statements in between, as logged.
        statements: Vec<String>,
    },
    /// What a container looked like after the faults were undone, before teardown.
    ContainerAudit {
        /// Container short name.
        container: String,
        /// Docker's status (running, paused, exited, ...).
        status: String,
        /// Whether it is attached to the run network.
        on_network: bool,
        /// pgdrill iptables rules left in it (None when it could not be asked, e.g. stopped).
        iptables_rules: Option<usize>,
    },
    /// Something a fault left on a container after the faults were undone, as the fault itself
    /// detects it (e.g. a CPU limit still set), before teardown.
    FaultLeftover {
        /// Container short name.
        container: String,
        /// The fault whose leftover it is.
        fault: String,
        /// What is left.
        what: String,
    },
    /// An `exec` step ran its command (the last attempt's answer; earlier attempts did not
    /// answer as expected). The event's `at` is when the last attempt ended.
    Exec {
        /// Index of the exec step in the scenario's `steps`.
        step: usize,
        /// The container it ran in (the resolved target).
        container: String,
        /// The program and its arguments.
        command: Vec<String>,
        /// When the first attempt began.
        started_at: Millis,
        /// How many times the command ran.
        attempts: u32,
        /// The last attempt's exit code (`None` when it could not run or was cut off).
        exit_code: Option<i64>,
        /// The last attempt's combined output, bounded (see `check::EXEC_OUTPUT_LIMIT`).
        output: String,
        /// Why the last attempt gave no exit code (the executor failed, or `within` ran out).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// What PgBouncer's admin console said (`SHOW POOLS`, `SHOW STATS`), recorded when the pool
    /// line or the console's answer changes, and at least every 2 s meanwhile.
    Pooler {
        /// The pooled database.
        database: String,
        /// The pool's `SHOW POOLS` line (`None` when the console did not answer).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pools: Option<PoolerPools>,
        /// The database's `SHOW STATS` counters.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stats: Option<PoolerStats>,
        /// Why the console did not answer.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// `pgdrill drill`: whether this drill runs on the cluster an earlier drill left parked, and
    /// the baseline check that decided it (recorded before the drill's first step).
    ClusterBaseline {
        /// Which cluster, and which drill left it.
        origin: super::ClusterOrigin,
        /// Each part of the baseline and what was found.
        checks: Vec<super::BaselineCheck>,
        /// Every check passed and the drill runs on that cluster (else it was torn down and a
        /// fresh one started).
        reused: bool,
    },
    /// A free-form note (warnings, container exits, ...).
    Note {
        /// Where it came from (observer, runtime, workload, ...).
        source: String,
        /// The text.
        text: String,
    },
}
