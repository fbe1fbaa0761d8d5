//! `pooler_recovers {within, after_primary}`: what the clients of a pooler went through after a
//! fault, set beside what Patroni did. Clients count as served again at the first acknowledged
//! write after Patroni's new primary appeared that is followed by [`SETTLED_MS`] without a failed
//! write; that must happen within `within` of the fault and, optionally, within `after_primary`
//! of the new primary (the pooler's own share: PgBouncer's `server_login_retry` keeps failing
//! clients for a while after a failed server login, whatever Patroni does).
//!
//! The verdict says, in one line: Patroni's failover time (fault → new running primary), the
//! pooler's error window (first to last failed write before the clients were served again) with
//! the errors by kind, each with when its first and last one failed (read-only 25006 from a
//! demoted primary, refused by the pooler, connection lost, ...), the client-visible
//! unavailability (longest stretch without an acknowledged write)
//! and what PgBouncer's `SHOW POOLS` showed meanwhile (most clients waiting, longest wait).
use std::collections::BTreeMap;

use super::member_history::secs;
use super::verdict::{CheckContext, Status, Verdict};
use crate::scenario::Budget;
use crate::timeline::{EventKind, Millis, Timeline, WriteOutcome};

/// The check's name, as verdicts and scenario files spell it.
pub const NAME: &str = "pooler_recovers";
/// Served again means this long without a failed write after an acknowledged one (the workload
/// writes every few tens of ms, so a straggling error of the failover shows within it).
pub const SETTLED_MS: Millis = 1_000;

/// What one failed write ran into, from its error text (`SQLSTATE: message` for server and
/// pooler errors, the workload's own words otherwise).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ErrorKind {
    /// SQLSTATE 25006: the statement reached a server in recovery (a demoted primary).
    ReadOnly,
    /// PgBouncer failed the client at once: a recent server login failed (`server_login_retry`).
    PoolerRefused,
    /// Another error PgBouncer itself raised (08P01: `server conn crashed?`, `query_wait_timeout`).
    PoolerError,
    /// The server was shutting down or starting (57P01–57P03).
    ServerShutdown,
    /// The connection broke under the client (closed, reset).
    ConnectionLost,
    /// The client could not (re)connect.
    Connect,
    /// No answer within the workload's statement bound.
    Timeout,
    /// Anything else.
    Other,
}

impl ErrorKind {
    /// Reads a failed write's error text.
    pub fn of(error: &str) -> Self {
        let sqlstate = error
            .split_once(": ")
            .map(|(code, _)| code)
            .filter(|code| code.len() == 5 && code.chars().all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()));
        let lower = error.to_ascii_lowercase();
        match sqlstate {
            Some("25006") => ErrorKind::ReadOnly,
            _ if lower.contains("server_login_retry") => ErrorKind::PoolerRefused,
            Some("57P01" | "57P02" | "57P03") => ErrorKind::ServerShutdown,
            Some("08P01") => ErrorKind::PoolerError,
            Some(_) => ErrorKind::Other,
            None if lower.starts_with("no answer within") => ErrorKind::Timeout,
            None if lower.contains("closed") || lower.contains("reset") || lower.contains("communicating") => {
                ErrorKind::ConnectionLost
            }
            None if lower.contains("connect") => ErrorKind::Connect,
            None => ErrorKind::Other,
        }
    }

    /// How the verdict names it.
    pub fn describe(self) -> &'static str {
        match self {
            ErrorKind::ReadOnly => "read-only (25006)",
            ErrorKind::PoolerRefused => "refused by the pooler (server_login_retry)",
            ErrorKind::PoolerError => "pooler error (08P01)",
            ErrorKind::ServerShutdown => "server shutting down (57P0x)",
            ErrorKind::ConnectionLost => "connection lost",
            ErrorKind::Connect => "could not connect",
            ErrorKind::Timeout => "no answer",
            ErrorKind::Other => "other",
        }
    }
}

/// One write as the check reads it.
#[derive(Debug, Clone)]
struct Attempt<'a> {
    /// When it ended (acknowledged or failed).
    ended: Millis,
    /// The error text of a failed write.
    error: Option<&'a str>,
}

