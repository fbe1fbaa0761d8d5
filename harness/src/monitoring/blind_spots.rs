//! Blind spots of alert rules, per fault: for every fault step of a run and every alert rule,
//! whether the rule detected the fault (went pending or fired in the fault's window), could have
//! (every series it reads for the faulted member kept being scraped; the expression just did not
//! hold), or **cannot detect it**: the series it reads for the faulted member went stale at the
//! fault, so an expression like `patroni_postgres_running == 0` has nothing to compare for that
//! member and can never hold, however long the fault lasts.
//!
//! A fault that stops what serves a metric (a killed or frozen container, a cut network) does
//! not turn its series to 0: Prometheus's scrape fails, it writes a staleness marker, and the
//! series ends. Rules written as `metric == 0` then see nothing. The usual remedy is a companion
//! rule on what does not go stale: `up{job="…"} == 0` (Prometheus writes `up` for every scrape,
//! failed ones too) or `absent(metric{member="…"})`. That holds for postgres_exporter's series as
//! well: when its PostgreSQL's host is gone the exporter's connection attempt outlasts the scrape
//! timeout, the scrape fails and `pg_up` goes stale with the rest (measured on a kill), so
//! `pg_up == 0` only sees a PostgreSQL that is down while its host still answers.
//!
//! The questions, in order, for a rule and a fault step: did an instance begin pending or firing
//! after the step began (an instance active right then is an earlier cause's)? Does a selector
//! match no series in the whole run? Did a series it reads for a faulted member have samples
//! before the fault and none after it (a scrape interval + 1 s of grace at either end of the
//! window)? Did it read any series of a faulted member at all? A selector the rule reads only
//! inside an aggregation over members (`sum(patroni_primary) == 0`, see `monitoring::pooling`)
//! is judged on all the series it pools: the faulted member's going stale is what such a rule
//! is written to see, and it is blind only when every pooled series went stale.
//!
//! Everything here is pure: `monitoring::blind_spots_query` fetches the samples (raw samples of
//! every selector of every rule, and `ALERTS`, over the run) and passes them in.
use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::api::UnixMillis;
use super::latency::AlertSamples;
use crate::timeline::{EventKind, Millis, Timeline};

/// The label naming the member a series is about (set on every scrape target; see
/// `monitoring::config`).
pub const MEMBER_LABEL: &str = "member";

/// How a fault's window ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WindowEnd {
    /// The fault was undone (heal step, its duration, or a later step that ends it).
    Healed,
    /// The next fault step began.
    NextFault,
    /// The run's steps ended.
    RunEnd,
}

/// One fault step, as the timeline recorded it, in wall-clock time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultWindow {
    /// Step index.
    pub step: usize,
    /// Fault name.
    pub fault: String,
    /// What the fault acted on, as recorded (`pg-1`, `peers: pg-2`, `pg-1 (0.5 CPUs)`).
    pub acted_on: Vec<String>,
    /// When its step began (the `StepStarted` event, before the act): nothing the fault caused
    /// can precede it.
    pub started: UnixMillis,
    /// When it was applied (the `FaultApplied` event, after the act).
    pub at: UnixMillis,
    /// When its window ends.
    pub until: UnixMillis,
    /// Why it ends there.
    pub end: WindowEnd,
}

/// The raw samples of one selector of a rule: every series it matched in the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectorSamples {
    /// The selector (`patroni_postgres_running`, `up{job="patroni"}`).
    pub selector: String,
    /// Read only inside an aggregation that drops the member label (`monitoring::pooling`):
    /// the rule sees the members together, not one by one.
    pub pooled: bool,
    /// (labels, sample times ascending) per series.
    pub series: Vec<(BTreeMap<String, String>, Vec<UnixMillis>)>,
}

/// What was fetched for one alert rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSamples {
    /// Alert name.
    pub alert: String,
    /// Selectors that matched no series at all in the run (from coverage).
    pub missing: Vec<String>,
    /// Its group's (scaled) evaluation interval, in ms: how far apart its `ALERTS` samples are.
    pub eval_interval_ms: u64,
    /// The rule's `ALERTS` samples, per instance and state.
    pub alerts: Vec<AlertSamples>,
    /// Every selector's samples.
    pub selectors: Vec<SelectorSamples>,
}

