//! The end-of-run audit: which workload rows exist on the primary.
use std::time::Duration;

use super::error::WorkloadError;
use super::pg::{connect, statement_failed, WORKLOAD_TABLE};
use crate::pg::PgEndpoint;
use crate::timeline::{EventKind, TimelineWriter};
use crate::wait::{poll_until, Probe};

/// Reads every row id through `endpoint` (retrying until `deadline`: the cluster may still be
/// settling) and records a `WriteAudit` event.
pub async fn audit_writes(
    endpoint: &PgEndpoint,
    source: &str,
    timeline: &TimelineWriter,
    deadline: Duration,
) -> Result<usize, String> {
    try_audit_writes(endpoint, source, timeline, deadline).await.map_err(|e| e.to_string())
}

/// [`audit_writes`], typed.
async fn try_audit_writes(
    endpoint: &PgEndpoint,
    source: &str,
    timeline: &TimelineWriter,
    deadline: Duration,
) -> Result<usize, WorkloadError> {
    let what = format!("the rows of {WORKLOAD_TABLE} to be read on the primary");
    let ids = poll_until(&what, deadline, Duration::from_millis(500), || async {
        match read_ids(endpoint).await {
            Ok(ids) => Probe::Done(ids),
            Err(e) => Probe::not_yet(e),
        }
    })
    .await?;
    timeline.record(EventKind::WriteAudit { present: compress_ids(&ids), source: source.to_string() });
    Ok(ids.len())
}

async fn read_ids(endpoint: &PgEndpoint) -> Result<Vec<u64>, WorkloadError> {
    let client = connect(endpoint, Duration::from_secs(2)).await?;
    let failed = |source| statement_failed("read the workload rows", source);
    // Read from a primary only: a replica could lag and make writes look lost.
    let rows = client
        .query(&format!("SELECT id FROM {WORKLOAD_TABLE} WHERE NOT pg_is_in_recovery() ORDER BY id"), &[])
        .await
        .map_err(failed)?;
    let in_recovery: bool = client.query_one("SELECT pg_is_in_recovery()", &[]).await.map_err(failed)?.get(0);
    if in_recovery {
        return Err(WorkloadError::NotPrimary);
    }
    Ok(rows.iter().map(|r| r.get::<_, i64>(0) as u64).collect())
}

/// Sorted ids → inclusive ranges.
pub fn compress_ids(sorted: &[u64]) -> Vec<(u64, u64)> {
    let mut ranges: Vec<(u64, u64)> = Vec::new();
    for &id in sorted {
        match ranges.last_mut() {
            Some((_, end)) if *end + 1 == id => *end = id,
            _ => ranges.push((id, id)),
        }
    }
    ranges
}

#[cfg(test)]
mod tests {
    use super::compress_ids;

    #[test]
    fn compresses_runs_into_ranges() {
        assert_eq!(compress_ids(&[1, 2, 3, 5, 7, 8]), vec![(1, 3), (5, 5), (7, 8)]);
        assert!(compress_ids(&[]).is_empty());
    }
}
