//! The run's page: header, verdict table, timeline, alert coverage, timings and the event log,
//! rendered from one askama template.
use std::io;
use std::path::{Path, PathBuf};

use askama::Template;

use super::coverage::{coverage, fault_matrix, CoverageLine, FaultMatrix, MonitoringView};
use super::format::secs;
use super::style::CSS;
use super::svg::Svg;
use crate::check::{describe_view, ExecRecord, Status};
use crate::report::files::write_atomically;
use crate::report::model::{run_duration, RunReport};
use crate::timeline::describe_dist_nodes;
use crate::timeline::EventKind;

/// The page's file name inside a run's report directory.
pub const HTML_FILE: &str = "report.html";

/// At most this many events in the page's event log (writes are never listed one by one).
const MAX_LOG_ROWS: usize = 1_000;
/// How much of an exec step's output its event-log line shows (report.json has all that was kept).
const EXEC_LOG_CHARS: usize = 1_000;

/// Renders the report as one HTML page.
pub fn render_html(report: &RunReport) -> String {
    Page::new(report).render().expect("rendering into a String cannot fail")
}

/// Writes `dir/report.html`, creating `dir` if needed, and returns its path (written beside its
/// final name and renamed into place, like the JSON report).
pub fn write_html(report: &RunReport, dir: &Path) -> io::Result<PathBuf> {
    write_atomically(dir, HTML_FILE, render_html(report).as_bytes())
}

/// A verdict table row.
struct VerdictRow {
    check: String,
    step: String,
    status: &'static str,
    class: &'static str,
    observed: String,
    budget: String,
}

/// A label and a value.
struct Item {
    label: &'static str,
    value: String,
}

/// A row of the event log.
struct LogRow {
    at: String,
    kind: &'static str,
    text: String,
}

#[derive(Template)]
#[template(
    ext = "html",
    source = r##"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ report.scenario }} · {{ result }} · pgdrill</title>