/// Timing assumptions of the classification, from the run's scrape interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// Samples this long after the fault may still predate its effect (a scrape in flight, an
    /// evaluation of the last scrape): one scrape interval plus a margin.
    pub grace_ms: u64,
    /// A series "existed before the fault" when it has a sample this long before it.
    pub lookback_ms: u64,
}

impl Timing {
    /// For a scrape (and evaluation) interval of `interval_ms`.
    pub fn for_interval(interval_ms: u64) -> Self {
        Self { grace_ms: interval_ms + 1_000, lookback_ms: (interval_ms * 5).max(5_000) }
    }
}

/// A series of the faulted member that went stale at the fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaleSeries {
    /// The faulted member the series is about.
    pub target: String,
    /// The rule's selector that matched it.
    pub selector: String,
    /// Its scrape job (`patroni`, `postgres-exporter`).
    pub job: String,
    /// Its last sample relative to the fault, in ms (negative: before it).
    pub last_sample_ms: i64,
}

/// What a rule did about one fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Finding {
    /// An instance began firing in the fault's window.
    Fired {
        /// After the fault, in ms.
        after_ms: u64,
    },
    /// An instance went pending in the fault's window, none fired.
    WentPending {
        /// After the fault, in ms.
        after_ms: u64,
    },
    /// The rule reads series of the faulted member and they went stale at the fault: the
    /// expression cannot hold for that member while the fault lasts.
    CannotDetect {
        /// The series that went stale.
        stale: Vec<StaleSeries>,
    },
    /// A selector of the rule matched no series in the whole run: it could not fire at all.
    SeriesAbsent {
        /// Those selectors.
        missing: Vec<String>,
    },
    /// Every series the rule reads for the faulted member kept being scraped: the rule could
    /// have fired, its expression did not hold.
    CouldHaveFired {
        /// The longest stretch in the window without a sample of any of those series, in ms
        /// (a scrape interval when nothing was missed; longer when scrapes failed in between).
        #[serde(default)]
        longest_gap_ms: u64,
        /// For a rule that aggregates over members: the members whose series it kept pooling
        /// while the faulted member's went stale (empty for a rule read member by member).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pooled_over: Vec<String>,
    },
    /// The rule reads no series of what the fault acted on (an etcd node, or a member without
    /// the series): whether it could fire depends on other members.
    NotWatched,
}

impl Finding {
    /// The short name used in reports (`fired`, `cannot_detect`, …).
    pub fn name(&self) -> &'static str {
        match self {
            Finding::Fired { .. } => "fired",
            Finding::WentPending { .. } => "went_pending",
            Finding::CannotDetect { .. } => "cannot_detect",
            Finding::SeriesAbsent { .. } => "series_absent",
            Finding::CouldHaveFired { .. } => "could_have_fired",
            Finding::NotWatched => "not_watched",
        }
    }

    /// Whether the rule detected the fault (pending or firing).
    pub fn detected(&self) -> bool {
        matches!(self, Finding::Fired { .. } | Finding::WentPending { .. })
    }
}

/// One rule's finding for one fault, with the sentence the reports print.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleAtFault {
    /// Alert name.
    pub alert: String,
    /// What it did.
    pub finding: Finding,
    /// Why, in a sentence.
    pub reason: String,
    /// For `cannot_detect`: the companion rule that would see the fault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remedy: Option<String>,
}

/// Every rule's finding for one fault step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultBlindSpots {
    /// Step index (0-based, as on the timeline).
    pub step: usize,
    /// Fault name.
    pub fault: String,
    /// What it acted on, as recorded.
    pub acted_on: Vec<String>,
    /// The members among them (whose series the rules may read).
    pub targets: Vec<String>,
    /// Length of the fault's window, in ms.
    pub window_ms: u64,
    /// How the window ended.
    pub window_end: WindowEnd,
    /// One per alert rule, in rule-file order.
    pub rules: Vec<RuleAtFault>,
}

