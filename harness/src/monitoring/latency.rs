//! Alert observation latency: how long after Prometheus (or Alertmanager) changed an alert's
//! state pgdrill had the change on its timeline. The bar is one second from Prometheus marking
//! an alert firing; every `Alert` event of a run is measured and the report summarises them.
//!
//! When did Prometheus mark it? Prometheus evaluates a group at aligned timestamps `ts` and
//! stamps everything an evaluation decides with that `ts` (rules/alerting.go in 2.42):
//! - pending: `activeAt` (listed by `/api/v1/alerts`) is the `ts` that found the expression true;
//! - firing: the `ts` that found `for` elapsed (`FiredAt`). The API does not list it, but the
//!   same evaluation writes the first `ALERTS{alertstate="firing"}` sample of the instance at
//!   that `ts`, so it is read back from the raw samples after the run. Alertmanager's
//!   `startsAt` is that same `FiredAt` (Prometheus sends it as `StartsAt`);
//! - resolved (or pending that ended): the first evaluation without the instance, which writes
//!   no sample: estimated as the last `ALERTS` sample plus the group interval (exact unless an
//!   evaluation was skipped).
//!
//! When the samples are unavailable, firing falls back to `activeAt + ⌈for / interval⌉ ×
//! interval` — the first aligned evaluation with `for` elapsed, exact when none was skipped.
//! Both clocks are the host's: Prometheus runs in a container on the same kernel.
//!
//! Everything here is pure: the engine fetches the samples and passes them in.
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::api::UnixMillis;

/// The bar: Prometheus marking an alert firing → on pgdrill's timeline, in ms.
pub const LATENCY_BAR_MS: i64 = 1000;

/// An alert state change as recorded on the timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenChange {
    /// Time on the timeline (ms since the run started).
    pub at: u64,
    /// Alert name.
    pub alert: String,
    /// The instance's labels (without `alertname`).
    pub labels: BTreeMap<String, String>,
    /// `pending`, `firing`, `resolved` or `inactive`.
    pub state: String,
    /// `prometheus` or `alertmanager`.
    pub source: String,
    /// Wall clock when pgdrill recorded it.
    pub seen: UnixMillis,
    /// `activeAt` (Prometheus) or `startsAt` (Alertmanager) of the instance.
    pub source_at: Option<UnixMillis>,
}

/// The raw `ALERTS` samples of one alert instance in one `alertstate`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertSamples {
    /// Alert name.
    pub alert: String,
    /// `pending` or `firing`.
    pub alertstate: String,
    /// The instance's labels (without `__name__`, `alertname`, `alertstate`).
    pub labels: BTreeMap<String, String>,
    /// Sample timestamps (evaluation times), ascending.
    pub times: Vec<UnixMillis>,
}

/// Effective (scaled) timing of an alerting rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleTiming {
    /// `for`, in ms.
    pub for_ms: u64,
    /// Its group's evaluation interval, in ms.
    pub interval_ms: u64,
}

/// How the source's time of a change was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MarkedBy {
    /// Prometheus's `activeAt` (pending): exact.
    ActiveAt,
    /// The first raw `ALERTS{alertstate="firing"}` sample (firing): exact.
    FirstFiringSample,
    /// Alertmanager's `startsAt`, which is Prometheus's firing time: exact.
    StartsAt,
    /// The evaluation after the instance's last `ALERTS` sample (ended): an estimate.
    EvaluationAfterLastSample,
    /// `activeAt` plus `for` rounded up to whole evaluations (firing without samples): an
    /// estimate.
    ForAfterActiveAt,
    /// The evaluation after `activeAt`, for a pending seen ending within two evaluations of it
    /// and no `ALERTS` sample of it found (seen for one-evaluation pendings at start-up): an
    /// estimate.
    EvaluationAfterActiveAt,
}

/// One measured change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LatencyRow {
    /// Time on the timeline (ms since the run started).
    pub at_ms: u64,
    /// Alert name.
    pub alert: String,
    /// The instance's labels, `k=v` joined by commas (for reading).
    pub instance: String,
    /// prometheus or alertmanager.
    pub source: String,
    /// The new state.
    pub state: String,
    /// When the source changed it (Unix ms).
    pub marked_unix_ms: UnixMillis,
    /// When pgdrill recorded it (Unix ms).
    pub seen_unix_ms: UnixMillis,
    /// `seen - marked`, in ms (negative only if the clocks disagree or an estimate is late).
    pub latency_ms: i64,
    /// How `marked_unix_ms` was found.
    pub marked_by: MarkedBy,
}