<style>{{ css|safe }}</style>
</head>
<body>
<header>
<h1>{{ report.scenario }} <span class="badge {{ result_class }}" id="result">{{ result }}</span></h1>
<p class="sub">{{ result_detail }}</p>
<dl class="meta">
{%- for item in meta %}
<dt>{{ item.label }}</dt><dd>{{ item.value }}</dd>
{%- endfor %}
</dl>
{%- if let Some(error) = report.error %}
<p class="error"><strong>run error:</strong> {{ error }}</p>
{%- endif %}
{%- for note in report.notes %}
<p class="note">note: {{ note }}</p>
{%- endfor %}
</header>
<section>
<h2>Verdicts</h2>
{%- if verdicts.is_empty() %}
<p>no checks were evaluated</p>
{%- else %}
<table class="verdicts" id="verdicts">
<thead><tr><th>check</th><th>step</th><th>status</th><th>observed</th><th>budget</th></tr></thead>
<tbody>
{%- for v in verdicts %}
<tr class="{{ v.class }}"><td>{{ v.check }}</td><td class="num">{{ v.step }}</td><td class="status">{{ v.status }}</td><td>{{ v.observed }}</td><td>{{ v.budget }}</td></tr>
{%- endfor %}
</tbody>
</table>
{%- endif %}
</section>
<section>
<h2>Timeline</h2>
<div class="legend"><span><i class="primary"></i>primary</span><span><i class="replica"></i>replica</span><span><i class="down"></i>down / unreachable</span><span><i class="other"></i>other role</span><span><i class="replica-weak"></i>pale: starting, stopped…</span><span><i class="sync"></i>sync standby</span><span><i class="fault-key"></i>fault</span><span><i class="ack"></i>acked writes</span><span><i class="nack"></i>failed attempts</span><span><i class="pause"></i>longest pause</span>
{%- if svg.has("pg_dist_node") %}<span><i class="dist-a"></i><i class="dist-b"></i>pg_dist_node primary row (shade = node)</span><span><i class="dist-demoted"></i>-demoted (switchover in flight)</span><span><i class="citus-tx"></i>Patroni's pg_dist_node transaction</span>{% endif %}
{%- if svg.has("alert") %}<span><i class="alert-pending"></i>alert pending</span><span><i class="alert-firing"></i>firing</span><span><i class="alert-resolved"></i>resolved</span><span><i class="am-firing"></i>thin strip: in Alertmanager</span>{% endif %}</div>
<div class="timeline">
<svg class="timeline" id="timeline" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {{ svg.width }} {{ svg.height }}" width="{{ svg.width }}" height="{{ svg.height }}" role="img" aria-label="timeline of run {{ report.run_id }}">
<g class="axis">
{%- for tick in svg.ticks %}
<line class="tick" x1="{{ tick.x }}" y1="{{ svg.tick_y0 }}" x2="{{ tick.x }}" y2="{{ svg.lanes_y0 }}"/><text class="axis" x="{{ tick.x }}" y="14" text-anchor="middle">{{ tick.label }}</text>
{%- endfor %}
<line class="tick" x1="{{ svg.plot_x0 }}" y1="{{ svg.lanes_y0 }}" x2="{{ svg.plot_x1 }}" y2="{{ svg.lanes_y0 }}"/>
<text class="axis" x="6" y="14">time since start</text>
</g>
{%- for lane in svg.lanes %}
<g class="lane" data-kind="{{ lane.kind }}" data-name="{{ lane.name }}" transform="translate(0 {{ lane.y }})">
{%- if lane.background %}
<rect class="lane-bg" x="{{ svg.plot_x0 }}" y="0" width="{{ svg.plot_w }}" height="{{ lane.h }}"/>
{%- endif %}
<text class="lane-name" x="6" y="{{ lane.name_y }}">{{ lane.name }}</text>
{%- if !lane.detail.is_empty() %}<text class="lane-detail" x="6" y="{{ lane.detail_y }}">{{ lane.detail }}</text>{% endif %}
{%- for r in lane.rects %}
<rect class="{{ r.class }}" x="{{ r.x }}" y="{{ r.y }}" width="{{ r.w }}" height="{{ r.h }}">{% if let Some(title) = r.title %}<title>{{ title }}</title>{% endif %}</rect>
{%- endfor %}
{%- for l in lane.lines %}
<line class="{{ l.class }}" x1="{{ l.x1 }}" y1="{{ l.y1 }}" x2="{{ l.x2 }}" y2="{{ l.y2 }}"/>
{%- endfor %}
{%- for t in lane.texts %}
<text class="{{ t.class }}" x="{{ t.x }}" y="{{ t.y }}" text-anchor="{{ t.anchor }}">{{ t.text }}</text>
{%- endfor %}
</g>
{%- endfor %}
<g class="guides">
{%- for tick in svg.ticks %}
<line class="grid" x1="{{ tick.x }}" y1="{{ svg.lanes_y0 }}" x2="{{ tick.x }}" y2="{{ svg.lanes_y1 }}"/>
{%- endfor %}
{%- for r in svg.bands %}
<rect class="{{ r.class }}" x="{{ r.x }}" y="{{ r.y }}" width="{{ r.w }}" height="{{ r.h }}">{% if let Some(title) = r.title %}<title>{{ title }}</title>{% endif %}</rect>
{%- endfor %}
{%- for l in svg.guides %}
<line class="{{ l.class }}" x1="{{ l.x1 }}" y1="{{ l.y1 }}" x2="{{ l.x2 }}" y2="{{ l.y2 }}"/>
{%- endfor %}
</g>
</svg>
</div>
</section>
{%- if let Some(monitoring) = report.monitoring %}
<section>
<h2>Alert coverage</h2>
<p class="note">What every alert of the rule files did during the run; “could not fire” means a series its expression needs never existed, whatever the fault.</p>
{%- if let Some(error) = monitoring.coverage_error %}
<p class="error"><strong>coverage unavailable:</strong> {{ error }}</p>
{%- endif %}
{%- if !coverage.is_empty() %}
<table class="coverage" id="coverage">
<thead><tr><th>alert</th><th>fired</th><th>pending only</th><th>inactive</th><th>could not fire: series absent</th><th>defined at</th></tr></thead>
<tbody>
{%- for row in coverage %}
<tr class="{{ row.class }}"><td>{{ row.alert }}</td>{% for cell in row.cells %}<td class="cell">{% if *cell %}●{% endif %}</td>{% endfor %}<td>{{ row.defined_at }}{% if !row.detail.is_empty() %}<br><small>{{ row.detail }}</small>{% endif %}</td></tr>
{%- endfor %}
</tbody>
</table>
{%- endif %}
<p class="note">{{ scaling }}</p>
{%- if !monitoring.scaled.is_empty() %}
<details><summary>what was time-scaled</summary>
<ul class="scaled">
{%- for line in monitoring.scaled %}
<li>{{ line }}</li>
{%- endfor %}
</ul>
</details>
{%- endif %}
</section>
{%- endif %}
{%- if let Some(matrix) = matrix %}
<section>
<h2>Alert rules × faults</h2>
<p class="note">For every fault step, whether each rule saw it. ✕ is a blind spot: the series the rule reads for the faulted member went stale at the fault (its scrape failed or the series vanished), so an expression such as <code>metric == 0</code> never evaluated for it.</p>
{{ matrix.html()|safe }}
</section>
{%- endif %}
{%- if let Some(error) = blind_error %}
<p class="error"><strong>blind spots unavailable:</strong> {{ error }}</p>
{%- endif %}
<section>
<h2>Timings</h2>
<table class="timings">
{%- for item in timings %}
<tr><th>{{ item.label }}</th><td class="num">{{ item.value }}</td></tr>
{%- endfor %}
</table>
</section>
{%- if let Some(m) = monitoring %}
<section id="monitoring">
<h2>Monitoring</h2>
<p>alert rules scaled by for_scale {{ m.for_scale }} ({{ m.scaled }} values changed)</p>
{%- for w in m.warnings %}
<p class="error">warning: {{ w }}</p>
{%- endfor %}
<h3>Alert observation latency</h3>
{%- if m.latency.is_empty() %}
<p>no alert changed state</p>
{%- else %}
<ul id="alert-latency">
{%- for line in m.latency %}
<li>{{ line }}</li>
{%- endfor %}
</ul>
{%- endif %}
<h3>Alert coverage</h3>
<table class="verdicts" id="coverage">
<thead><tr><th>alert</th><th>what it did</th><th>defined at</th></tr></thead>
<tbody>
{%- for row in m.coverage %}
<tr class="{{ row.class }}"><td>{{ row.alert }}</td><td>{{ row.what }}</td><td>{{ row.defined_at }}</td></tr>
{%- endfor %}
</tbody>
</table>
</section>
{%- endif %}
{%- if !configuration.is_empty() %}
<section>
<h2>Patroni configuration</h2>
<details id="configuration">
<summary>each member's configuration as pgdrill wrote it (the scenario's own Patroni keys merged in; secret-looking values redacted)</summary>
{%- for (member, text) in configuration %}
<h3>{{ member }}</h3>
<pre>{{ text }}</pre>
{%- endfor %}
</details>
</section>
{%- endif %}
<section>
<h2>Events</h2>
<details>
<summary>{{ log_note }}</summary>
<table class="log">
{%- for row in log %}
<tr><td>{{ row.at }}</td><td>{{ row.kind }}</td><td>{{ row.text }}</td></tr>
{%- endfor %}
</table>
</details>
</section>
<footer>pgdrill {{ version }} · report schema {{ report.schema_version }} · self-contained page, no scripts</footer>
</body>
</html>
"##
)]
struct Page<'a> {
    css: &'static str,
    report: &'a RunReport,
    result: &'static str,
    result_class: &'static str,
    result_detail: String,
    meta: Vec<Item>,
    verdicts: Vec<VerdictRow>,
    timings: Vec<Item>,
    svg: Svg,
    coverage: Vec<CoverageLine>,
    scaling: String,
    matrix: Option<FaultMatrix>,
    blind_error: Option<String>,
    log: Vec<LogRow>,
    log_note: String,
    version: &'static str,
    monitoring: Option<MonitoringView>,
    /// Each member's effective Patroni configuration, pretty-printed.
    configuration: Vec<(String, String)>,
}

