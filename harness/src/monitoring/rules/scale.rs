//! Compressing time in rule files for a drill (`for_scale`): what is scaled, the floors that keep
//! a rule meaningful, and the list of changed values a report shows.
use std::path::PathBuf;
use std::time::Duration;

use super::model::RuleFile;
use crate::monitoring::promql::{rewrite_windows, PromDuration, WindowKind};

impl RuleFile {
    /// A copy with time compressed by `options` (see [`ScaleOptions`]), and what was changed.
    pub fn scaled(&self, options: &ScaleOptions) -> (RuleFile, Vec<ScaledValue>) {
        let mut scaled = self.clone();
        let mut changes = Vec::new();
        for group in &mut scaled.groups {
            let mut record = |rule: Option<&str>, line: usize, what: ScaledField, from, to: (PromDuration, bool)| {
                if to.0 != from {
                    changes.push(ScaledValue {
                        file: self.path.clone(),
                        group: group.name.clone(),
                        rule: rule.map(str::to_string),
                        line,
                        what,
                        from,
                        to: to.0,
                        floored: to.1,
                    });
                }
            };
            if let Some(interval) = group.interval {
                let to = options.scale(interval, options.interval_floor());
                record(None, group.line, ScaledField::GroupInterval, interval, to);
                group.interval = Some(to.0);
            }
            for rule in &mut group.rules {
                if let Some(for_) = rule.for_ {
                    let to = options.scale(for_, options.for_floor());
                    record(Some(&rule.name), rule.line, ScaledField::For, for_, to);
                    rule.for_ = Some(to.0);
                }
                if let Some(keep) = rule.keep_firing_for {
                    let to = options.scale(keep, options.for_floor());
                    record(Some(&rule.name), rule.line, ScaledField::KeepFiringFor, keep, to);
                    rule.keep_firing_for = Some(to.0);
                }
                let mut floored = Vec::new();
                let (expr, windows) = rewrite_windows(&rule.expr, |kind, from| {
                    let floor = match kind {
                        WindowKind::Range => options.range_floor(),
                        WindowKind::Resolution => options.interval_floor(),
                        WindowKind::Offset => PromDuration(0),
                    };
                    let (to, was_floored) = options.scale(from, floor);
                    // rewrite_windows lists the windows that changed, in order: keep the flags
                    // of the same ones.
                    if to != from {
                        floored.push(was_floored);
                    }
                    to
                });
                for (change, was_floored) in windows.into_iter().zip(floored) {
                    record(
                        Some(&rule.name),
                        rule.line,
                        ScaledField::Window(change.kind),
                        change.from,
                        (change.to, was_floored),
                    );
                }
                rule.expr = expr;
            }
        }
        (scaled, changes)
    }
}

/// How to compress time in alert rules for a drill: every `for:`, `keep_firing_for:`, group
/// `interval:`, range window (`[5m]`), subquery range/resolution and `offset` is multiplied by
/// `factor` (0.1: `for: 2m` → `12s`, `[5m]` → `[30s]`), but never below a floor tied to the
/// scrape interval, because a shorter window would make the rule meaningless rather than
/// faster:
/// - range windows ≥ 4 × scrape interval: `rate()`/`increase()` need two samples in the window
///   even when one scrape is late or missed (the usual Prometheus advice);
/// - `for`/`keep_firing_for` ≥ 2 × scrape interval: the pending state lasts at least one
///   evaluation after the first, so a drill can see it;
/// - group `interval` and subquery resolution ≥ 1 × scrape interval (= the evaluation interval
///   pgdrill configures).
///
/// A value the user wrote below its floor stays as written (it is never raised); zero stays
/// zero. Numbers that are durations only by convention (`time() - x > 300`,
/// `predict_linear(x[1h], 3600)`'s 3600) are not touched.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScaleOptions {
    /// The multiplier, > 0 (0.1 makes every window ten times shorter).
    pub factor: f64,
    /// Prometheus's scrape (and evaluation) interval in the drill.
    pub scrape_interval: Duration,
}

impl ScaleOptions {
    /// Options for `factor` (must be finite and > 0) with Prometheus scraping every
    /// `scrape_interval`.
    pub fn new(factor: f64, scrape_interval: Duration) -> Result<Self, String> {
        if !factor.is_finite() || factor <= 0.0 {
            return Err(format!("for_scale must be a number greater than 0, got {factor}"));
        }
        Ok(Self { factor, scrape_interval })
    }

    /// Floor of range windows.
    pub fn range_floor(&self) -> PromDuration {
        PromDuration::from_std(self.scrape_interval * 4)
    }

    /// Floor of `for` and `keep_firing_for`.
    pub fn for_floor(&self) -> PromDuration {
        PromDuration::from_std(self.scrape_interval * 2)
    }

    /// Floor of group intervals and subquery resolutions.
    pub fn interval_floor(&self) -> PromDuration {
        PromDuration::from_std(self.scrape_interval)
    }

    /// `value × factor`, rounded to the millisecond, not below `min(value, floor)`; and whether
    /// the floor decided.
    fn scale(&self, value: PromDuration, floor: PromDuration) -> (PromDuration, bool) {
        if value.0 == 0 {
            return (value, false);
        }
        let scaled = PromDuration((value.0 as f64 * self.factor).round() as u64);
        let lowest = floor.min(value);
        if scaled < lowest {
            (lowest, true)
        } else {
            (scaled, false)
        }
    }
}

/// What a scaled value was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ScaledField {
    /// An alert's `for:`.
    For,
    /// An alert's `keep_firing_for:`.
    KeepFiringFor,
    /// A group's `interval:`.
    GroupInterval,
    /// A duration in an expression.
    Window(WindowKind),
}

/// One value `for_scale` changed: the report lists them so a reader knows the drill's alerts
/// ran faster than production's.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ScaledValue {
    /// The user's file.
    pub file: PathBuf,
    /// The group.
    pub group: String,
    /// The rule, `None` for a group interval.
    pub rule: Option<String>,
    /// Line of the rule (or group) in the user's file.
    pub line: usize,
    /// Which value.
    pub what: ScaledField,
    /// Before.
    #[serde(serialize_with = "as_text")]
    pub from: PromDuration,
    /// After.
    #[serde(serialize_with = "as_text")]
    pub to: PromDuration,
    /// The floor decided (`from × factor` would have been lower).
    pub floored: bool,
}

fn as_text<S: serde::Serializer>(duration: &PromDuration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(duration)
}

impl serde::Serialize for PromDuration {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}
