//! The drill's index page: one row per run of a drill, linking each run's report, and the fault ×
//! rule matrix of every run's fault steps (which fault each alert rule detects).
use askama::Template;

use super::coverage::{fault_matrix_of, FaultMatrix};
use super::format::secs;
use super::style::CSS;
use crate::check::Status;
use crate::monitoring::blind_spots::FaultBlindSpots;
use crate::report::model::{run_duration, RunReport};

/// One run of a drill, as the suite index lists it.
#[derive(Debug, Clone)]
pub struct SuiteRun<'a> {
    /// The scenario file as given.
    pub scenario_file: String,
    /// The run's report, when the run produced one.
    pub report: Option<&'a RunReport>,
    /// Link to the run's `report.html`, relative to the index.
    pub href: Option<String>,
    /// Why the run produced no report (or was cut short).
    pub problem: Option<String>,
    /// How it compares with the previous run of its scenario.
    pub versus_previous: String,
}

/// A row of the suite index.
struct SuiteRow {
    scenario: String,
    file: String,
    href: Option<String>,
    run_id: String,
    result: &'static str,
    class: &'static str,
    checks: String,
    duration: String,
    versus_previous: String,
    problem: Option<String>,
}

#[derive(Template)]
#[template(
    ext = "html",
    source = r##"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }} · pgdrill</title>
<style>{{ css|safe }}</style>
</head>
<body>
<h1>{{ title }} <span class="badge {{ result_class }}">{{ result }}</span></h1>
<p class="sub">{{ passed }} of {{ rows.len() }} runs passed</p>
<table class="verdicts" id="runs">
<thead><tr><th>scenario</th><th>run</th><th>result</th><th>checks passed</th><th>duration</th><th>compared with the previous drill</th></tr></thead>
<tbody>
{%- for row in rows %}
<tr class="{{ row.class }}"><td>{{ row.scenario }}<br><small>{{ row.file }}</small></td><td>{% if let Some(href) = row.href %}<a href="{{ href }}">{{ row.run_id }}</a>{% else %}{{ row.run_id }}{% endif %}</td><td class="status">{{ row.result }}</td><td class="num">{{ row.checks }}</td><td class="num">{{ row.duration }}</td><td>{% if let Some(problem) = row.problem %}<strong>{{ problem }}</strong><br>{% endif %}{{ row.versus_previous }}</td></tr>
{%- endfor %}
</tbody>
</table>
{%- if let Some(matrix) = matrix %}
<h2>Alert rules × faults, whole drill</h2>
<p class="note">Which fault step of which run each alert rule saw. ✕: the rule cannot detect that fault — the series it reads for the faulted member went stale at the fault.</p>
{{ matrix.html()|safe }}
{%- endif %}
<footer>pgdrill {{ version }} · reports/history.jsonl holds every drill's key timings</footer>
</body>
</html>
"##
)]
struct SuiteIndex {
    css: &'static str,
    title: String,
    result: &'static str,
    result_class: &'static str,
    passed: usize,
    rows: Vec<SuiteRow>,
    matrix: Option<FaultMatrix>,
    version: &'static str,
}

/// Renders a drill's `index.html`: one row per run, linking each run's report.
pub fn render_suite_index(title: &str, runs: &[SuiteRun<'_>]) -> String {
    let rows: Vec<SuiteRow> = runs
        .iter()
        .map(|run| {
            let passed = run.report.is_some_and(|r| r.passed) && run.problem.is_none();
            SuiteRow {
                scenario: run.report.map_or_else(|| run.scenario_file.clone(), |r| r.scenario.clone()),
                file: run.scenario_file.clone(),
                href: run.href.clone(),
                run_id: run.report.map_or_else(|| "-".to_string(), |r| r.run_id.clone()),
                result: if passed { "PASSED" } else { "FAILED" },
                class: if passed { "pass" } else { "fail" },
                checks: run.report.map_or_else(String::new, |r| {
                    let ok = r.verdicts.iter().filter(|v| v.status == Status::Pass).count();
                    format!("{ok} / {}", r.verdicts.len())
                }),
                duration: run.report.map_or_else(String::new, |r| secs(run_duration(r))),
                versus_previous: run.versus_previous.clone(),
                problem: run.problem.clone(),
            }
        })
        .collect();
    let columns: Vec<(String, &FaultBlindSpots)> = runs
        .iter()
        .filter_map(|run| run.report)
        .filter_map(|r| r.monitoring.as_ref().map(|m| (r, m)))
        .flat_map(|(r, m)| m.blind_spots.iter().map(move |s| (format!("{} ", r.scenario), s)))
        .collect();
    let matrix = fault_matrix_of(&columns);
    let passed = rows.iter().filter(|r| r.class == "pass").count();
    let all = passed == rows.len() && !rows.is_empty();
    SuiteIndex {
        css: CSS,
        title: title.to_string(),
        result: if all { "PASSED" } else { "FAILED" },
        result_class: if all { "passed" } else { "failed" },
        passed,
        rows,
        matrix,
        version: env!("CARGO_PKG_VERSION"),
    }
    .render()
    .expect("rendering into a String cannot fail")
}
