//! One drill as a test: run it on a runtime of its own with teardown on SIGTERM, check that
//! nothing of it is left in Docker, and that its written report judges again to the same
//! verdicts.
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use libtest_mimic::Failed;
use tokio_util::sync::CancellationToken;

use crate::engine::{run_scenario, RunOptions, RunOutcome};
use crate::report::{read_json, rejudge, render_rejudgement, render_summary, REPORT_FILE};
use crate::runtime::images::ImageOptions;
use crate::runtime::{Runtime, LABEL_RUN};
use crate::scenario::{load_scenario_with, LoadOptions, LoadedScenario};

/// How the drills of a test target run.
#[derive(Debug, Clone)]
pub struct DrillOptions {
    /// Where each run's `reports/<run-id>/` goes (default: `reports`, relative to the current
    /// directory, which cargo and nextest set to the package's root).
    pub reports_dir: PathBuf,
    /// Image set, Citus flavour, rebuild (default: pgdrill's default set, stand-in Citus).
    pub images: ImageOptions,
    /// How scenario files are loaded: `allow_outside_rules` lets a scenario name rule files
    /// outside its repository (default: refused, as on the command line).
    pub load: LoadOptions,
    /// No progress lines (default: they are printed, and captured with the test's output).
    pub quiet: bool,
}

impl Default for DrillOptions {
    fn default() -> Self {
        Self {
            reports_dir: PathBuf::from("reports"),
            images: ImageOptions::default(),
            load: LoadOptions::default(),
            quiet: false,
        }
    }
}

/// Loads the scenario at `path` (diagnostics rendered as on the command line) and runs it as a
/// test: on a runtime of its own, torn down first on SIGTERM, with no container or network of
/// the run left behind, and with `report.json` judged again to the run's verdicts. A failed
/// verdict is *not* an error here (see [`expect_pass`]); an unwritable report is.
///
/// ```no_run
/// use pgdrill::testing::{expect_pass, run_drill, DrillOptions};
///
/// let outcome = run_drill("drills/kill-primary.yaml".as_ref(), &DrillOptions::default())?;
/// expect_pass(&outcome)?;
/// # Ok::<(), pgdrill::testing::Failed>(())
/// ```
pub fn run_drill(path: &Path, options: &DrillOptions) -> Result<RunOutcome, Failed> {
    let loaded = load(path, options.load)?;
    run_loaded(&loaded, options)
}

/// Loads a scenario file, its diagnostics (file:line:col, the allowed values) as the failure.
pub(super) fn load(path: &Path, options: LoadOptions) -> Result<LoadedScenario, Failed> {
    let loaded =
        load_scenario_with(path, options).map_err(|e| Failed::from(format!("{:?}", miette::Report::new(e))))?;
    if loaded.scenario.chaos.is_some() {
        return Err(format!("{} has a `chaos:` section: run it with `pgdrill chaos FILE`", path.display()).into());
    }
    Ok(loaded)
}

/// [`run_drill`] of a scenario already loaded.
pub(super) fn run_loaded(loaded: &LoadedScenario, options: &DrillOptions) -> Result<RunOutcome, Failed> {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(async {
        let cancel = CancellationToken::new();
        let signal_cancel = cancel.clone();
        // nextest's timeout sends SIGTERM: tear down before it escalates to SIGKILL.
        tokio::spawn(async move {
            if let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                term.recv().await;
                signal_cancel.cancel();
            }
        });
        let run_options = RunOptions {
            reports_dir: options.reports_dir.clone(),
            keep: false,
            images: options.images.clone(),
            cancel,
            quiet: options.quiet,
            monitoring: false,
            citus: false,
            pooler: false,
            attach: None,
            reuse: None,
        };
        let outcome = run_scenario(loaded, &run_options).await.map_err(|e| Failed::from(format!("{e}")))?;
        assert_nothing_left(&outcome.report.run_id).await?;
        if let Some(e) = &outcome.write_error {
            return Err(format!("{e}\n{}", render_summary(&outcome.report)).into());
        }
        assert_rejudged_identically(&outcome, &loaded.scenario)?;
        Ok(outcome)
    })
}

/// Fails with the terminal summary (and where the report is) unless every verdict passed;
/// prints the summary either way, so a passing drill's output shows its measurements.
pub fn expect_pass(outcome: &RunOutcome) -> Result<(), Failed> {
    let summary = render_summary(&outcome.report);
    println!("{summary}");
    if outcome.report.passed {
        Ok(())
    } else {
        Err(format!("drill failed (report: {}):\n{summary}", outcome.report_dir.display()).into())
    }
}

/// The verdicts judged again from the written report.json (timeline and all) and the scenario
/// are the ones the run decided.
fn assert_rejudged_identically(outcome: &RunOutcome, scenario: &crate::scenario::Scenario) -> Result<(), Failed> {
    let path = outcome.report_dir.join(REPORT_FILE);
    let written = read_json(&path).map_err(|e| Failed::from(format!("{e}")))?;
    let rejudgement = rejudge(&written, scenario);
    let text = render_rejudgement(&rejudgement);
    print!("{text}");
    if rejudgement.all_match() && written.verdicts == outcome.report.verdicts {
        Ok(())
    } else {
        Err(format!("judging {} again gave other verdicts:\n{text}", path.display()).into())
    }
}

/// No container or network labelled with the run's id is left in Docker.
async fn assert_nothing_left(run_id: &str) -> Result<(), Failed> {
    match run_leftovers(run_id).await? {
        (0, 0) => Ok(()),
        (containers, networks) => {
            Err(format!("run {run_id} left {containers} containers and {networks} networks behind").into())
        }
    }
}

/// How many containers and networks labelled with the run's id Docker still has.
pub async fn run_leftovers(run_id: &str) -> Result<(usize, usize), String> {
    let docker = Runtime::connect().await.map_err(|e| e.to_string())?;
    let filter = HashMap::from([("label".to_string(), vec![format!("{LABEL_RUN}={run_id}")])]);
    let containers = docker
        .list_containers(Some(bollard::query_parameters::ListContainersOptions {
            all: true,
            filters: Some(filter.clone()),
            ..Default::default()
        }))
        .await
        .map_err(|e| format!("failed to list the run's containers: {e}"))?;
    let networks = docker
        .list_networks(Some(bollard::query_parameters::ListNetworksOptions { filters: Some(filter) }))
        .await
        .map_err(|e| format!("failed to list the run's networks: {e}"))?;
    Ok((containers.len(), networks.len()))
}
