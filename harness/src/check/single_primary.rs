//! `single_primary`: never two members certainly running as primary at the same time.
//!
//! Each member's "primary stints" run from the first observation as a running primary to the
//! last one (the `prev_seen_at` of the change that ended it; an open stint runs until `now`).
//! Only what was observed counts: between a member's last primary observation and the next
//! change we do not know its role, so an unreachable member ends its stint. Two stints of
//! different members that share an instant are a certain split brain.
//!
//! The same holds for what the members say themselves: the split-brain probe asks each member's
//! PostgreSQL directly whether it accepts writes (`EventKind::Writable`), and two members both
//! answering yes over a shared instant fail the check too, whatever Patroni's API or HAProxy
//! showed.
use super::member_history::{natural_cmp, secs, MemberHistory, Stint};
use super::verdict::{Status, Verdict};
use crate::timeline::{EventKind, MemberView, Millis, Timeline};
use crate::topology::member_group;

/// The check's name, as verdicts and scenario files spell it.
pub const NAME: &str = "single_primary";

/// Two members both observed as running primary over `[from, to]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overlap {
    /// One member (the one whose stint started first).
    pub first: String,
    /// The other member.
    pub second: String,
    /// Start of the window both were primary.
    pub from: Millis,
    /// End of that window.
    pub to: Millis,
}

/// Every pair of overlapping primary stints of different members of the same group (Citus) or
/// cluster, ordered by start.
pub fn primary_overlaps(stints: &[Stint]) -> Vec<Overlap> {
    let mut overlaps = Vec::new();
    for (i, a) in stints.iter().enumerate() {
        for b in &stints[i + 1..] {
            // Citus: each group is its own Patroni cluster with its own primary.
            if a.member == b.member || member_group(&a.member) != member_group(&b.member) {
                continue;
            }
            let from = a.from.max(b.from);
            let to = a.to.min(b.to);
            if from <= to {
                let (first, second) = if (a.from, &a.member) <= (b.from, &b.member) { (a, b) } else { (b, a) };
                overlaps.push(Overlap { first: first.member.clone(), second: second.member.clone(), from, to });
            }
        }
    }
    overlaps.sort_by(|x, y| x.from.cmp(&y.from).then_with(|| natural_cmp(&x.first, &y.first)));
    overlaps
}

/// Each member's stints of answering "I accept writes" to the split-brain probe: from the first
/// such answer to the last (the next change's `prev_seen_at`; an open one runs until `now`).
pub fn writable_stints(timeline: &Timeline, now: Millis) -> Vec<Stint> {
    let mut open: std::collections::BTreeMap<&str, Millis> = Default::default();
    let mut stints = Vec::new();
    for event in timeline.events.iter().filter(|e| e.at <= now) {
        let EventKind::Writable { member, writable, prev_seen_at } = &event.kind else { continue };
        if let Some(from) = open.remove(member.as_str()) {
            let to = prev_seen_at.unwrap_or(from).max(from);
            stints.push(Stint { member: member.clone(), from, to, open: false });
        }
        if *writable == Some(true) {
            open.insert(member, event.at);
        }
    }
    stints.extend(open.into_iter().map(|(member, from)| Stint {
        member: member.to_string(),
        from,
        to: now,
        open: true,
    }));
    stints.sort_by_key(|s| s.from);
    stints
}