/// What was measured, before it is judged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PoolerWindow {
    /// Patroni's new running primary (a member other than the leader at the fault) and when it
    /// was first seen.
    pub new_primary: Option<(String, Millis)>,
    /// The first acknowledged write from which the clients were served again.
    pub served_at: Option<Millis>,
    /// The first and last failed write between the fault and `served_at` (or `now`).
    pub errors: Option<(Millis, Millis)>,
    /// Failed writes in that window by kind: how many, and the first and last one's time.
    pub by_kind: BTreeMap<ErrorKind, (usize, Millis, Millis)>,
    /// The longest stretch without an acknowledged write from the fault to `served_at` (or to
    /// the last write), and where it began.
    pub longest_gap: (Millis, Millis),
    /// Failed writes after the clients were served again (reported, not judged).
    pub errors_after: usize,
    /// From PgBouncer's `SHOW POOLS` between the fault and `served_at`: most clients waiting and
    /// the longest wait (ms).
    pub pools: Option<(i64, u64)>,
}

/// Measures the clients' side of the fault of `ctx` from the timeline up to `ctx.now`.
pub fn measure(timeline: &Timeline, ctx: &CheckContext) -> PoolerWindow {
    let events = timeline.events.iter().filter(|e| e.at <= ctx.now);
    let mut attempts: Vec<Attempt> = events
        .clone()
        .filter_map(|e| match &e.kind {
            EventKind::Write { outcome: WriteOutcome::Acked { acked_at }, .. } => {
                Some(Attempt { ended: *acked_at, error: None })
            }
            EventKind::Write { outcome: WriteOutcome::Failed { failed_at, error }, .. } => {
                Some(Attempt { ended: *failed_at, error: Some(error.as_str()) })
            }
            _ => None,
        })
        .filter(|a| a.ended >= ctx.anchor)
        .collect();
    attempts.sort_by_key(|a| a.ended);
    let new_primary = events.clone().find_map(|e| match &e.kind {
        EventKind::Member { member, view, .. }
            if e.at >= ctx.anchor
                && view.is_running_primary()
                && ctx.leader_at_anchor.as_deref() != Some(member.as_str()) =>
        {
            Some((member.clone(), e.at))
        }
        _ => None,
    });
    let reference = new_primary.as_ref().map_or(ctx.anchor, |(_, at)| *at);
    let served_at = served_from(&attempts, reference, ctx.now);
    let window_end = served_at.unwrap_or(ctx.now);
    let failed: Vec<(Millis, &str)> =
        attempts.iter().filter_map(|a| a.error.map(|e| (a.ended, e))).filter(|(at, _)| *at <= window_end).collect();
    let mut by_kind = BTreeMap::new();
    for (at, error) in &failed {
        let entry = by_kind.entry(ErrorKind::of(error)).or_insert((0, *at, *at));
        entry.0 += 1;
        entry.2 = *at;
    }
    let errors = failed.first().zip(failed.last()).map(|(first, last)| (first.0, last.0));
    let errors_after = served_at
        .map_or(0, |served| attempts.iter().filter(|a| a.error.is_some() && a.ended > served + SETTLED_MS).count());
    let last_write = attempts.last().map_or(ctx.anchor, |a| a.ended);
    let mut previous = ctx.anchor;
    let mut longest_gap = (0, ctx.anchor);
    for ack in attempts.iter().filter(|a| a.error.is_none()).map(|a| a.ended).filter(|at| *at <= window_end) {
        if ack - previous > longest_gap.0 {
            longest_gap = (ack - previous, previous);
        }
        previous = ack;
    }
    let open_until = if served_at.is_some() { previous } else { last_write.max(previous) };
    if open_until - previous > longest_gap.0 {
        longest_gap = (open_until - previous, previous);
    }
    let pools = timeline
        .events
        .iter()
        .filter(|e| e.at >= ctx.anchor && e.at <= window_end)
        .filter_map(|e| match &e.kind {
            EventKind::Pooler { pools: Some(p), .. } => Some((p.cl_waiting, p.maxwait_ms)),
            _ => None,
        })
        .reduce(|(w1, m1), (w2, m2)| (w1.max(w2), m1.max(m2)));
    PoolerWindow { new_primary, served_at, errors, by_kind, longest_gap, errors_after, pools }
}

