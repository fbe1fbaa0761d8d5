//! `no_failover`: for the whole window after the fault, no other member becomes a running
//! primary and the primary at the time of the fault is never seen demoted (answering with another
//! role). A restart of PostgreSQL in place (role still primary, state starting) is no failover.
use super::member_history::{budget_text, describe_view, secs, MemberHistory};
use super::verdict::{CheckContext, Status, Verdict};
use crate::scenario::Budget;
use crate::timeline::Timeline;

/// The check's name, as verdicts and scenario files spell it.
pub const NAME: &str = "no_failover";

/// Evaluates `no_failover: {within}`: Fail at the first change inside the window, Pending until
/// the window has passed, then Pass.
pub fn no_failover(within: Budget, timeline: &Timeline, ctx: &CheckContext) -> Verdict {
    let history = MemberHistory::for_context(timeline, ctx);
    let end = ctx.anchor + within.as_millis();
    let verdict = ctx.verdicts(
        NAME,
        format!("no change for {}", budget_text(within).trim_start_matches("≤ ")),
        Some(within.as_millis()),
    );
    let Some(leader) = ctx.leader_at_anchor.as_deref() else {
        return verdict(Status::Fail, "no running primary was observed when the fault was applied".into(), None);
    };
    // The first change inside the window: another member seen as primary, or the leader seen
    // answering as something else.
    let other_primary = history
        .all_spans()
        .filter(|s| s.member != leader && s.view.is_running_primary() && s.to >= ctx.anchor && s.from <= end)
        .map(|s| (s.from.max(ctx.anchor), format!("{} became primary", s.member)));
    let leader_changed = history
        .spans(leader)
        .iter()
        .filter(|s| s.from >= ctx.anchor && s.from <= end && s.view.reachable)
        .filter(|s| s.view.role.is_some_and(|r| r != crate::timeline::Role::Primary))
        .map(|s| (s.from, format!("{leader} seen as {}", describe_view(s.view))));
    if let Some((at, what)) = other_primary.chain(leader_changed).min_by_key(|(at, _)| *at) {
        let after = at.saturating_sub(ctx.anchor);
        return verdict(Status::Fail, format!("{what} after {}", secs(after)), Some(after));
    }
    if ctx.now < end {
        return verdict(
            Status::Pending,
            format!("{leader} still the only primary after {}", secs(ctx.now - ctx.anchor)),
            None,
        );
    }
    verdict(
        Status::Pass,
        format!("{leader} stayed the only primary for {}", secs(within.as_millis())),
        Some(within.as_millis()),
    )
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
    fn quiet_window_passes_only_after_it_ends() {
        let tl = Tl::new().healthy().note(45_000).build();
        assert_eq!(no_failover(Budget(Duration::from_secs(30)), &tl, &ctx(20_000)).status, Status::Pending);
        assert_eq!(no_failover(Budget(Duration::from_secs(30)), &tl, &ctx(45_000)).status, Status::Pass);
    }

    #[test]
    fn demotion_inside_the_window_fails() {
        let tl = Tl::new().healthy().poll(17_000, "pg-1", replica(1)).note(45_000).build();
        let v = no_failover(Budget(Duration::from_secs(30)), &tl, &ctx(45_000));
        assert_eq!(v.status, Status::Fail, "{v:?}");
        assert_eq!(v.observed_ms, Some(7_000));
    }

    #[test]
    fn restart_in_place_is_not_a_failover() {
        let tl = Tl::new()
            .healthy()
            .poll(12_000, "pg-1", view(crate::timeline::Role::Primary, "starting", 1))
            .poll(14_000, "pg-1", primary(1))
            .note(45_000)
            .build();
        let v = no_failover(Budget(Duration::from_secs(30)), &tl, &ctx(45_000));
        assert_eq!(v.status, Status::Pass, "{v:?}");
    }

    #[test]
    fn promotion_after_the_window_is_fine() {
        let tl = Tl::new().healthy().poll(50_000, "pg-2", primary(2)).note(60_000).build();
        let v = no_failover(Budget(Duration::from_secs(30)), &tl, &ctx(60_000));
        assert_eq!(v.status, Status::Pass, "{v:?}");
    }
}
