//! Checks: pure functions of the timeline and the scenario's budgets. No I/O, no clock: the
//! caller passes `now`, so the same function decides "still waiting" during a run and the final
//! verdict afterwards, and unit tests drive it with synthetic timelines.
mod acked_writes;
mod evaluate;
mod member_history;
mod new_leader;
mod rejoins;
mod single_primary;
mod timeline_increment;
mod verdict;

pub use acked_writes::{longest_write_gap, no_acked_write_lost, WriteGap};
pub use evaluate::{evaluate_expectation, evaluate_invariant};
pub use member_history::{describe_view, MemberHistory, Span, Stint};
pub use new_leader::new_leader;
pub use rejoins::rejoins;
pub use single_primary::{primary_overlaps, single_primary, Overlap};
pub use timeline_increment::timeline_increment;
pub use verdict::{CheckContext, Status, Verdict};
