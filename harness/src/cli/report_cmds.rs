//! `pgdrill report`, `compare` and `drill`: the commands that re-render (or judge again), compare
//! and collect run reports. Rendering, comparing and rejudging are the report module's; this file
//! reads arguments, prints, and maps outcomes to exit codes.
use std::error::Error;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use clap::Args;
use comfy_table::{presets::ASCII_FULL_CONDENSED, Cell, CellAlignment, LineStyle, Table, TableStyle};
use tokio_util::sync::CancellationToken;

use super::load::{load_all, refuse_chaos};
use super::output::{errln, out, outln};
use super::ExitCode;
use crate::engine::{run_scenario, RunOptions, RunOutcome};
use crate::report::{
    append_history, compare_runs, find_runs, read_history, read_json, rejudge, render_comparison, render_junit_runs,
    render_rejudgement, render_suite_index, render_summary, run_duration, versus_previous, write_html, write_junit,
    HistoryEntry, RunReport, SuiteRun, Tolerance, COMPARE_FILE, HISTORY_FILE, HTML_FILE, JUNIT_FILE, REPORT_FILE,
};
use crate::runtime::images::ImageOptions;
use crate::scenario::load_scenario;

/// The terminal summary's table style: ASCII, a header rule with column junctions.
const STYLE: TableStyle = ASCII_FULL_CONDENSED.header_separator(LineStyle::new('+', '=', '+', '+'));

/// `pgdrill report RUN_DIR [--rejudge [--scenario FILE]]`.
#[derive(Debug, Args)]
pub(super) struct ReportArgs {
    /// A run's report directory (reports/<run-id>) or its report.json.
    run_dir: PathBuf,
    /// Instead of re-rendering: judge every verdict again from report.json's timeline and the
    /// scenario file, print whether each matches the recorded one, exit 1 on any mismatch.
    #[arg(long)]
    rejudge: bool,
    /// With --rejudge: the scenario file to judge against (default: the report's `scenario_file`).
    #[arg(long, value_name = "FILE", requires = "rejudge")]
    scenario: Option<PathBuf>,
}

/// `pgdrill compare A B`.
#[derive(Debug, Args)]
pub(super) struct CompareArgs {
    /// The baseline: a run directory, or a directory of run directories (latest run per scenario).
    a: PathBuf,
    /// The candidate, like A; compare.json is written here.
    b: PathBuf,
    /// How much slower B may measure than A before it is a regression.
    #[arg(long, default_value = "20%")]
    tolerance: Tolerance,
}

/// `pgdrill drill SUITE`.
#[derive(Debug, Args)]
pub(super) struct DrillArgs {
    /// A directory of scenario files (*.yaml), or a text file listing them one per line
    /// (`#` comments; relative paths are relative to the list's directory).
    suite: PathBuf,
    /// Where run reports, suite-<timestamp>/ and history.jsonl are written.
    #[arg(long, default_value = "reports")]
    reports_dir: PathBuf,
    /// Leave each run's containers running (remove them with `pgdrill down RUN_ID`).
    #[arg(long)]
    keep: bool,
    /// Start a fresh cluster for every drill. Without it, a drill whose topology and images are
    /// those of the drill before runs on that drill's cluster when its baseline check passes
    /// (recorded on the timeline; the report names the cluster's origin).
    #[arg(long)]
    fresh: bool,
    /// Fewer progress lines.
    #[arg(long, short)]
    quiet: bool,
    #[command(flatten)]
    load: super::commands::LoadArgs,
    /// Attach mode: every scenario is checked against the cluster file before the first runs.
    #[command(flatten)]
    attach: super::commands::AttachArgs,
}

/// Re-renders report.html and junit.xml from a run's report.json and prints its summary; with
/// `--rejudge`, judges its verdicts again instead.
pub(super) fn report(args: &ReportArgs) -> ExitCode {
    let path = if args.run_dir.is_file() { args.run_dir.clone() } else { args.run_dir.join(REPORT_FILE) };
    let dir = path.parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let report = match read_json(&path) {
        Ok(report) => report,
        Err(e) => {
            errln!("error: {}", chain(&e));
            return ExitCode::InvalidScenario;
        }
    };
    if args.rejudge {
        return rejudge_report(&report, &path, args.scenario.as_deref());
    }
    out!("{}", render_summary(&report));
    for (name, written) in [(HTML_FILE, write_html(&report, &dir)), (JUNIT_FILE, write_junit(&report, &dir))] {
        match written {
            Ok(path) => outln!("{name}: {}", path.display()),
            Err(e) => {
                errln!("error: failed to write {name} in {}: {e}", dir.display());
                return ExitCode::Environment;
            }
        }
    }
    ExitCode::Success
}

