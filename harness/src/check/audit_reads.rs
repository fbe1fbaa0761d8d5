//! The write audit's records as the checks read them: the leader's read (the run's result), the
//! replicas' reads and the members that could not be read, each the last one recorded.
use std::collections::BTreeMap;

use crate::timeline::{AuditRead, AuditRole, EventKind, Millis, Timeline};

/// One member's audited rows.
#[derive(Debug)]
pub(super) struct MemberRows<'a> {
    /// When it was recorded.
    pub at: Millis,
    /// The member read.
    pub source: &'a str,
    /// Its ids.
    pub present: Ranges,
    /// How it was read (`None` in reports from before the audit compared members).
    pub read: Option<&'a AuditRead>,
}

/// Every audit record up to `now`, by member; a later record of a member replaces an earlier one.
fn records(timeline: &Timeline, now: Millis) -> impl Iterator<Item = MemberRows<'_>> {
    timeline.events.iter().filter(move |e| e.at <= now).filter_map(|e| match &e.kind {
        EventKind::WriteAudit { present, source, read } => {
            Some(MemberRows { at: e.at, source, present: Ranges::new(present), read: read.as_ref() })
        }
        _ => None,
    })
}

/// The last read of the leader (or, in older reports, of the primary through HAProxy).
pub(super) fn leader_rows(timeline: &Timeline, now: Millis) -> Option<MemberRows<'_>> {
    records(timeline, now).filter(|r| r.read.is_none_or(|read| read.role == AuditRole::Leader)).last()
}

/// The last read of each replica, by name.
pub(super) fn replica_rows(timeline: &Timeline, now: Millis) -> Vec<MemberRows<'_>> {
    let mut by_member: BTreeMap<&str, MemberRows<'_>> = BTreeMap::new();
    for r in records(timeline, now).filter(|r| r.read.is_some_and(|read| read.role == AuditRole::Replica)) {
        by_member.insert(r.source, r);
    }
    by_member.into_values().collect()
}

/// Members the audit could not read, with why.
pub(super) fn skipped(timeline: &Timeline, now: Millis) -> Vec<(&str, &str)> {
    timeline
        .events
        .iter()
        .filter(|e| e.at <= now)
        .filter_map(|e| match &e.kind {
            EventKind::AuditSkipped { member, reason } => Some((member.as_str(), reason.as_str())),
            _ => None,
        })
        .collect()
}

/// Sorted, merged inclusive ranges with a binary-search membership test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Ranges(pub Vec<(u64, u64)>);

impl Ranges {
    /// Sorts and merges `ranges` (touching or overlapping ones become one).
    pub fn new(ranges: &[(u64, u64)]) -> Self {
        let mut sorted: Vec<(u64, u64)> = ranges.iter().map(|&(a, b)| (a.min(b), a.max(b))).collect();
        sorted.sort_unstable();
        let mut merged: Vec<(u64, u64)> = Vec::with_capacity(sorted.len());
        for (lo, hi) in sorted {
            match merged.last_mut() {
                Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
                _ => merged.push((lo, hi)),
            }
        }
        Self(merged)
    }

    /// Whether `id` is in a range.
    pub fn contains(&self, id: u64) -> bool {
        let i = self.0.partition_point(|&(lo, _)| lo <= id);
        i > 0 && id <= self.0[i - 1].1
    }

    /// Every id, ascending.
    pub fn ids(&self) -> impl Iterator<Item = u64> + '_ {
        self.0.iter().flat_map(|&(lo, hi)| lo..=hi)
    }

    /// How many ids.
    pub fn len(&self) -> u64 {
        self.0.iter().map(|(lo, hi)| hi - lo + 1).sum()
    }

    /// The ids of `self` that `other` lacks, ascending.
    pub fn minus<'a>(&'a self, other: &'a Ranges) -> impl Iterator<Item = u64> + 'a {
        self.ids().filter(|id| !other.contains(*id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_merge_and_contain() {
        let r = Ranges::new(&[(10, 12), (1, 3), (4, 5), (20, 20)]);
        assert_eq!(r.0, vec![(1, 5), (10, 12), (20, 20)]);
        for (id, want) in
            [(0, false), (1, true), (5, true), (6, false), (11, true), (13, false), (20, true), (21, false)]
        {
            assert_eq!(r.contains(id), want, "id {id}");
        }
        assert_eq!(r.len(), 9);
    }

    #[test]
    fn the_difference_lists_what_the_other_lacks() {
        let leader = Ranges::new(&[(1, 10)]);
        let replica = Ranges::new(&[(1, 2), (4, 7), (12, 12)]);
        assert_eq!(leader.minus(&replica).collect::<Vec<_>>(), vec![3, 8, 9, 10]);
        assert_eq!(replica.minus(&leader).collect::<Vec<_>>(), vec![12]);
    }
}