/// The fault windows of a timeline, in wall-clock time (`zero` is the wall time of the
/// timeline's 0): each `FaultApplied` until the first of its step's `FaultHealed`, the next
/// fault step, and the end of the steps (the last `StepFinished`, else the timeline's end).
pub fn fault_windows(timeline: &Timeline, zero: UnixMillis) -> Vec<FaultWindow> {
    let steps_end = timeline
        .events
        .iter()
        .rev()
        .find(|e| matches!(e.kind, EventKind::StepFinished { .. }))
        .map_or_else(|| timeline.end(), |e| e.at);
    let applied: Vec<(Millis, usize, &String, &Vec<String>)> = timeline
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::FaultApplied { step, fault, targets } => Some((e.at, *step, fault, targets)),
            _ => None,
        })
        .collect();
    applied
        .iter()
        .map(|&(at, step, fault, targets)| {
            let healed = timeline.since(at).find_map(|e| match e.kind {
                EventKind::FaultHealed { step: s, .. } if s == step => Some(e.at),
                _ => None,
            });
            let started = timeline
                .events
                .iter()
                .rev()
                .find(|e| e.at <= at && matches!(e.kind, EventKind::StepStarted { index, .. } if index == step))
                .map_or(at, |e| e.at);
            let next = applied.iter().find(|(t, s, ..)| *t >= at && *s != step).map(|(t, ..)| *t);
            let mut ends = vec![(steps_end.max(at), WindowEnd::RunEnd)];
            ends.extend(healed.map(|t| (t, WindowEnd::Healed)));
            ends.extend(next.map(|t| (t, WindowEnd::NextFault)));
            let (until, end) = ends.into_iter().min_by_key(|(t, _)| *t).expect("one end at least");
            FaultWindow {
                step,
                fault: fault.clone(),
                acted_on: targets.clone(),
                started: zero + started,
                at: zero + at,
                until: zero + until,
                end,
            }
        })
        .collect()
}

/// The members a fault acted on: the first word of each recorded target that is a member
/// (`pg-1 (0.5 CPUs)` → `pg-1`; `peers: pg-2` and `→ pg-2` are not targets).
pub fn fault_targets(acted_on: &[String], members: &BTreeSet<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for word in acted_on.iter().filter_map(|t| t.split_whitespace().next()) {
        if members.contains(word) && !out.iter().any(|o| o == word) {
            out.push(word.to_string());
        }
    }
    out
}

/// Classifies every rule for one fault window.
pub fn classify_fault(
    window: &FaultWindow,
    members: &BTreeSet<String>,
    rules: &[RuleSamples],
    timing: Timing,
) -> FaultBlindSpots {
    let targets = fault_targets(&window.acted_on, members);
    let rules = rules
        .iter()
        .map(|rule| {
            let finding = classify_rule(window, &targets, rule, timing);
            let (reason, remedy) = explain(&finding, &targets, window);
            RuleAtFault { alert: rule.alert.clone(), finding, reason, remedy }
        })
        .collect();
    FaultBlindSpots {
        step: window.step,
        fault: window.fault.clone(),
        acted_on: window.acted_on.clone(),
        targets,
        window_ms: window.until.saturating_sub(window.at),
        window_end: window.end,
        rules,
    }
}