/// `--rejudge`: loads the scenario (`scenario`, else the one the report names), judges the
/// report's timeline again and prints each verdict's agreement; exit 1 unless all match.
fn rejudge_report(report: &RunReport, report_path: &Path, scenario: Option<&Path>) -> ExitCode {
    let scenario_path = scenario.map_or_else(|| PathBuf::from(&report.scenario_file), Path::to_path_buf);
    let loaded = match load_scenario(&scenario_path) {
        Ok(loaded) => loaded,
        Err(error) => {
            errln!("{:?}", miette::Report::new(error));
            if scenario.is_none() {
                errln!("the report names this scenario file; give another with --scenario FILE");
            }
            return ExitCode::InvalidScenario;
        }
    };
    outln!(
        "rejudging run {} ({}) from {} with {}",
        report.run_id,
        report.scenario,
        report_path.display(),
        scenario_path.display()
    );
    let rejudgement = rejudge(report, &loaded.scenario);
    out!("{}", render_rejudgement(&rejudgement));
    if rejudgement.all_match() {
        ExitCode::Success
    } else {
        ExitCode::ChecksFailed
    }
}

/// Compares the latest runs of each scenario in A and B; exit 1 on a regression. A side without
/// a readable report, or no scenario on both sides, is bad input (exit 2), never "no
/// regression": a gate must not pass on nothing.
pub(super) fn compare(args: &CompareArgs) -> ExitCode {
    let mut sides = Vec::new();
    for path in [&args.a, &args.b] {
        match find_runs(path) {
            Ok(found) => {
                for skipped in &found.skipped {
                    errln!("warning: skipped {}", chain(skipped));
                }
                sides.push(found.runs);
            }
            Err(e) => {
                errln!("error: {}", chain(&e));
                return ExitCode::InvalidScenario;
            }
        }
    }
    for (side, path, runs) in [("A", &args.a, &sides[0]), ("B", &args.b, &sides[1])] {
        if runs.is_empty() {
            errln!("error: no readable report in {side} ({}): nothing to compare", path.display());
            return ExitCode::InvalidScenario;
        }
    }
    let comparison = compare_runs(
        &args.a.display().to_string(),
        &sides[0],
        &args.b.display().to_string(),
        &sides[1],
        args.tolerance,
    );
    out!("{}", render_comparison(&comparison));
    if comparison.scenarios.is_empty() {
        errln!("error: no scenario has a run in both A and B: nothing to compare");
        return ExitCode::InvalidScenario;
    }
    let json = serde_json::to_string_pretty(&comparison).expect("a comparison serialises") + "\n";
    let b_dir = if args.b.is_file() { args.b.parent().unwrap_or(Path::new(".")) } else { args.b.as_path() };
    let written = fs::write(b_dir.join(COMPARE_FILE), &json).map(|()| b_dir.join(COMPARE_FILE)).or_else(|e| {
        errln!("warning: failed to write {COMPARE_FILE} in {}: {e}; writing it here", b_dir.display());
        fs::write(COMPARE_FILE, &json).map(|()| PathBuf::from(COMPARE_FILE))
    });
    match written {
        Ok(path) => outln!("comparison: {}", path.display()),
        Err(e) => errln!("warning: failed to write {COMPARE_FILE}: {e}"),
    }
    if comparison.has_regression() {
        ExitCode::ChecksFailed
    } else {
        ExitCode::Success
    }
}

/// One scenario of a drill and what became of it.
struct DrillRun {
    file: PathBuf,
    outcome: Option<RunOutcome>,
    /// Why it has no (complete) report.
    problem: Option<String>,
}

