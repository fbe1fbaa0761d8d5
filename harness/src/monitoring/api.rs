//! Small clients for the parts of the Prometheus and Alertmanager HTTP APIs pgdrill reads, on
//! their loopback ports: readiness, alerts, targets, series. Answers are decoded into plain
//! structs; nothing here keeps state or retries (callers poll).
use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use super::error::ApiError;
use crate::observe::short_error;

/// Milliseconds since the Unix epoch (wall clock): what the APIs' timestamps are converted to.
pub type UnixMillis = u64;

fn client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .no_proxy()
        .build()
        .expect("a plain HTTP client always builds")
}

async fn get_json(client: &reqwest::Client, url: &str, query: &[(&str, String)]) -> Result<Value, ApiError> {
    let http = |reason: String| ApiError::Http { url: url.to_string(), reason };
    let full = reqwest::Url::parse_with_params(url, query).map_err(|e| http(e.to_string()))?;
    let response = client.get(full).send().await.map_err(|e| http(short_error(&e)))?;
    let status = response.status();
    let body: Value = response.json().await.map_err(|e| {
        if status.is_success() {
            ApiError::Decode { url: url.to_string(), reason: short_error(&e) }
        } else {
            http(format!("HTTP {status}"))
        }
    })?;
    if !status.is_success() {
        // Prometheus explains a 4xx/5xx in `error`.
        let detail = body.get("error").and_then(Value::as_str).unwrap_or_default();
        return Err(http(format!("HTTP {status} {detail}").trim_end().to_string()));
    }
    Ok(body)
}

/// `GET url` answers 2xx (readiness endpoints answer plain text, not JSON).
async fn get_ready(client: &reqwest::Client, url: &str) -> Result<(), ApiError> {
    let response =
        client.get(url).send().await.map_err(|e| ApiError::Http { url: url.to_string(), reason: short_error(&e) })?;
    let status = response.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(ApiError::Http { url: url.to_string(), reason: format!("HTTP {status}") })
    }
}

/// Prometheus wraps answers in `{"status": "success", "data": ...}`.
fn prometheus_data(url: &str, body: Value) -> Result<Value, ApiError> {
    match body.get("status").and_then(Value::as_str) {
        Some("success") => Ok(body.get("data").cloned().unwrap_or(Value::Null)),
        _ => {
            let reason = body.get("error").and_then(Value::as_str).unwrap_or("no `status: success`").to_string();
            Err(ApiError::Decode { url: url.to_string(), reason })
        }
    }
}

/// An alert as Prometheus's `GET /api/v1/alerts` lists it (pending or firing).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PrometheusAlert {
    /// Labels, `alertname` included.
    pub labels: BTreeMap<String, String>,
    /// Annotations, templates expanded.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// `pending` or `firing`.
    pub state: String,
    /// When the expression started to hold (RFC 3339).
    #[serde(rename = "activeAt")]
    pub active_at: Option<String>,
    /// The expression's value at the last evaluation.
    #[serde(default)]
    pub value: String,
}

/// A scrape target as `GET /api/v1/targets` lists it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Target {
    /// Target labels after relabelling (`job`, `instance`, `pod`, ...).
    pub labels: BTreeMap<String, String>,
    /// `up`, `down` or `unknown` (not scraped yet).
    pub health: String,
    /// Why the last scrape failed.
    #[serde(rename = "lastError", default)]
    pub last_error: String,
    /// The URL scraped.
    #[serde(rename = "scrapeUrl", default)]
    pub scrape_url: String,
}

/// Prometheus's API on a loopback port.
#[derive(Debug, Clone)]
pub struct PrometheusApi {
    client: reqwest::Client,
    base: String,
}

impl PrometheusApi {
    /// A client for Prometheus published on `127.0.0.1:port`, each request bounded by `timeout`.
    pub fn new(port: u16, timeout: Duration) -> Self {
        Self::at(&format!("http://127.0.0.1:{port}"), timeout)
    }

    /// A client for Prometheus at `base` (`http://prometheus:9090`, a cluster file's URL).
    pub fn at(base: &str, timeout: Duration) -> Self {
        Self { client: client(timeout), base: base.trim_end_matches('/').to_string() }
    }

    /// `GET /-/ready` answers 2xx: configuration and rules loaded, TSDB open. The error says
    /// what it answered instead (`HTTP 503 Service Unavailable`, `connection refused`).
    pub async fn ready(&self) -> Result<(), ApiError> {
        get_ready(&self.client, &format!("{}/-/ready", self.base)).await
    }

    /// Pending and firing alerts.
    pub async fn alerts(&self) -> Result<Vec<PrometheusAlert>, ApiError> {
        let url = format!("{}/api/v1/alerts", self.base);
        let data = prometheus_data(&url, get_json(&self.client, &url, &[]).await?)?;
        let alerts = data.get("alerts").cloned().unwrap_or(Value::Array(Vec::new()));
        serde_json::from_value(alerts).map_err(|e| ApiError::Decode { url, reason: e.to_string() })
    }

