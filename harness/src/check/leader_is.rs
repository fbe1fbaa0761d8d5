//! `leader_is`: a named member (e.g. the switchover candidate) is observed as a running primary
//! within the budget.
use super::member_history::MemberHistory;
use super::timed::{timed_verdict, Found};
use super::verdict::{CheckContext, Status, Verdict};
use crate::scenario::{Budget, Target};
use crate::timeline::Timeline;

/// The check's name, as verdicts and scenario files spell it.
pub const NAME: &str = "leader_is";

/// Evaluates `leader_is: {target, within}` from `ctx.anchor`.
pub fn leader_is(target: &Target, within: Budget, timeline: &Timeline, ctx: &CheckContext) -> Verdict {
    let history = MemberHistory::for_context(timeline, ctx);
    let Some(member) = ctx.resolve(target) else {
        let mut v = timed_verdict(NAME, ctx, within, None, "target not resolvable", &history);
        v.status = Status::Fail;
        v.observed = format!("target {target:?} does not name one member").to_lowercase();
        return v;
    };
    let found = history
        .spans(&member)
        .iter()
        .filter(|s| s.to >= ctx.anchor && s.view.is_running_primary())
        .map(|s| Found { at: s.from.max(ctx.anchor), what: format!("{member} running primary") })
        .next();
    timed_verdict(NAME, ctx, within, found, &format!("{member} not a running primary"), &history)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::check::member_history::testkit::*;

    fn ctx(now: u64) -> CheckContext {
        pg1_fault_at_10s(now)
    }

    fn switchover_to(member: &str) -> Timeline {
        Tl::new().healthy().poll(11_000, "pg-1", replica(2)).poll(12_500, member, primary(2)).note(30_000).build()
    }

    #[test]
    fn candidate_becoming_leader_passes() {
        let v = leader_is(
            &Target::Member("pg-3".into()),
            Budget(Duration::from_secs(30)),
            &switchover_to("pg-3"),
            &ctx(30_000),
        );
        assert_eq!(v.status, Status::Pass, "{v:?}");
        assert_eq!(v.observed_ms, Some(2_500));
    }

    #[test]
    fn another_member_becoming_leader_fails_after_the_budget() {
        let v = leader_is(
            &Target::Member("pg-3".into()),
            Budget(Duration::from_secs(10)),
            &switchover_to("pg-2"),
            &ctx(30_000),
        );
        assert_eq!(v.status, Status::Fail, "{v:?}");
        assert!(v.observed.contains("pg-3 not a running primary"), "{}", v.observed);
    }
}
