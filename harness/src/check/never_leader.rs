//! `never_leader`: a named member (e.g. one tagged `nofailover`) is never seen as a running
//! primary from the expect step's fault to the end of what was observed. Like the write checks
//! it is judged over the rest of the run, so it never waits: it fails at the first stint and
//! passes otherwise, saying over which window it held.
use super::member_history::{secs, MemberHistory};
use super::verdict::{CheckContext, Status, Verdict};
use crate::scenario::Target;
use crate::timeline::Timeline;

/// The check's name, as verdicts and scenario files spell it.
pub const NAME: &str = "never_leader";

/// Evaluates `never_leader: {target}` from `ctx.anchor` to `ctx.now`.
pub fn never_leader(target: &Target, timeline: &Timeline, ctx: &CheckContext) -> Verdict {
    let verdict = ctx.verdicts(NAME, "never a running primary".into(), None);
    let Some(member) = ctx.resolve(target) else {
        return verdict(Status::Fail, format!("target {target:?} does not name one member").to_lowercase(), None);
    };
    let history = MemberHistory::for_context(timeline, ctx);
    let led = history
        .spans(&member)
        .iter()
        .find(|s| s.to >= ctx.anchor && s.from <= ctx.now && s.view.is_running_primary())
        .map(|s| s.from.max(ctx.anchor));
    match led {
        Some(at) => {
            let after = at - ctx.anchor;
            verdict(Status::Fail, format!("{member} became a running primary after {}", secs(after)), Some(after))
        }
        None => verdict(
            Status::Pass,
            format!("{member} never a running primary for {} after the fault", secs(ctx.now - ctx.anchor)),
            None,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::member_history::testkit::*;

    fn pg2() -> Target {
        Target::Member("pg-2".into())
    }

    #[test]
    fn a_member_that_stays_a_replica_passes_over_the_whole_window() {
        let tl = Tl::new().healthy().poll(11_000, "pg-1", down()).poll(40_000, "pg-3", primary(2)).note(60_000).build();
        let v = never_leader(&pg2(), &tl, &pg1_fault_at_10s(60_000));
        assert_eq!(v.status, Status::Pass, "{v:?}");
        assert_eq!(v.observed, "pg-2 never a running primary for 50.0s after the fault");
    }

    #[test]
    fn a_promotion_at_any_time_after_the_fault_fails() {
        let tl = Tl::new().healthy().poll(11_000, "pg-1", down()).poll(55_000, "pg-2", primary(2)).note(60_000).build();
        let v = never_leader(&pg2(), &tl, &pg1_fault_at_10s(60_000));
        assert_eq!(v.status, Status::Fail, "{v:?}");
        assert_eq!(v.observed_ms, Some(45_000));
        assert!(v.observed.contains("pg-2 became a running primary after 45.0s"), "{v:?}");
    }

    #[test]
    fn leading_before_the_fault_does_not_count() {
        let tl = Tl::new()
            .first(0, "pg-1", replica(1))
            .first(0, "pg-2", primary(1))
            .poll(5_000, "pg-2", replica(2))
            .poll(5_000, "pg-1", primary(2))
            .note(30_000)
            .build();
        let v = never_leader(&pg2(), &tl, &pg1_fault_at_10s(30_000));
        assert_eq!(v.status, Status::Pass, "{v:?}");
    }
}
