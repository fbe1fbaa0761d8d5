//! `new_leader`: after the fault, a member other than the primary at the time of the fault is
//! observed as a running primary within the budget.
use super::member_history::MemberHistory;
use super::timed::{timed_verdict, Found};
use super::verdict::{CheckContext, Verdict};
use crate::scenario::Budget;
use crate::timeline::Timeline;

/// The check's name, as verdicts and scenario files spell it.
pub const NAME: &str = "new_leader";

/// Evaluates `new_leader: {within}` from `ctx.anchor`. `observed_ms` is the time from the fault
/// to the first observation of the new primary (the detection latency reports quote).
pub fn new_leader(within: Budget, timeline: &Timeline, ctx: &CheckContext) -> Verdict {
    let history = MemberHistory::for_context(timeline, ctx);
    let old = ctx.leader_at_anchor.as_deref();
    // A span that started before the anchor but was still observed at or after it counts from
    // the anchor: that member was certainly a running primary then.
    let found = history
        .primary_spans_since(ctx.anchor)
        .filter(|s| Some(s.member) != old)
        .map(|s| (s.from.max(ctx.anchor), s))
        .min_by(|(ta, a), (tb, b)| ta.cmp(tb).then_with(|| super::member_history::natural_cmp(a.member, b.member)))
        .map(|(at, s)| {
            let tl = s.view.timeline.map(|t| format!(" on tl {t}")).unwrap_or_default();
            Found { at, what: format!("{} running primary{tl}", s.member) }
        });
    let missing = match old {
        Some(old) => format!("no new primary (other than {old})"),
        None => "no new primary".to_string(),
    };
    timed_verdict(NAME, ctx, within, found, &missing, &history)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::check::member_history::testkit::*;
    use crate::check::Status;

    fn ctx(anchor: u64, now: u64) -> CheckContext {
        CheckContext {
            step: 2,
            anchor,
            now,
            leader_at_anchor: Some("pg-1".into()),
            old_primary: Some("pg-1".into()),
            group: None,
            highest_priority: None,
        }
    }

    fn secs(s: u64) -> Budget {
        Budget(Duration::from_secs(s))
    }

    /// pg-1 killed at 10s, pg-2 promoted and first seen as primary at 29.4s.
    fn failover() -> Timeline {
        Tl::new()
            .healthy()
            .poll(10_100, "pg-1", down())
            .poll(28_000, "pg-2", view(crate::timeline::Role::Primary, "starting", 1))
            .poll(29_400, "pg-2", primary(2))
            .poll(29_600, "pg-3", replica(2))
            .note(40_000)
            .build()
    }

    #[test]
    fn a_group_scoped_check_ignores_other_groups() {
        // worker1's switchover at 10s; a promotion in worker2 must not count for group 1.
        let tl = Tl::new()
            .first(0, "worker1-1", primary(1))
            .first(0, "worker2-1", primary(1))
            .poll(11_000, "worker2-2", primary(2))
            .poll(14_000, "worker1-2", primary(2))
            .note(20_000)
            .build();
        let ctx = CheckContext {
            step: 2,
            anchor: 10_000,
            now: 20_000,
            leader_at_anchor: Some("worker1-1".into()),
            old_primary: None,
            group: Some(1),
            highest_priority: None,
        };
        let v = new_leader(secs(10), &tl, &ctx);
        assert_eq!(v.status, Status::Pass, "{v:?}");
        assert_eq!(v.observed, "worker1-2 running primary on tl 2 after 4.0s");
    }

    #[test]
    fn passes_with_the_latency_from_the_fault() {
        let v = new_leader(secs(45), &failover(), &ctx(10_000, 40_000));
        assert_eq!(v.status, Status::Pass, "{v:?}");
        assert_eq!(v.observed, "pg-2 running primary on tl 2 after 19.4s");
        assert_eq!(v.observed_ms, Some(19_400));
        assert_eq!(v.budget, "≤ 45s");
        assert_eq!(v.budget_ms, Some(45_000));
        assert_eq!(v.step, Some(2));
    }

    #[test]
    fn too_late_fails_with_observed_against_budget() {
        let v = new_leader(secs(15), &failover(), &ctx(10_000, 40_000));
        assert_eq!(v.status, Status::Fail);
        assert_eq!(v.observed_ms, Some(19_400));
        assert!(v.observed.contains("after 19.4s"), "{}", v.observed);
        assert!(v.observed.contains("15s budget"), "{}", v.observed);
    }

    #[test]
    fn pending_before_the_budget_ends() {
        let v = new_leader(secs(45), &failover(), &ctx(10_000, 20_000));
        assert_eq!(v.status, Status::Pending);
        assert!(v.observed.contains("10.0s since the fault"), "{}", v.observed);
        assert!(v.observed.contains("pg-1 unreachable"), "{}", v.observed);
    }

    #[test]
    fn fails_once_the_budget_has_passed_and_says_what_was_last_seen() {
        let v = new_leader(Budget(Duration::from_secs(1)), &failover(), &ctx(10_000, 11_500));
        assert_eq!(v.status, Status::Fail);
        assert_eq!(
            v.observed,
            "no new primary (other than pg-1) within 1s; last seen: pg-1 unreachable, pg-2 replica streaming tl 1, pg-3 replica streaming tl 1"
        );
        assert_eq!(v.observed_ms, None);
    }

    #[test]
    fn the_old_leader_coming_back_is_not_a_new_leader() {
        let tl = Tl::new().healthy().poll(10_100, "pg-1", down()).poll(15_000, "pg-1", primary(1)).note(60_000).build();
        let v = new_leader(secs(45), &tl, &ctx(10_000, 60_000));
        assert_eq!(v.status, Status::Fail);
    }

    #[test]
    fn an_unreachable_member_is_not_a_primary() {
        let mut lost = down();
        lost.role = Some(crate::timeline::Role::Primary);
        let tl = Tl::new().healthy().poll(12_000, "pg-2", lost).note(60_000).build();
        let v = new_leader(secs(45), &tl, &ctx(10_000, 60_000));
        assert_eq!(v.status, Status::Fail);
    }

    #[test]
    fn a_primary_that_ended_before_the_fault_does_not_count() {
        // pg-2 was primary earlier (a previous failover), then a replica again.
        let tl = Tl::new()
            .first(0, "pg-2", primary(2))
            .poll(3_000, "pg-2", replica(3))
            .first(0, "pg-1", replica(2))
            .poll(3_000, "pg-1", primary(3))
            .note(60_000)
            .build();
        let v = new_leader(secs(45), &tl, &ctx(10_000, 60_000));
        assert_eq!(v.status, Status::Fail, "{v:?}");
    }
}
