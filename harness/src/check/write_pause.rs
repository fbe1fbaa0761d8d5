//! `write_pause` (Citus): writes routed to one worker group pause, during a switchover or a
//! failover of that group, at most `max`; at most `errors` of them fail (counted up to
//! `resumes_within` after the fault, when given); the pause ends within `resumes_within` of the
//! fault; and the other groups keep writing meanwhile (`others_max`).
//!
//! Each write carries the worker group it is routed to (the workload looks up its shard's
//! placement before writing). The pause is the longest stretch between consecutive
//! acknowledgements of the group's writes from the fault to the workload's last write — a global
//! gap would hide it, since the other groups keep writing. The report also quotes the window of
//! Patroni's pg_dist_node transaction on the coordinator (from its log) that overlaps the pause:
//! the two should agree, as the transaction is what the writes wait for.
use super::member_history::secs;
use super::verdict::{CheckContext, Status, Verdict};
use crate::scenario::Budget;
use crate::timeline::{EventKind, Millis, Timeline, WriteOutcome};

/// The check's name, as verdicts and scenario files spell it.
pub const NAME: &str = "write_pause";
/// A transaction that began this soon after the pause did is what held the writes.
const TRANSACTION_IS_THE_PAUSE_MS: Millis = 1_000;

/// What the check is given (the expectation's fields).
#[derive(Debug, Clone, Copy)]
pub struct WritePauseLimits {
    /// The worker group.
    pub group: u32,
    /// Longest pause allowed.
    pub max: Budget,
    /// Failed writes to the group allowed (`None`: only reported).
    pub errors: Option<u32>,
    /// The pause must have ended this long after the fault.
    pub resumes_within: Option<Budget>,
    /// The other groups' longest stretch without an ack during the pause.
    pub others_max: Option<Budget>,
}

/// A stretch without acknowledged writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Gap {
    from: Millis,
    to: Millis,
}

impl Gap {
    fn len(self) -> Millis {
        self.to - self.from
    }
}

/// Evaluates `write_pause` for `limits.group` from `ctx.anchor`.
pub fn write_pause(limits: WritePauseLimits, timeline: &Timeline, ctx: &CheckContext) -> Verdict {
    let budget = budget_text(&limits);
    let verdict = ctx.verdicts(NAME, budget.clone(), Some(limits.max.as_millis()));
    let writes: Vec<(Option<u32>, Millis, &WriteOutcome)> = timeline
        .events
        .iter()
        .filter(|e| e.at <= ctx.now)
        .filter_map(|e| match &e.kind {
            EventKind::Write { group, outcome, .. } => Some((*group, e.at, outcome)),
            _ => None,
        })
        .collect();
    if writes.iter().all(|(group, _, _)| group.is_none()) {
        return verdict(
            Status::Fail,
            "no write is attributed to a worker group (is this a Citus topology with a workload?)".into(),
            None,
        );
    }
    let Some(end) = writes.iter().map(|(_, at, _)| *at).max().filter(|end| *end > ctx.anchor) else {
        return verdict(Status::Fail, "no write after the fault".into(), None);
    };
    let acks_of = |group: u32| -> Vec<Millis> {
        let mut acks: Vec<Millis> = writes
            .iter()
            .filter(|(g, _, _)| *g == Some(group))
            .filter_map(|(_, _, outcome)| match outcome {
                WriteOutcome::Acked { acked_at } => Some(*acked_at),
                WriteOutcome::Failed { .. } => None,
            })
            .collect();
        acks.sort_unstable();
        acks
    };
    // With `resumes_within`, failures after it are another step's (a later heal that cuts the
    // connections, say), not this pause's.
    let errors_until = limits.resumes_within.map_or(Millis::MAX, |b| ctx.anchor + b.as_millis());
    let errors: Vec<&str> = writes
        .iter()
        .filter(|(g, _, _)| *g == Some(limits.group))
        .filter_map(|(_, _, outcome)| match outcome {
            WriteOutcome::Failed { failed_at, error } if (ctx.anchor..=errors_until).contains(failed_at) => {
                Some(error.as_str())
            }
            _ => None,
        })
        .collect();
    let own = acks_of(limits.group);
    if own.is_empty() {
        return verdict(Status::Fail, format!("no write to group {} was ever acknowledged", limits.group), None);
    }
    let pause = longest_gap(&own, ctx.anchor, end);
    let mut problems = Vec::new();
    if pause.len() > limits.max.as_millis() {
        problems.push(format!("pause over {}", limits.max));
    }
    if limits.errors.is_some_and(|allowed| errors.len() > allowed as usize) {
        problems.push(format!("{} failed writes (first: {})", errors.len(), errors[0]));
    }
    let resumed_after = pause.to.saturating_sub(ctx.anchor);
    if let Some(within) = limits.resumes_within {
        if resumed_after > within.as_millis() {
            problems.push(format!("resumed {} after the fault, over {within}", secs(resumed_after)));
        }
    }
    let mut others = Vec::new();
    let other_groups: std::collections::BTreeSet<u32> =
        writes.iter().filter_map(|(g, _, _)| *g).filter(|g| *g != limits.group).collect();
    for other in other_groups {
        let gap = longest_gap_within(&acks_of(other), pause);
        if let Some(limit) = limits.others_max {
            if gap > limit.as_millis() {
                problems.push(format!("group {other} stalled {} during the pause", secs(gap)));
            }
        }
        others.push(format!("group {other} longest gap {}", ms(gap)));
    }
    let mut observed = format!(
        "group {} paused {} ({}–{}), {} failed, resumed {} after the fault",
        limits.group,
        ms(pause.len()),
        secs(pause.from),
        secs(pause.to),
        errors.len(),
        secs(resumed_after)
    );
    if !others.is_empty() {
        observed.push_str(&format!("; meanwhile {}", others.join(", ")));
    }
    if let Some(window) = patroni_window(timeline, pause, ctx.now) {
        observed.push_str(&format!("; {window}"));
    }
    if problems.is_empty() {
        verdict(Status::Pass, observed, Some(pause.len()))
    } else {
        verdict(Status::Fail, format!("{}: {observed}", problems.join(", ")), Some(pause.len()))
    }
}