/// Runs every scenario of a suite, then summarises, records the history and writes the index.
pub(super) async fn drill(
    args: &DrillArgs,
    images: ImageOptions,
    cancel: CancellationToken,
    abort: CancellationToken,
) -> ExitCode {
    let files = match suite_files(&args.suite) {
        Ok(files) if files.is_empty() => {
            errln!("error: no scenario files in {}", args.suite.display());
            return ExitCode::InvalidScenario;
        }
        Ok(files) => files,
        Err(e) => {
            errln!("error: {e}");
            return ExitCode::InvalidScenario;
        }
    };
    let scenarios = match load_all(&files, args.load.options()).and_then(refuse_chaos) {
        Ok(scenarios) => scenarios,
        Err(code) => return code,
    };
    let (attach, yes) = args.attach.options(&abort).unzip();
    if let Some(attach) = &attach {
        match super::attach_cmd::prepare(attach, &scenarios, &args.reports_dir, yes.unwrap_or(false)).await {
            Ok(true) => {}
            Ok(false) => return ExitCode::Success,
            Err(code) => return code,
        }
    }
    let suite_name = format!("suite-{}", timestamp());
    let options = RunOptions {
        reports_dir: args.reports_dir.clone(),
        keep: args.keep,
        images,
        cancel: cancel.clone(),
        quiet: args.quiet,
        monitoring: false,
        citus: false,
        pooler: false,
        reuse: (!args.fresh && !args.keep && attach.is_none()).then(Default::default),
        attach,
    };
    let mut code = ExitCode::Success;
    let mut runs: Vec<DrillRun> = Vec::new();
    for (i, loaded) in scenarios.iter().enumerate() {
        if cancel.is_cancelled() {
            code = ExitCode::Interrupted;
            break;
        }
        outln!("== drill {}/{}: {}", i + 1, scenarios.len(), loaded.path.display());
        if let Some(slot) = &options.reuse {
            slot.next_drill(scenarios.get(i + 1), &options);
        }
        match run_scenario(loaded, &options).await {
            Ok(outcome) => {
                outln!("{}", render_summary(&outcome.report));
                if !outcome.report.passed && code == ExitCode::Success {
                    code = ExitCode::ChecksFailed;
                }
                let interrupted = cancel.is_cancelled();
                let mut problem = interrupted.then(|| "interrupted: not recorded in the history".to_string());
                if let Some(e) = &outcome.write_error {
                    errln!("error: {e}; the verdicts above are the only record of run {}", outcome.report.run_id);
                    problem.get_or_insert_with(|| format!("report not written: {e}"));
                    code = ExitCode::ChecksFailed;
                }
                runs.push(DrillRun { file: loaded.path.clone(), outcome: Some(outcome), problem });
                if interrupted {
                    code = ExitCode::Interrupted;
                    break;
                }
            }
            Err(error) => {
                errln!("error: {error}");
                runs.push(DrillRun { file: loaded.path.clone(), outcome: None, problem: Some(error.to_string()) });
                let fatal = ExitCode::of_engine_error(&error);
                if matches!(fatal, ExitCode::Environment | ExitCode::Interrupted) {
                    code = fatal; // the next runs would fail the same way
                    break;
                }
                if code != ExitCode::InvalidScenario {
                    code = fatal; // a run error, or a rule file promtool rejects (bad input)
                }
            }
        }
    }
    if let Some(slot) = &options.reuse {
        slot.end(&crate::engine::Progress::new("", args.quiet)).await;
    }
    finish_drill(&args.reports_dir, &suite_name, &runs);
    code
}

/// The summary table, the comparison with the history, the history lines, the index and the
/// suite's JUnit file. Failing to write these is reported but does not change the exit code: the
/// runs' own reports are already written.
fn finish_drill(reports_dir: &Path, suite_name: &str, runs: &[DrillRun]) {
    let history_path = reports_dir.join(HISTORY_FILE);
    let mut history = read_history(&history_path).unwrap_or_else(|e| {
        errln!("warning: failed to read {}: {e}; comparing with nothing", history_path.display());
        Default::default()
    });
    if history.unreadable_lines > 0 {
        errln!("warning: {} unreadable lines in {} skipped", history.unreadable_lines, history_path.display());
    }
    let mut new_entries = Vec::new();
    let mut versus = Vec::new();
    for run in runs {
        let Some(outcome) = run.outcome.as_ref().filter(|_| run.problem.is_none()) else {
            versus.push(String::new());
            continue;
        };
        let entry = HistoryEntry::from_report(&outcome.report, Some(suite_name));
        versus.push(versus_previous(&entry, history.previous(&entry.scenario)));
        // A scenario listed twice compares its second run with its first.
        history.entries.push(entry.clone());
        new_entries.push(entry);
    }

    outln!("{}", suite_table(runs, &new_entries));
    outln!("compared with the previous drill of each scenario:");
    for (run, versus) in runs.iter().zip(&versus).filter(|(_, v)| !v.is_empty()) {
        let scenario = run.outcome.as_ref().map_or("?", |o| o.report.scenario.as_str());
        outln!("  {scenario}: {versus}");
    }
    if let Err(e) = append_history(&history_path, &new_entries) {
        errln!("warning: failed to append to {}: {e}", history_path.display());
    }

    let suite_dir = reports_dir.join(suite_name);
    let suite_runs: Vec<SuiteRun<'_>> = runs
        .iter()
        .zip(&versus)
        .map(|(run, versus)| SuiteRun {
            scenario_file: run.file.display().to_string(),
            report: run.outcome.as_ref().map(|o| &o.report),
            href: run
                .outcome
                .as_ref()
                .and_then(|o| o.report_dir.file_name())
                .map(|dir| format!("../{}/{HTML_FILE}", dir.to_string_lossy())),
            problem: run.problem.clone(),
            versus_previous: versus.clone(),
        })
        .collect();
    let reports: Vec<&RunReport> = runs.iter().filter_map(|r| r.outcome.as_ref().map(|o| &o.report)).collect();
    let written = fs::create_dir_all(&suite_dir)
        .and_then(|()| fs::write(suite_dir.join("index.html"), render_suite_index(suite_name, &suite_runs)))
        .and_then(|()| fs::write(suite_dir.join(JUNIT_FILE), render_junit_runs(&reports)));
    match written {
        Ok(()) => outln!("suite report: {}", suite_dir.join("index.html").display()),
        Err(e) => errln!("warning: failed to write the suite report in {}: {e}", suite_dir.display()),
    }
    outln!("history: {}", history_path.display());
}

