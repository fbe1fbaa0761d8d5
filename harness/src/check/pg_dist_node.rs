//! `pg_dist_node` (Citus): the coordinator knows every group's current primary. Satisfied at the
//! first time at or after the fault when the latest pg_dist_node read
//! - was read on a member that is then the coordinator group's running primary,
//! - names, for every group checked, a member that is then that group's running primary, and
//! - for the group the fault hit, names a primary other than the one at the time of the fault
//!   (the change is what is being waited for) — unless `new_primary: false`.
use std::collections::BTreeMap;

use super::member_history::MemberHistory;
use super::timed::{timed_verdict, Found};
use super::verdict::{CheckContext, Verdict};
use crate::scenario::Budget;
use crate::timeline::{describe_dist_nodes, primaries_by_group, DistNodeRow, EventKind, Millis, Timeline};
use crate::topology::member_group;

/// The check's name, as verdicts and scenario files spell it.
pub const NAME: &str = "pg_dist_node";

/// Evaluates `pg_dist_node: {group, within}` from `ctx.anchor` (every group without `group`).
pub fn pg_dist_node(
    group: Option<u32>,
    new_primary: bool,
    within: Budget,
    timeline: &Timeline,
    ctx: &CheckContext,
) -> Verdict {
    let history = MemberHistory::from_timeline(timeline, ctx.now);
    let groups: Vec<u32> = match group {
        Some(g) => vec![g],
        None => {
            let mut all: Vec<u32> = history.members().iter().filter_map(|m| member_group(m)).collect();
            all.dedup();
            all
        }
    };
    let judge = |t: Millis, latest: Option<(&str, &[DistNodeRow])>| {
        let (source, rows) = latest?;
        consistent_at(t, source, rows, &groups, new_primary, &history, ctx).map(|what| Found { at: t, what })
    };
    // Judged at the fault itself (what held then may already do), then at every later change of
    // pg_dist_node or of a member.
    let mut latest = timeline.events.iter().filter(|e| e.at <= ctx.anchor).rev().find_map(|e| match &e.kind {
        EventKind::DistNodes { source, rows } => Some((source.as_str(), rows.as_slice())),
        _ => None,
    });
    let mut found = judge(ctx.anchor, latest);
    if found.is_none() {
        for event in timeline.events.iter().filter(|e| e.at > ctx.anchor && e.at <= ctx.now) {
            match &event.kind {
                EventKind::DistNodes { source, rows } => latest = Some((source.as_str(), rows.as_slice())),
                EventKind::Member { .. } => {}
                _ => continue,
            }
            found = judge(event.at, latest);
            if found.is_some() {
                break;
            }
        }
    }
    let missing = match latest {
        Some((source, rows)) => format!(
            "pg_dist_node never agreed with the groups' leaders (last read on {source}: {})",
            describe_dist_nodes(rows)
        ),
        None => "pg_dist_node was never read".to_string(),
    };
    timed_verdict(NAME, ctx, within, found, &missing, &history)
}