impl<'a> Page<'a> {
    fn new(report: &'a RunReport) -> Self {
        let failed = report.verdicts.iter().filter(|v| v.status != Status::Pass).count();
        let result_detail = match (report.verdicts.len(), failed, &report.error) {
            (0, _, _) => "no checks were evaluated".to_string(),
            (n, 0, None) => format!("{n} of {n} checks passed"),
            (n, 0, Some(_)) => format!("{n} of {n} checks passed, but the run stopped with an error"),
            (n, f, _) => format!("{f} of {n} checks did not pass"),
        };
        let verdicts = report
            .verdicts
            .iter()
            .map(|v| VerdictRow {
                check: v.check.clone(),
                step: v.step.map_or_else(|| "invariant".to_string(), |s| (s + 1).to_string()),
                status: match v.status {
                    Status::Pass => "PASS",
                    Status::Fail => "FAIL",
                    Status::Pending => "PENDING",
                },
                class: if v.status == Status::Pass { "pass" } else { "fail" },
                observed: v.observed.clone(),
                budget: v.budget.clone(),
            })
            .collect();
        let meta = vec![
            Item { label: "run", value: report.run_id.clone() },
            Item { label: "scenario file", value: report.scenario_file.clone() },
            Item { label: "started", value: report.started_at.clone() },
            Item { label: "duration", value: secs(run_duration(report)) },
        ];
        let t = &report.timings;
        let h = &report.harness;
        let timings = vec![
            Item { label: "image build", value: secs(t.image_build_ms) },
            Item { label: "containers start", value: secs(t.containers_start_ms) },
            Item { label: "time to healthy", value: t.time_to_healthy_ms.map_or_else(|| "never".into(), secs) },
            Item { label: "detection latency", value: t.detection_latency_ms.map_or_else(|| "n/a".into(), secs) },
            Item { label: "teardown", value: secs(t.teardown_ms) },
            Item {
                label: "harness CPU",
                value: format!("{} user + {} system", secs(h.cpu_user_ms), secs(h.cpu_system_ms)),
            },
            Item { label: "harness max RSS", value: format!("{:.1} MiB", h.max_rss_kib as f64 / 1024.0) },
        ];
        let (log, log_note) = event_log(report);
        let (coverage, scaling) = coverage(report.monitoring.as_ref());
        let configuration = report
            .configuration
            .iter()
            .map(|c| (c.member.clone(), serde_json::to_string_pretty(&c.patroni).unwrap_or_default()))
            .chain(report.dynamic_configuration.iter().map(|dynamic| {
                (
                    "the DCS (GET /config at the end)".to_string(),
                    serde_json::to_string_pretty(dynamic).unwrap_or_default(),
                )
            }))
            .collect();
        Page {
            configuration,
            css: CSS,
            report,
            result: if report.passed { "PASSED" } else { "FAILED" },
            result_class: if report.passed { "passed" } else { "failed" },
            result_detail,
            meta,
            verdicts,
            timings,
            svg: Svg::new(report),
            coverage,
            scaling,
            matrix: fault_matrix(report.monitoring.as_ref()),
            blind_error: report.monitoring.as_ref().and_then(|m| m.blind_spots_error.clone()),
            log,
            log_note,
            version: env!("CARGO_PKG_VERSION"),
            monitoring: report.monitoring.as_ref().map(MonitoringView::new),
        }
    }
}