    /// Active scrape targets.
    pub async fn targets(&self) -> Result<Vec<Target>, ApiError> {
        let url = format!("{}/api/v1/targets", self.base);
        let query = [("state", "active".to_string())];
        let data = prometheus_data(&url, get_json(&self.client, &url, &query).await?)?;
        let targets = data.get("activeTargets").cloned().unwrap_or(Value::Array(Vec::new()));
        serde_json::from_value(targets).map_err(|e| ApiError::Decode { url, reason: e.to_string() })
    }

    /// Label sets of the series matching `selector` that had samples between `start` and `end`
    /// (Unix seconds).
    pub async fn series(
        &self,
        selector: &str,
        start: f64,
        end: f64,
    ) -> Result<Vec<BTreeMap<String, String>>, ApiError> {
        let url = format!("{}/api/v1/series", self.base);
        let query = [("match[]", selector.to_string()), ("start", format!("{start:.3}")), ("end", format!("{end:.3}"))];
        let data = prometheus_data(&url, get_json(&self.client, &url, &query).await?)?;
        serde_json::from_value(data).map_err(|e| ApiError::Decode { url, reason: e.to_string() })
    }

    /// An instant query: (labels, value) of each element of the resulting vector.
    pub async fn query(&self, promql: &str) -> Result<Vec<(BTreeMap<String, String>, f64)>, ApiError> {
        let url = format!("{}/api/v1/query", self.base);
        let data = prometheus_data(&url, get_json(&self.client, &url, &[("query", promql.to_string())]).await?)?;
        let decode = |reason: &str| ApiError::Decode { url: url.clone(), reason: reason.to_string() };
        if data.get("resultType").and_then(Value::as_str) != Some("vector") {
            return Err(decode("expected a vector result"));
        }
        let mut out = Vec::new();
        for element in data.get("result").and_then(Value::as_array).into_iter().flatten() {
            let labels: BTreeMap<String, String> =
                serde_json::from_value(element.get("metric").cloned().unwrap_or_default())
                    .map_err(|e| decode(&e.to_string()))?;
            let value = element
                .get("value")
                .and_then(|v| v.get(1))
                .and_then(Value::as_str)
                .and_then(|v| v.parse::<f64>().ok())
                .ok_or_else(|| decode("a sample without a value"))?;
            out.push((labels, value));
        }
        Ok(out)
    }
}

impl PrometheusApi {
    /// The raw samples of a range-vector query (`ALERTS{alertname="X"}[10m]`) evaluated at
    /// `at` (Unix seconds): (labels, sample times in Unix ms) per series. Unlike a range query,
    /// this returns the samples' own timestamps, i.e. the evaluations that wrote them.
    pub async fn raw_samples(
        &self,
        range_selector: &str,
        at: f64,
    ) -> Result<Vec<(BTreeMap<String, String>, Vec<UnixMillis>)>, ApiError> {
        let url = format!("{}/api/v1/query", self.base);
        let query = [("query", range_selector.to_string()), ("time", format!("{at:.3}"))];
        let data = prometheus_data(&url, get_json(&self.client, &url, &query).await?)?;
        let decode = |reason: &str| ApiError::Decode { url: url.clone(), reason: reason.to_string() };
        if data.get("resultType").and_then(Value::as_str) != Some("matrix") {
            return Err(decode("expected a matrix result"));
        }
        let mut out = Vec::new();
        for series in data.get("result").and_then(Value::as_array).into_iter().flatten() {
            let labels: BTreeMap<String, String> =
                serde_json::from_value(series.get("metric").cloned().unwrap_or_default())
                    .map_err(|e| decode(&e.to_string()))?;
            let times = series
                .get("values")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|pair| pair.get(0).and_then(Value::as_f64))
                .map(|t| (t * 1000.0).round() as UnixMillis)
                .collect();
            out.push((labels, times));
        }
        Ok(out)
    }

    /// Every metric name (`__name__` value) with samples between `start` and `end` (Unix seconds).
    pub async fn metric_names(&self, start: f64, end: f64) -> Result<Vec<String>, ApiError> {
        let url = format!("{}/api/v1/label/__name__/values", self.base);
        let query = [("start", format!("{start:.3}")), ("end", format!("{end:.3}"))];
        let data = prometheus_data(&url, get_json(&self.client, &url, &query).await?)?;
        serde_json::from_value(data).map_err(|e| ApiError::Decode { url, reason: e.to_string() })
    }
}

/// An alert as Alertmanager's `GET /api/v2/alerts` lists it (only alerts not yet resolved).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct AlertmanagerAlert {
    /// Labels, `alertname` included (and Prometheus's external labels).
    pub labels: BTreeMap<String, String>,
    /// Annotations.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// When the alert started firing in Prometheus (RFC 3339).
    #[serde(rename = "startsAt")]
    pub starts_at: Option<String>,
    /// When it will be considered resolved unless Prometheus sends it again.
    #[serde(rename = "endsAt")]
    pub ends_at: Option<String>,
    /// `active`, `suppressed` (silenced or inhibited) or `unprocessed`.
    pub status: AlertmanagerStatus,
}

