//! What every lane function gets: the report, the time scale, and each member's history up to
//! the end of observation.
use super::geometry::Scale;
use crate::check::MemberHistory;
use crate::report::model::{run_duration, RunReport};
use crate::timeline::{EventKind, Millis};

/// What every lane function gets.
pub(super) struct Ctx<'a> {
    pub(super) report: &'a RunReport,
    pub(super) scale: Scale,
    /// The last time the cluster was observed (teardown starts after it); member views end here.
    pub(super) observed_until: Millis,
    pub(super) history: MemberHistory<'a>,
}

impl<'a> Ctx<'a> {
    pub(super) fn new(report: &'a RunReport) -> Self {
        let timeline = &report.timeline;
        let end = run_duration(report).max(1_000);
        // Observation stops when teardown begins; without that phase, at the last event.
        let observed_until = timeline
            .events
            .iter()
            .rev()
            .find_map(|e| matches!(&e.kind, EventKind::Phase { name } if name == "teardown").then_some(e.at))
            .unwrap_or(end);
        Ctx {
            report,
            scale: Scale { end },
            observed_until,
            history: MemberHistory::from_timeline(timeline, observed_until),
        }
    }
}