/// Max and median of a set of latencies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LatencyStats {
    /// Number of changes measured.
    pub count: usize,
    /// Largest latency, in ms.
    pub max_ms: i64,
    /// Median latency, in ms (the lower middle for an even count).
    pub median_ms: i64,
}

impl LatencyStats {
    /// Stats of `values`; `None` when empty.
    pub fn of(values: &[i64]) -> Option<Self> {
        if values.is_empty() {
            return None;
        }
        let mut sorted = values.to_vec();
        sorted.sort_unstable();
        Some(Self { count: sorted.len(), max_ms: sorted[sorted.len() - 1], median_ms: sorted[(sorted.len() - 1) / 2] })
    }
}

/// When `change` happened according to its source, and how that was found; `None` when the
/// source gives nothing to go on (e.g. no `activeAt`).
pub fn marked_at(
    change: &SeenChange,
    samples: &[AlertSamples],
    timing: Option<RuleTiming>,
) -> Option<(UnixMillis, MarkedBy)> {
    let active_at = change.source_at?;
    let of_instance = |state: Option<&str>| {
        let mut times: Vec<UnixMillis> = samples
            .iter()
            .filter(|s| s.alert == change.alert && s.labels == change.labels)
            .filter(|s| state.is_none_or(|state| s.alertstate == state))
            .flat_map(|s| s.times.iter().copied())
            .filter(|&t| t >= active_at && t <= change.seen)
            .collect();
        times.sort_unstable();
        times
    };
    match (change.source.as_str(), change.state.as_str()) {
        ("prometheus", "pending") => Some((active_at, MarkedBy::ActiveAt)),
        ("prometheus", "firing") => match of_instance(Some("firing")).first() {
            Some(&t) => Some((t, MarkedBy::FirstFiringSample)),
            None => {
                let timing = timing?;
                let interval = timing.interval_ms.max(1);
                let evaluations = timing.for_ms.div_ceil(interval);
                Some((active_at + evaluations * interval, MarkedBy::ForAfterActiveAt))
            }
        },
        ("alertmanager", "firing") => Some((active_at, MarkedBy::StartsAt)),
        (_, "resolved" | "inactive") => {
            let interval = timing?.interval_ms;
            match of_instance(None).last() {
                Some(&last) => Some((last + interval, MarkedBy::EvaluationAfterLastSample)),
                // It can only have ended at the next evaluation: a later end would have
                // left a sample in between.
                None if change.state == "inactive" && change.seen <= active_at + 2 * interval => {
                    Some((active_at + interval, MarkedBy::EvaluationAfterActiveAt))
                }
                None => None,
            }
        }
        _ => None,
    }
}