/// One line per run: scenario, run, result, checks, detection, longest write pause, duration.
fn suite_table(runs: &[DrillRun], entries: &[HistoryEntry]) -> String {
    let mut table = Table::new();
    table.load_style(STYLE).set_header(vec![
        "scenario",
        "run",
        "result",
        "checks",
        "detection",
        "longest pause",
        "duration",
    ]);
    let secs = |ms: Option<u64>| ms.map_or_else(|| "-".to_string(), |ms| format!("{:.1}s", ms as f64 / 1000.0));
    for run in runs {
        let Some(outcome) = &run.outcome else {
            let problem = run.problem.as_deref().unwrap_or("no report");
            table.add_row(vec![run.file.display().to_string(), "-".into(), format!("ERROR: {problem}")]);
            continue;
        };
        let r = &outcome.report;
        let timings = entries.iter().find(|e| e.run_id == r.run_id).map(|e| &e.timings);
        let passed = r.verdicts.iter().filter(|v| v.status == crate::check::Status::Pass).count();
        let result = match (&run.problem, r.passed) {
            (Some(_), _) => "INTERRUPTED",
            (None, true) => "PASSED",
            (None, false) => "FAILED",
        };
        table.add_row(vec![
            Cell::new(&r.scenario),
            Cell::new(&r.run_id),
            Cell::new(result),
            Cell::new(format!("{passed}/{}", r.verdicts.len())).set_alignment(CellAlignment::Right),
            Cell::new(secs(r.timings.detection_latency_ms)).set_alignment(CellAlignment::Right),
            Cell::new(secs(timings.and_then(|t| t.longest_write_gap_ms))).set_alignment(CellAlignment::Right),
            Cell::new(secs(Some(run_duration(r)))).set_alignment(CellAlignment::Right),
        ]);
    }
    table.to_string()
}

/// The scenario files of a suite: a directory's `*.yaml`/`*.yml` files (sorted), or the paths a
/// text file lists, one per line (blank lines and `#` comments skipped; relative paths are taken
/// relative to the list's directory, so a list travels with its scenarios).
fn suite_files(suite: &Path) -> Result<Vec<PathBuf>, String> {
    if suite.is_dir() {
        let entries = fs::read_dir(suite).map_err(|e| format!("failed to read {}: {e}", suite.display()))?;
        let mut files: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
            .collect();
        files.sort();
        return Ok(files);
    }
    let text = fs::read_to_string(suite).map_err(|e| format!("failed to read {}: {e}", suite.display()))?;
    let base = suite.parent().unwrap_or(Path::new(""));
    Ok(text
        .lines()
        .map(|line| line.split('#').next().unwrap_or("").trim())
        .filter(|line| !line.is_empty())
        .map(|line| base.join(line))
        .collect())
}