/// An exec step's line: where, what, the answer and the output (on one line, head kept).
fn describe_exec(record: &ExecRecord<'_>) -> String {
    let answer = match (record.exit_code, record.error) {
        (_, Some(error)) => error.to_string(),
        (Some(code), None) => format!("exit {code}"),
        (None, None) => "no exit code".to_string(),
    };
    let output: String = record.output.trim().replace('\n', " ⏎ ").chars().take(EXEC_LOG_CHARS).collect();
    format!(
        "step {}: `{}` in {}: {answer} after {:.1}s, {} attempt(s): {output}",
        record.step + 1,
        crate::scenario::command_line(record.command),
        record.container,
        record.ended_at.saturating_sub(record.started_at) as f64 / 1000.0,
        record.attempts
    )
}

/// One line of PgBouncer's admin console as the event log shows it.
fn describe_pooler(
    database: &str,
    pools: &Option<crate::timeline::PoolerPools>,
    stats: &Option<crate::timeline::PoolerStats>,
    error: &Option<String>,
) -> String {
    if let Some(error) = error {
        return format!("PgBouncer console did not answer: {error}");
    }
    let mut text = match pools {
        Some(p) => format!(
            "{database}: clients {} active, {} waiting (longest {:.1}s); servers {} active, {} idle, {} used, {} tested, \
             {} logging in",
            p.cl_active,
            p.cl_waiting,
            p.maxwait_ms as f64 / 1000.0,
            p.sv_active,
            p.sv_idle,
            p.sv_used,
            p.sv_tested,
            p.sv_login
        ),
        None => format!("{database}: no pool yet"),
    };
    if let Some(s) = stats {
        text.push_str(&format!(
            "; {} transactions, {} queries, {:.1}s waited in all",
            s.xact_count,
            s.query_count,
            s.wait_time_us as f64 / 1e6
        ));
    }
    text
}

