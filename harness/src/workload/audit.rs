//! The end-of-run audit: which workload rows exist on the primary.
use std::time::Duration;

use super::pg::WORKLOAD_TABLE;
use crate::pg::{short, PgEndpoint};
use crate::timeline::{EventKind, TimelineWriter};

/// Reads every row id through `endpoint` (retrying until `deadline`: the cluster may still be
/// settling) and records a `WriteAudit` event.
pub async fn audit_writes(
    endpoint: &PgEndpoint,
    source: &str,
    timeline: &TimelineWriter,
    deadline: Duration,
) -> Result<usize, String> {
    let start = tokio::time::Instant::now();
    let mut last_error = String::new();
    while start.elapsed() < deadline {
        match read_ids(endpoint).await {
            Ok(ids) => {
                let count = ids.len();
                timeline.record(EventKind::WriteAudit { present: compress_ids(&ids), source: source.to_string() });
                return Ok(count);
            }
            Err(e) => last_error = e,
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Err(format!("could not read {WORKLOAD_TABLE} within {}s: {last_error}", deadline.as_secs()))
}

async fn read_ids(endpoint: &PgEndpoint) -> Result<Vec<u64>, String> {
    let client = endpoint.connect(Duration::from_secs(2)).await?;
    // Read from a primary only: a replica could lag and make writes look lost.
    let rows = client
        .query(&format!("SELECT id FROM {WORKLOAD_TABLE} WHERE NOT pg_is_in_recovery() ORDER BY id"), &[])
        .await
        .map_err(|e| short(&e))?;
    let in_recovery: bool = client.query_one("SELECT pg_is_in_recovery()", &[]).await.map_err(|e| short(&e))?.get(0);
    if in_recovery {
        return Err("connected to a replica, not the primary".into());
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