/// Evaluates the `single_primary` invariant over the timeline up to `now`. On failure
/// `observed_ms` is the length of the first overlap.
pub fn single_primary(timeline: &Timeline, now: Millis) -> Verdict {
    let history = MemberHistory::from_timeline(timeline, now);
    let stints = history.stints(MemberView::is_running_primary);
    let overlaps = primary_overlaps(&stints);
    // What Patroni's API showed first; then what the members themselves answered.
    let writable = writable_stints(timeline, now);
    let asked = primary_overlaps(&writable);
    let found = overlaps
        .first()
        .map(|o| (o, "running primary (Patroni's API)", overlaps.len()))
        .or_else(|| asked.first().map(|o| (o, "accepting writes (asked directly)", asked.len())));
    let (status, observed, observed_ms) = match found {
        Some((o, how, count)) => {
            let mut text = format!(
                "{} and {} both {how} from {} to {} ({})",
                o.first,
                o.second,
                secs(o.from),
                secs(o.to),
                secs(o.to - o.from)
            );
            if count > 1 {
                text.push_str(&format!(" and {} more overlap(s)", count - 1));
            }
            (Status::Fail, text, Some(o.to - o.from))
        }
        None if writable.is_empty() => (Status::Pass, describe_stints(&stints), None),
        None => {
            let asked = format!("; asked directly, never two members writable at once ({} stints)", writable.len());
            (Status::Pass, describe_stints(&stints) + &asked, None)
        }
    };
    Verdict {
        check: NAME.to_string(),
        step: None,
        status,
        observed,
        budget: "≤ 1 primary".to_string(),
        observed_ms,
        budget_ms: None,
    }
}

