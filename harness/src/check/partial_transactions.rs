//! `no_partial_transactions`: every multi-shard transaction of the workload (its rows carry the
//! same `txn`) is at the end of the run either wholly present or wholly absent, according to the
//! audit's read of the leader — never some of its rows (a two-phase commit whose COMMIT PREPARED
//! reached one worker group and not the other, and that recovery did not finish).
use std::collections::BTreeMap;

use super::audit_reads::{leader_rows, MemberRows};
use super::verdict::{Status, Verdict};
use crate::timeline::{EventKind, Millis, Timeline, WriteOutcome};

/// The check's name, as verdicts and scenario files spell it.
pub const NAME: &str = "no_partial_transactions";
/// How many partial transactions the verdict names.
const SHOWN: usize = 5;

/// Evaluates the `no_partial_transactions` invariant up to `now`.
pub fn no_partial_transactions(timeline: &Timeline, now: Millis) -> Verdict {
    let verdict = |status, observed: String| Verdict {
        check: NAME.to_string(),
        step: None,
        status,
        observed,
        budget: "0 partial".to_string(),
        observed_ms: None,
        budget_ms: None,
    };
    // txn → (its row ids, acknowledged)
    let mut transactions: BTreeMap<u64, (Vec<u64>, bool)> = BTreeMap::new();
    for event in timeline.events.iter().filter(|e| e.at <= now) {
        if let EventKind::Write { id, txn: Some(txn), outcome, .. } = &event.kind {
            let entry = transactions.entry(*txn).or_default();
            entry.0.push(*id);
            entry.1 = matches!(outcome, WriteOutcome::Acked { .. });
        }
    }
    if transactions.is_empty() {
        return verdict(Status::Fail, "the workload wrote no multi-shard transaction: nothing to verify".into());
    }
    let Some(MemberRows { present, source, .. }) = leader_rows(timeline, now) else {
        return verdict(Status::Fail, format!("audit did not run: {} transactions not verified", transactions.len()));
    };
    let (mut whole, mut absent, mut partial) = (0usize, 0usize, Vec::new());
    for (txn, (ids, acked)) in &transactions {
        match ids.iter().filter(|id| present.contains(**id)).count() {
            0 => absent += 1,
            n if n == ids.len() => whole += 1,
            n => partial.push(format!("txn {txn}: {n} of {} rows{}", ids.len(), if *acked { " (acked)" } else { "" })),
        }
    }
    let counts =
        format!("{} transactions: {whole} whole, {absent} absent (failed or lost) on {source}", transactions.len());
    if partial.is_empty() {
        verdict(Status::Pass, counts)
    } else {
        let shown: Vec<&str> = partial.iter().take(SHOWN).map(String::as_str).collect();
        verdict(Status::Fail, format!("{} partial: {}; {counts}", partial.len(), shown.join(", ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::member_history::testkit::*;

    /// Transactions (1, 2), (3, 4), (5, 6): the first two acked, the third failed.
    fn pairs(tl: Tl) -> Tl {
        let write = |tl: Tl, at: Millis, id: u64, txn: u64, outcome: WriteOutcome| {
            tl.event(
                at,
                EventKind::Write {
                    id,
                    writer: 0,
                    group: Some((id % 2) as u32 + 1),
                    txn: Some(txn),
                    sent_at: at - 5,
                    outcome,
                },
            )
        };
        let acked = |at| WriteOutcome::Acked { acked_at: at };
        let failed = |at| WriteOutcome::Failed { failed_at: at, error: "08006".into() };
        let tl = write(tl, 100, 1, 1, acked(100));
        let tl = write(tl, 100, 2, 1, acked(100));
        let tl = write(tl, 200, 3, 3, acked(200));
        let tl = write(tl, 200, 4, 3, acked(200));
        let tl = write(tl, 300, 5, 5, failed(300));
        write(tl, 300, 6, 5, failed(300))
    }

    #[test]
    fn whole_and_absent_transactions_pass() {
        let tl = pairs(Tl::new()).leader_audit(1_000, &[(1, 4)]).build();
        let v = no_partial_transactions(&tl, 2_000);
        assert_eq!(v.status, Status::Pass, "{v:?}");
        assert!(v.observed.contains("3 transactions: 2 whole, 1 absent"), "{v:?}");
    }

    #[test]
    fn half_a_transaction_fails() {
        let tl = pairs(Tl::new()).leader_audit(1_000, &[(1, 3), (5, 5)]).build();
        let v = no_partial_transactions(&tl, 2_000);
        assert_eq!(v.status, Status::Fail, "{v:?}");
        assert!(v.observed.starts_with("2 partial: txn 3: 1 of 2 rows (acked), txn 5: 1 of 2 rows"), "{v:?}");
    }

    #[test]
    fn no_transactions_or_no_audit_is_not_a_pass() {
        assert_eq!(
            no_partial_transactions(&Tl::new().leader_audit(1_000, &[(1, 2)]).build(), 2_000).status,
            Status::Fail
        );
        assert_eq!(no_partial_transactions(&pairs(Tl::new()).build(), 2_000).status, Status::Fail);
    }
}
