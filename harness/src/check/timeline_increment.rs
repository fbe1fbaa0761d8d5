//! `timeline: {increments, within}`: after the fault, a running primary reports a PostgreSQL
//! timeline at least `increments` above the highest timeline seen up to the fault. A promotion
//! always starts a new timeline, so this proves a promotion happened rather than the old primary
//! merely coming back.
use super::member_history::{natural_cmp, secs, MemberHistory};
use super::timed::{cannot_evaluate, timed_verdict, Found};
use super::verdict::{CheckContext, Verdict};
use crate::scenario::Budget;
use crate::timeline::{EventKind, Timeline};

/// The check's name, as verdicts and scenario files spell it.
pub const NAME: &str = "timeline";

/// Evaluates `timeline: {increments, within}` from `ctx.anchor`.
pub fn timeline_increment(increments: u32, within: Budget, timeline: &Timeline, ctx: &CheckContext) -> Verdict {
    // The base is every member's report at or before the fault, not only the primary's: a
    // replica that already followed a promotion knows the newer timeline.
    let base = timeline
        .events
        .iter()
        .filter(|e| e.at <= ctx.anchor)
        .filter_map(|e| match &e.kind {
            EventKind::Member { view, .. } => view.timeline,
            _ => None,
        })
        .max();
    let Some(base) = base else {
        return cannot_evaluate(
            NAME,
            ctx,
            within,
            format!(
                "no member reported a timeline before the fault at {}: nothing to count increments from",
                secs(ctx.anchor)
            ),
        );
    };
    let wanted = base + u64::from(increments);
    let history = MemberHistory::for_context(timeline, ctx);
    let found = history
        .primary_spans_since(ctx.anchor)
        .filter(|s| s.view.timeline.is_some_and(|t| t >= wanted))
        .map(|s| (s.from.max(ctx.anchor), s))
        .min_by(|(ta, a), (tb, b)| ta.cmp(tb).then_with(|| natural_cmp(a.member, b.member)))
        .map(|(at, s)| Found {
            at,
            what: format!("{} running primary on tl {} (from {base})", s.member, s.view.timeline.unwrap_or_default()),
        });
    let missing = format!("no running primary on tl {wanted} (from {base})");
    timed_verdict(NAME, ctx, within, found, &missing, &history)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::check::member_history::testkit::*;
    use crate::check::Status;

    fn ctx(now: u64) -> CheckContext {
        CheckContext {
            step: 1,
            anchor: 10_000,
            now,
            leader_at_anchor: Some("pg-1".into()),
            old_primary: None,
            group: None,
            highest_priority: None,
        }
    }

    fn budget(s: u64) -> Budget {
        Budget(Duration::from_secs(s))
    }

    #[test]
    fn passes_when_the_new_primary_is_on_the_next_timeline() {
        let tl = Tl::new().healthy().poll(10_100, "pg-1", down()).poll(29_500, "pg-2", primary(2)).note(40_000).build();
        let v = timeline_increment(1, budget(45), &tl, &ctx(40_000));
        assert_eq!(v.status, Status::Pass, "{v:?}");
        assert_eq!(v.observed, "pg-2 running primary on tl 2 (from 1) after 19.5s");
        assert_eq!(v.observed_ms, Some(19_500));
    }

    #[test]
    fn the_old_primary_restarting_on_the_old_timeline_does_not_count() {
        let tl = Tl::new().healthy().poll(10_100, "pg-1", down()).poll(15_000, "pg-1", primary(1)).note(60_000).build();
        let v = timeline_increment(1, budget(45), &tl, &ctx(60_000));
        assert_eq!(v.status, Status::Fail);
        assert!(
            v.observed
                .starts_with("no running primary on tl 2 (from 1) within 45s; last seen: pg-1 primary running tl 1"),
            "{}",
            v.observed
        );
    }

    #[test]
    fn base_is_the_highest_timeline_any_member_reported_before_the_fault() {
        // pg-3 already saw tl 2 (an earlier promotion of pg-1); one more increment means tl 3.
        let tl = Tl::new()
            .first(0, "pg-1", primary(2))
            .first(0, "pg-2", replica(1))
            .first(0, "pg-3", replica(2))
            .poll(10_100, "pg-1", down())
            .poll(20_000, "pg-2", primary(2))
            .note(30_000)
            .build();
        let v = timeline_increment(1, budget(45), &tl, &ctx(30_000));
        assert_eq!(v.status, Status::Pending);
        assert!(v.observed.contains("tl 3 (from 2)"), "{}", v.observed);
    }

    #[test]
    fn two_increments() {
        let tl = Tl::new()
            .healthy()
            .poll(10_100, "pg-1", down())
            .poll(20_000, "pg-2", primary(2))
            .poll(30_000, "pg-2", down())
            .poll(40_000, "pg-3", primary(3))
            .note(50_000)
            .build();
        let v = timeline_increment(2, budget(45), &tl, &ctx(50_000));
        assert_eq!(v.status, Status::Pass);
        assert_eq!(v.observed_ms, Some(30_000));
    }

    #[test]
    fn no_timeline_before_the_fault_fails_clearly() {
        let tl = Tl::new().poll(20_000, "pg-2", primary(2)).build();
        let v = timeline_increment(1, budget(45), &tl, &ctx(30_000));
        assert_eq!(v.status, Status::Fail);
        assert!(v.observed.contains("no member reported a timeline before the fault"), "{}", v.observed);
    }
}
