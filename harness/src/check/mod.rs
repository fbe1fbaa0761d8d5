//! Checks: pure functions of the timeline and the scenario's budgets. No I/O, no clock: the
//! caller passes `now`, so the same function decides "still waiting" during a run and the final
//! verdict afterwards, and unit tests drive it with synthetic timelines.
mod acked_writes;
mod alert;
mod evaluate;
mod faults_undone;
mod leader_is;
mod member_history;
mod new_leader;
mod no_failover;
mod pg_dist_node;
mod primary_demoted;
mod rejoins;
mod replication_streaming;
mod single_primary;
mod timeline_increment;
mod verdict;
mod write_pause;
mod writes_after_fault;

pub use acked_writes::{longest_write_gap, no_acked_write_lost, WriteGap};
pub use alert::alert;
pub use evaluate::{evaluate_expectation, evaluate_invariant};
pub use faults_undone::faults_undone;
pub use leader_is::leader_is;
pub use member_history::{describe_view, MemberHistory, Span, Stint};
pub use new_leader::new_leader;
pub use no_failover::no_failover;
pub use pg_dist_node::pg_dist_node;
pub use primary_demoted::primary_demoted;
pub use rejoins::rejoins;
pub use replication_streaming::replication_streaming;
pub use single_primary::{primary_overlaps, single_primary, Overlap};
pub use timeline_increment::timeline_increment;
pub use verdict::{CheckContext, Status, Verdict};
pub use write_pause::{write_pause, WritePauseLimits};
pub use writes_after_fault::{max_write_unavailability, writable_again};
