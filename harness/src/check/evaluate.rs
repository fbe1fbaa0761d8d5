//! The dispatch from a scenario's expectations and invariants to their checks: the only place
//! that enumerates them.
use super::acked_writes::no_acked_write_lost;
use super::alert::alert;
use super::leader_is::leader_is;
use super::never_leader::never_leader;
use super::new_leader::new_leader;
use super::no_failover::no_failover;
use super::partial_transactions::no_partial_transactions;
use super::pg_dist_node::pg_dist_node;
use super::pooler_recovers::pooler_recovers;
use super::prepared_xacts::no_orphaned_prepared_transactions;
use super::primary_demoted::primary_demoted;
use super::rejoins::rejoins;
use super::replication_streaming::replication_streaming;
use super::single_primary::single_primary;
use super::timeline_increment::timeline_increment;
use super::verdict::{CheckContext, Verdict};
use super::write_pause::{write_pause, WritePauseLimits};
use super::writes_after_fault::{max_write_unavailability, no_write_acked, writable_again};
use crate::scenario::{Expectation, Invariant};
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
        Expectation::NoFailover { within } => no_failover(*within, tl, ctx),
        Expectation::PrimaryDemoted { within } => primary_demoted(*within, tl, ctx),
        Expectation::WritableAgain { within } => writable_again(*within, tl, ctx),
        Expectation::MaxWriteUnavailability { max } => max_write_unavailability(*max, tl, ctx),
        Expectation::ReplicationStreaming { within } => replication_streaming(*within, tl, ctx),
        Expectation::LeaderIs { target, within } => leader_is(target, *within, tl, ctx),
        Expectation::NeverLeader { target } => never_leader(target, tl, ctx),
        Expectation::NoWriteAcked { within } => no_write_acked(*within, tl, ctx),
        Expectation::PoolerRecovers { within, after_primary } => pooler_recovers(*within, *after_primary, tl, ctx),
        Expectation::PgDistNode { group, within, new_primary } => pg_dist_node(*group, *new_primary, *within, tl, ctx),
        Expectation::NoOrphanedPreparedTransactions { within } => no_orphaned_prepared_transactions(*within, tl, ctx),
        Expectation::WritePause { group, max, errors, resumes_within, others_max } => write_pause(
            WritePauseLimits {
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
            alert(name, *state, *within, labels, *source, tl, ctx)
        }
    }
}

/// Judges a whole-run invariant over the timeline up to `now` (the end of the run for final
/// verdicts).
pub fn evaluate_invariant(inv: Invariant, tl: &Timeline, now: Millis) -> Verdict {
    match inv {
        Invariant::SinglePrimary => single_primary(tl, now),
        Invariant::NoAckedWriteLost => no_acked_write_lost(tl, now),
        Invariant::NoPartialTransactions => no_partial_transactions(tl, now),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::check::member_history::testkit::*;
    use crate::check::Status;
    use crate::scenario::{Budget, Target};

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
            highest_priority: None,
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
            highest_priority: None,
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
                highest_priority: None,
            };
            evaluate_expectation(&exp, &tl, &ctx).status
        };
        assert_eq!(at(14_999), Status::Pending);
        assert_eq!(at(15_000), Status::Fail);
    }
}
