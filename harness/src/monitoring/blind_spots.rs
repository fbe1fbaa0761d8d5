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
    CouldHaveFired,
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
            Finding::CouldHaveFired => "could_have_fired",
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
            let next = applied.iter().find(|(t, s, ..)| *t >= at && *s != step).map(|(t, ..)| *t);
            let mut ends = vec![(steps_end.max(at), WindowEnd::RunEnd)];
            ends.extend(healed.map(|t| (t, WindowEnd::Healed)));
            ends.extend(next.map(|t| (t, WindowEnd::NextFault)));
            let (until, end) = ends.into_iter().min_by_key(|(t, _)| *t).expect("one end at least");
            FaultWindow {
                step,
                fault: fault.clone(),
                acted_on: targets.clone(),
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
    let (from, until) = (window.at, window.until + timing.grace_ms);
    // An instance already active just before the fault belongs to an earlier cause.
    let earlier: Vec<&BTreeMap<String, String>> = rule
        .alerts
        .iter()
        .filter(|a| a.times.iter().any(|&t| t < from && t + timing.grace_ms >= from))
        .map(|a| &a.labels)
        .collect();
    let first_in = |state: &str| {
        rule.alerts
            .iter()
            .filter(|a| a.alertstate == state && !earlier.contains(&&a.labels))
            .filter_map(|a| a.times.iter().copied().find(|&t| t >= from && t <= until))
            .min()
    };
    if let Some(t) = first_in("firing") {
        return Finding::Fired { after_ms: t - from };
    }
    if let Some(t) = first_in("pending") {
        return Finding::WentPending { after_ms: t - from };
    }
    if !rule.missing.is_empty() {
        return Finding::SeriesAbsent { missing: rule.missing.clone() };
    }
    let mut stale = Vec::new();
    let mut watched = false;
    for target in targets {
        for selector in &rule.selectors {
            for (labels, times) in &selector.series {
                if labels.get(MEMBER_LABEL) != Some(target) {
                    continue;
                }
                let before = times.iter().any(|&t| t <= window.at && t + timing.lookback_ms >= window.at);
                if !before {
                    continue;
                }
                watched = true;
                if let Some(last) = went_stale(times, window, timing) {
                    stale.push(StaleSeries {
                        target: target.clone(),
                        selector: selector.selector.clone(),
                        job: labels.get("job").cloned().unwrap_or_default(),
                        last_sample_ms: last as i64 - window.at as i64,
                    });
                }
            }
        }
    }
    // One entry per (target, selector): a selector matching many series of a member (one per
    // database, say) is one finding.
    stale.dedup_by(|a, b| a.target == b.target && a.selector == b.selector);
    if !stale.is_empty() {
        Finding::CannotDetect { stale }
    } else if watched {
        Finding::CouldHaveFired
    } else {
        Finding::NotWatched
    }
}

