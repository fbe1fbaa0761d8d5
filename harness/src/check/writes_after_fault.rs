//! Workload-measured expectations after a fault: `writable_again` (a write sent after the fault
//! is acknowledged within the budget), `max_write_unavailability` (the longest time without
//! an acknowledged write, from the fault to the end of the run) and `no_write_acked` (for the
//! whole window no write is acknowledged: durability held, e.g. synchronous_mode_strict with the
//! sync standby gone).
use super::member_history::{budget_text, secs};
use super::verdict::{CheckContext, Status, Verdict};
use crate::scenario::Budget;
use crate::timeline::{EventKind, Millis, Timeline, WriteOutcome};

/// The name of the `writable_again` check, as verdicts and scenario files spell it.
pub const WRITABLE_AGAIN: &str = "writable_again";
/// The name of the `max_write_unavailability` check, as verdicts and scenario files spell it.
pub const MAX_WRITE_UNAVAILABILITY: &str = "max_write_unavailability";
/// The name of the `no_write_acked` check, as verdicts and scenario files spell it.
pub const NO_WRITE_ACKED: &str = "no_write_acked";

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
/// fault until `now` (a stretch still open runs to the workload's last attempt). Fails as soon as it exceeds the
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
    // A stretch still open ends with the workload's last attempt, not at `now`: after the writers
    // stop, the audit and teardown are no time without writes for the application.
    let last_attempt = timeline
        .events
        .iter()
        .filter(|e| e.at <= ctx.now && matches!(e.kind, EventKind::Write { .. }))
        .map(|e| e.at)
        .max()
        .unwrap_or(ctx.now);
    let open_until = last_attempt.max(previous);
    if open_until - previous > worst.0 {
        worst = (open_until - previous, previous);
    }
    let (gap, from) = worst;
    let text = format!("longest time without an acknowledged write {} (from {})", secs(gap), secs(from));
    let status = if gap <= max.as_millis() { Status::Pass } else { Status::Fail };
    verdict(MAX_WRITE_UNAVAILABILITY, ctx, status, text, Some(gap), max)
}

/// When the fault of `ctx` was proven to have taken effect (its first successful
/// `FaultVerified` at or after the anchor); the anchor itself when none was recorded.
fn proven_at(timeline: &Timeline, ctx: &CheckContext) -> Millis {
    timeline
        .events
        .iter()
        .filter(|e| e.at >= ctx.anchor && e.at <= ctx.now)
        .find(|e| matches!(e.kind, EventKind::FaultVerified { ok: true, .. }))
        .map_or(ctx.anchor, |e| e.at)
}

