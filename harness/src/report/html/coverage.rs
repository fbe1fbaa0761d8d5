//! The alert sections of a run with monitoring: the coverage matrix (what every alert of the rule
//! files did) with the sentence on time scaling, and the monitoring section (observation
//! latency, warnings).
use super::format::count;
use crate::report::model::MonitoringSummary;

/// The monitoring section: coverage, observation latency, warnings.
pub(super) struct MonitoringView {
    pub(super) for_scale: f64,
    pub(super) scaled: usize,
    pub(super) warnings: Vec<String>,
    pub(super) latency: Vec<String>,
    pub(super) coverage: Vec<CoverageView>,
}

/// A row of the coverage table.
pub(super) struct CoverageView {
    pub(super) alert: String,
    pub(super) what: String,
    pub(super) defined_at: String,
    pub(super) class: &'static str,
}

impl MonitoringView {
    pub(super) fn new(m: &crate::report::MonitoringSummary) -> Self {
        let mut warnings: Vec<String> = m.unknown_metrics.iter().map(ToString::to_string).collect();
        if let Some(error) = &m.coverage_error {
            warnings.push(format!("alert coverage unavailable: {error}"));
        }
        if let Some(check) = m.metric_list.as_ref().filter(|c| !c.missing.is_empty()) {
            warnings.push(format!("metric list stale: never appeared: {}", check.missing.join(", ")));
        }
        let coverage = m
            .coverage
            .iter()
            .map(|row| {
                let (what, class) = match row.outcome.as_str() {
                    "fired" => ("fired".to_string(), "pass"),
                    "went_pending" => ("went pending, never fired".to_string(), "pass"),
                    "stayed_inactive" => ("stayed inactive".to_string(), "pass"),
                    "series_absent" => (format!("could not fire: no series for {}", row.missing.join(", ")), "fail"),
                    other => (other.to_string(), "pass"),
                };
                CoverageView { alert: row.alert.clone(), what, defined_at: row.defined_at.clone(), class }
            })
            .collect();
        Self {
            for_scale: m.for_scale,
            scaled: m.scaled.len(),
            warnings,
            latency: crate::report::terminal::latency_lines(&m.alert_latency),
            coverage,
        }
    }
}

/// A row of the alert coverage matrix.
pub(super) struct CoverageLine {
    pub(super) alert: String,
    /// The outcome columns: fired, pending only, inactive, series absent.
    pub(super) cells: [bool; 4],
    pub(super) class: &'static str,
    pub(super) defined_at: String,
    /// The missing selectors, or an outcome this page does not know.
    pub(super) detail: String,
}

/// The coverage matrix's rows and the sentence on time scaling.
pub(super) fn coverage(monitoring: Option<&MonitoringSummary>) -> (Vec<CoverageLine>, String) {
    let Some(monitoring) = monitoring else { return (Vec::new(), String::new()) };
    let rows = monitoring
        .coverage
        .iter()
        .map(|row| {
            let column =
                ["fired", "went_pending", "stayed_inactive", "series_absent"].iter().position(|o| *o == row.outcome);
            let mut cells = [false; 4];
            if let Some(column) = column {
                cells[column] = true;
            }
            let detail = match column {
                Some(3) => format!("no series: {}", row.missing.join(", ")),
                Some(_) => String::new(),
                None => format!("outcome: {}", row.outcome),
            };
            let class = match column {
                Some(0) => "fired",
                Some(1) => "pending",
                Some(2) => "inactive",
                _ => "absent",
            };
            CoverageLine { alert: row.alert.clone(), cells, class, defined_at: row.defined_at.clone(), detail }
        })
        .collect();
    let scaling = if monitoring.for_scale == 1.0 {
        "Rules ran unscaled (for_scale 1).".to_string()
    } else {
        format!(
            "Rules ran with for_scale {}: every for:, range window, subquery step and group interval was \
             multiplied by it ({}); alerts fire faster, Patroni does not.",
            monitoring.for_scale,
            count(monitoring.scaled.len(), "value changed", "values changed")
        )
    };
    (rows, scaling)
}
