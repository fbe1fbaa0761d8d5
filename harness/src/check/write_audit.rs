//! `write_audit`: what the end-of-run audit found besides lost writes, judged from its records.
//! It fails when the leader it read disagrees with what the Patroni observer saw (timeline,
//! system identifier), when a replica's system identifier differs or its rows differ from the
//! leader's (divergence, with the ids), and when the leader holds rows that should not exist:
//! ids never attempted (phantoms), ids whose write failed with a definite error (committed
//! anyway, e.g. SQLSTATE 25006 read-only) and ids present twice (duplicates). Lost acknowledged
//! writes are `no_acked_write_lost`'s, judged from the same leader read.
use std::collections::BTreeMap;

use super::audit_reads::{leader_rows, replica_rows, skipped, MemberRows};
use super::verdict::{Status, Verdict};
use crate::timeline::{AuditRead, EventKind, Millis, Timeline, WriteOutcome};

/// The check's name, as verdicts spell it.
pub const NAME: &str = "write_audit";
/// How many ids one finding names.
const SHOWN_IDS: usize = 10;
/// SQLSTATE classes of a server error that means the insert did not commit: data (22),
/// integrity (23), transaction state (25, e.g. 25006 read-only), rollback (40), syntax or access
/// (42), unsupported (0A). A lost connection or a timeout leaves the outcome open.
const DEFINITE_CLASSES: [&str; 6] = ["22", "23", "25", "40", "42", "0A"];

/// Whether a failed write's recorded error (`25006: cannot execute INSERT in a read-only
/// transaction`) says it certainly did not commit.
pub fn definite_failure(error: &str) -> bool {
    let code = error.split(':').next().unwrap_or_default();
    code.len() == 5 && code.chars().all(|c| c.is_ascii_alphanumeric()) && DEFINITE_CLASSES.contains(&&code[..2])
}

/// Judges the audit recorded up to `now`.
pub fn write_audit(timeline: &Timeline, now: Millis) -> Verdict {
    let Some(leader) = leader_rows(timeline, now) else {
        return verdict(Status::Fail, "the audit read no leader".into());
    };
    let Some(read) = leader.read else {
        return verdict(
            Status::Fail,
            format!("the audit read {} through HAProxy, not the DCS's leader on its own port", leader.source),
        );
    };
    let replicas = replica_rows(timeline, now);
    let mut findings = identity_findings(timeline, &leader, read, &replicas);
    findings.extend(unexpected_rows(timeline, now, &leader));
    findings.extend(replicas.iter().chain(std::iter::once(&leader)).filter_map(duplicates));
    findings.extend(replicas.iter().filter_map(|r| divergence(&leader, r)));
    let head = describe_read(&leader, read);
    let unread: Vec<String> = skipped(timeline, now).iter().map(|(m, why)| format!("{m} not read: {why}")).collect();
    let tail = if unread.is_empty() { String::new() } else { format!("; {}", unread.join("; ")) };
    if findings.is_empty() {
        let compared = match replicas.iter().map(|r| r.source).collect::<Vec<_>>().as_slice() {
            [] => "no replica compared".to_string(),
            names => format!("the same rows on {}", names.join(", ")),
        };
        let rows = leader.present.len();
        verdict(Status::Pass, format!("{head}: {rows} rows, none unexpected; {compared}{tail}"))
    } else {
        verdict(Status::Fail, format!("{head}: {}{tail}", findings.join("; ")))
    }
}

fn verdict(status: Status, observed: String) -> Verdict {
    Verdict {
        check: NAME.to_string(),
        step: None,
        status,
        observed,
        budget: "leader as observed; no phantom, duplicate or committed-anyway row; replicas identical".into(),
        observed_ms: None,
        budget_ms: None,
    }
}

/// `read pg-2 (leader named by the DCS …; tl 2, system 744…)`.
fn describe_read(leader: &MemberRows<'_>, read: &AuditRead) -> String {
    let mut facts = vec![read.why.clone()];
    facts.extend(read.timeline.map(|t| format!("tl {t}")));
    facts.extend(read.system_identifier.as_ref().map(|s| format!("system {s}")));
    format!("read {} ({})", leader.source, facts.join("; "))
}