/// What made the read consistent at `t`, or `None` if it was not.
fn consistent_at(
    t: Millis,
    source: &str,
    rows: &[DistNodeRow],
    groups: &[u32],
    new_primary: bool,
    history: &MemberHistory<'_>,
    ctx: &CheckContext,
) -> Option<String> {
    let running_primary = |member: &str| history.view_at(member, t).is_some_and(|s| s.view.is_running_primary());
    if member_group(source) != Some(0) || !running_primary(source) {
        return None;
    }
    let primaries: BTreeMap<u32, String> = primaries_by_group(rows);
    let mut named = Vec::new();
    for group in groups {
        let member = primaries.get(group)?;
        if member_group(member) != Some(*group) || !running_primary(member) {
            return None;
        }
        if new_primary && ctx.group == Some(*group) && ctx.leader_at_anchor.as_deref() == Some(member.as_str()) {
            return None;
        }
        named.push(format!("{group} → {member}"));
    }
    // What became of the old primary's row (Patroni 4 keeps it as a secondary; older versions
    // remove it): reported, not judged.
    let old_row = match (ctx.group, ctx.leader_at_anchor.as_deref()) {
        (Some(group), Some(old)) if groups.contains(&group) => {
            let row = rows.iter().find(|r| r.group == group && r.node.trim_end_matches("-demoted") == old);
            Some(match row {
                Some(r) => format!("; old primary {old}: {} row", r.role),
                None => format!("; old primary {old}: no row"),
            })
        }
        _ => None,
    };
    Some(format!("{} (read on {source}{})", named.join(", "), old_row.unwrap_or_default()))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::check::member_history::testkit::*;
    use crate::check::Status;

    fn ctx(group: u32, leader: &str, now: Millis) -> CheckContext {
        CheckContext {
            step: 3,
            anchor: 10_000,
            now,
            leader_at_anchor: Some(leader.into()),
            old_primary: None,
            group: Some(group),
            highest_priority: None,
        }
    }

    /// worker1-1 is switched over to worker1-2 at 10s; Patroni commits the pg_dist_node change
    /// at 12.7s and the REST API shows the new primary from 12.5s.
    fn switchover() -> Timeline {
        Tl::new()
            .first(0, "coord-1", primary(1))
            .first(0, "worker1-1", primary(1))
            .first(0, "worker1-2", replica(1))
            .first(0, "worker2-1", primary(1))
            .dist(0, "coord-1", &[(0, "coord-1"), (1, "worker1-1"), (2, "worker2-1")])
            .dist(10_500, "coord-1", &[(0, "coord-1"), (1, "worker1-1-demoted"), (2, "worker2-1")])
            .poll(11_000, "worker1-1", view(crate::timeline::Role::Replica, "stopped", 1))
            .poll(12_500, "worker1-2", primary(2))
            .dist(12_700, "coord-1", &[(0, "coord-1"), (1, "worker1-2"), (2, "worker2-1")])
            .note(20_000)
            .build()
    }

    #[test]
    fn the_new_primary_counts_once_the_coordinator_has_it() {
        let v =
            pg_dist_node(Some(1), true, Budget(Duration::from_secs(30)), &switchover(), &ctx(1, "worker1-1", 20_000));
        assert_eq!(v.status, Status::Pass, "{v:?}");
        assert_eq!(v.observed_ms, Some(2_700));
        assert_eq!(v.observed, "1 → worker1-2 (read on coord-1; old primary worker1-1: no row) after 2.7s");
        let all =
            pg_dist_node(None, true, Budget(Duration::from_secs(30)), &switchover(), &ctx(1, "worker1-1", 20_000));
        assert_eq!(all.status, Status::Pass, "{all:?}");
        assert!(all.observed.starts_with("0 → coord-1, 1 → worker1-2, 2 → worker2-1"), "{all:?}");
    }

    #[test]
    fn the_old_primary_does_not_count_and_the_budget_holds() {
        let tl = Tl::new()
            .first(0, "coord-1", primary(1))
            .first(0, "worker1-1", primary(1))
            .dist(0, "coord-1", &[(0, "coord-1"), (1, "worker1-1")])
            .note(20_000)
            .build();
        let v = pg_dist_node(Some(1), true, Budget(Duration::from_secs(5)), &tl, &ctx(1, "worker1-1", 20_000));
        assert_eq!(v.status, Status::Fail, "{v:?}");
        assert!(v.observed.contains("last read on coord-1: 0: coord-1; 1: worker1-1"), "{v:?}");
        let settled = pg_dist_node(None, false, Budget(Duration::from_secs(5)), &tl, &ctx(1, "worker1-1", 20_000));
        assert_eq!(settled.status, Status::Pass, "consistency alone holds: {settled:?}");
        let slow =
            pg_dist_node(Some(1), true, Budget(Duration::from_secs(2)), &switchover(), &ctx(1, "worker1-1", 20_000));
        assert_eq!(slow.status, Status::Fail, "{slow:?}");
    }

    #[test]
    fn a_read_on_a_demoted_coordinator_does_not_count() {
        // coord-1 killed at 10s; coord-2 promoted at 30s and read from at 30.3s.
        let tl = Tl::new()
            .first(0, "coord-1", primary(1))
            .first(0, "coord-2", replica(1))
            .first(0, "worker1-1", primary(1))
            .dist(0, "coord-1", &[(0, "coord-1"), (1, "worker1-1")])
            .poll(10_100, "coord-1", down())
            .poll(30_000, "coord-2", primary(2))
            .dist(30_300, "coord-2", &[(0, "coord-1"), (1, "worker1-1")])
            .dist(32_000, "coord-2", &[(0, "coord-2"), (1, "worker1-1")])
            .note(40_000)
            .build();
        let v = pg_dist_node(None, true, Budget(Duration::from_secs(45)), &tl, &ctx(0, "coord-1", 40_000));
        assert_eq!(v.status, Status::Pass, "{v:?}");
        assert_eq!(v.observed_ms, Some(22_000));
    }
}