/// Every event except single writes (those are drawn as buckets), capped at [`MAX_LOG_ROWS`].
fn event_log(report: &RunReport) -> (Vec<LogRow>, String) {
    let mut rows = Vec::new();
    let mut writes = 0usize;
    let mut skipped = 0usize;
    for event in &report.timeline.events {
        let (kind, text) = match &event.kind {
            EventKind::Write { .. } => {
                writes += 1;
                continue;
            }
            EventKind::Phase { name } => ("phase", name.clone()),
            EventKind::StepStarted { index, description } => ("step", format!("{} started: {description}", index + 1)),
            EventKind::StepFinished { index, ok, detail } => {
                ("step", format!("{} {}: {detail}", index + 1, if *ok { "ok" } else { "FAILED" }))
            }
            EventKind::ExpectOpened { step, anchor, leader_at_anchor, old_primary, group, highest_priority } => {
                let name = |m: &Option<String>| m.clone().unwrap_or_else(|| "none".into());
                let mut group = group.map(|g| format!(", group {g}")).unwrap_or_default();
                if let Some(member) = highest_priority {
                    group.push_str(&format!(", highest priority {member}"));
                }
                let (at, leader, old) = (*anchor as f64 / 1000.0, name(leader_at_anchor), name(old_primary));
                ("step", format!("{} expect from {at:.3}s: leader then {leader}, old primary {old}{group}", step + 1))
            }
            EventKind::ObservationEnded { run_error } => {
                ("phase", run_error.as_ref().map_or("observation ended".into(), |e| format!("observation ended: {e}")))
            }
            EventKind::Member { member, view, .. } => {
                let mut text = format!("{member} {}", describe_view(view));
                if view.sync_standby {
                    text.push_str(" (sync standby)");
                }
                if let Some(error) = &view.error {
                    text.push_str(&format!(": {error}"));
                }
                ("member", text)
            }
            EventKind::Writable { member, writable, .. } => {
                let answer = match writable {
                    Some(true) => "accepts writes",
                    Some(false) => "in recovery (read-only)",
                    None => "did not answer",
                };
                ("member", format!("{member} asked directly: {answer}"))
            }
            EventKind::FaultApplied { step, fault, targets } => {
                ("fault", format!("step {}: {fault} {}", step + 1, targets.join(", ")))
            }
            EventKind::FaultVerified { step, ok, proof } => {
                ("fault", format!("step {}: {}: {proof}", step + 1, if *ok { "verified" } else { "NOT verified" }))
            }
            EventKind::FaultHealed { step, detail } => ("fault", format!("step {}: healed: {detail}", step + 1)),
            EventKind::LinkMeasured { step, source, destination, toxic, before_ms, during_ms, .. } => (
                "fault",
                format!(
                    "step {}: link {source} → {destination} ({toxic}): {before_ms:.1} ms → {during_ms:.1} ms",
                    step + 1
                ),
            ),
            EventKind::LinkFilterActed { step, source, destination, query, action, nth } => {
                ("fault", format!("step {}: link {source} → {destination}: {action} on match {nth}: {query}", step + 1))
            }
            EventKind::WriteAudit { present, source, read } => {
                let ids: u64 = present.iter().map(|(a, b)| b.abs_diff(*a) + 1).sum();
                let why = read.as_ref().map(|r| format!(": {}", r.why)).unwrap_or_default();
                ("audit", format!("{ids} ids present on {source} ({} ranges){why}", present.len()))
            }
            EventKind::AuditSkipped { member, reason } => ("audit", format!("{member} not read: {reason}")),
            EventKind::MemberIdentity { member, system_identifier } => {
                ("member", format!("{member}: system identifier {system_identifier}"))
            }
            EventKind::Note { source, text } => ("note", format!("{source}: {text}")),
            EventKind::Exec { .. } => match ExecRecord::from_event(event.at, &event.kind) {
                Some(record) => ("exec", describe_exec(&record)),
                None => continue,
            },
            EventKind::Alert { alert, labels, state, from, source, .. } => {
                ("alert", format!("{alert} {labels:?}: {from} → {state} ({source})"))
            }
            EventKind::ContainerAudit { container, status, on_network, iptables_rules } => {
                let rules = iptables_rules.map_or_else(|| "-".to_string(), |n| n.to_string());
                ("audit", format!("{container}: {status}, on network: {on_network}, iptables rules left: {rules}"))
            }
            EventKind::FaultLeftover { container, fault, what } => ("audit", format!("{container}: {what} ({fault})")),
            EventKind::ClusterBaseline { origin, checks, reused } => {
                ("cluster", describe_baseline(origin, checks, *reused))
            }
            EventKind::DistNodes { source, rows } => {
                ("pg_dist_node", format!("on {source}: {}", describe_dist_nodes(rows)))
            }
            EventKind::PreparedXacts { member, count, gids, error } => {
                ("citus", crate::timeline::describe_prepared_xacts(member, *count, gids, error.as_deref()))
            }
            EventKind::Pooler { database, pools, stats, error } => {
                ("pooler", describe_pooler(database, pools, stats, error))
            }
            EventKind::CitusTransaction { member, began_at, outcome, statements } => (
                "citus",
                format!(
                    "{member}: Patroni's pg_dist_node transaction from {:.3}s, {outcome}: {}",
                    *began_at as f64 / 1000.0,
                    statements.join("; ")
                ),
            ),
        };
        if rows.len() < MAX_LOG_ROWS {
            rows.push(LogRow { at: format!("{:.3}s", event.at as f64 / 1000.0), kind, text });
        } else {
            skipped += 1;
        }
    }
    let mut note = format!("{} events; {writes} writes are drawn as bars, not listed", rows.len());
    if skipped > 0 {
        note.push_str(&format!("; {skipped} more events omitted (see report.json)"));
    }
    (rows, note)
}

/// The baseline of a cluster an earlier drill left: reused or not, and what each check found.
pub(super) fn describe_baseline(
    origin: &crate::timeline::ClusterOrigin,
    checks: &[crate::timeline::BaselineCheck],
    reused: bool,
) -> String {
    let verdict = if reused { "reused" } else { "not reused (torn down; a fresh cluster started)" };
    let found: Vec<String> =
        checks.iter().map(|c| format!("{} {}: {}", if c.ok { "ok" } else { "FAILED" }, c.what, c.found)).collect();
    format!(
        "cluster of run {} (started by {}, left by {} after {} drills) {verdict}; {}",
        origin.started_by_run,
        origin.started_by_scenario,
        origin.previous_scenario,
        origin.drills_before,
        found.join("; ")
    )
}
