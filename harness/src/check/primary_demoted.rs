//! `primary_demoted`: the primary at the time of the fault is observed answering but no longer
//! as a running primary (Patroni demoted it: it lost the DCS, or a switchover moved it away).
use super::member_history::{describe_view, MemberHistory};
use super::timed::{timed_verdict, Found};
use super::verdict::{CheckContext, Status, Verdict};
use crate::scenario::Budget;
use crate::timeline::Timeline;

/// The check's name, as verdicts and scenario files spell it.
pub const NAME: &str = "primary_demoted";

/// Evaluates `primary_demoted: {within}` from `ctx.anchor`. An unreachable member does not
/// count: we must see it answer as demoted.
pub fn primary_demoted(within: Budget, timeline: &Timeline, ctx: &CheckContext) -> Verdict {
    let history = MemberHistory::for_context(timeline, ctx);
    let Some(old) = ctx.leader_at_anchor.as_deref() else {
        let mut v = timed_verdict(NAME, ctx, within, None, "no primary at the fault", &history);
        v.status = Status::Fail;
        v.observed = "no running primary was observed when the fault was applied".into();
        return v;
    };
    let found = history
        .spans(old)
        .iter()
        .filter(|s| s.from >= ctx.anchor && s.view.reachable && !s.view.is_running_primary())
        .map(|s| Found { at: s.from, what: format!("{old} {}", describe_view(s.view)) })
        .next();
    timed_verdict(NAME, ctx, within, found, &format!("{old} not seen demoted"), &history)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::check::member_history::testkit::*;

    fn ctx(now: u64) -> CheckContext {
        pg1_fault_at_10s(now)
    }

    #[test]
    fn demotion_seen_passes() {
        let tl = Tl::new().healthy().poll(16_000, "pg-1", replica(1)).note(30_000).build();
        let v = primary_demoted(Budget(Duration::from_secs(15)), &tl, &ctx(30_000));
        assert_eq!(v.status, Status::Pass, "{v:?}");
        assert_eq!(v.observed_ms, Some(6_000));
    }

    #[test]
    fn unreachable_is_not_demoted() {
        let tl = Tl::new().healthy().poll(16_000, "pg-1", down()).note(30_000).build();
        let v = primary_demoted(Budget(Duration::from_secs(15)), &tl, &ctx(30_000));
        assert_eq!(v.status, Status::Fail, "{v:?}");
    }
}
