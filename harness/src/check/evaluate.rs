//! The two entry points the engine calls, mapping a scenario's expectations and invariants to
//! their checks, and the deadline logic every expectation shares.
use super::member_history::{budget_text, secs, MemberHistory};
use super::{new_leader, no_acked_write_lost, rejoins, single_primary, timeline_increment};
use super::{CheckContext, Status, Verdict};
use crate::scenario::{Budget, Expectation, Invariant};
use crate::timeline::{Millis, Timeline};

/// Judges one expectation of an expect step, counting its budget from `ctx.anchor`.
///
/// Pending while unsatisfied and `ctx.now < anchor + budget`; Fail once the budget has passed
/// without it, or when it was satisfied too late. Adding later events never turns a Pass into
/// anything else: each check looks for the *first* time it was satisfied.
pub fn evaluate_expectation(exp: &Expectation, tl: &Timeline, ctx: &CheckContext) -> Verdict {
    match exp {
        Expectation::NewLeader { within } => new_leader(*within, tl, ctx),
        Expectation::Timeline { increments, within } => timeline_increment(*increments, *within, tl, ctx),
        Expectation::Rejoins { target, within } => rejoins(target, *within, tl, ctx),
        Expectation::NoFailover { within } => super::no_failover(*within, tl, ctx),
        Expectation::PrimaryDemoted { within } => super::primary_demoted(*within, tl, ctx),
        Expectation::WritableAgain { within } => super::writable_again(*within, tl, ctx),
        Expectation::MaxWriteUnavailability { max } => super::max_write_unavailability(*max, tl, ctx),
        Expectation::ReplicationStreaming { within } => super::replication_streaming(*within, tl, ctx),
        Expectation::LeaderIs { target, within } => super::leader_is(target, *within, tl, ctx),
        Expectation::PgDistNode { group, within, new_primary } => {
            super::pg_dist_node(*group, *new_primary, *within, tl, ctx)
        }
        Expectation::WritePause { group, max, errors, resumes_within, others_max } => super::write_pause(
            super::WritePauseLimits {
                group: *group,
                max: *max,
                errors: *errors,
                resumes_within: *resumes_within,
                others_max: *others_max,
            },
            tl,
            ctx,
        ),
        Expectation::Alert { name, state, within, labels, source } => {
            super::alert(name, *state, *within, labels, *source, tl, ctx)
        }
    }
}

/// Judges a whole-run invariant over the timeline up to `now` (the end of the run for final
/// verdicts).
pub fn evaluate_invariant(inv: Invariant, tl: &Timeline, now: Millis) -> Verdict {
    match inv {
        Invariant::SinglePrimary => single_primary(tl, now),
        Invariant::NoAckedWriteLost => no_acked_write_lost(tl, now),
    }
}

/// When an expectation was first satisfied, and how to say what was seen then.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Found {
    /// The first time it held (≥ the anchor).
    pub at: Millis,
    /// What was seen, e.g. "pg-2 running primary on tl 2".
    pub what: String,
}

/// The verdict of a check with a deadline `ctx.anchor + within`.
///
/// `missing` names what was not seen ("no new primary"); on Pending and Fail it is followed by
/// what each member was last seen doing.
pub(crate) fn timed_verdict(
    check: &str,
    ctx: &CheckContext,
    within: Budget,
    found: Option<Found>,
    missing: &str,
    history: &MemberHistory<'_>,
) -> Verdict {
    let budget_ms = within.as_millis();
    let (status, observed, observed_ms) = match found {
        Some(Found { at, what }) => {
            let took = at.saturating_sub(ctx.anchor);
            if took <= budget_ms {
                (Status::Pass, format!("{what} after {}", secs(took)), Some(took))
            } else {
                (Status::Fail, format!("{what} after {}, over the {within} budget", secs(took)), Some(took))
            }
        }
        None => {
            let last_seen = history.last_seen(ctx.now);
            if ctx.now < ctx.anchor.saturating_add(budget_ms) {
                let waited = secs(ctx.now.saturating_sub(ctx.anchor));
                (Status::Pending, format!("{missing} yet, {waited} since the fault; last seen: {last_seen}"), None)
            } else {
                (Status::Fail, format!("{missing} within {within}; last seen: {last_seen}"), None)
            }
        }
    };
    Verdict {
        check: check.to_string(),
        step: Some(ctx.step),
        status,
        observed,
        budget: budget_text(within),
        observed_ms,
        budget_ms: Some(budget_ms),
    }
}