fn describe_stints(stints: &[Stint]) -> String {
    if stints.is_empty() {
        return "no member was observed as a running primary".to_string();
    }
    let shown: Vec<String> = stints
        .iter()
        .take(4)
        .map(|s| {
            let to = if s.open { "end".to_string() } else { secs(s.to) };
            format!("{} {}–{to}", s.member, secs(s.from))
        })
        .collect();
    let more = if stints.len() > 4 { format!(", … {} more", stints.len() - 4) } else { String::new() };
    format!("one primary at a time; stints: {}{more}", shown.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::member_history::testkit::*;
    use crate::timeline::Event;

    /// `tl` with the probe's answers `(at, member, writable, prev_seen_at)` added.
    fn asked(mut tl: Timeline, answers: &[(Millis, &str, Option<bool>, Option<Millis>)]) -> Timeline {
        for (at, member, writable, prev_seen_at) in answers {
            let kind =
                EventKind::Writable { member: member.to_string(), writable: *writable, prev_seen_at: *prev_seen_at };
            tl.events.push(Event { at: *at, kind });
        }
        tl.events.sort_by_key(|e| e.at);
        tl
    }

    #[test]
    fn two_members_accepting_writes_at_once_fail_even_when_patroni_shows_one_primary() {
        // Patroni's API shows a clean switchover at 10s; pg-1 still answered "writable" until 11s.
        let tl =
            Tl::new().healthy().poll(9_500, "pg-1", replica(1)).poll(10_000, "pg-2", primary(2)).note(20_000).build();
        let tl = asked(
            tl,
            &[
                (0, "pg-1", Some(true), None),
                (0, "pg-2", Some(false), None),
                (10_250, "pg-2", Some(true), Some(10_000)),
                (11_250, "pg-1", Some(false), Some(11_000)),
            ],
        );
        let v = single_primary(&tl, 20_000);
        assert_eq!(v.status, Status::Fail, "{v:?}");
        assert_eq!(v.observed, "pg-1 and pg-2 both accepting writes (asked directly) from 10.2s to 11.0s (0.8s)");
    }

    #[test]
    fn writable_answers_one_after_another_pass() {
        let tl = asked(
            Tl::new().healthy().note(20_000).build(),
            &[
                (0, "pg-1", Some(true), None),
                (10_000, "pg-1", None, Some(9_750)),
                (10_500, "pg-2", Some(true), None),
                (12_000, "pg-1", Some(false), Some(10_000)),
            ],
        );
        assert_eq!(single_primary(&tl, 20_000).status, Status::Pass);
        let stints = writable_stints(&tl, 20_000);
        let spans: Vec<(&str, Millis, Millis, bool)> =
            stints.iter().map(|s| (s.member.as_str(), s.from, s.to, s.open)).collect();
        assert_eq!(spans, vec![("pg-1", 0, 9_750, false), ("pg-2", 10_500, 20_000, true)]);
    }

    #[test]
    fn citus_groups_each_have_their_own_primary() {
        let tl = Tl::new()
            .first(0, "coord-1", primary(1))
            .first(0, "worker1-1", primary(1))
            .first(0, "worker2-1", primary(1))
            .first(0, "worker2-2", replica(1))
            .note(5_000)
            .build();
        assert_eq!(single_primary(&tl, 5_000).status, Status::Pass);
        let split = Tl::new()
            .first(0, "worker1-1", primary(1))
            .first(0, "worker2-1", primary(1))
            .poll(2_000, "worker2-2", primary(2))
            .note(5_000)
            .build();
        let v = single_primary(&split, 5_000);
        assert_eq!(v.status, Status::Fail);
        assert_eq!(v.observed, "worker2-1 and worker2-2 both running primary (Patroni's API) from 2.0s to 5.0s (3.0s)");
    }

    #[test]
    fn clean_switchover_passes() {
        // pg-1 last seen as primary at 5.0s, pg-2 first seen as primary at 5.2s.
        let tl = Tl::new()
            .healthy()
            .change(5_100, "pg-1", Some(5_000), view(crate::timeline::Role::Replica, "stopped", 1))
            .change(5_200, "pg-2", Some(5_100), primary(2))
            .poll(8_000, "pg-1", replica(2))
            .note(10_000)
            .build();
        let v = single_primary(&tl, 10_000);
        assert_eq!(v.status, Status::Pass, "{v:?}");
        assert_eq!(v.observed, "one primary at a time; stints: pg-1 0.0s–5.0s, pg-2 5.2s–end");
        assert_eq!(v.step, None);
    }

    #[test]
    fn split_brain_overlap_is_detected() {
        // pg-1 keeps answering as primary until 12s while pg-2 is primary from 9s.
        let tl = Tl::new()
            .healthy()
            .change(9_000, "pg-2", Some(8_900), primary(2))
            .change(12_100, "pg-1", Some(12_000), down())
            .note(20_000)
            .build();
        let v = single_primary(&tl, 20_000);
        assert_eq!(v.status, Status::Fail);
        assert_eq!(v.observed, "pg-1 and pg-2 both running primary (Patroni's API) from 9.0s to 12.0s (3.0s)");
        assert_eq!(v.observed_ms, Some(3_000));
    }

    #[test]
    fn an_unreachable_member_does_not_count_as_primary() {
        // pg-1 partitioned (unreachable) from 5s, still believing it is primary; pg-2 promoted.
        let tl = Tl::new()
            .healthy()
            .poll(5_000, "pg-1", down())
            .poll(25_000, "pg-2", primary(2))
            .poll(40_000, "pg-1", replica(2))
            .note(50_000)
            .build();
        assert_eq!(single_primary(&tl, 50_000).status, Status::Pass);
    }

    #[test]
    fn open_stints_run_until_now() {
        let tl = Tl::new().healthy().poll(30_000, "pg-3", primary(2)).build();
        let v = single_primary(&tl, 31_000);
        assert_eq!(v.status, Status::Fail);
        assert_eq!(v.observed, "pg-1 and pg-3 both running primary (Patroni's API) from 30.0s to 31.0s (1.0s)");
    }

    #[test]
    fn a_member_primary_twice_is_not_an_overlap_with_itself() {
        let mut sync = primary(1);
        sync.sync_standby = true;
        let tl = Tl::new().healthy().poll(1_000, "pg-1", sync).poll(2_000, "pg-1", primary(1)).note(3_000).build();
        assert_eq!(single_primary(&tl, 3_000).status, Status::Pass);
    }

    #[test]
    fn several_overlaps_are_counted() {
        let tl =
            Tl::new().healthy().poll(10_000, "pg-2", primary(2)).poll(11_000, "pg-3", primary(2)).note(12_000).build();
        let v = single_primary(&tl, 12_000);
        assert_eq!(v.status, Status::Fail);
        assert!(v.observed.ends_with("and 2 more overlap(s)"), "{}", v.observed);
    }

    #[test]
    fn no_primary_at_all_is_not_a_violation() {
        let tl = Tl::new().first(0, "pg-1", down()).note(1_000).build();
        let v = single_primary(&tl, 1_000);
        assert_eq!(v.status, Status::Pass);
        assert_eq!(v.observed, "no member was observed as a running primary");
    }
}
