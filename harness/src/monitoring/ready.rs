//! Readiness of the monitoring stack, each wait bounded: Prometheus and Alertmanager answer
//! `/-/ready`, and every scrape target has been scraped successfully (`up == 1`). A drill that
//! checks alerts must not start its faults before that, or "the alert never fired" could mean
//! "Prometheus was not looking yet".
use std::time::Duration;

use tokio::time::Instant;

use super::api::{AlertmanagerApi, PrometheusApi, Target};
use super::error::ApiError;
use crate::wait::{poll_until, Probe, WaitTimeout};

/// Time between two readiness probes.
const PROBE_INTERVAL: Duration = Duration::from_millis(100);

/// Waits until Prometheus answers `/-/ready`; returns how long that took.
pub async fn wait_prometheus_ready(api: &PrometheusApi, timeout: Duration) -> Result<Duration, WaitTimeout> {
    wait_ready("Prometheus", timeout, || api.ready()).await
}

/// Waits until Alertmanager answers `/-/ready`; returns how long that took.
pub async fn wait_alertmanager_ready(api: &AlertmanagerApi, timeout: Duration) -> Result<Duration, WaitTimeout> {
    wait_ready("Alertmanager", timeout, || api.ready()).await
}

/// Probes `ready` every [`PROBE_INTERVAL`] until it says yes or `timeout` has passed.
async fn wait_ready<F, Fut>(component: &str, timeout: Duration, ready: F) -> Result<Duration, WaitTimeout>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<(), ApiError>>,
{
    let start = Instant::now();
    let what = format!("{component} to be ready (GET /-/ready)");
    poll_until(&what, timeout, PROBE_INTERVAL, || async {
        match ready().await {
            Ok(()) => Probe::Done(start.elapsed()),
            Err(e) => Probe::not_yet(e),
        }
    })
    .await
}

/// Waits until Prometheus has `expected` active targets, all `up`; returns how long that took
/// and the targets. On timeout the message lists the targets that are not up and why.
pub async fn wait_targets_up(
    api: &PrometheusApi,
    expected: usize,
    timeout: Duration,
) -> Result<(Duration, Vec<Target>), WaitTimeout> {
    let start = Instant::now();
    let what = format!("{expected} scrape targets to be up");
    poll_until(&what, timeout, PROBE_INTERVAL, || async {
        match api.targets().await {
            Ok(targets) if targets.len() >= expected && targets.iter().all(|t| t.health == "up") => {
                Probe::Done((start.elapsed(), targets))
            }
            Ok(targets) => Probe::NotYet(describe_targets(&targets, expected)),
            Err(e) => Probe::not_yet(e),
        }
    })
    .await
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

    #[tokio::test(start_paused = true)]
    async fn readiness_timeout_says_what_the_endpoint_answered() {
        let url = "http://127.0.0.1:9090/-/ready";
        let refused =
            || async { Err(ApiError::Http { url: url.into(), reason: "HTTP 503 Service Unavailable".into() }) };
        let err = wait_ready("Prometheus", Duration::from_secs(2), refused).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "timed out after 2.0s waiting for Prometheus to be ready (GET /-/ready); last seen: failed to query \
             http://127.0.0.1:9090/-/ready: HTTP 503 Service Unavailable"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn readiness_returns_how_long_it_took() {
        let start = Instant::now();
        let ready = || async move {
            if start.elapsed() >= Duration::from_millis(300) {
                Ok(())
            } else {
                Err(ApiError::Http { url: "u".into(), reason: "connection refused".into() })
            }
        };
        assert_eq!(wait_ready("Alertmanager", Duration::from_secs(5), ready).await, Ok(Duration::from_millis(300)));
    }
}
