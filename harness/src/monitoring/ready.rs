//! Readiness of the monitoring stack, each wait bounded: Prometheus and Alertmanager answer
//! `/-/ready`, and every scrape target has been scraped successfully (`up == 1`). A drill that
//! checks alerts must not start its faults before that, or "the alert never fired" could mean
//! "Prometheus was not looking yet".
use std::time::{Duration, Instant};

use super::api::{AlertmanagerApi, PrometheusApi, Target};
use super::error::NotReady;

/// Time between two readiness probes.
const PROBE_INTERVAL: Duration = Duration::from_millis(100);

/// Waits until Prometheus answers `/-/ready`; returns how long that took.
pub async fn wait_prometheus_ready(api: &PrometheusApi, timeout: Duration) -> Result<Duration, NotReady> {
    wait_ready("Prometheus", timeout, || api.ready()).await
}

/// Waits until Alertmanager answers `/-/ready`; returns how long that took.
pub async fn wait_alertmanager_ready(api: &AlertmanagerApi, timeout: Duration) -> Result<Duration, NotReady> {
    wait_ready("Alertmanager", timeout, || api.ready()).await
}

/// Probes `ready` every [`PROBE_INTERVAL`] until it says yes or `timeout` has passed.
async fn wait_ready<F, Fut>(component: &str, timeout: Duration, ready: F) -> Result<Duration, NotReady>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while start.elapsed() < timeout {
        if ready().await {
            return Ok(start.elapsed());
        }
        tokio::time::sleep(PROBE_INTERVAL).await;
    }
    Err(NotReady {
        what: format!("{component} to be ready (GET /-/ready)"),
        waited_s: start.elapsed().as_secs_f64(),
        last_seen: "not ready".into(),
    })
}

/// Waits until Prometheus has `expected` active targets, all `up`; returns how long that took
/// and the targets. On timeout the message lists the targets that are not up and why.
pub async fn wait_targets_up(
    api: &PrometheusApi,
    expected: usize,
    timeout: Duration,
) -> Result<(Duration, Vec<Target>), NotReady> {
    let start = Instant::now();
    let mut last_seen = "no answer from /api/v1/targets".to_string();
    while start.elapsed() < timeout {
        match api.targets().await {
            Ok(targets) => {
                let up = targets.iter().filter(|t| t.health == "up").count();
                if targets.len() >= expected && up == targets.len() {
                    return Ok((start.elapsed(), targets));
                }
                last_seen = describe_targets(&targets, expected);
            }
            Err(e) => last_seen = e.to_string(),
        }
        tokio::time::sleep(PROBE_INTERVAL).await;
    }
    Err(NotReady {
        what: format!("{expected} scrape targets to be up"),
        waited_s: start.elapsed().as_secs_f64(),
        last_seen,
    })
}

/// `2 of 3 targets up; postgres-exporter pg-2-exporter:9187 down: connection refused`.
fn describe_targets(targets: &[Target], expected: usize) -> String {
    let up = targets.iter().filter(|t| t.health == "up").count();
    let mut text = format!("{up} of {} targets up (expected {expected})", targets.len());
    for target in targets.iter().filter(|t| t.health != "up") {
        let job = target.labels.get("job").map_or("?", String::as_str);
        let instance = target.labels.get("instance").map_or("?", String::as_str);
        text.push_str(&format!("; {job} {instance} {}", target.health));
        if !target.last_error.is_empty() {
            text.push_str(&format!(": {}", target.last_error));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn targets_are_described() {
        let target = |job: &str, instance: &str, health: &str, error: &str| Target {
            labels: BTreeMap::from([("job".into(), job.into()), ("instance".into(), instance.into())]),
            health: health.into(),
            last_error: error.into(),
            scrape_url: String::new(),
        };
        let targets = [
            target("patroni", "pg-1:8008", "up", ""),
            target("postgres-exporter", "pg-2-exporter:9187", "down", "connection refused"),
            target("patroni", "pg-3:8008", "unknown", ""),
        ];
        assert_eq!(
            describe_targets(&targets, 4),
            "1 of 3 targets up (expected 4); postgres-exporter pg-2-exporter:9187 down: connection refused; \
             patroni pg-3:8008 unknown"
        );
    }
}
