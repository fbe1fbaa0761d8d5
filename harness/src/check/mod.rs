//! Checks: pure functions of the timeline and the scenario's budgets. No I/O, no clock: the
//! caller passes `now`, so the same function decides "still waiting" during a run and the final
//! verdict afterwards, and unit tests drive it with synthetic timelines. [`judge`] derives every
//! final verdict of a run from the scenario and the recorded timeline alone.
//!
//! Layering inside: `verdict` and `member_history` at the bottom, then `timed` (the shared
//! deadline logic), then one file per check, then `evaluate` (the dispatch) and `judge`.
mod acked_writes;
mod alert;
mod audit_reads;
mod evaluate;
mod exec;
mod faults_undone;
mod judge;
mod leader_is;
mod member_history;
mod never_leader;
mod new_leader;
mod no_failover;
mod partial_transactions;
mod pg_dist_node;
mod pooler_recovers;
mod prepared_xacts;
mod primary_demoted;
mod rejoins;
mod replication_streaming;
mod single_primary;
mod timed;
mod timeline_increment;
mod verdict;
mod write_audit;
mod write_pause;
mod writes_after_fault;

pub use acked_writes::{longest_write_gap, no_acked_write_lost, WriteGap};
pub use alert::alert;
pub use evaluate::{evaluate_expectation, evaluate_invariant};
pub use exec::{answer_holds, bound_output, exec, ExecRecord, EXEC_OUTPUT_LIMIT};
pub use faults_undone::faults_undone;
pub use judge::{judge, observation_end};
pub use leader_is::leader_is;
#[cfg(test)]
pub(crate) use member_history::testkit;
pub use member_history::{describe_view, MemberHistory, Span, Stint};
pub use never_leader::never_leader;
pub use new_leader::new_leader;
pub use no_failover::no_failover;
pub use partial_transactions::no_partial_transactions;
pub use pg_dist_node::pg_dist_node;
pub use pooler_recovers::{measure as measure_pooler_window, pooler_recovers, ErrorKind, PoolerWindow};
pub use prepared_xacts::no_orphaned_prepared_transactions;
pub use primary_demoted::primary_demoted;
pub use rejoins::rejoins;
pub use replication_streaming::replication_streaming;
pub use single_primary::{primary_overlaps, single_primary, Overlap};
pub use timeline_increment::timeline_increment;
pub use verdict::{CheckContext, Status, Verdict};
pub use write_audit::{definite_failure, write_audit};
pub use write_pause::{write_pause, WritePauseLimits};
pub use writes_after_fault::{max_write_unavailability, no_write_acked, writable_again};

/// Every check's name as verdicts and scenario files spell it, each defined once in its
/// check's file. Compare a verdict's `check` with these, never with a string literal.
pub mod names {
    pub use super::acked_writes::NAME as NO_ACKED_WRITE_LOST;
    pub use super::alert::NAME as ALERT;
    pub use super::exec::NAME as EXEC;
    pub use super::faults_undone::NAME as FAULTS_UNDONE;
    pub use super::leader_is::NAME as LEADER_IS;
    pub use super::never_leader::NAME as NEVER_LEADER;
    pub use super::new_leader::NAME as NEW_LEADER;
    pub use super::no_failover::NAME as NO_FAILOVER;
    pub use super::partial_transactions::NAME as NO_PARTIAL_TRANSACTIONS;
    pub use super::pg_dist_node::NAME as PG_DIST_NODE;
    pub use super::pooler_recovers::NAME as POOLER_RECOVERS;
    pub use super::prepared_xacts::NAME as NO_ORPHANED_PREPARED_TRANSACTIONS;
    pub use super::primary_demoted::NAME as PRIMARY_DEMOTED;
    pub use super::rejoins::NAME as REJOINS;
    pub use super::replication_streaming::NAME as REPLICATION_STREAMING;
    pub use super::single_primary::NAME as SINGLE_PRIMARY;
    pub use super::timeline_increment::NAME as TIMELINE;
    pub use super::write_audit::NAME as WRITE_AUDIT;
    pub use super::write_pause::NAME as WRITE_PAUSE;
    pub use super::writes_after_fault::{MAX_WRITE_UNAVAILABILITY, NO_WRITE_ACKED, WRITABLE_AGAIN};
}
