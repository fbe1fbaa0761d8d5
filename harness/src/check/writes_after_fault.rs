//! Workload-measured expectations after a fault: `writable_again` (a write sent after the fault
//! is acknowledged within the budget) and `max_write_unavailability` (the longest time without
//! an acknowledged write, from the fault to the end of the run).
use super::member_history::{budget_text, secs};
use super::verdict::{CheckContext, Status, Verdict};
use crate::scenario::Budget;
use crate::timeline::{EventKind, Millis, Timeline, WriteOutcome};

/// The name of the `writable_again` check, as verdicts and scenario files spell it.
pub const WRITABLE_AGAIN: &str = "writable_again";
/// The name of the `max_write_unavailability` check, as verdicts and scenario files spell it.
pub const MAX_WRITE_UNAVAILABILITY: &str = "max_write_unavailability";

/// (sent_at, acked_at) of acknowledged writes, up to `now`.
fn acks(timeline: &Timeline, now: Millis) -> Vec<(Millis, Millis)> {
    let mut acks: Vec<(Millis, Millis)> = timeline
        .events
        .iter()
        .filter(|e| e.at <= now)
        .filter_map(|e| match &e.kind {
            EventKind::Write { sent_at, outcome: WriteOutcome::Acked { acked_at }, .. } => Some((*sent_at, *acked_at)),
            _ => None,
        })
        .collect();
    acks.sort_unstable_by_key(|(_, acked)| *acked);
    acks
}

fn verdict(
    check: &str,
    ctx: &CheckContext,
    status: Status,
    observed: String,
    observed_ms: Option<u64>,
    budget: Budget,
) -> Verdict {
    Verdict {
        check: check.into(),
        step: Some(ctx.step),
        status,
        observed,
        budget: budget_text(budget),
        observed_ms,
        budget_ms: Some(budget.as_millis()),
    }
}

/// `writable_again: {within}`: the first acknowledgement of a write sent at or after the fault.
pub fn writable_again(within: Budget, timeline: &Timeline, ctx: &CheckContext) -> Verdict {
    let first = acks(timeline, ctx.now).into_iter().find(|(sent, _)| *sent >= ctx.anchor);
    let budget = within.as_millis();
    match first {
        Some((_, acked)) => {
            let took = acked - ctx.anchor;
            let status = if took <= budget { Status::Pass } else { Status::Fail };
            verdict(
                WRITABLE_AGAIN,
                ctx,
                status,
                format!("first write acknowledged {} after the fault", secs(took)),
                Some(took),
                within,
            )
        }
        None if ctx.now < ctx.anchor + budget => verdict(
            WRITABLE_AGAIN,
            ctx,
            Status::Pending,
            "no write acknowledged since the fault yet".into(),
            None,
            within,
        ),
        None => verdict(
            WRITABLE_AGAIN,
            ctx,
            Status::Fail,
            format!("no write acknowledged within {within} of the fault"),
            None,
            within,
        ),
    }
}

/// `max_write_unavailability: {max}`: the longest stretch without an acknowledged write from the
/// fault until `now` (including a stretch still open at `now`). Fails as soon as it exceeds the
/// maximum; otherwise passes with what was measured so far (final verdicts use the whole run).
pub fn max_write_unavailability(max: Budget, timeline: &Timeline, ctx: &CheckContext) -> Verdict {
    let mut previous = ctx.anchor;
    let mut worst = (0, ctx.anchor);
    for (_, acked) in acks(timeline, ctx.now).into_iter().filter(|(_, acked)| *acked >= ctx.anchor) {
        if acked - previous > worst.0 {
            worst = (acked - previous, previous);
        }
        previous = acked;
    }
    if ctx.now - previous > worst.0 {
        worst = (ctx.now - previous, previous);
    }
    let (gap, from) = worst;
    let text = format!("longest time without an acknowledged write {} (from {})", secs(gap), secs(from));
    let status = if gap <= max.as_millis() { Status::Pass } else { Status::Fail };
    verdict(MAX_WRITE_UNAVAILABILITY, ctx, status, text, Some(gap), max)
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
    fn first_ack_after_the_fault_counts() {
        let tl = Tl::new().acked(9_000, 1).failed(12_000, 2).acked(30_500, 3).note(40_000).build();
        let v = writable_again(Budget(Duration::from_secs(30)), &tl, &ctx(40_000));
        assert_eq!(v.status, Status::Pass, "{v:?}");
        assert!(v.observed_ms.unwrap() >= 20_000, "{v:?}");
    }

    #[test]
    fn gap_over_the_maximum_fails() {
        let tl = Tl::new().acked(10_500, 1).acked(31_000, 2).acked(31_100, 3).note(40_000).build();
        let v = max_write_unavailability(Budget(Duration::from_secs(10)), &tl, &ctx(40_000));
        assert_eq!(v.status, Status::Fail, "{v:?}");
        assert_eq!(v.observed_ms, Some(20_500));
        let ok = max_write_unavailability(Budget(Duration::from_secs(25)), &tl, &ctx(40_000));
        assert_eq!(ok.status, Status::Pass, "{ok:?}");
    }
}
