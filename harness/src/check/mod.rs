//! Checks: pure functions of the timeline and the scenario's budgets. No I/O, no clock: the
//! caller passes `now`, so the same function decides "still waiting" during a run and the final
//! verdict afterwards, and unit tests drive it with synthetic timelines.
mod verdict;

pub use verdict::{CheckContext, Status, Verdict};