/// One rule against one fault window (see the module docs for the order of the questions).
pub fn classify_rule(window: &FaultWindow, targets: &[String], rule: &RuleSamples, timing: Timing) -> Finding {
    // The last evaluations of a healed fault's effects come just after the heal; after the next
    // fault, what fires is that fault's.
    let slack = if window.end == WindowEnd::NextFault { 0 } else { timing.grace_ms };
    let (from, until) = (window.at, window.until + slack);
    // The fault is recorded after it acted: an evaluation may see its effect before `from`
    // (measured: pending 79 ms before the kill's record), but not before its step began. An
    // activation of an instance that began before then belongs to an earlier cause, even when
    // it lasts into the window; one that begins in the window is this fault's, also when the
    // same instance was active a moment before (an earlier fault's pending that ended as this
    // step began).
    let since = window.started.min(from);
    let ours: Vec<Activation> = activations(&rule.alerts, rule.eval_interval_ms + 1_000)
        .into_iter()
        .filter(|a| a.start >= since && a.start <= until)
        .collect();
    if let Some(t) = ours.iter().filter_map(|a| a.first_firing.filter(|&t| t <= until)).min() {
        return Finding::Fired { after_ms: t.saturating_sub(from) };
    }
    if let Some(t) = ours.iter().map(|a| a.start).min() {
        return Finding::WentPending { after_ms: t.saturating_sub(from) };
    }
    if !rule.missing.is_empty() {
        return Finding::SeriesAbsent { missing: rule.missing.clone() };
    }
    let mut stale = Vec::new();
    let mut watched = false;
    let mut longest_gap_ms = 0;
    let mut pooled_over: Vec<String> = Vec::new();
    let existed_before =
        |times: &[UnixMillis]| times.iter().any(|&t| t <= window.at && t + timing.lookback_ms >= window.at);
    let member_of = |labels: &BTreeMap<String, String>| labels.get(MEMBER_LABEL).cloned().unwrap_or_default();
    for selector in &rule.selectors {
        let before: Vec<&(BTreeMap<String, String>, Vec<UnixMillis>)> =
            selector.series.iter().filter(|(_, times)| existed_before(times)).collect();
        let of_targets: Vec<_> = before.iter().filter(|(labels, _)| targets.contains(&member_of(labels))).collect();
        if of_targets.is_empty() {
            continue;
        }
        watched = true;
        let stale_of = |labels: &BTreeMap<String, String>, times: &[UnixMillis]| {
            went_stale(times, window, timing).map(|last| StaleSeries {
                target: member_of(labels),
                selector: selector.selector.clone(),
                job: labels.get("job").cloned().unwrap_or_default(),
                last_sample_ms: last as i64 - window.at as i64,
            })
        };
        if selector.pooled {
            // The aggregate is computed from every series it pools: blind only when all of
            // them went stale.
            let judged: Vec<(String, Option<StaleSeries>)> =
                before.iter().map(|(l, t)| (member_of(l), stale_of(l, t))).collect();
            let kept: Vec<String> =
                judged.iter().filter(|(_, gone)| gone.is_none()).map(|(member, _)| member.clone()).collect();
            if kept.is_empty() {
                stale.extend(judged.into_iter().filter(|(m, _)| targets.contains(m)).filter_map(|(_, gone)| gone));
            } else {
                for member in kept {
                    if !pooled_over.contains(&member) {
                        pooled_over.push(member);
                    }
                }
            }
            continue;
        }
        for (labels, times) in of_targets {
            longest_gap_ms = longest_gap_ms.max(longest_gap(times, window));
            stale.extend(stale_of(labels, times));
        }
    }
    // One entry per (target, selector): a selector matching many series of a member (one per
    // database, say) is one finding.
    stale.dedup_by(|a, b| a.target == b.target && a.selector == b.selector);
    if !stale.is_empty() {
        Finding::CannotDetect { stale }
    } else if watched {
        pooled_over.sort();
        Finding::CouldHaveFired { longest_gap_ms, pooled_over }
    } else {
        Finding::NotWatched
    }
}

/// One stretch of an alert instance being pending or firing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Activation {
    /// Its first sample, in either state.
    start: UnixMillis,
    /// Its first firing sample.
    first_firing: Option<UnixMillis>,
}

/// Every instance's activations: its pending and firing samples together, split where none
/// comes for longer than `continuing` (an evaluation interval and a margin).
fn activations(alerts: &[AlertSamples], continuing: u64) -> Vec<Activation> {
    let mut by_instance: BTreeMap<&BTreeMap<String, String>, Vec<(UnixMillis, bool)>> = BTreeMap::new();
    for samples in alerts {
        let firing = samples.alertstate == "firing";
        by_instance.entry(&samples.labels).or_default().extend(samples.times.iter().map(|&t| (t, firing)));
    }
    let mut out = Vec::new();
    for mut samples in by_instance.into_values() {
        samples.sort_unstable();
        let mut current: Option<(Activation, UnixMillis)> = None;
        for (t, firing) in samples {
            match &mut current {
                Some((activation, last)) if t <= *last + continuing => {
                    *last = t;
                    if firing && activation.first_firing.is_none() {
                        activation.first_firing = Some(t);
                    }
                }
                _ => {
                    out.extend(current.take().map(|(a, _)| a));
                    current = Some((Activation { start: t, first_firing: firing.then_some(t) }, t));
                }
            }
        }
        out.extend(current.map(|(a, _)| a));
    }
    out
}

