//! The alert sections of a run with monitoring: the coverage matrix (what every alert of the rule
//! files did) with the sentence on time scaling, the fault × rule matrix (which rule could see
//! which fault step, blind spots with their remedy), and the monitoring section (observation
//! latency, warnings).
use askama::Template;

use super::format::count;
use crate::monitoring::blind_spots::FaultBlindSpots;
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

/// The fault × rule matrix: a column per fault step, a row per alert rule.
pub(super) struct FaultMatrix {
    /// Column heads: `step 3: kill pg-1`.
    pub(super) faults: Vec<String>,
    pub(super) rows: Vec<MatrixRow>,
    /// One line per blind spot: the rule, the fault, why, and the remedy.
    pub(super) blind: Vec<String>,
}

/// A row of the fault × rule matrix.
pub(super) struct MatrixRow {
    pub(super) alert: String,
    pub(super) cells: Vec<MatrixCell>,
}

/// A cell: symbol, CSS class and the full sentence as its tooltip.
pub(super) struct MatrixCell {
    pub(super) symbol: &'static str,
    pub(super) class: &'static str,
    pub(super) title: String,
}

/// Symbols and classes of each finding, in the order of the legend.
/// The fault × rule table with its legend and the blind spots' remedies: the same markup on a
/// run's page and on a drill's index.
#[derive(Template)]
#[template(
    ext = "html",
    source = r##"<table class="coverage fault-matrix" id="fault-matrix">
<thead><tr><th>alert</th>{% for fault in matrix.faults %}<th>{{ fault }}</th>{% endfor %}</tr></thead>
<tbody>
{%- for row in matrix.rows %}
<tr><td>{{ row.alert }}</td>{% for cell in row.cells %}<td class="cell {{ cell.class }}" title="{{ cell.title }}">{{ cell.symbol }}</td>{% endfor %}</tr>
{%- endfor %}
</tbody>
</table>
<p class="note">{% for item in legend %}{{ item.0 }} {{ item.2 }}{% if !loop.last %} · {% endif %}{% endfor %}</p>
{%- if !matrix.blind.is_empty() %}
<ul class="blind-spots" id="blind-spots">
{%- for line in matrix.blind %}
<li>{{ line }}</li>
{%- endfor %}
</ul>
{%- endif %}"##
)]
struct FaultMatrixTable<'a> {
    matrix: &'a FaultMatrix,
    legend: [(&'static str, &'static str, &'static str); 6],
}

impl FaultMatrix {
    /// The matrix as HTML (escaped here; the page templates insert it as it is).
    pub(super) fn html(&self) -> String {
        FaultMatrixTable { matrix: self, legend: MATRIX_LEGEND }.render().expect("rendering into a String cannot fail")
    }
}

pub(super) const MATRIX_LEGEND: [(&str, &str, &str); 6] = [
    ("●", "m-fired", "fired"),
    ("◐", "m-pending", "went pending"),
    ("○", "m-could", "could have fired: its series for the target stayed live"),
    ("✕", "m-blind", "cannot detect: its series for the target went stale at the fault"),
    ("∅", "m-absent", "cannot fire at all: a series it reads never existed"),
    ("·", "m-unwatched", "reads no series of the target"),
];

/// The matrix of a run's blind spots; `None` without monitoring or fault steps.
pub(super) fn fault_matrix(monitoring: Option<&MonitoringSummary>) -> Option<FaultMatrix> {
    let columns: Vec<(String, &FaultBlindSpots)> = monitoring?.blind_spots.iter().map(|s| (String::new(), s)).collect();
    fault_matrix_of(&columns)
}

/// The matrix of fault steps of one or more runs; each column head starts with its prefix (the
/// scenario's name on a drill's index). `None` without any fault step.
pub(super) fn fault_matrix_of(columns: &[(String, &FaultBlindSpots)]) -> Option<FaultMatrix> {
    if columns.is_empty() {
        return None;
    }
    let faults = columns
        .iter()
        .map(|(prefix, s)| format!("{prefix}step {}: {} {}", s.step + 1, s.fault, s.acted_on.join(", ")))
        .collect();
    let mut alerts: Vec<&str> = Vec::new();
    for rule in columns.iter().flat_map(|(_, s)| &s.rules) {
        if !alerts.contains(&rule.alert.as_str()) {
            alerts.push(&rule.alert);
        }
    }
    let mut blind = Vec::new();
    let rows = alerts
        .iter()
        .map(|alert| {
            let cells = columns
                .iter()
                .map(|(prefix, spot)| match spot.rules.iter().find(|r| r.alert == *alert) {
                    None => MatrixCell { symbol: "", class: "", title: String::new() },
                    Some(rule) => {
                        let index = ["fired", "went_pending", "could_have_fired", "cannot_detect", "series_absent"]
                            .iter()
                            .position(|n| *n == rule.finding.name())
                            .unwrap_or(5);
                        let (symbol, class, what) = MATRIX_LEGEND[index];
                        if let Some(remedy) = &rule.remedy {
                            blind.push(format!(
                                "{alert} cannot detect {prefix}step {} ({} {}): {}; {remedy}",
                                spot.step + 1,
                                spot.fault,
                                spot.acted_on.join(", "),
                                rule.reason
                            ));
                        }
                        MatrixCell { symbol, class, title: format!("{what}: {}", rule.reason) }
                    }
                })
                .collect();
            MatrixRow { alert: alert.to_string(), cells }
        })
        .collect();
    Some(FaultMatrix { faults, rows, blind })
}