/// `no_write_acked: {within}`: no write sent after the fault took effect is acknowledged until
/// the window ends. Writes sent while the fault was still being applied do not count: the
/// standby may have confirmed them before it went. Fails at the first acknowledgement, Pending
/// until the window has passed.
pub fn no_write_acked(within: Budget, timeline: &Timeline, ctx: &CheckContext) -> Verdict {
    let effective = proven_at(timeline, ctx);
    let end = ctx.anchor + within.as_millis();
    let first = acks(timeline, ctx.now).into_iter().find(|(sent, acked)| *sent >= effective && *acked <= end);
    let budget = format!("none for {}", budget_text(within).trim_start_matches("≤ "));
    let verdict = ctx.verdicts(NO_WRITE_ACKED, budget.clone(), Some(within.as_millis()));
    let sent_since = timeline
        .events
        .iter()
        .filter(|e| e.at <= ctx.now.min(end))
        .filter(|e| matches!(e.kind, EventKind::Write { sent_at, .. } if sent_at >= effective))
        .count();
    match first {
        Some((_, acked)) => {
            let after = acked - ctx.anchor;
            verdict(Status::Fail, format!("a write was acknowledged {} after the fault", secs(after)), Some(after))
        }
        None if ctx.now < end => verdict(Status::Pending, "no write acknowledged since the fault yet".into(), None),
        // Nothing tried, nothing shown: writes that were never sent prove no blocking.
        None if sent_since == 0 => verdict(
            Status::Fail,
            format!(
                "no write was attempted in the {} after the fault, so nothing shows they were held",
                secs(within.as_millis())
            ),
            None,
        ),
        None => verdict(
            Status::Pass,
            format!(
                "no write acknowledged for {} after the fault ({sent_since} attempts ended unacknowledged)",
                secs(within.as_millis())
            ),
            Some(within.as_millis()),
        ),
    }
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
    fn the_time_after_the_writers_stopped_is_no_unavailability() {
        // Writes acknowledged every second until 20s, then the workload stops; the run ends
        // (audit) at 40s.
        let tl = (11..=20).fold(Tl::new(), |tl, s| tl.acked(s * 1_000, s)).note(40_000).build();
        let v = max_write_unavailability(Budget(Duration::from_secs(5)), &tl, &ctx(40_000));
        assert_eq!(v.status, Status::Pass, "{v:?}");
        // Failing attempts until the end still count as a stretch without acknowledgements.
        let tl = Tl::new().acked(12_000, 1).failed(30_000, 2).note(40_000).build();
        let v = max_write_unavailability(Budget(Duration::from_secs(5)), &tl, &ctx(40_000));
        assert_eq!((v.status, v.observed_ms), (Status::Fail, Some(18_000)), "{v:?}");
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

#[cfg(test)]
mod no_write_acked_tests {
    use std::time::Duration;

    use super::*;
    use crate::check::member_history::testkit::*;
    use crate::timeline::Event;

    fn ctx(now: u64) -> CheckContext {
        pg1_fault_at_10s(now)
    }

    /// A timeline whose fault (sent at 10s) is proven at 10.2s.
    fn proven(tl: Timeline) -> Timeline {
        let mut tl = tl;
        let proof = EventKind::FaultVerified { step: 2, ok: true, proof: "pg-2: exited".into() };
        tl.events.push(Event { at: 10_200, kind: proof });
        tl.events.sort_by_key(|e| e.at);
        tl
    }

    #[test]
    fn blocked_writes_pass_after_the_window() {
        let tl =
            proven(Tl::new().acked(9_000, 1).failed(13_000, 2).failed(16_000, 3).acked(25_000, 4).note(30_000).build());
        assert_eq!(no_write_acked(Budget(Duration::from_secs(10)), &tl, &ctx(15_000)).status, Status::Pending);
        let v = no_write_acked(Budget(Duration::from_secs(10)), &tl, &ctx(30_000));
        assert_eq!(v.status, Status::Pass, "{v:?}");
        assert!(v.observed.contains("2 attempts ended unacknowledged"), "{v:?}");
    }

    #[test]
    fn no_attempt_at_all_proves_nothing() {
        let tl = proven(Tl::new().acked(9_000, 1).note(30_000).build());
        let v = no_write_acked(Budget(Duration::from_secs(10)), &tl, &ctx(30_000));
        assert_eq!(v.status, Status::Fail, "{v:?}");
        assert!(v.observed.contains("no write was attempted"), "{v:?}");
    }

    #[test]
    fn an_ack_inside_the_window_fails() {
        let tl = proven(Tl::new().acked(9_000, 1).acked(13_000, 2).note(30_000).build());
        let v = no_write_acked(Budget(Duration::from_secs(10)), &tl, &ctx(30_000));
        assert_eq!(v.status, Status::Fail, "{v:?}");
        assert_eq!(v.observed_ms, Some(3_000));
    }

    #[test]
    fn a_write_sent_before_the_fault_took_effect_does_not_count() {
        // Sent at 10.095s (acked 10.1s), before the proof at 10.2s: the standby was still there.
        let tl = proven(Tl::new().acked(10_100, 1).failed(14_000, 2).note(30_000).build());
        assert_eq!(no_write_acked(Budget(Duration::from_secs(10)), &tl, &ctx(30_000)).status, Status::Pass);
    }
}