fn budget_text(limits: &WritePauseLimits) -> String {
    let mut text = format!("pause ≤ {}", limits.max);
    if let Some(errors) = limits.errors {
        text.push_str(&format!(", errors ≤ {errors}"));
    }
    if let Some(within) = limits.resumes_within {
        text.push_str(&format!(", resumes ≤ {within}"));
    }
    if let Some(others) = limits.others_max {
        text.push_str(&format!(", other groups ≤ {others}"));
    }
    text
}

/// The longest stretch between consecutive acks (sorted) in `[anchor, end]`, starting from the
/// last ack at or before the anchor (a write acknowledged just before the fault ends nothing).
fn longest_gap(acks: &[Millis], anchor: Millis, end: Millis) -> Gap {
    let mut previous = acks.iter().rev().find(|a| **a <= anchor).copied().unwrap_or(anchor);
    let mut worst = Gap { from: previous, to: previous };
    for &ack in acks.iter().filter(|a| **a > anchor && **a <= end) {
        if ack - previous > worst.len() {
            worst = Gap { from: previous, to: ack };
        }
        previous = ack;
    }
    if end - previous > worst.len() {
        worst = Gap { from: previous, to: end };
    }
    worst
}

/// The longest stretch without an ack inside `window`.
fn longest_gap_within(acks: &[Millis], window: Gap) -> Millis {
    let mut previous = window.from;
    let mut worst = 0;
    for &ack in acks.iter().filter(|a| **a > window.from && **a < window.to) {
        worst = worst.max(ack - previous);
        previous = ack;
    }
    worst.max(window.to - previous)
}

/// Patroni's pg_dist_node transaction that overlaps the pause, compared with it.
fn patroni_window(timeline: &Timeline, pause: Gap, now: Millis) -> Option<String> {
    timeline.events.iter().filter(|e| e.at <= now).find_map(|e| match &e.kind {
        EventKind::CitusTransaction { member, began_at, outcome, .. }
            if *began_at <= pause.to && e.at >= pause.from =>
        {
            let window = e.at - began_at;
            let diff = pause.len() as i64 - window as i64;
            let text = format!(
                "Patroni's pg_dist_node transaction on {member}: {} ({}–{}, {outcome})",
                ms(window),
                secs(*began_at),
                secs(e.at)
            );
            // A switchover's transaction is the pause; after a crash it only ends it.
            if *began_at <= pause.from + TRANSACTION_IS_THE_PAUSE_MS {
                Some(format!("{text}; pause − transaction = {diff:+} ms"))
            } else {
                Some(format!("{text}, which ended the pause"))
            }
        }
        _ => None,
    })
}

