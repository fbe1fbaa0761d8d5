//! `pgdrill chaos FILE`: search a scenario's `chaos:` section for a failing schedule, shrink it,
//! and write the chaos report and the minimal replay file.
use std::path::PathBuf;
use std::time::{Instant, SystemTime};

use clap::Args;
use tokio_util::sync::CancellationToken;

use super::output::{errln, outln};
use super::ExitCode;
use crate::chaos::{
    explore, render_chaos_summary, write_chaos_report, CaseOutcome, CaseRecord, ChaosReport, EngineRunner,
    ExploreOptions, Phase, SearchOutcome, CHAOS_REPORT_FILE, CHAOS_SCHEMA_VERSION,
};
use crate::engine::{new_run_id, RunOptions};
use crate::runtime::images::ImageOptions;
use crate::scenario::load_scenario_with;

#[derive(Debug, Args)]
pub(super) struct ChaosArgs {
    /// Scenario file with a `chaos:` section.
    file: PathBuf,
    /// Passing schedules needed before the scenario counts as passed (each is a cluster run of
    /// about half a minute); the search stops at the first failing schedule and shrinks it.
    #[arg(long, default_value_t = 10, env = "PGDRILL_CHAOS_CASES")]
    runs: u32,
    /// Seed of the schedule generator (default: a fresh one, printed); the same seed, file and
    /// options draw the same schedules.
    #[arg(long, env = "PGDRILL_CHAOS_SEED")]
    seed: Option<u64>,
    /// At most this many shrink steps (each tries one smaller schedule on a cluster, unless
    /// that schedule already ran).
    #[arg(long, default_value_t = 16)]
    max_shrink_steps: u32,
    /// Give up after this many schedules that could not be carried out (e.g. a second kill of
    /// `primary` while no primary runs).
    #[arg(long, default_value_t = 10)]
    max_inconclusive: u32,
    /// Where reports/chaos-<id>/ and each case's run report are written.
    #[arg(long, default_value = "reports")]
    reports_dir: PathBuf,
    /// Every run's progress lines (default: one line per case).
    #[arg(long, short)]
    verbose: bool,
    /// Start a fresh cluster for every case. Without it, a case runs on the cluster the case
    /// before left clean (healed, switched back to its bootstrapping members, workload table
    /// emptied) when its baseline check passes, as in `pgdrill drill`.
    #[arg(long)]
    fresh: bool,
    #[command(flatten)]
    load: super::commands::LoadArgs,
}

/// A seed when none is given: the clock is random enough to vary searches, and the seed is
/// printed and written to the report, so any search can be repeated.
fn fresh_seed() -> u64 {
    let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    (now.as_nanos() as u64) ^ u64::from(std::process::id()).rotate_left(32)
}

fn case_line(case: &CaseRecord) -> String {
    let phase = if case.phase == Phase::Explore { "explore" } else { "shrink" };
    let result = match &case.outcome {
        CaseOutcome::Passed => "pass".to_owned(),
        CaseOutcome::Failed { .. } => format!("FAIL {}", case.outcome.failed_checks().join(", ")),
        CaseOutcome::Inconclusive { reason } => format!("inconclusive ({reason})"),
        CaseOutcome::Aborted { reason } => format!("aborted ({reason})"),
    };
    format!("case {} [{phase}] {} → {result} ({:.0}s)", case.number, case.summary, case.duration_ms as f64 / 1000.0)
}

pub(super) async fn chaos(args: &ChaosArgs, images: ImageOptions, cancel: CancellationToken) -> ExitCode {
    let loaded = match load_scenario_with(&args.file, args.load.options()) {
        Ok(loaded) => loaded,
        Err(error) => {
            errln!("{:?}", miette::Report::new(error));
            return ExitCode::InvalidScenario;
        }
    };
    if loaded.scenario.chaos.is_none() {
        errln!("error: {} has no `chaos:` section; `pgdrill run` runs plain scenarios", args.file.display());
        return ExitCode::InvalidScenario;
    }
    let seed = args.seed.unwrap_or_else(fresh_seed);
    let dir = args.reports_dir.join(format!("chaos-{}", new_run_id()));
    let command = format!("pgdrill chaos {} --runs {} --seed {seed}", args.file.display(), args.runs);
    outln!(
        "chaos: {} with seed {seed}: up to {} passing schedules, at most {} shrink steps; reports in {}",
        args.file.display(),
        args.runs,
        args.max_shrink_steps,
        dir.display()
    );
    let run_options = RunOptions {
        reports_dir: args.reports_dir.clone(),
        keep: false,
        images,
        cancel: cancel.clone(),
        quiet: !args.verbose,
        monitoring: false,
        citus: false,
        pooler: false,
        attach: None,
        reuse: (!args.fresh).then(Default::default),
    };
    let slot = run_options.reuse.clone();
    let explore_options = ExploreOptions {
        cases: args.runs,
        seed,
        max_shrink_steps: args.max_shrink_steps,
        max_inconclusive: args.max_inconclusive,
        out_dir: Some(dir.clone()),
        command: command.clone(),
    };
    let started_at = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    let started = Instant::now();
    let handle = tokio::runtime::Handle::current();
    // proptest drives the search synchronously; each case blocks on the engine from this
    // blocking thread while the runtime's workers keep serving the run's tasks.
    let searched = tokio::task::spawn_blocking(move || {
        let mut runner = EngineRunner::new(handle, run_options);
        let exploration = explore(&loaded, &explore_options, &mut runner, &mut |case| outln!("{}", case_line(case)));
        (loaded, exploration)
    })
    .await;
    if let Some(slot) = &slot {
        slot.end(&crate::engine::Progress::new("", !args.verbose)).await;
    }
    let (loaded, exploration) = match searched {
        Ok(done) => done,
        Err(e) => {
            errln!("error: the chaos search failed: {e}");
            return ExitCode::ChecksFailed;
        }
    };
    let mut report = ChaosReport {
        schema_version: CHAOS_SCHEMA_VERSION,
        scenario: loaded.scenario.name.clone(),
        scenario_file: loaded.path.display().to_string(),
        seed,
        cases_requested: args.runs,
        max_shrink_steps: args.max_shrink_steps,
        started_at,
        duration_ms: started.elapsed().as_millis() as u64,
        exploration,
        minimal_file: None,
    };
    if let Err(e) = write_chaos_report(&mut report, &loaded, &dir, &command) {
        errln!("error: {e}: {}", std::error::Error::source(&e).map(ToString::to_string).unwrap_or_default());
    }
    outln!("{}", render_chaos_summary(&report));
    outln!("report: {}", dir.join(CHAOS_REPORT_FILE).display());
    match &report.exploration.outcome {
        SearchOutcome::Passed => ExitCode::Success,
        SearchOutcome::Failed { .. } | SearchOutcome::GaveUp { .. } => ExitCode::ChecksFailed,
        SearchOutcome::Aborted { .. } if cancel.is_cancelled() => ExitCode::Interrupted,
        SearchOutcome::Aborted { .. } => ExitCode::Environment,
    }
}
