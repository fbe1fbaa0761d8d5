//! `no_orphaned_prepared_transactions` (Citus): no worker group's running primary holds a prepared
//! transaction older than the observer's threshold (a two-phase commit left half-done: Citus's
//! transaction recovery must commit or roll it back). Satisfied at the first time at least
//! [`ORPHAN_AGE`] after the fault (so that what the fault left behind has aged into view) when,
//! for every worker group, its running primary's latest read shows none.
use std::collections::BTreeMap;

use super::member_history::MemberHistory;
use super::timed::{timed_verdict, Found};
use super::verdict::{CheckContext, Verdict};
use crate::observe::ORPHAN_AGE;
use crate::scenario::Budget;
use crate::timeline::{describe_prepared_xacts, EventKind, Millis, Timeline};
use crate::topology::member_group;

/// The check's name, as verdicts and scenario files spell it.
pub const NAME: &str = "no_orphaned_prepared_transactions";

/// One member's latest read: (count, names, error).
type Read<'a> = (u64, &'a [String], Option<&'a str>);

/// Evaluates `no_orphaned_prepared_transactions: {within}` from `ctx.anchor`.
pub fn no_orphaned_prepared_transactions(within: Budget, timeline: &Timeline, ctx: &CheckContext) -> Verdict {
    let history = MemberHistory::from_timeline(timeline, ctx.now);
    let mut groups: Vec<u32> = history.members().iter().filter_map(|m| member_group(m)).filter(|g| *g > 0).collect();
    groups.sort_unstable();
    groups.dedup();
    let start = ctx.anchor.saturating_add(ORPHAN_AGE.as_millis() as Millis);
    let mut latest: BTreeMap<&str, Read<'_>> = BTreeMap::new();
    let mut found = None;
    for event in timeline.events.iter().filter(|e| e.at <= ctx.now) {
        if event.at >= start && found.is_none() {
            // What held just before this event, from `start` on.
            found = clean_at(event.at.max(start), &groups, &latest, &history);
        }
        match &event.kind {
            EventKind::PreparedXacts { member, count, gids, error } => {
                latest.insert(member.as_str(), (*count, gids.as_slice(), error.as_deref()));
            }
            EventKind::Member { .. } => {}
            _ => continue,
        }
        if event.at >= start && found.is_none() {
            found = clean_at(event.at, &groups, &latest, &history);
        }
    }
    if found.is_none() && ctx.now >= start {
        found = clean_at(ctx.now, &groups, &latest, &history);
    }
    let missing = match describe_dirty(ctx.now, &groups, &latest, &history) {
        seen if seen.is_empty() => "no clean read of every worker group's primary".to_string(),
        seen => format!("orphaned prepared transactions remain ({})", seen.join("; ")),
    };
    timed_verdict(NAME, ctx, within, found, &missing, &history)
}

/// Each worker group's running primary at `t`.
fn primaries_at<'a>(t: Millis, groups: &[u32], history: &MemberHistory<'a>) -> Vec<(u32, Option<&'a str>)> {
    let running = |m: &&str| history.view_at(m, t).is_some_and(|s| s.view.is_running_primary());
    groups
        .iter()
        .map(|g| (*g, history.members().into_iter().filter(|m| member_group(m) == Some(*g)).find(running)))
        .collect()
}

/// `Found` when every group's running primary at `t` was last read without orphans.
fn clean_at(
    t: Millis,
    groups: &[u32],
    latest: &BTreeMap<&str, Read<'_>>,
    history: &MemberHistory<'_>,
) -> Option<Found> {
    if groups.is_empty() {
        return None;
    }
    let mut read_on = Vec::new();
    for (_, primary) in primaries_at(t, groups, history) {
        let primary = primary?;
        match latest.get(primary) {
            Some((0, _, None)) => read_on.push(primary),
            _ => return None,
        }
    }
    Some(Found { at: t, what: format!("no orphaned prepared transaction on {}", read_on.join(", ")) })
}

/// What the groups' primaries showed last, where it was not clean.
fn describe_dirty(
    t: Millis,
    groups: &[u32],
    latest: &BTreeMap<&str, Read<'_>>,
    history: &MemberHistory<'_>,
) -> Vec<String> {
    primaries_at(t, groups, history)
        .into_iter()
        .filter_map(|(group, primary)| match primary {
            None => Some(format!("group {group} has no running primary")),
            Some(p) => match latest.get(p) {
                Some((0, _, None)) => None,
                Some((count, gids, error)) => Some(describe_prepared_xacts(p, *count, gids, *error)),
                None => Some(format!("{p} not read")),
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::check::member_history::testkit::*;
    use crate::check::Status;

    fn read(tl: Tl, at: Millis, member: &str, gids: &[&str]) -> Tl {
        let gids: Vec<String> = gids.iter().map(|g| g.to_string()).collect();
        tl.event(at, EventKind::PreparedXacts { member: member.into(), count: gids.len() as u64, gids, error: None })
    }

    /// Two worker groups; group 1's primary holds an orphan from 9 s until recovery at 14 s.
    fn orphan_recovered() -> Timeline {
        let tl = Tl::new()
            .first(0, "coord-1", primary(1))
            .first(0, "worker1-1", primary(1))
            .first(0, "worker1-2", replica(1))
            .first(0, "worker2-1", primary(1));
        let tl = read(tl, 100, "worker1-1", &[]);
        let tl = read(tl, 100, "worker2-1", &[]);
        let tl = read(tl, 9_000, "worker1-1", &["citus_0_42_777_1"]);
        read(tl, 14_000, "worker1-1", &[]).build()
    }

    #[test]
    fn passes_once_recovery_has_cleaned_up() {
        let tl = orphan_recovered();
        let v = no_orphaned_prepared_transactions(Budget(Duration::from_secs(20)), &tl, &pg1_fault_at_10s(30_000));
        assert_eq!(v.status, Status::Pass, "{v:?}");
        assert_eq!(v.observed_ms, Some(4_000), "{v:?}");
    }

    #[test]
    fn an_orphan_that_stays_fails_and_is_named() {
        let tl = orphan_recovered();
        let before = no_orphaned_prepared_transactions(Budget(Duration::from_secs(3)), &tl, &pg1_fault_at_10s(13_500));
        assert_eq!(before.status, Status::Fail, "{before:?}");
        assert!(
            before.observed.contains("worker1-1: 1 orphaned prepared transaction(s) (citus_0_42_777_1)"),
            "{before:?}"
        );
        let pending =
            no_orphaned_prepared_transactions(Budget(Duration::from_secs(20)), &tl, &pg1_fault_at_10s(12_000));
        assert_eq!(pending.status, Status::Pending, "{pending:?}");
    }

    #[test]
    fn a_new_primary_must_be_read_itself() {
        // Group 1 fails over at 11 s; the new primary is never read.
        let tl = Tl::new()
            .first(0, "worker1-1", primary(1))
            .first(0, "worker1-2", replica(1))
            .first(0, "worker2-1", primary(1))
            .poll(11_000, "worker1-1", down())
            .poll(11_000, "worker1-2", primary(2));
        let tl = read(tl, 100, "worker1-1", &[]);
        let tl = read(tl, 100, "worker2-1", &[]).build();
        let v = no_orphaned_prepared_transactions(Budget(Duration::from_secs(5)), &tl, &pg1_fault_at_10s(20_000));
        assert_eq!(v.status, Status::Fail, "{v:?}");
        assert!(v.observed.contains("worker1-2 not read"), "{v:?}");
    }
}