/// Milliseconds as `2.712s`.
fn ms(value: Millis) -> String {
    format!("{:.3}s", value as f64 / 1000.0)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::check::member_history::testkit::*;

    fn ctx(now: Millis) -> CheckContext {
        CheckContext {
            step: 3,
            anchor: 10_000,
            now,
            leader_at_anchor: None,
            old_primary: None,
            group: Some(1),
            highest_priority: None,
        }
    }

    fn limits(max_ms: u64) -> WritePauseLimits {
        WritePauseLimits {
            group: 1,
            max: Budget(Duration::from_millis(max_ms)),
            errors: Some(0),
            resumes_within: Some(Budget(Duration::from_secs(10))),
            others_max: Some(Budget(Duration::from_secs(1))),
        }
    }

    /// Odd ids go to group 1, even ids to group 2, one write every 100 ms from 9s to 20s; group 1
    /// acknowledges nothing between 10.2s and 12.9s (held by Patroni's transaction 10.25–12.85s).
    fn switchover() -> Timeline {
        let mut tl = Tl::new();
        for (i, at) in (9_000..20_000).step_by(100).enumerate() {
            let id = i as u64 + 1;
            let group = if id % 2 == 1 { 1 } else { 2 };
            let paused = group == 1 && at > 10_200 && at < 12_900;
            let acked_at = if paused { 12_900 } else { at };
            tl = tl.acked_in(acked_at, id, group);
        }
        tl.citus_transaction(12_850, 10_250).build()
    }

    #[test]
    fn the_group_pause_is_measured_and_compared_with_patronis_window() {
        let v = write_pause(limits(5_000), &switchover(), &ctx(21_000));
        assert_eq!(v.status, Status::Pass, "{v:?}");
        assert_eq!(v.observed_ms, Some(2_700));
        assert!(v.observed.starts_with("group 1 paused 2.700s (10.2s–12.9s), 0 failed, resumed 2.9s"), "{v:?}");
        assert!(v.observed.contains("group 2 longest gap 0.200s"), "{v:?}");
        assert!(
            v.observed.contains("transaction on coord-1: 2.600s (10.2s–12.8s, commit); pause − transaction = +100 ms"),
            "{v:?}"
        );
    }

    #[test]
    fn a_long_pause_errors_and_a_stalled_group_fail() {
        let v = write_pause(limits(2_000), &switchover(), &ctx(21_000));
        assert_eq!(v.status, Status::Fail, "{v:?}");
        assert!(v.observed.starts_with("pause over 2s"), "{v:?}");
        let failing = Tl::new()
            .acked_in(9_000, 1, 1)
            .failed_in(10_500, 3, 1)
            .acked_in(11_000, 5, 1)
            .acked_in(9_000, 2, 2)
            .acked_in(11_000, 4, 2)
            .build();
        let v = write_pause(limits(5_000), &failing, &ctx(12_000));
        assert_eq!(v.status, Status::Fail, "{v:?}");
        assert!(v.observed.contains("1 failed writes (first: connection reset)"), "{v:?}");
        assert!(v.observed.contains("group 2 stalled 2.0s during the pause"), "{v:?}");
    }

    #[test]
    fn failures_after_resumes_within_are_not_the_pauses() {
        // The switchover's pause, then a write failing 15 s after the fault (a heal step's cut)
        // while both groups go on writing.
        let mut tl = Tl::new();
        for (i, at) in (9_000..30_000).step_by(100).enumerate() {
            let id = i as u64 + 1;
            let group = if id % 2 == 1 { 1 } else { 2 };
            let paused = group == 1 && at > 10_200 && at < 12_900;
            tl = tl.acked_in(if paused { 12_900 } else { at }, id, group);
        }
        let mut tl = tl.build();
        tl.events.push(crate::timeline::Event {
            at: 25_000,
            kind: EventKind::Write {
                id: 999,
                writer: 0,
                group: Some(1),
                txn: None,
                sent_at: 24_900,
                outcome: WriteOutcome::Failed { failed_at: 25_000, error: "08006: server closed".into() },
            },
        });
        let v = write_pause(limits(5_000), &tl, &ctx(26_000));
        assert_eq!(v.status, Status::Pass, "{v:?}");
        assert!(v.observed.contains(", 0 failed,"), "{v:?}");
        let unbounded = WritePauseLimits { resumes_within: None, ..limits(5_000) };
        let v = write_pause(unbounded, &tl, &ctx(26_000));
        assert_eq!(v.status, Status::Fail, "without resumes_within every failure after the fault counts: {v:?}");
    }

    #[test]
    fn without_group_attribution_it_fails_plainly() {
        let tl = Tl::new().acked(9_000, 1).acked(12_000, 2).build();
        let v = write_pause(limits(5_000), &tl, &ctx(12_000));
        assert_eq!(v.status, Status::Fail);
        assert!(v.observed.starts_with("no write is attributed to a worker group"), "{v:?}");
    }
}