/// A verdict that fails before any measurement (e.g. a target that cannot be resolved).
pub(crate) fn cannot_evaluate(check: &str, ctx: &CheckContext, within: Budget, why: String) -> Verdict {
    Verdict {
        check: check.to_string(),
        step: Some(ctx.step),
        status: Status::Fail,
        observed: why,
        budget: budget_text(within),
        observed_ms: None,
        budget_ms: Some(within.as_millis()),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::check::member_history::testkit::*;
    use crate::scenario::Target;

    fn budget(s: u64) -> Budget {
        Budget(Duration::from_secs(s))
    }

    /// A full drill: kill pg-1 at 10s, pg-2 promoted at 29.4s, pg-1 restarted and rejoins at 50s.
    fn drill() -> Timeline {
        Tl::new()
            .healthy()
            .acked(9_000, 1)
            .poll(10_100, "pg-1", down())
            .failed(10_200, 2)
            .poll(29_400, "pg-2", primary(2))
            .acked(29_800, 3)
            .poll(30_000, "pg-3", replica(2))
            .poll(50_000, "pg-1", replica(2))
            .audit(60_000, &[(1, 3)])
            .build()
    }

    #[test]
    fn every_expectation_and_invariant_is_dispatched() {
        let tl = drill();
        let ctx = CheckContext {
            step: 3,
            anchor: 10_000,
            now: tl.end(),
            leader_at_anchor: Some("pg-1".into()),
            old_primary: Some("pg-1".into()),
            group: None,
        };
        let expectations = [
            Expectation::NewLeader { within: budget(45) },
            Expectation::Timeline { increments: 1, within: budget(45) },
            Expectation::Rejoins { target: Target::OldPrimary, within: budget(90) },
        ];
        let verdicts: Vec<Verdict> = expectations.iter().map(|e| evaluate_expectation(e, &tl, &ctx)).collect();
        let names: Vec<&str> = verdicts.iter().map(|v| v.check.as_str()).collect();
        assert_eq!(names, ["new_leader", "timeline", "rejoins"]);
        assert!(verdicts.iter().all(|v| v.status == Status::Pass), "{verdicts:#?}");
        for inv in [Invariant::SinglePrimary, Invariant::NoAckedWriteLost] {
            let v = evaluate_invariant(inv, &tl, tl.end());
            assert_eq!(v.status, Status::Pass, "{v:#?}");
            assert_eq!(v.step, None);
        }
    }

    #[test]
    fn a_pass_stays_a_pass_as_the_timeline_grows() {
        let tl = drill();
        let exp = Expectation::NewLeader { within: budget(45) };
        let mut ctx = CheckContext {
            step: 0,
            anchor: 10_000,
            now: 29_400,
            leader_at_anchor: Some("pg-1".into()),
            old_primary: None,
            group: None,
        };
        let early = evaluate_expectation(&exp, &tl, &ctx);
        ctx.now = tl.end();
        let late = evaluate_expectation(&exp, &tl, &ctx);
        assert_eq!(early, late);
        assert_eq!(early.status, Status::Pass);
    }

    #[test]
    fn pending_turns_into_fail_exactly_at_the_deadline() {
        let tl = Tl::new().healthy().poll(10_100, "pg-1", down()).note(20_000).build();
        let exp = Expectation::NewLeader { within: budget(5) };
        let at = |now| {
            let ctx = CheckContext {
                step: 0,
                anchor: 10_000,
                now,
                leader_at_anchor: Some("pg-1".into()),
                old_primary: None,
                group: None,
            };
            evaluate_expectation(&exp, &tl, &ctx).status
        };
        assert_eq!(at(14_999), Status::Pending);
        assert_eq!(at(15_000), Status::Fail);
    }
}
