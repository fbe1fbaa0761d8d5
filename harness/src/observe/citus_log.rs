//! Citus: the transactions Patroni's citus handler runs on the coordinator, read from its log.
//! With `patroni.postgresql.mpp.citus: DEBUG` Patroni logs each statement before it runs it:
//! `2026-11-23 10:00:12,301 DEBUG: query(BEGIN, ())`, then `query(SELECT
//! pg_catalog.citus_update_node(...), (...))`, then `query(COMMIT, ())`. The BEGIN → COMMIT window
//! of a worker switchover is the time that group's writes wait, which pgdrill compares with the
//! pause its workload measured.
use std::time::SystemTime;

/// One BEGIN … COMMIT/ROLLBACK of Patroni's citus handler, in wall-clock time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedTransaction {
    /// When BEGIN was logged.
    pub began: SystemTime,
    /// When COMMIT or ROLLBACK was logged.
    pub ended: SystemTime,
    /// `commit` or `rollback`.
    pub outcome: String,
    /// The statements in between, as logged (`SELECT pg_catalog.citus_update_node(...), (...)`).
    pub statements: Vec<String>,
}

/// Every complete transaction in `log` (Patroni's plain log format, UTC timestamps).
pub fn citus_transactions(log: &str) -> Vec<LoggedTransaction> {
    let mut found = Vec::new();
    let mut open: Option<(SystemTime, Vec<String>)> = None;
    for line in log.lines() {
        let Some((at, query)) = parse_query_line(line) else { continue };
        match query {
            "BEGIN" => open = Some((at, Vec::new())),
            "COMMIT" | "ROLLBACK" => {
                if let Some((began, statements)) = open.take() {
                    found.push(LoggedTransaction { began, ended: at, outcome: query.to_lowercase(), statements });
                }
            }
            statement => {
                if let Some((_, statements)) = &mut open {
                    statements.push(statement.to_string());
                }
            }
        }
    }
    found
}

/// `2026-11-23 10:00:12,301 DEBUG: query(SQL, PARAMS)` → (time, `SQL` or `SQL, PARAMS`); plain
/// BEGIN/COMMIT/ROLLBACK come back without their empty parameters.
fn parse_query_line(line: &str) -> Option<(SystemTime, &str)> {
    let (stamp, rest) = line.split_once(" DEBUG: query(")?;
    let stamp = stamp.trim();
    // Patroni's asctime: local time of the container (UTC in pgdrill's images), comma before ms.
    let at = humantime::parse_rfc3339_weak(&stamp.replacen(',', ".", 1)).ok()?;
    let body = rest.strip_suffix(')')?;
    Some((at, body.strip_suffix(", ()").unwrap_or(body)))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn begin_to_commit_windows_are_found() {
        let log = "\
2026-11-23 10:00:10,000 INFO: no action. I am (coord-1), the leader with the lock
2026-11-23 10:00:12,301 DEBUG: query(SELECT groupid, nodename, nodeport, noderole, nodeid FROM pg_catalog.pg_dist_node, ())
2026-11-23 10:00:12,301 DEBUG: query(BEGIN, ())
2026-11-23 10:00:12,305 DEBUG: query(SELECT pg_catalog.citus_update_node(%s, %s, %s, true, %s), (2, 'worker1-1-demoted', 5432, 10000.0))
2026-11-23 10:00:15,020 DEBUG: query(SELECT pg_catalog.citus_update_node(%s, %s, %s, true, %s), (2, 'worker1-2', 5432, 10000.0))
2026-11-23 10:00:15,024 DEBUG: query(COMMIT, ())
2026-11-23 10:00:20,000 DEBUG: query(BEGIN, ())
";
        let found = citus_transactions(log);
        assert_eq!(found.len(), 1, "the unfinished transaction is not reported");
        let t = &found[0];
        assert_eq!(t.ended.duration_since(t.began).unwrap(), Duration::from_millis(2_723));
        assert_eq!(t.outcome, "commit");
        assert_eq!(t.statements.len(), 2);
        assert!(t.statements[0].ends_with("(2, 'worker1-1-demoted', 5432, 10000.0)"), "{:?}", t.statements);
        let began = humantime::parse_rfc3339("2026-11-23T10:00:12.301Z").unwrap();
        assert_eq!(t.began, began);
    }
}
