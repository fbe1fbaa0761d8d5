//! `rejoins: {target, within}`: the target runs again as a healthy replica on the cluster's
//! current timeline. A replica stuck on the old timeline (diverged, needing pg_rewind) is not
//! rejoined, so the replica's timeline must reach the highest primary timeline seen since the
//! fault — counting only primaries seen up to that moment, so a later failover cannot undo a pass.
use super::member_history::{describe_view, MemberHistory};
use super::timed::{cannot_evaluate, timed_verdict, Found};
use super::verdict::{CheckContext, Verdict};
use crate::scenario::{Budget, Target};
use crate::timeline::{Millis, Timeline};

/// The check's name, as verdicts and scenario files spell it.
pub const NAME: &str = "rejoins";

/// Evaluates `rejoins: {target, within}` from `ctx.anchor`.
pub fn rejoins(target: &Target, within: Budget, timeline: &Timeline, ctx: &CheckContext) -> Verdict {
    let Some(member) = ctx.resolve(target) else {
        return cannot_evaluate(NAME, ctx, within, unresolved(target));
    };
    let history = MemberHistory::for_context(timeline, ctx);
    // Primaries the target could follow: other members seen as running primary since the anchor.
    // (The target's own primary stint, e.g. the old primary just before it was killed, is not one.)
    let primaries = || history.primary_spans_since(ctx.anchor).filter(|p| p.member != member);
    // The highest timeline of such a primary certainly seen between the anchor and `t`.
    let primary_tl_by = |t: Millis| primaries().filter(|p| p.from <= t).filter_map(|p| p.view.timeline).max();
    let mut found = None;
    'spans: for span in history.spans(&member).iter().filter(|s| s.to >= ctx.anchor && s.view.is_healthy_replica()) {
        let Some(replica_tl) = span.view.timeline else { continue };
        let start = span.from.max(ctx.anchor);
        // The condition can become true inside the span when a primary is first seen there.
        let mut candidates: Vec<Millis> = primaries().map(|p| p.from).filter(|&t| t > start && t <= span.to).collect();
        candidates.push(start);
        candidates.sort_unstable();
        for t in candidates {
            if primary_tl_by(t).is_some_and(|primary_tl| replica_tl >= primary_tl) {
                found = Some(Found { at: t, what: format!("{member} {}", describe_view(span.view)) });
                break 'spans;
            }
        }
    }
    let missing = match primary_tl_by(ctx.now) {
        Some(tl) => format!("{member} not a running or streaming replica on tl {tl}"),
        None => format!("{member} not a replica of a running primary"),
    };
    timed_verdict(NAME, ctx, within, found, &missing, &history)
}

fn unresolved(target: &Target) -> String {
    match target {
        Target::OldPrimary => "target old_primary is unknown: no earlier fault hit the primary".to_string(),
        Target::Primary => {
            "target primary is unknown: no running primary was seen when the fault was applied".to_string()
        }
        Target::Replica => "target replica cannot be resolved for rejoins: name the member (member: pg-N)".to_string(),
        Target::Member(name) => format!("target member {name} cannot be resolved"),
        Target::Group(group) => format!("group {group} is not one member"),
        other => format!("target {other:?} is not a single member; name the member (member: pg-N)").to_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::check::member_history::testkit::*;
    use crate::check::Status;
    use crate::timeline::Role;

    /// Anchor: `start old_primary` at 40s, after pg-1 was killed at 10s and pg-2 promoted.
    fn ctx(now: u64) -> CheckContext {
        CheckContext {
            step: 5,
            anchor: 40_000,
            now,
            leader_at_anchor: Some("pg-2".into()),
            old_primary: Some("pg-1".into()),
            group: None,
            highest_priority: None,
        }
    }

    fn budget(s: u64) -> Budget {
        Budget(Duration::from_secs(s))
    }

    fn failover() -> Tl {
        Tl::new().healthy().poll(10_100, "pg-1", down()).poll(29_400, "pg-2", primary(2)).poll(
            30_000,
            "pg-3",
            replica(2),
        )
    }

    #[test]
    fn passes_when_the_old_primary_streams_on_the_new_timeline() {
        let tl = failover()
            .poll(45_000, "pg-1", view(Role::Replica, "starting", 1))
            .poll(52_300, "pg-1", replica(2))
            .note(60_000)
            .build();
        let v = rejoins(&Target::OldPrimary, budget(90), &tl, &ctx(60_000));
        assert_eq!(v.status, Status::Pass, "{v:?}");
        assert_eq!(v.observed, "pg-1 replica streaming tl 2 after 12.3s");
        assert_eq!(v.observed_ms, Some(12_300));
    }

    #[test]
    fn a_replica_left_on_the_old_timeline_has_not_rejoined() {
        let tl = failover().poll(45_000, "pg-1", replica(1)).note(200_000).build();
        let v = rejoins(&Target::OldPrimary, budget(90), &tl, &ctx(200_000));
        assert_eq!(v.status, Status::Fail);
        assert_eq!(
            v.observed,
            "pg-1 not a running or streaming replica on tl 2 within 1m 30s; last seen: \
             pg-1 replica streaming tl 1, pg-2 primary running tl 2, pg-3 replica streaming tl 2"
        );
    }

    #[test]
    fn pending_while_still_down() {
        let tl = failover().note(50_000).build();
        let v = rejoins(&Target::OldPrimary, budget(90), &tl, &ctx(50_000));
        assert_eq!(v.status, Status::Pending);
        assert!(v.observed.contains("last seen: pg-1 unreachable"), "{}", v.observed);
    }

    #[test]
    fn a_replica_seen_just_before_the_primary_counts_from_the_primary() {
        // Poll order: pg-1 answered as a tl 2 replica a moment before pg-2 was seen as primary.
        let tl = Tl::new()
            .healthy()
            .poll(10_100, "pg-1", down())
            .poll(29_300, "pg-1", replica(2))
            .poll(29_400, "pg-2", primary(2))
            .note(40_000)
            .build();
        let ctx = CheckContext { anchor: 10_000, leader_at_anchor: Some("pg-1".into()), ..ctx(40_000) };
        let v = rejoins(&Target::Member("pg-1".into()), budget(90), &tl, &ctx);
        assert_eq!(v.status, Status::Pass, "{v:?}");
        assert_eq!(v.observed_ms, Some(19_400));
    }

    #[test]
    fn the_old_primarys_own_stint_is_not_a_primary_to_follow() {
        // Measured from the kill: pg-1 comes back as a tl 1 replica before anyone is promoted.
        let tl = Tl::new().healthy().poll(10_100, "pg-1", down()).poll(14_000, "pg-1", replica(1)).note(20_000).build();
        let ctx = CheckContext { anchor: 10_000, leader_at_anchor: Some("pg-1".into()), ..ctx(20_000) };
        let v = rejoins(&Target::OldPrimary, budget(90), &tl, &ctx);
        assert_eq!(v.status, Status::Pending, "{v:?}");
        assert!(v.observed.starts_with("pg-1 not a replica of a running primary yet"), "{}", v.observed);
    }

    #[test]
    fn unresolved_target_fails_with_a_reason() {
        let tl = failover().note(50_000).build();
        let ctx = CheckContext { old_primary: None, ..ctx(50_000) };
        let v = rejoins(&Target::OldPrimary, budget(90), &tl, &ctx);
        assert_eq!(v.status, Status::Fail);
        assert!(v.observed.contains("old_primary is unknown"), "{}", v.observed);
    }
}