/// The first acknowledgement at or after `reference` followed by [`SETTLED_MS`] of writes
/// without a failure (known only once a write ended past that stretch, or `now` passed it).
fn served_from(attempts: &[Attempt], reference: Millis, now: Millis) -> Option<Millis> {
    let mut candidate: Option<Millis> = None;
    for attempt in attempts.iter().filter(|a| a.ended >= reference) {
        match (candidate, attempt.error) {
            (Some(from), _) if attempt.ended > from + SETTLED_MS => return Some(from),
            (Some(_), Some(_)) => candidate = None,
            (None, None) => candidate = Some(attempt.ended),
            _ => {}
        }
    }
    candidate.filter(|from| now > from + SETTLED_MS)
}

/// Evaluates `pooler_recovers` from `ctx.anchor`.
pub fn pooler_recovers(
    within: Budget,
    after_primary: Option<Budget>,
    timeline: &Timeline,
    ctx: &CheckContext,
) -> Verdict {
    let window = measure(timeline, ctx);
    let mut budget = format!("served again ≤ {within}");
    if let Some(after) = after_primary {
        budget.push_str(&format!(", ≤ {after} after the new primary"));
    }
    let verdict = ctx.verdicts(NAME, budget.clone(), Some(within.as_millis()));
    let text = describe(&window, ctx.anchor);
    let Some(served) = window.served_at else {
        let deadline = ctx.anchor + within.as_millis() + SETTLED_MS;
        if ctx.now < deadline {
            return verdict(Status::Pending, format!("clients not served again yet; {text}"), None);
        }
        return verdict(Status::Fail, format!("clients not served again within {within} of the fault; {text}"), None);
    };
    let took = served - ctx.anchor;
    let mut problems = Vec::new();
    if took > within.as_millis() {
        problems.push(format!("served again after {}, over {within}", secs(took)));
    }
    if let (Some(after), Some((_, primary_at))) = (after_primary, &window.new_primary) {
        let lag = served.saturating_sub(*primary_at);
        if lag > after.as_millis() {
            problems.push(format!("{} after the new primary, over {after}", secs(lag)));
        }
    }
    if problems.is_empty() {
        verdict(Status::Pass, text, Some(took))
    } else {
        verdict(Status::Fail, format!("{}: {text}", problems.join(", ")), Some(took))
    }
}

