//! `no_acked_write_lost`: every write the server acknowledged is present at the end of the run,
//! according to the audit's read of the leader (the last leader `WriteAudit`; `write_audit`
//! judges the replicas, identities and unexpected rows). Failed attempts may or may not have committed; they are
//! counted (a commit whose acknowledgement was lost is normal) but never required.
//!
//! The verdict also reports the longest gap between consecutive acknowledgements: the longest
//! time clients could not write, which is what a failover costs the application.
use super::audit_reads::{leader_rows, MemberRows};
use super::member_history::secs;
use super::verdict::{Status, Verdict};
use crate::timeline::{EventKind, Millis, Timeline, WriteOutcome};

/// The check's name, as verdicts and scenario files spell it.
pub const NAME: &str = "no_acked_write_lost";
/// How many lost ids the verdict names.
const SHOWN_IDS: usize = 10;

/// The longest time without an acknowledged write, between two acknowledgements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteGap {
    /// The acknowledgement before the gap.
    pub from: Millis,
    /// The next acknowledgement.
    pub to: Millis,
}

impl WriteGap {
    /// Length in ms.
    pub fn len(&self) -> Millis {
        self.to - self.from
    }

    /// Whether the gap has no length.
    pub fn is_empty(&self) -> bool {
        self.to == self.from
    }
}

/// The longest gap between consecutive acknowledgement times (`None` with fewer than two).
pub fn longest_write_gap(timeline: &Timeline, now: Millis) -> Option<WriteGap> {
    let mut acks: Vec<Millis> = acked(timeline, now).map(|(_, at)| at).collect();
    acks.sort_unstable();
    acks.windows(2).map(|w| WriteGap { from: w[0], to: w[1] }).max_by_key(|g| (g.len(), std::cmp::Reverse(g.from)))
}

fn acked(timeline: &Timeline, now: Millis) -> impl Iterator<Item = (u64, Millis)> + '_ {
    timeline.events.iter().filter(move |e| e.at <= now).filter_map(|e| match &e.kind {
        EventKind::Write { id, outcome: WriteOutcome::Acked { acked_at }, .. } => Some((*id, *acked_at)),
        _ => None,
    })
}

/// Evaluates the `no_acked_write_lost` invariant up to `now`. `observed_ms` is the longest gap
/// between acknowledged writes.
pub fn no_acked_write_lost(timeline: &Timeline, now: Millis) -> Verdict {
    let events = || timeline.events.iter().filter(|e| e.at <= now);
    let audit = leader_rows(timeline, now);
    let failed: Vec<u64> = events()
        .filter_map(|e| match &e.kind {
            EventKind::Write { id, outcome: WriteOutcome::Failed { .. }, .. } => Some(*id),
            _ => None,
        })
        .collect();
    let acked_ids: Vec<u64> = acked(timeline, now).map(|(id, _)| id).collect();
    let gap = longest_write_gap(timeline, now);
    let gap_text = match gap {
        Some(g) => format!("; longest gap between acked writes {} ({}–{})", secs(g.len()), secs(g.from), secs(g.to)),
        None => String::new(),
    };
    let verdict = |status, observed: String| Verdict {
        check: NAME.to_string(),
        step: None,
        status,
        observed,
        budget: "0 lost".to_string(),
        observed_ms: gap.map(|g| g.len()),
        budget_ms: None,
    };

    let Some(MemberRows { present, source, .. }) = audit else {
        return verdict(
            Status::Fail,
            format!("audit did not run: cannot tell whether {} acked writes survived{gap_text}", acked_ids.len()),
        );
    };
    if acked_ids.is_empty() {
        return verdict(
            Status::Fail,
            format!("no write was acknowledged ({} failed attempts): nothing to verify", failed.len()),
        );
    }
    let mut lost: Vec<u64> = acked_ids.iter().copied().filter(|id| !present.contains(*id)).collect();
    lost.sort_unstable();
    lost.dedup();
    let committed_anyway = failed.iter().filter(|id| present.contains(**id)).count();
    if lost.is_empty() {
        verdict(
            Status::Pass,
            format!(
                "{} acked writes, all present ({} failed attempts, {committed_anyway} of them committed anyway){gap_text}",
                acked_ids.len(),
                failed.len()
            ),
        )
    } else {
        let shown: Vec<String> = lost.iter().take(SHOWN_IDS).map(u64::to_string).collect();
        let more =
            if lost.len() > SHOWN_IDS { format!(", … {} more", lost.len() - SHOWN_IDS) } else { String::new() };
        verdict(
            Status::Fail,
            format!(
                "{} of {} acked writes missing on {source}: ids {}{more}{gap_text}",
                lost.len(),
                acked_ids.len(),
                shown.join(", ")
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::member_history::testkit::*;

    /// Writes 1..=5 acked every 100 ms, 6 and 7 failed during the failover, 8..=9 acked after.
    fn writes() -> Tl {
        Tl::new()
            .acked(100, 1)
            .acked(200, 2)
            .acked(300, 3)
            .acked(400, 4)
            .acked(500, 5)
            .failed(1_000, 6)
            .failed(2_000, 7)
            .acked(19_900, 8)
            .acked(19_910, 9)
    }

    #[test]
    fn passes_when_every_acked_write_is_present() {
        let tl = writes().audit(30_000, &[(1, 6), (8, 9)]).build();
        let v = no_acked_write_lost(&tl, 30_000);
        assert_eq!(v.status, Status::Pass, "{v:?}");
        assert_eq!(
            v.observed,
            "7 acked writes, all present (2 failed attempts, 1 of them committed anyway); \
             longest gap between acked writes 19.4s (0.5s–19.9s)"
        );
        assert_eq!(v.observed_ms, Some(19_400));
    }

    #[test]
    fn lost_write_is_detected() {
        let tl = writes().audit(30_000, &[(1, 3), (5, 5), (9, 9)]).build();
        let v = no_acked_write_lost(&tl, 30_000);
        assert_eq!(v.status, Status::Fail);
        assert!(v.observed.starts_with("2 of 7 acked writes missing on pg-2: ids 4, 8;"), "{}", v.observed);
    }

    #[test]
    fn many_lost_ids_are_abbreviated() {
        let mut tl = Tl::new();
        for id in 1..=30 {
            tl = tl.acked(id * 10, id);
        }
        let v = no_acked_write_lost(&tl.audit(1_000, &[]).build(), 1_000);
        assert!(
            v.observed
                .starts_with("30 of 30 acked writes missing on pg-2: ids 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, … 20 more"),
            "{}",
            v.observed
        );
    }

    #[test]
    fn missing_audit_fails() {
        let tl = writes().build();
        let v = no_acked_write_lost(&tl, 30_000);
        assert_eq!(v.status, Status::Fail);
        assert!(v.observed.starts_with("audit did not run"), "{}", v.observed);
    }

    #[test]
    fn the_last_audit_wins() {
        let tl = writes().audit(25_000, &[]).audit(30_000, &[(1, 9)]).build();
        assert_eq!(no_acked_write_lost(&tl, 30_000).status, Status::Pass);
    }

    #[test]
    fn nothing_acked_is_nothing_verified() {
        let tl = Tl::new().failed(10, 1).audit(100, &[]).build();
        let v = no_acked_write_lost(&tl, 100);
        assert_eq!(v.status, Status::Fail);
        assert!(v.observed.contains("nothing to verify"), "{}", v.observed);
    }
}
