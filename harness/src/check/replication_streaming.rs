//! `replication_streaming`: every observed member answers again, one is a running primary and
//! every other one is a streaming replica on the primary's timeline.
use super::member_history::MemberHistory;
use super::timed::{timed_verdict, Found};
use super::verdict::{CheckContext, Verdict};
use crate::scenario::Budget;
use crate::timeline::{Millis, Timeline};

/// The check's name, as verdicts and scenario files spell it.
pub const NAME: &str = "replication_streaming";

/// The first time ≥ `from` at which every member's view satisfies the condition.
fn first_all_streaming(history: &MemberHistory<'_>, from: Millis) -> Option<Millis> {
    let members = history.members();
    let mut candidates: Vec<Millis> =
        members.iter().flat_map(|m| history.spans(m).iter().map(|s| s.from.max(from))).filter(|t| *t >= from).collect();
    candidates.push(from);
    candidates.sort_unstable();
    candidates.dedup();
    candidates.into_iter().find(|t| {
        let views: Vec<_> = members.iter().filter_map(|m| history.view_at(m, *t).filter(|s| s.to >= *t)).collect();
        if views.len() != members.len() {
            return false;
        }
        let primaries: Vec<_> = views.iter().filter(|s| s.view.is_running_primary()).collect();
        let [primary] = primaries.as_slice() else { return false };
        views.iter().filter(|s| !s.view.is_running_primary()).all(|s| {
            s.view.is_healthy_replica()
                && s.view.state.as_deref() == Some("streaming")
                && s.view.timeline == primary.view.timeline
        })
    })
}

/// Evaluates `replication_streaming: {within}` from `ctx.anchor`.
pub fn replication_streaming(within: Budget, timeline: &Timeline, ctx: &CheckContext) -> Verdict {
    let history = MemberHistory::for_context(timeline, ctx);
    let found = first_all_streaming(&history, ctx.anchor)
        .map(|at| Found { at, what: format!("{} members: one primary, the rest streaming", history.members().len()) });
    timed_verdict(NAME, ctx, within, found, "not every replica streaming", &history)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::check::member_history::testkit::*;
    use crate::check::Status;
    use crate::timeline::Role;

    fn ctx(now: u64) -> CheckContext {
        pg1_fault_at_10s(now)
    }

    #[test]
    fn passes_when_the_last_replica_streams_again() {
        let tl = Tl::new()
            .first(1_000, "pg-1", primary(1))
            .first(1_000, "pg-2", replica(1))
            .poll(9_000, "pg-2", view(Role::Replica, "running", 1))
            .poll(14_000, "pg-2", replica(1))
            .note(30_000)
            .build();
        let v = replication_streaming(Budget(Duration::from_secs(30)), &tl, &ctx(30_000));
        assert_eq!(v.status, Status::Pass, "{v:?}");
        assert_eq!(v.observed_ms, Some(4_000));
    }
}