/// The verdict's account: served again, Patroni's failover, the error window, the gap, the pools.
fn describe(w: &PoolerWindow, anchor: Millis) -> String {
    let mut parts = Vec::new();
    let patroni = match &w.new_primary {
        Some((member, at)) => format!("Patroni failover {} (new primary {member})", secs(at - anchor)),
        None => "no new primary seen".to_string(),
    };
    match (w.served_at, &w.new_primary) {
        (Some(served), Some((_, primary_at))) => parts.push(format!(
            "clients served again {} after the fault, {} after the new primary; {patroni}",
            secs(served - anchor),
            secs(served.saturating_sub(*primary_at))
        )),
        (Some(served), None) => {
            parts.push(format!("clients served again {} after the fault; {patroni}", secs(served - anchor)))
        }
        (None, _) => parts.push(patroni),
    }
    match w.errors {
        Some((first, last)) => {
            let total: usize = w.by_kind.values().map(|(n, _, _)| n).sum();
            let kinds: Vec<String> = w
                .by_kind
                .iter()
                .map(|(kind, (n, first, last))| {
                    format!("{n} {} {}–{}", kind.describe(), secs(first - anchor), secs(last - anchor))
                })
                .collect();
            parts.push(format!(
                "error window {} ({}–{} after the fault), {total} failed writes: {}",
                secs(last - first),
                secs(first - anchor),
                secs(last - anchor),
                kinds.join(", ")
            ));
        }
        None => parts.push("no failed write".to_string()),
    }
    let (gap, from) = w.longest_gap;
    parts.push(format!("longest time without an acknowledged write {} (from {})", secs(gap), secs(from)));
    if let Some((waiting, maxwait)) = w.pools {
        parts.push(format!("PgBouncer: up to {waiting} clients waiting, longest wait {}", secs(maxwait)));
    }
    if w.errors_after > 0 {
        parts.push(format!("{} failed writes after that", w.errors_after));
    }
    parts.join("; ")
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::check::member_history::testkit::*;
    use crate::timeline::PoolerPools;
    use test_case::test_case;

    fn ctx(now: Millis) -> CheckContext {
        pg1_fault_at_10s(now)
    }

    fn budget(ms: u64) -> Budget {
        Budget(Duration::from_millis(ms))
    }

    fn failed_with(tl: Tl, at: Millis, id: u64, error: &str) -> Tl {
        let outcome = WriteOutcome::Failed { failed_at: at, error: error.into() };
        tl.event(at, EventKind::Write { id, writer: 1, group: None, txn: None, sent_at: at - 5, outcome })
    }

    fn pools(waiting: i64, maxwait_ms: u64) -> EventKind {
        let line = PoolerPools {
            cl_active: 2,
            cl_waiting: waiting,
            sv_active: 0,
            sv_idle: 0,
            sv_used: 0,
            sv_tested: 0,
            sv_login: 1,
            maxwait_ms,
        };
        EventKind::Pooler { database: "postgres".into(), pools: Some(line), stats: None, error: None }
    }

    /// Writes every 100 ms from 9s to 40s; pg-1 killed at 10s, pg-2 promoted at 30s. Clients get
    /// connection errors until 11s, then the pooler refuses them (server_login_retry) until
    /// 31.9s; acknowledged again from 32s.
    fn kill_through_pooler() -> Timeline {
        let mut tl = Tl::new().healthy().poll(10_200, "pg-1", down()).poll(30_000, "pg-2", primary(2));
        for (i, at) in (9_000..40_000).step_by(100).enumerate() {
            let id = i as u64 + 1;
            tl = match at {
                ..=9_900 | 32_000.. => tl.acked(at, id),
                10_000..=10_900 => failed_with(tl, at, id, "connection closed"),
                _ => failed_with(
                    tl,
                    at,
                    id,
                    "08P01: server login has been failing, try again later (server_login_retry)",
                ),
            };
        }
        tl.event(20_000, pools(2, 1_500)).event(31_000, pools(1, 300)).build()
    }

    #[test]
    fn the_error_window_is_set_beside_patronis_failover() {
        let v = pooler_recovers(budget(30_000), Some(budget(3_000)), &kill_through_pooler(), &ctx(40_000));
        assert_eq!(v.status, Status::Pass, "{v:?}");
        assert_eq!(v.observed_ms, Some(22_000));
        let expected = [
            "clients served again 22.0s after the fault, 2.0s after the new primary",
            "Patroni failover 20.0s (new primary pg-2)",
            "error window 21.9s (0.0s–21.9s after the fault), 220 failed writes: 210 refused by the pooler \
             (server_login_retry) 1.0s–21.9s, 10 connection lost 0.0s–0.9s",
            "longest time without an acknowledged write 22.0s (from 10.0s)",
            "PgBouncer: up to 2 clients waiting, longest wait 1.5s",
        ];
        for part in expected {
            assert!(v.observed.contains(part), "`{part}` not in {}", v.observed);
        }
    }

    #[test]
    fn the_pooler_lagging_behind_patroni_fails_after_primary() {
        let v = pooler_recovers(budget(30_000), Some(budget(1_000)), &kill_through_pooler(), &ctx(40_000));
        assert_eq!(v.status, Status::Fail, "{v:?}");
        assert!(v.observed.starts_with("2.0s after the new primary, over 1s: clients served again"), "{v:?}");
        let v = pooler_recovers(budget(20_000), None, &kill_through_pooler(), &ctx(40_000));
        assert_eq!(v.status, Status::Fail, "{v:?}");
        assert!(v.observed.starts_with("served again after 22.0s, over 20s"), "{v:?}");
    }

    #[test]
    fn pending_until_served_and_settled_then_fail_at_the_deadline() {
        let tl = kill_through_pooler();
        // At 32.5s the first acks are in but not yet settled.
        let early = pooler_recovers(budget(30_000), None, &tl, &ctx(32_500));
        assert_eq!(early.status, Status::Pending, "{early:?}");
        assert!(early.observed.starts_with("clients not served again yet; Patroni failover 20.0s"), "{early:?}");
        let settled = pooler_recovers(budget(30_000), None, &tl, &ctx(33_100));
        assert_eq!(settled.status, Status::Pass, "{settled:?}");
        // The verdict does not change as the timeline grows.
        assert_eq!(settled, pooler_recovers(budget(30_000), None, &tl, &ctx(40_000)));
        let never = Tl::new().healthy().acked(9_000, 1).failed(12_000, 2).failed(25_000, 3).build();
        assert_eq!(pooler_recovers(budget(10_000), None, &never, &ctx(20_000)).status, Status::Pending);
        let v = pooler_recovers(budget(10_000), None, &never, &ctx(21_000));
        assert_eq!(v.status, Status::Fail, "{v:?}");
        assert!(
            v.observed.starts_with("clients not served again within 10s of the fault; no new primary seen"),
            "{v:?}"
        );
    }

    #[test]
    fn a_straggling_error_restarts_the_settling() {
        // Switchover: pg-2 primary at 12s; acks from 12.1s, but a client still on the demoted
        // pg-1 gets 25006 at 12.5s; served for good from 12.6s.
        let mut tl = Tl::new().healthy().poll(11_000, "pg-1", replica(1)).poll(12_000, "pg-2", primary(2));
        tl = failed_with(tl, 11_500, 1, "57P01: terminating connection due to administrator command");
        tl = tl.acked(12_100, 2).acked(12_300, 3);
        tl = failed_with(tl, 12_500, 4, "25006: cannot execute INSERT in a read-only transaction");
        for (i, at) in (12_600..15_000).step_by(100).enumerate() {
            tl = tl.acked(at, 5 + i as u64);
        }
        let w = measure(&tl.build(), &ctx(15_000));
        assert_eq!(w.served_at, Some(12_600));
        assert_eq!(w.errors, Some((11_500, 12_500)));
        assert_eq!(w.by_kind.get(&ErrorKind::ReadOnly), Some(&(1, 12_500, 12_500)));
        assert_eq!(w.by_kind.get(&ErrorKind::ServerShutdown), Some(&(1, 11_500, 11_500)));
        assert_eq!(w.longest_gap, (2_100, 10_000));
    }

    #[test]
    fn no_error_at_all_is_served_at_the_first_settled_ack() {
        let tl = (90..150).fold(Tl::new().healthy().poll(12_000, "pg-2", primary(2)), |tl, i| tl.acked(i * 100, i));
        let v = pooler_recovers(budget(5_000), None, &tl.build(), &ctx(15_000));
        assert_eq!(v.status, Status::Pass, "{v:?}");
        assert!(v.observed.contains("no failed write"), "{v:?}");
        assert_eq!(v.observed_ms, Some(2_000));
    }

    #[test_case("25006: cannot execute INSERT in a read-only transaction", ErrorKind::ReadOnly ; "read only")]
    #[test_case("08P01: server login has been failing, cached error: connect failed (server_login_retry)", ErrorKind::PoolerRefused ; "login retry 1.24")]
    #[test_case("08P01: server login has been failing, try again later (server_login_retry)", ErrorKind::PoolerRefused ; "login retry 1.18")]
    #[test_case("08P01: server conn crashed?", ErrorKind::PoolerError ; "server conn crashed")]
    #[test_case("57P01: terminating connection due to administrator command", ErrorKind::ServerShutdown ; "admin shutdown")]
    #[test_case("57P03: the database system is starting up", ErrorKind::ServerShutdown ; "starting up")]
    #[test_case("connection closed", ErrorKind::ConnectionLost ; "closed")]
    #[test_case("error communicating with the server: Connection reset by peer (os error 104)", ErrorKind::ConnectionLost ; "reset")]
    #[test_case("connect timed out after 1000ms", ErrorKind::Connect ; "connect timeout")]
    #[test_case("error connecting to server: Connection refused (os error 111)", ErrorKind::Connect ; "refused")]
    #[test_case("no answer within 2s", ErrorKind::Timeout ; "timeout")]
    #[test_case("23505: duplicate key value violates unique constraint", ErrorKind::Other ; "other sqlstate")]
    fn errors_are_read_by_kind(text: &str, kind: ErrorKind) {
        assert_eq!(ErrorKind::of(text), kind);
    }
}