/// The leader's timeline and system identifier against the observer's, and the replicas'
/// system identifiers against the leader's.
fn identity_findings(
    timeline: &Timeline,
    leader: &MemberRows<'_>,
    read: &AuditRead,
    replicas: &[MemberRows<'_>],
) -> Vec<String> {
    let mut findings = Vec::new();
    if let (Some(read_tl), Some(seen_tl)) = (read.timeline, observed_timeline(timeline, leader)) {
        if read_tl != seen_tl && !reported_during_audit(timeline, leader, read_tl) {
            findings.push(format!("{} is on timeline {read_tl}, its Patroni last reported {seen_tl}", leader.source));
        }
    }
    let Some(system) = &read.system_identifier else { return findings };
    // Only the audited cluster's members share the leader's identifier (each Citus group has its own).
    let in_cluster = |member: &str| member == leader.source || read.cluster.iter().any(|m| m == member);
    for (member, seen) in observed_identities(timeline, leader.at).into_iter().filter(|(m, _)| in_cluster(m)) {
        if seen != system.as_str() {
            findings.push(format!("{member}'s Patroni reported system identifier {seen}, the leader has {system}"));
        }
    }
    for replica in replicas {
        if let Some(other) = replica.read.and_then(|r| r.system_identifier.as_ref()).filter(|s| *s != system) {
            findings.push(format!("{} has system identifier {other}, the leader {system}", replica.source));
        }
    }
    findings
}

/// The timeline the Patroni observer last saw on the leader before it was read.
fn observed_timeline(timeline: &Timeline, leader: &MemberRows<'_>) -> Option<u64> {
    timeline.events.iter().filter(|e| e.at <= leader.at).rev().find_map(|e| match &e.kind {
        EventKind::Member { member, view, .. } if member == leader.source => view.timeline,
        _ => None,
    })
}

/// Whether the leader's Patroni reported timeline `tl` after the audit read it. The observer keeps
/// asking during the audit (every 0.1–0.5 s, recording changes): a primary promoted just before
/// the read shows its new timeline at the observer's next answer — seen in a chaos case whose
/// killed primary came back and was promoted 0.1 s before the audit read it.
fn reported_during_audit(timeline: &Timeline, leader: &MemberRows<'_>, tl: u64) -> bool {
    timeline.events.iter().filter(|e| e.at > leader.at).any(|e| match &e.kind {
        EventKind::Member { member, view, .. } => member == leader.source && view.timeline == Some(tl),
        _ => false,
    })
}

/// The last system identifier each member's Patroni reported before `at`.
fn observed_identities(timeline: &Timeline, at: Millis) -> BTreeMap<&str, &str> {
    let mut seen = BTreeMap::new();
    for e in timeline.events.iter().filter(|e| e.at <= at) {
        if let EventKind::MemberIdentity { member, system_identifier } = &e.kind {
            seen.insert(member.as_str(), system_identifier.as_str());
        }
    }
    seen
}

/// Rows on the leader that no acknowledged or open attempt explains: never attempted, or
/// attempted and refused with a definite error.
fn unexpected_rows(timeline: &Timeline, now: Millis, leader: &MemberRows<'_>) -> Vec<String> {
    let attempts: BTreeMap<u64, &WriteOutcome> = timeline
        .events
        .iter()
        .filter(|e| e.at <= now)
        .filter_map(|e| match &e.kind {
            EventKind::Write { id, outcome, .. } => Some((*id, outcome)),
            _ => None,
        })
        .collect();
    let phantoms: Vec<u64> = leader.present.ids().filter(|id| !attempts.contains_key(id)).collect();
    let refused: Vec<(u64, &str)> = leader
        .present
        .ids()
        .filter_map(|id| match attempts.get(&id) {
            Some(WriteOutcome::Failed { error, .. }) if definite_failure(error) => Some((id, error.as_str())),
            _ => None,
        })
        .collect();
    let mut findings = Vec::new();
    if !phantoms.is_empty() {
        findings.push(format!("{} rows never attempted (phantoms): ids {}", phantoms.len(), shown(&phantoms)));
    }
    if let Some((_, first_error)) = refused.first() {
        let ids: Vec<u64> = refused.iter().map(|(id, _)| *id).collect();
        findings.push(format!(
            "{} rows committed anyway although their write failed with a definite error («{first_error}»): ids {}",
            ids.len(),
            shown(&ids)
        ));
    }
    findings
}

/// Ids a member holds twice.
fn duplicates(rows: &MemberRows<'_>) -> Option<String> {
    let dups = &rows.read?.duplicates;
    (!dups.is_empty()).then(|| format!("{} ids present twice on {}: ids {}", dups.len(), rows.source, shown(dups)))
}

/// How a replica's rows differ from the leader's.
fn divergence(leader: &MemberRows<'_>, replica: &MemberRows<'_>) -> Option<String> {
    let lacks: Vec<u64> = leader.present.minus(&replica.present).collect();
    let extra: Vec<u64> = replica.present.minus(&leader.present).collect();
    if lacks.is_empty() && extra.is_empty() {
        return None;
    }
    let mut parts = Vec::new();
    if !lacks.is_empty() {
        parts.push(format!("lacks {} of the leader's rows: ids {}", lacks.len(), shown(&lacks)));
    }
    if !extra.is_empty() {
        parts.push(format!("has {} rows the leader lacks: ids {}", extra.len(), shown(&extra)));
    }
    let why = replica.read.map(|r| format!(" ({})", r.why)).unwrap_or_default();
    Some(format!("divergence: {} {}{why}", replica.source, parts.join(" and ")))
}

/// The first ids, then how many more.
fn shown(ids: &[u64]) -> String {
    let head: Vec<String> = ids.iter().take(SHOWN_IDS).map(u64::to_string).collect();
    let more = if ids.len() > SHOWN_IDS { format!(", … {} more", ids.len() - SHOWN_IDS) } else { String::new() };
    format!("{}{more}", head.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::member_history::testkit::*;
    use crate::timeline::AuditRole;

    const SYSTEM: &str = "7441962345566380055";

    fn read(role: AuditRole, why: &str) -> AuditRead {
        AuditRead {
            role,
            why: why.into(),
            system_identifier: Some(SYSTEM.into()),
            timeline: (role == AuditRole::Leader).then_some(1),
            lsn: Some("0/3000148".into()),
            caught_up: (role == AuditRole::Replica).then_some(true),
            cluster: if role == AuditRole::Leader {
                vec!["pg-1".into(), "pg-2".into(), "pg-3".into()]
            } else {
                Vec::new()
            },
            duplicates: Vec::new(),
        }
    }

    fn audited(source: &str, present: &[(u64, u64)], read: AuditRead) -> EventKind {
        EventKind::WriteAudit { present: present.to_vec(), source: source.into(), read: Some(read) }
    }

    fn identity(member: &str, system: &str) -> EventKind {
        EventKind::MemberIdentity { member: member.into(), system_identifier: system.into() }
    }

    /// pg-1 leads on timeline 1; writes 1..=5 acked, 6 failed read-only, 7 failed on a lost
    /// connection.
    fn run() -> Tl {
        let read_only = WriteOutcome::Failed {
            failed_at: 600,
            error: "25006: cannot execute INSERT in a read-only transaction".into(),
        };
        Tl::new()
            .healthy()
            .event(50, identity("pg-1", SYSTEM))
            .event(50, identity("pg-2", SYSTEM))
            .acked(100, 1)
            .acked(200, 2)
            .acked(300, 3)
            .acked(400, 4)
            .acked(500, 5)
            .event(600, EventKind::Write { id: 6, writer: 0, group: None, txn: None, sent_at: 590, outcome: read_only })
            .failed(700, 7)
    }

    fn leader(present: &[(u64, u64)]) -> EventKind {
        audited("pg-1", present, read(AuditRole::Leader, "leader named by the DCS (GET /cluster on pg-1)"))
    }

    fn replica(name: &str, present: &[(u64, u64)]) -> EventKind {
        audited(name, present, read(AuditRole::Replica, "replica, replayed up to the leader's 0/3000148"))
    }

    #[test]
    fn a_converged_identical_cluster_passes_and_names_what_was_read() {
        let tl = run().event(1_000, leader(&[(1, 5), (7, 7)])).event(1_010, replica("pg-2", &[(1, 5), (7, 7)])).build();
        let v = write_audit(&tl, 2_000);
        assert_eq!(v.status, Status::Pass, "{v:?}");
        assert_eq!(
            v.observed,
            format!(
                "read pg-1 (leader named by the DCS (GET /cluster on pg-1); tl 1; system {SYSTEM}): 6 rows, none \
                 unexpected; the same rows on pg-2"
            )
        );
    }

    #[test]
    fn a_lagging_replica_is_divergence_with_its_ids() {
        let mut lagging = read(AuditRole::Replica, "replica with replay paused at 0/3000100, the leader at 0/3000148");
        lagging.caught_up = Some(false);
        let tl =
            run().event(1_000, leader(&[(1, 2), (4, 5)])).event(1_010, audited("pg-2", &[(1, 3)], lagging)).build();
        let v = write_audit(&tl, 2_000);
        assert_eq!(v.status, Status::Fail);
        assert!(
            v.observed.ends_with(
                "divergence: pg-2 lacks 2 of the leader's rows: ids 4, 5 and has 1 rows the leader lacks: ids 3 \
                 (replica with replay paused at 0/3000100, the leader at 0/3000148)"
            ),
            "{}",
            v.observed
        );
    }

    #[test]
    fn phantom_committed_anyway_and_duplicate_rows_are_named() {
        let mut with_dups = read(AuditRole::Leader, "leader named by the DCS");
        with_dups.duplicates = vec![2];
        let tl = run().event(1_000, audited("pg-1", &[(1, 6), (40, 41)], with_dups)).build();
        let v = write_audit(&tl, 2_000);
        assert_eq!(v.status, Status::Fail);
        for part in [
            "2 rows never attempted (phantoms): ids 40, 41",
            "1 rows committed anyway although their write failed with a definite error \
             («25006: cannot execute INSERT in a read-only transaction»): ids 6",
            "1 ids present twice on pg-1: ids 2",
        ] {
            assert!(v.observed.contains(part), "{part} not in {}", v.observed);
        }
        assert!(!v.observed.contains("ids 7"), "an open outcome may commit: {}", v.observed);
    }

    #[test]
    fn a_leader_unlike_the_observed_one_fails() {
        let tl = run()
            .poll(800, "pg-1", primary(2))
            .event(900, identity("pg-2", "999"))
            .event(1_000, leader(&[(1, 5)]))
            .event(
                1_010,
                audited(
                    "pg-3",
                    &[(1, 5)],
                    AuditRead { system_identifier: Some("998".into()), ..read(AuditRole::Replica, "r") },
                ),
            )
            .build();
        let v = write_audit(&tl, 2_000);
        assert_eq!(v.status, Status::Fail);
        for part in [
            "pg-1 is on timeline 1, its Patroni last reported 2",
            &format!("pg-2's Patroni reported system identifier 999, the leader has {SYSTEM}"),
            &format!("pg-3 has system identifier 998, the leader {SYSTEM}"),
        ] {
            assert!(v.observed.contains(part), "{part} not in {}", v.observed);
        }
    }

    #[test]
    fn a_timeline_the_observer_sees_during_the_audit_is_no_finding() {
        // pg-1 last reported timeline 2 before the read found 1, and reported 1 right after.
        let tl =
            run().poll(800, "pg-1", primary(2)).event(1_000, leader(&[(1, 5)])).poll(1_300, "pg-1", primary(1)).build();
        let v = write_audit(&tl, 2_000);
        assert_eq!(v.status, Status::Pass, "{v:?}");
        // Another member reporting it does not count.
        let tl =
            run().poll(800, "pg-1", primary(2)).event(1_000, leader(&[(1, 5)])).poll(1_300, "pg-2", primary(1)).build();
        assert!(write_audit(&tl, 2_000).observed.contains("pg-1 is on timeline 1, its Patroni last reported 2"));
    }

    #[test]
    fn unread_members_are_named_and_old_audits_fail() {
        let skipped = EventKind::AuditSkipped { member: "pg-3".into(), reason: "connection refused".into() };
        let tl = run().event(1_000, leader(&[(1, 5)])).event(1_010, skipped).build();
        let v = write_audit(&tl, 2_000);
        assert_eq!(v.status, Status::Pass, "{v:?}");
        assert!(v.observed.ends_with("no replica compared; pg-3 not read: connection refused"), "{}", v.observed);

        let old = run().audit(1_000, &[(1, 5)]).build();
        assert!(write_audit(&old, 2_000).observed.contains("through HAProxy"));
        assert_eq!(write_audit(&run().build(), 2_000).observed, "the audit read no leader");
    }

    #[test]
    fn other_clusters_identifiers_are_not_compared() {
        // A Citus worker group has its own system identifier.
        let tl = run().event(60, identity("worker1-1", "123")).event(1_000, leader(&[(1, 5)])).build();
        assert_eq!(write_audit(&tl, 2_000).status, Status::Pass);
    }

    #[test]
    fn only_server_refusals_are_definite() {
        assert!(definite_failure("25006: cannot execute INSERT in a read-only transaction"));
        assert!(definite_failure("23505: duplicate key value violates unique constraint"));
        assert!(!definite_failure("57P01: terminating connection due to administrator command"));
        assert!(!definite_failure("no answer within 5s"));
        assert!(!definite_failure("connection reset"));
    }
}