/// `failed to read the report x: failed to parse the report: expected value at line 1`.
fn chain(error: &dyn Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// `20261123-101500` (UTC), for the suite directory's name.
fn timestamp() -> String {
    let digits: String =
        humantime::format_rfc3339_seconds(SystemTime::now()).to_string().chars().filter(char::is_ascii_digit).collect();
    format!("{}-{}", &digits[..8], &digits[8..14])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("pgdrill-cli-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_suite_directory_is_its_yaml_files_sorted() {
        let dir = temp_dir("suite-dir");
        for name in ["b.yaml", "a.yml", "notes.txt"] {
            fs::write(dir.join(name), "").unwrap();
        }
        fs::create_dir_all(dir.join("rules.yaml")).unwrap(); // a directory, not a scenario
        assert_eq!(suite_files(&dir).unwrap(), vec![dir.join("a.yml"), dir.join("b.yaml")]);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_suite_list_is_relative_to_its_directory() {
        let dir = temp_dir("suite-list");
        let list = dir.join("nightly.txt");
        fs::write(&list, "# nightly drills\nkill.yaml\n\n  sub/partition.yaml  # flaky on arm\n/abs/x.yaml\n").unwrap();
        assert_eq!(
            suite_files(&list).unwrap(),
            vec![dir.join("kill.yaml"), dir.join("sub/partition.yaml"), PathBuf::from("/abs/x.yaml")]
        );
        assert!(suite_files(&dir.join("missing.txt")).unwrap_err().starts_with("failed to read"));
        fs::remove_dir_all(&dir).unwrap();
    }

    fn outcome(reports: &Path, run_id: &str, scenario: &str, passed: bool) -> RunOutcome {
        use crate::check::{Status, Verdict};
        let verdict = Verdict {
            check: "new_leader".into(),
            step: Some(2),
            status: if passed { Status::Pass } else { Status::Fail },
            observed: "pg-2 running primary on tl 2".into(),
            budget: "≤ 45s".into(),
            observed_ms: Some(if passed { 20_000 } else { 50_000 }),
            budget_ms: Some(45_000),
        };
        let report = RunReport {
            schema_version: crate::report::SCHEMA_VERSION,
            run_id: run_id.into(),
            scenario: scenario.into(),
            scenario_file: format!("scenarios/{scenario}.yaml"),
            started_at: "2026-11-23T10:15:00Z".into(),
            passed,
            verdicts: vec![verdict],
            phases: Vec::new(),
            timings: Default::default(),
            harness: Default::default(),
            error: None,
            notes: Vec::new(),
            monitoring: None,
            images: Default::default(),
            configuration: Vec::new(),
            dynamic_configuration: None,
            cluster_from: None,
            timeline: Default::default(),
        };
        let report_dir = reports.join(run_id);
        crate::report::write_json(&report, &report_dir).unwrap();
        RunOutcome { report, report_dir, write_error: None }
    }

    #[test]
    fn a_drill_records_history_and_writes_its_index() {
        let reports = temp_dir("drill");
        let run = |id: &str, scenario: &str, passed: bool| DrillRun {
            file: PathBuf::from(format!("scenarios/{scenario}.yaml")),
            outcome: Some(outcome(&reports, id, scenario, passed)),
            problem: None,
        };
        finish_drill(&reports, "suite-1", &[run("r1", "kill", true), run("r2", "partition", true)]);
        let broken =
            DrillRun { file: PathBuf::from("scenarios/x.yaml"), outcome: None, problem: Some("no docker".into()) };
        finish_drill(&reports, "suite-2", &[run("r3", "kill", false), broken]);

        let history = read_history(&reports.join(HISTORY_FILE)).unwrap();
        let ids: Vec<&str> = history.entries.iter().map(|e| e.run_id.as_str()).collect();
        assert_eq!(ids, ["r1", "r2", "r3"], "a run without a report is not history");
        assert_eq!(history.entries[2].suite.as_deref(), Some("suite-2"));
        let previous = history.previous("kill").unwrap();
        assert_eq!(previous.run_id, "r3");
        let text = versus_previous(&history.entries[2], Some(&history.entries[0]));
        assert!(text.starts_with("FAILED (was passed in run r1"), "{text}");
        assert!(text.contains("new_leader@3 50.0s (was 20.0s, +150%)"), "{text}");

        let index = fs::read_to_string(reports.join("suite-2").join("index.html")).unwrap();
        assert!(index.contains("<a href=\"../r3/report.html\">r3</a>"), "{index}");
        assert!(index.contains("FAILED (was passed in run r1"), "{index}");
        assert!(index.contains("<strong>no docker</strong>"), "{index}");
        let junit = fs::read_to_string(reports.join("suite-1").join(JUNIT_FILE)).unwrap();
        assert_eq!(junit.matches("<testsuite ").count(), 2, "{junit}");
        fs::remove_dir_all(&reports).unwrap();
    }

    #[test]
    fn timestamps_name_directories() {
        let stamp = timestamp();
        assert_eq!(stamp.len(), 15, "{stamp}");
        assert_eq!(&stamp[8..9], "-");
    }
}
