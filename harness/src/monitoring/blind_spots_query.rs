//! Fetches what `monitoring::blind_spots` classifies: the raw samples, over the run, of every
//! selector every alert rule reads and of the rule's `ALERTS`, and the members Prometheus scrapes
//! (the `member` label of `up`). One range-selector query per distinct selector, evaluated at
//! the end of the run, so each sample keeps its own scrape timestamp.
use std::collections::{BTreeMap, BTreeSet};

use super::api::{PrometheusApi, UnixMillis};
use super::blind_spots::{classify_fault, FaultBlindSpots, FaultWindow, RuleSamples, SelectorSamples, Timing};
use super::coverage::{AlertCoverage, AlertOutcome};
use super::error::ApiError;
use super::latency::AlertSamples;
use super::pooling::pooled_selectors;
use super::promql::selectors;
use super::rules::AlertRule;

type RawSeries = Vec<(BTreeMap<String, String>, Vec<UnixMillis>)>;

/// Every alert of `alerts` against every fault window, from Prometheus's samples between
/// `start` and `end` (Unix seconds). `coverage` gives the selectors with no series at all;
/// `eval_interval_ms` each alert's (scaled) group interval, `interval_ms` the scrape interval.
pub async fn blind_spots(
    api: &PrometheusApi,
    alerts: &[AlertRule],
    coverage: &[AlertCoverage],
    windows: &[FaultWindow],
    (start, end): (f64, f64),
    eval_interval_ms: &BTreeMap<String, u64>,
    interval_ms: u64,
) -> Result<Vec<FaultBlindSpots>, ApiError> {
    if windows.is_empty() {
        return Ok(Vec::new());
    }
    let range = format!("[{}s]", (end - start).ceil().max(1.0) as u64 + 60);
    let mut cache = Cache { api, range, end, seen: BTreeMap::new() };
    let members: BTreeSet<String> = cache
        .get("up")
        .await?
        .into_iter()
        .filter_map(|(labels, _)| labels.get(super::blind_spots::MEMBER_LABEL).cloned())
        .collect();
    let mut rules = Vec::with_capacity(alerts.len());
    for alert in alerts {
        let missing = coverage
            .iter()
            .find(|c| c.alert == alert.name && c.file == alert.file && c.line == alert.line)
            .map(|c| match &c.outcome {
                AlertOutcome::SeriesAbsent { missing } => missing.clone(),
                _ => Vec::new(),
            })
            .unwrap_or_default();
        let mut samples = Vec::new();
        let pooled = pooled_selectors(&alert.expr);
        for selector in selectors(&alert.expr) {
            let series = cache.get(&selector).await?;
            samples.push(SelectorSamples { pooled: pooled.contains(&selector), selector, series });
        }
        let alerts_selector = format!("ALERTS{{alertname={}}}", serde_json::to_string(&alert.name).expect("a string"));
        let states = cache
            .get(&alerts_selector)
            .await?
            .into_iter()
            .map(|(mut labels, times)| {
                labels.remove("__name__");
                labels.remove("alertname");
                let alertstate = labels.remove("alertstate").unwrap_or_default();
                AlertSamples { alert: alert.name.clone(), alertstate, labels, times }
            })
            .collect();
        rules.push(RuleSamples {
            alert: alert.name.clone(),
            missing,
            eval_interval_ms: eval_interval_ms.get(&alert.name).copied().unwrap_or(interval_ms),
            alerts: states,
            selectors: samples,
        });
    }
    let timing = Timing::for_interval(interval_ms);
    Ok(windows.iter().map(|w| classify_fault(w, &members, &rules, timing)).collect())
}

/// Raw samples per selector, each fetched once.
struct Cache<'a> {
    api: &'a PrometheusApi,
    /// `[123s]`: the whole run and a minute before it.
    range: String,
    /// Evaluation time (Unix seconds).
    end: f64,
    seen: BTreeMap<String, RawSeries>,
}

impl Cache<'_> {
    async fn get(&mut self, selector: &str) -> Result<RawSeries, ApiError> {
        if let Some(hit) = self.seen.get(selector) {
            return Ok(hit.clone());
        }
        let series = self.api.raw_samples(&format!("{selector}{}", self.range), self.end).await?;
        self.seen.insert(selector.to_string(), series.clone());
        Ok(series)
    }
}