/// The `status` of an Alertmanager alert.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct AlertmanagerStatus {
    /// `active`, `suppressed` or `unprocessed`.
    pub state: String,
}

/// Alertmanager's API on a loopback port.
#[derive(Debug, Clone)]
pub struct AlertmanagerApi {
    client: reqwest::Client,
    base: String,
}

impl AlertmanagerApi {
    /// A client for Alertmanager published on `127.0.0.1:port`.
    pub fn new(port: u16, timeout: Duration) -> Self {
        Self::at(&format!("http://127.0.0.1:{port}"), timeout)
    }

    /// A client for Alertmanager at `base` (a cluster file's URL).
    pub fn at(base: &str, timeout: Duration) -> Self {
        Self { client: client(timeout), base: base.trim_end_matches('/').to_string() }
    }

    /// `GET /-/ready` answers 2xx; the error says what it answered instead.
    pub async fn ready(&self) -> Result<(), ApiError> {
        get_ready(&self.client, &format!("{}/-/ready", self.base)).await
    }

    /// The alerts it holds (active, silenced, inhibited, unprocessed; not resolved ones).
    pub async fn alerts(&self) -> Result<Vec<AlertmanagerAlert>, ApiError> {
        let url = format!("{}/api/v2/alerts", self.base);
        let body = get_json(&self.client, &url, &[]).await?;
        serde_json::from_value(body).map_err(|e| ApiError::Decode { url, reason: e.to_string() })
    }
}

/// Parses an RFC 3339 timestamp as Prometheus and Alertmanager write them
/// (`2026-11-23T10:00:00.123456789Z`, `...+01:00`) into Unix milliseconds; `None` for anything
/// else, and for Go's zero time (`0001-01-01T00:00:00Z`, "not set").
pub fn parse_rfc3339(text: &str) -> Option<UnixMillis> {
    let b = text.as_bytes();
    let number = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = text.get(range)?;
        part.bytes().all(|c| c.is_ascii_digit()).then(|| part.parse().ok())?
    };
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    let mut i = 19;
    let mut millis = 0i64;
    if b[i] == b'.' {
        let start = i + 1;
        i = start;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let digits = text.get(start..i)?;
        let first_three: String = digits.chars().chain(std::iter::repeat('0')).take(3).collect();
        millis = first_three.parse().ok()?;
    }
    let offset_minutes = match b.get(i)? {
        b'Z' | b'z' if i + 1 == b.len() => 0,
        sign @ (b'+' | b'-') if i + 6 == b.len() && b[i + 3] == b':' => {
            let minutes = number(i + 1..i + 3)? * 60 + number(i + 4..i + 6)?;
            if *sign == b'+' {
                minutes
            } else {
                -minutes
            }
        }
        _ => return None,
    };
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
    let total = seconds.checked_mul(1000)?.checked_add(millis)?;
    (total > 0).then_some(total as UnixMillis)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use test_case::test_case;

    use super::*;

    #[test_case("1970-01-01T00:00:01Z", Some(1_000))]
    #[test_case("2026-11-23T10:00:00.123456789Z", Some(1_795_428_000_123))]
    #[test_case("2026-11-23T11:00:00.5+01:00", Some(1_795_428_000_500))]
    #[test_case("2026-11-23T09:30:00-00:30", Some(1_795_428_000_000))]
    #[test_case("2000-02-29T00:00:00Z", Some(951_782_400_000))]
    #[test_case("0001-01-01T00:00:00Z", None; "go zero time")]
    #[test_case("2026-11-23 10:00", None; "truncated")]
    #[test_case("2026-13-01T00:00:00Z", None; "bad month")]
    fn timestamps_parse(text: &str, expected: Option<UnixMillis>) {
        assert_eq!(parse_rfc3339(text), expected);
    }

    #[test]
    fn alert_answers_decode() {
        let prometheus: Vec<PrometheusAlert> = serde_json::from_str(
            r#"[{"labels":{"alertname":"FailoverDetected","citus_group":"0"},"annotations":{},"state":"firing",
                "activeAt":"2026-11-23T10:00:00.1Z","value":"2e+00"}]"#,
        )
        .unwrap();
        assert_eq!(prometheus[0].state, "firing");
        let alertmanager: Vec<AlertmanagerAlert> = serde_json::from_str(
            r#"[{"annotations":{},"endsAt":"2026-11-23T10:04:00Z","fingerprint":"x","receivers":[{"name":"pgdrill"}],
                "startsAt":"2026-11-23T10:00:06Z","status":{"inhibitedBy":[],"silencedBy":[],"state":"active"},
                "updatedAt":"2026-11-23T10:00:06Z","labels":{"alertname":"FailoverDetected"}}]"#,
        )
        .unwrap();
        assert_eq!(alertmanager[0].status.state, "active");
        assert_eq!(parse_rfc3339(alertmanager[0].starts_at.as_deref().unwrap()), Some(1_795_428_006_000));
    }
}