/// Measures every change it can (see [`marked_at`]).
pub fn measure(
    changes: &[SeenChange],
    samples: &[AlertSamples],
    timings: &BTreeMap<String, RuleTiming>,
) -> Vec<LatencyRow> {
    changes
        .iter()
        .filter_map(|change| {
            let (marked, marked_by) = marked_at(change, samples, timings.get(&change.alert).copied())?;
            Some(LatencyRow {
                at_ms: change.at,
                alert: change.alert.clone(),
                instance: change.labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(","),
                source: change.source.clone(),
                state: change.state.clone(),
                marked_unix_ms: marked,
                seen_unix_ms: change.seen,
                latency_ms: change.seen as i64 - marked as i64,
                marked_by,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> BTreeMap<String, String> {
        BTreeMap::from([("pod".to_string(), "pg-2".to_string())])
    }

    fn change(source: &str, state: &str, seen: u64, source_at: u64) -> SeenChange {
        SeenChange {
            at: 0,
            alert: "HighReplicationLag".into(),
            labels: labels(),
            state: state.into(),
            source: source.into(),
            seen,
            source_at: Some(source_at),
        }
    }

    fn samples(state: &str, times: &[u64]) -> AlertSamples {
        AlertSamples {
            alert: "HighReplicationLag".into(),
            alertstate: state.into(),
            labels: labels(),
            times: times.to_vec(),
        }
    }

    const TIMING: RuleTiming = RuleTiming { for_ms: 15_000, interval_ms: 1_000 };

    #[test]
    fn pending_is_marked_at_active_at() {
        let c = change("prometheus", "pending", 10_300, 10_000);
        assert_eq!(marked_at(&c, &[], None), Some((10_000, MarkedBy::ActiveAt)));
    }

    #[test]
    fn firing_is_the_first_firing_sample_of_the_same_instance_since_active_at() {
        let c = change("prometheus", "firing", 25_400, 10_000);
        let mut other = samples("firing", &[12_000]);
        other.labels.insert("pod".into(), "pg-1".into());
        let all = [
            samples("pending", &[10_000, 11_000]),
            samples("firing", &[3_000, 25_000, 26_000]), // 3_000: an earlier episode
            other,
        ];
        assert_eq!(marked_at(&c, &all, Some(TIMING)), Some((25_000, MarkedBy::FirstFiringSample)));
        let rows = measure(&[c], &all, &BTreeMap::from([("HighReplicationLag".to_string(), TIMING)]));
        assert_eq!(rows[0].latency_ms, 400);
        assert_eq!(rows[0].instance, "pod=pg-2");
    }

    #[test]
    fn firing_without_samples_rounds_for_up_to_whole_evaluations() {
        let c = change("prometheus", "firing", 26_100, 10_000);
        let timing = RuleTiming { for_ms: 15_500, interval_ms: 1_000 };
        assert_eq!(marked_at(&c, &[], Some(timing)), Some((26_000, MarkedBy::ForAfterActiveAt)));
        assert_eq!(marked_at(&c, &[], None), None, "no timing, no estimate");
    }

    #[test]
    fn a_pending_of_one_evaluation_without_samples_ended_at_the_next_evaluation() {
        let timing = RuleTiming { for_ms: 6_000, interval_ms: 3_000 };
        let short = change("prometheus", "inactive", 13_190, 10_000);
        assert_eq!(marked_at(&short, &[], Some(timing)), Some((13_000, MarkedBy::EvaluationAfterActiveAt)));
        let long = change("prometheus", "inactive", 17_000, 10_000);
        assert_eq!(marked_at(&long, &[], Some(timing)), None, "a longer pending must have left samples");
    }

    #[test]
    fn alertmanager_firing_is_marked_at_starts_at() {
        let c = change("alertmanager", "firing", 25_900, 25_000);
        assert_eq!(marked_at(&c, &[], None), Some((25_000, MarkedBy::StartsAt)));
    }

    #[test]
    fn resolved_is_the_evaluation_after_the_last_sample() {
        let c = change("prometheus", "resolved", 40_250, 10_000);
        let all = [samples("pending", &[10_000, 11_000]), samples("firing", &[25_000, 38_000, 39_000])];
        assert_eq!(marked_at(&c, &all, Some(TIMING)), Some((40_000, MarkedBy::EvaluationAfterLastSample)));
        assert_eq!(marked_at(&c, &[], Some(TIMING)), None, "no samples, no estimate");
    }

    #[test]
    fn samples_after_the_change_was_seen_do_not_count() {
        // A later episode of the same instance must not be taken for this one's end.
        let c = change("prometheus", "inactive", 12_300, 10_000);
        let all = [samples("pending", &[10_000, 11_000, 50_000])];
        assert_eq!(marked_at(&c, &all, Some(TIMING)), Some((12_000, MarkedBy::EvaluationAfterLastSample)));
    }

    #[test]
    fn no_source_time_no_measurement() {
        let mut c = change("prometheus", "pending", 10_300, 10_000);
        c.source_at = None;
        assert_eq!(marked_at(&c, &[], Some(TIMING)), None);
    }

    #[test]
    fn stats_are_max_and_lower_median() {
        assert_eq!(LatencyStats::of(&[]), None);
        assert_eq!(LatencyStats::of(&[300]), Some(LatencyStats { count: 1, max_ms: 300, median_ms: 300 }));
        assert_eq!(
            LatencyStats::of(&[900, 100, 400, 200]),
            Some(LatencyStats { count: 4, max_ms: 900, median_ms: 200 })
        );
    }
}