/// The last sample of a series that has none from `grace` after the fault to `grace` before the
/// window's end (a heal is recorded after it is done: a frozen member unpaused is scraped again
/// before its `FaultHealed` event); `None` when it kept being scraped, or the window is too short
/// to tell.
fn went_stale(times: &[UnixMillis], window: &FaultWindow, timing: Timing) -> Option<UnixMillis> {
    let silent_from = window.at + timing.grace_ms;
    let silent_until = window.until.saturating_sub(timing.grace_ms);
    if silent_until <= silent_from {
        return None;
    }
    if times.iter().any(|&t| t > silent_from && t <= silent_until) {
        return None;
    }
    times.iter().copied().filter(|&t| t <= silent_from).max()
}

/// The longest stretch of `window` without a sample (from the fault to the first, between two,
/// from the last to the window's end).
fn longest_gap(times: &[UnixMillis], window: &FaultWindow) -> u64 {
    let inside: Vec<UnixMillis> = times.iter().copied().filter(|&t| t > window.at && t <= window.until).collect();
    std::iter::once(window.at)
        .chain(inside)
        .chain(std::iter::once(window.until))
        .collect::<Vec<_>>()
        .windows(2)
        .map(|pair| pair[1] - pair[0])
        .max()
        .unwrap_or(0)
}

/// The sentence for a finding, and the remedy for a blind spot.
fn explain(finding: &Finding, targets: &[String], window: &FaultWindow) -> (String, Option<String>) {
    let secs = |ms: u64| format!("{:.1}s", ms as f64 / 1000.0);
    let acted_on = if targets.is_empty() { window.acted_on.join(", ") } else { targets.join(", ") };
    match finding {
        Finding::Fired { after_ms } => (format!("{} after the fault", secs(*after_ms)), None),
        Finding::WentPending { after_ms } => {
            (format!("{} after the fault; it did not fire in the fault's window", secs(*after_ms)), None)
        }
        Finding::SeriesAbsent { missing } => {
            (format!("no series for {} in the whole run, so it cannot fire at all", missing.join(", ")), None)
        }
        Finding::CouldHaveFired { pooled_over, .. } if !pooled_over.is_empty() => (
            format!(
                "it aggregates over members: while the series of {acted_on} went stale it kept pooling those of {}, \
                 so the expression kept being evaluated; it did not hold",
                pooled_over.join(", ")
            ),
            None,
        ),
        Finding::CouldHaveFired { longest_gap_ms, .. } => (
            format!(
                "its series for {acted_on} kept being scraped (longest gap {}); the expression did not hold",
                secs(*longest_gap_ms)
            ),
            None,
        ),
        Finding::NotWatched => (format!("it reads no series of {acted_on}; it stayed inactive"), None),
        Finding::CannotDetect { stale } => {
            let series: Vec<String> = stale.iter().map(|s| format!("{} of {}", s.selector, s.target)).collect();
            let reason = format!(
                "its series {} went stale at the fault (no sample from a scrape after it to \
                 the end of its window), so the expression never evaluated for {}",
                series.join(", "),
                stale
                    .iter()
                    .map(|s| s.target.as_str())
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            (reason, Some(remedy(stale)))
        }
    }
}

/// The companion rules that would see a stale series' member go away.
pub fn remedy(stale: &[StaleSeries]) -> String {
    let mut rules: Vec<String> = Vec::new();
    let mut push = |rule: String| {
        if !rules.contains(&rule) {
            rules.push(rule);
        }
    };
    for s in stale {
        if !s.job.is_empty() {
            push(format!("up{{job=\"{}\"}} == 0", s.job));
        }
        push(format!("absent({})", with_member(&s.selector, &s.target)));
    }
    format!("add a companion rule: {}", rules.iter().map(|r| format!("`{r}`")).collect::<Vec<_>>().join(" or "))
}

/// `metric{a="b"}` → `metric{a="b", member="pg-1"}`; `metric` → `metric{member="pg-1"}`.
fn with_member(selector: &str, member: &str) -> String {
    let matcher = format!("{MEMBER_LABEL}=\"{member}\"");
    match selector.strip_suffix('}') {
        Some(head) if head.trim_end().ends_with('{') => format!("{head}{matcher}}}"),
        Some(head) => format!("{head}, {matcher}}}"),
        None => format!("{selector}{{{matcher}}}"),
    }
}

#[cfg(test)]
#[path = "blind_spots_tests.rs"]
mod tests;