/// The last sample of a series that has none from `grace` after the fault to the window's end;
/// `None` when it kept being scraped, or the window is too short to tell.
fn went_stale(times: &[UnixMillis], window: &FaultWindow, timing: Timing) -> Option<UnixMillis> {
    let silent_from = window.at + timing.grace_ms;
    if window.until <= silent_from + timing.grace_ms {
        return None;
    }
    if times.iter().any(|&t| t > silent_from && t <= window.until) {
        return None;
    }
    times.iter().copied().filter(|&t| t <= silent_from).max()
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
        Finding::CouldHaveFired => {
            (format!("its series for {acted_on} kept being scraped; the expression did not hold"), None)
        }
        Finding::NotWatched => (format!("it reads no series of {acted_on}; it stayed inactive"), None),
        Finding::CannotDetect { stale } => {
            let series: Vec<String> = stale.iter().map(|s| format!("{} of {}", s.selector, s.target)).collect();
            let reason = format!(
                "its series {} went stale at the fault (no sample after it until the \
                 window ended), so the expression never evaluated for {}",
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
mod tests {
    use super::*;

    const FAULT: UnixMillis = 1_000_000;

    fn members() -> BTreeSet<String> {
        ["pg-1", "pg-2"].iter().map(|s| s.to_string()).collect()
    }

    fn window(until_s: u64) -> FaultWindow {
        FaultWindow {
            step: 2,
            fault: "kill".into(),
            acted_on: vec!["pg-1".into()],
            at: FAULT,
            until: FAULT + until_s * 1000,
            end: WindowEnd::RunEnd,
        }
    }

    /// A sample every second from `from_s` to `to_s` (relative to the fault, inclusive).
    fn every_second(from_s: i64, to_s: i64) -> Vec<UnixMillis> {
        (from_s..=to_s).map(|s| (FAULT as i64 + s * 1000 - 300) as UnixMillis).collect()
    }

    fn series(member: &str, job: &str, times: Vec<UnixMillis>) -> (BTreeMap<String, String>, Vec<UnixMillis>) {
        let labels =
            BTreeMap::from([(MEMBER_LABEL.to_string(), member.to_string()), ("job".to_string(), job.to_string())]);
        (labels, times)
    }

    /// `patroni_postgres_running == 0` on a kill of pg-1: pg-1's series ends at the fault, pg-2's
    /// goes on (its value is 1, so no ALERTS).
    fn postgres_down() -> RuleSamples {
        RuleSamples {
            alert: "PostgreSQLDown".into(),
            missing: vec![],
            alerts: vec![],
            selectors: vec![SelectorSamples {
                selector: "patroni_postgres_running".into(),
                series: vec![
                    series("pg-1", "patroni", every_second(-20, 0)),
                    series("pg-2", "patroni", every_second(-20, 25)),
                ],
            }],
        }
    }

    fn timing() -> Timing {
        Timing::for_interval(1000)
    }

    #[test]
    fn a_series_that_ends_at_the_fault_cannot_detect_it() {
        let finding = classify_rule(&window(25), &["pg-1".into()], &postgres_down(), timing());
        assert_eq!(
            finding,
            Finding::CannotDetect {
                stale: vec![StaleSeries {
                    target: "pg-1".into(),
                    selector: "patroni_postgres_running".into(),
                    job: "patroni".into(),
                    last_sample_ms: -300,
                }]
            }
        );
    }

    #[test]
    fn the_report_says_why_and_names_the_remedy() {
        let spots = classify_fault(&window(25), &members(), &[postgres_down()], timing());
        assert_eq!(spots.targets, vec!["pg-1"]);
        assert_eq!(spots.window_ms, 25_000);
        let rule = &spots.rules[0];
        assert_eq!(rule.finding.name(), "cannot_detect");
        assert!(
            rule.reason.contains("series patroni_postgres_running of pg-1 went stale at the fault"),
            "{}",
            rule.reason
        );
        assert!(rule.reason.contains("never evaluated for pg-1"), "{}", rule.reason);
        assert_eq!(
            rule.remedy.as_deref(),
            Some("add a companion rule: `up{job=\"patroni\"} == 0` or `absent(patroni_postgres_running{member=\"pg-1\"})`")
        );
    }

    #[test]
    fn a_series_still_scraped_could_have_fired() {
        let mut rule = postgres_down();
        rule.selectors[0].series[0].1 = every_second(-20, 25);
        assert_eq!(classify_rule(&window(25), &["pg-1".into()], &rule, timing()), Finding::CouldHaveFired);
    }

    #[test]
    fn samples_within_the_grace_after_the_fault_still_count_as_stale() {
        let mut rule = postgres_down();
        // A scrape in flight at the fault, stamped 1.7s after it (interval 1s + 1s grace).
        rule.selectors[0].series[0].1.push(FAULT + 1_700);
        let Finding::CannotDetect { stale } = classify_rule(&window(25), &["pg-1".into()], &rule, timing()) else {
            panic!("expected cannot_detect");
        };
        assert_eq!(stale[0].last_sample_ms, 1_700);
    }

    #[test]
    fn a_window_too_short_to_tell_is_not_called_stale() {
        // 3s: shorter than twice the grace (2 x 2s).
        assert_eq!(classify_rule(&window(3), &["pg-1".into()], &postgres_down(), timing()), Finding::CouldHaveFired);
    }

    #[test]
    fn a_series_that_did_not_exist_before_the_fault_is_not_watched() {
        let mut rule = postgres_down();
        rule.selectors[0].series[0].1 = every_second(10, 25); // appears only later
        assert_eq!(classify_rule(&window(25), &["pg-1".into()], &rule, timing()), Finding::NotWatched);
    }

    #[test]
    fn firing_and_pending_in_the_window_are_detections() {
        let mut rule = postgres_down();
        let alert = |state: &str, times: Vec<UnixMillis>| AlertSamples {
            alert: "PostgreSQLDown".into(),
            alertstate: state.into(),
            labels: BTreeMap::from([("member".into(), "pg-1".into())]),
            times,
        };
        rule.alerts = vec![alert("pending", vec![FAULT + 2_000, FAULT + 3_000])];
        assert_eq!(
            classify_rule(&window(25), &["pg-1".into()], &rule, timing()),
            Finding::WentPending { after_ms: 2_000 }
        );
        rule.alerts.push(alert("firing", vec![FAULT + 9_000]));
        assert_eq!(classify_rule(&window(25), &["pg-1".into()], &rule, timing()), Finding::Fired { after_ms: 9_000 });
    }

    #[test]
    fn an_instance_already_active_before_the_fault_is_not_this_faults_detection() {
        let mut rule = postgres_down();
        rule.alerts = vec![AlertSamples {
            alert: "PostgreSQLDown".into(),
            alertstate: "firing".into(),
            labels: BTreeMap::from([("member".into(), "pg-2".into())]),
            times: every_second(-5, 25),
        }];
        assert!(matches!(classify_rule(&window(25), &["pg-1".into()], &rule, timing()), Finding::CannotDetect { .. }));
    }

    #[test]
    fn a_selector_without_series_in_the_run_cannot_fire_at_all() {
        let rule = RuleSamples {
            alert: "FailoverDetected".into(),
            missing: vec!["patroni_timeline".into()],
            alerts: vec![],
            selectors: vec![SelectorSamples { selector: "patroni_timeline".into(), series: vec![] }],
        };
        let spots = classify_fault(&window(25), &members(), &[rule], timing());
        assert_eq!(spots.rules[0].finding, Finding::SeriesAbsent { missing: vec!["patroni_timeline".into()] });
        assert!(spots.rules[0].reason.contains("no series for patroni_timeline"), "{}", spots.rules[0].reason);
        assert_eq!(spots.rules[0].remedy, None);
    }

    #[test]
    fn a_fault_on_etcd_reads_no_member_series() {
        let mut w = window(25);
        w.acted_on = vec!["etcd-1".into()];
        let spots = classify_fault(&w, &members(), &[postgres_down()], timing());
        assert!(spots.targets.is_empty());
        assert_eq!(spots.rules[0].finding, Finding::NotWatched);
        assert!(spots.rules[0].reason.contains("reads no series of etcd-1"), "{}", spots.rules[0].reason);
    }

    #[test]
    fn exporter_series_get_their_job_and_many_series_of_a_member_are_one_finding() {
        let rule = RuleSamples {
            alert: "HighConnectionUsage".into(),
            missing: vec![],
            alerts: vec![],
            selectors: vec![SelectorSamples {
                selector: "pg_stat_database_numbackends".into(),
                series: vec![
                    series("pg-1", "postgres-exporter", every_second(-20, 0)),
                    series("pg-1", "postgres-exporter", every_second(-20, 0)),
                ],
            }],
        };
        let spots = classify_fault(&window(25), &members(), &[rule], timing());
        let Finding::CannotDetect { stale } = &spots.rules[0].finding else { panic!("{:?}", spots.rules[0]) };
        assert_eq!(stale.len(), 1);
        assert_eq!(
            spots.rules[0].remedy.as_deref(),
            Some(
                "add a companion rule: `up{job=\"postgres-exporter\"} == 0` or \
                 `absent(pg_stat_database_numbackends{member=\"pg-1\"})`"
            )
        );
    }

    #[test]
    fn windows_end_at_the_heal_the_next_fault_or_the_steps_end() {
        use crate::timeline::Event;
        let applied = |at, step: usize, fault: &str| Event {
            at,
            kind: EventKind::FaultApplied { step, fault: fault.into(), targets: vec!["pg-1".into()] },
        };
        let timeline = Timeline::from_events(vec![
            applied(1_000, 1, "freeze"),
            Event { at: 6_000, kind: EventKind::FaultHealed { step: 1, detail: "unpaused".into() } },
            applied(8_000, 3, "kill"),
            applied(20_000, 5, "start"),
            Event { at: 30_000, kind: EventKind::StepFinished { index: 6, ok: true, detail: String::new() } },
            Event { at: 31_000, kind: EventKind::FaultHealed { step: 5, detail: "at teardown".into() } },
        ]);
        let windows = fault_windows(&timeline, 100_000);
        let got: Vec<(usize, UnixMillis, UnixMillis, WindowEnd)> =
            windows.iter().map(|w| (w.step, w.at, w.until, w.end)).collect();
        assert_eq!(
            got,
            vec![
                (1, 101_000, 106_000, WindowEnd::Healed),
                (3, 108_000, 120_000, WindowEnd::NextFault),
                (5, 120_000, 130_000, WindowEnd::RunEnd),
            ]
        );
    }

    #[test]
    fn targets_are_the_members_among_what_the_fault_recorded() {
        let acted_on: Vec<String> =
            ["pg-1 (0.5 CPUs)", "peers: pg-2", "→ pg-2", "pg-1", "etcd-1"].iter().map(|s| s.to_string()).collect();
        assert_eq!(fault_targets(&acted_on, &members()), vec!["pg-1"]);
    }

    #[test]
    fn selectors_get_the_member_matcher() {
        assert_eq!(with_member("x", "pg-1"), "x{member=\"pg-1\"}");
        assert_eq!(with_member("x{a=\"b\"}", "pg-1"), "x{a=\"b\", member=\"pg-1\"}");
        assert_eq!(with_member("x{}", "pg-1"), "x{member=\"pg-1\"}");
    }

    #[test]
    fn findings_serialize_tagged() {
        let json = serde_json::to_value(Finding::Fired { after_ms: 5 }).unwrap();
        assert_eq!(json, serde_json::json!({"kind": "fired", "after_ms": 5}));
        let back: Finding = serde_json::from_value(serde_json::json!({"kind": "could_have_fired"})).unwrap();
        assert_eq!(back, Finding::CouldHaveFired);
    }
}
