//! Subcommands.
use std::path::{Path, PathBuf};

use clap::{Args, CommandFactory, Parser, Subcommand};
use tokio_util::sync::CancellationToken;

use super::load::{load_all, refuse_chaos};
use super::output::{errln, outln};
use super::ExitCode;
use crate::engine::{build_images, new_run_id, run_scenario, start_cluster, Progress, RunOptions};
use crate::report::render_summary;
use crate::runtime::images::{CitusFlavor, ImageChoice, ImageOptions, ImageSet, ImageSetError};
use crate::runtime::{kept_runs, sweep, Runtime, SweepScope, TeardownGuard};
use crate::scenario::{load_scenario_with, scenario_json_schema, LoadOptions};

/// Failover and chaos drills for Patroni clusters, against real containers.
#[derive(Debug, Parser)]
#[command(name = "pgdrill", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run scenario files: start the cluster, drive the steps, check, report, tear down.
    Run(RunArgs),
    /// Search a scenario's `chaos:` section for a fault schedule that breaks an invariant,
    /// shrink it, and write a replay file of the minimal one.
    Chaos {
        #[command(flatten)]
        args: super::chaos_cmd::ChaosArgs,
        #[command(flatten)]
        images: ImageArgs,
    },
    /// Scaffold drills in your repository: drills/ with starter scenarios, a test target running
    /// one test per scenario file, nextest configuration and a CI workflow.
    Init(super::init_cmd::InitArgs),
    /// Check scenario files without Docker.
    Validate {
        /// Scenario files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[command(flatten)]
        load: LoadArgs,
    },
    /// Print the JSON Schema of scenario files (for editors).
    Schema,
    /// List scenarios in a directory and what each checks (`--faults`: the fault catalog).
    List {
        /// Directory to list.
        #[arg(default_value = "scenarios")]
        dir: PathBuf,
        /// List every fault instead: what it does, its options, whether it lasts and chaos may pick it.
        #[arg(long)]
        faults: bool,
    },
    /// Start a scenario's topology and leave it running for a manual drill.
    Up {
        /// Scenario file whose topology to start.
        file: PathBuf,
        #[command(flatten)]
        images: ImageArgs,
    },
    /// Write a Compose file (and the configuration files it mounts) of a scenario's topology,
    /// for a cluster run by hand with docker-compose.
    Compose {
        #[command(flatten)]
        args: super::compose_cmd::ComposeArgs,
        #[command(flatten)]
        images: ImageArgs,
    },
    /// Remove a cluster started by `up` (or kept with --keep); without a run id, list them.
    Down {
        /// Run id printed by `up` (or by a `--keep` run).
        run_id: Option<String>,
    },
    /// Remove containers, networks and volumes that killed runs left behind (never those of
    /// runs still going, nor kept ones).
    Clean {
        /// Also remove resources of runs whose harness still runs, or runs on another host.
        #[arg(long)]
        all: bool,
        /// Also remove kept runs (`--keep`, `up`).
        #[arg(long)]
        kept: bool,
    },
    /// Build images.
    Images {
        #[command(subcommand)]
        command: ImagesCommand,
    },
    /// Re-render report.html and junit.xml from a run's report.json and print its summary.
    Report(super::report_cmds::ReportArgs),
    /// Compare runs (or the latest run of each scenario in two report directories); exit 1 on a
    /// regression.
    Compare(super::report_cmds::CompareArgs),
    /// Run a suite of scenarios, summarise it, and compare it with the previous drill.
    Drill {
        #[command(flatten)]
        args: super::report_cmds::DrillArgs,
        #[command(flatten)]
        images: ImageArgs,
    },
}

#[derive(Debug, Subcommand)]
enum ImagesCommand {
    /// Build every image that is missing (or all with --rebuild).
    Build(ImageArgs),
}

/// How scenario files are loaded (on every command that runs or checks them).
#[derive(Debug, Clone, Copy, Args)]
pub(super) struct LoadArgs {
    /// Allow monitoring rule files given by absolute path or outside the scenario's repository
    /// (the nearest directory holding `.git`, else the scenario's directory).
    #[arg(long)]
    allow_outside_rules: bool,
}

impl LoadArgs {
    pub(super) fn options(self) -> LoadOptions {
        LoadOptions { allow_outside_rules: self.allow_outside_rules }
    }
}

#[derive(Debug, Args)]
struct RunArgs {
    /// Scenario files.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    #[command(flatten)]
    load: LoadArgs,
    /// Leave containers running after the run (remove them with `pgdrill down RUN_ID`).
    #[arg(long)]
    keep: bool,
    /// Where reports/<run-id>/ is written.
    #[arg(long, default_value = "reports")]
    reports_dir: PathBuf,
    /// Fewer progress lines.
    #[arg(long, short)]
    quiet: bool,
    #[command(flatten)]
    attach: AttachArgs,
    #[command(flatten)]
    images: ImageArgs,
}

/// Attach mode's options, the same on `run` and `drill`.
#[derive(Debug, Args)]
pub(super) struct AttachArgs {
    /// Drill the cluster this cluster file describes instead of starting one (attach mode:
    /// nothing is started or removed; faults act through the file's executor templates).
    #[arg(long, value_name = "FILE")]
    cluster: Option<PathBuf>,
    /// With --cluster: print every action the run would take and change nothing.
    #[arg(long, requires = "cluster")]
    dry_run: bool,
    /// With --cluster: do not ask for confirmation before drilling the environment.
    #[arg(long, requires = "cluster")]
    yes: bool,
}

impl AttachArgs {
    /// The engine's attach options, with whether to skip the confirmation; `None` without
    /// `--cluster`.
    /// `abort` fires on a second signal (the heal then stops and says what is left).
    pub(super) fn options(&self, abort: &CancellationToken) -> Option<(crate::engine::AttachOptions, bool)> {
        let file = self.cluster.clone()?;
        let options = crate::engine::AttachOptions { file, dry_run: self.dry_run, abort: abort.clone() };
        Some((options, self.yes))
    }
}

#[derive(Debug, Args)]
struct ImageArgs {
    /// Image set: `patroni=<PyPI version>`, `pg=<PostgreSQL major>` (15: Debian bookworm, 17:
    /// Debian trixie) and, for `--citus real`, `citus=<major.minor>` (the Citus package's
    /// release), comma-separated; unset keys keep their defaults (patroni=4.1.5,pg=15; Citus 12.1
    /// on 15, 13.0 on 17). Each set has its own image tags, so sets coexist in the image cache.
    #[arg(long, value_name = "KEY=VALUE,...", value_delimiter = ',', env = "PGDRILL_IMAGES")]
    images: Vec<ImageChoice>,
    /// Same as `--images patroni=<VERSION>`.
    #[arg(long, value_name = "VERSION", env = "PGDRILL_PATRONI_VERSION")]
    patroni_version: Option<String>,
    /// Rebuild images even when a matching tag exists.
    #[arg(long)]
    rebuild: bool,
    /// Which Citus `kind: citus` scenarios run: pgdrill's hermetic stand-in (NOT Citus) or the
    /// real Citus (its image installs Citus from the Citus package repository: needs internet).
    #[arg(long, value_enum, default_value = "standin", env = "PGDRILL_CITUS")]
    citus: CitusFlavor,
}

impl ImageArgs {
    fn options(&self) -> Result<ImageOptions, ImageSetError> {
        let mut choices = self.images.clone();
        if let Some(version) = &self.patroni_version {
            choices.push(format!("patroni={version}").parse()?);
        }
        let set = ImageSet::from_choices(&choices)?;
        self.citus.check(&set)?;
        Ok(ImageOptions { set, force_rebuild: self.rebuild, citus: self.citus, ..ImageOptions::default() })
    }
}

/// The image options, or clap's usage error (exit 2) for choices that parse one by one but not
/// together (`pg=15,pg=17`, or `--patroni-version` against `patroni=`).
fn image_options(args: &ImageArgs) -> ImageOptions {
    args.options().unwrap_or_else(|e| Cli::command().error(clap::error::ErrorKind::ArgumentConflict, e).exit())
}

/// Runs the parsed command.
/// Output the reader left early (a closed pipe) is no failure; output that could not be written
/// otherwise makes a successful command fail. `cancel` fires on the first Ctrl-C / SIGTERM,
/// `abort` on the second (attached runs then stop healing and say what is still in effect).
pub async fn dispatch(cli: Cli, cancel: CancellationToken, abort: CancellationToken) -> ExitCode {
    let code = command(cli, cancel, abort).await;
    match super::output::finish() {
        super::output::State::Failed if code == ExitCode::Success => ExitCode::ChecksFailed,
        _ => code,
    }
}

/// The commands that run drills are boxed: their futures nest the whole engine, and unboxed their
/// layout overflows rustc's query depth limit in a clean build (as CI's did).
async fn command(cli: Cli, cancel: CancellationToken, abort: CancellationToken) -> ExitCode {
    match cli.command {
        Command::Run(args) => Box::pin(run(args, cancel, abort)).await,
        Command::Chaos { args, images } => {
            Box::pin(super::chaos_cmd::chaos(&args, image_options(&images), cancel)).await
        }
        Command::Init(args) => super::init_cmd::init(&args),
        Command::Validate { files, load } => validate(&files, load.options(), &cancel),
        Command::Schema => {
            outln!("{}", serde_json::to_string_pretty(&scenario_json_schema()).expect("schema serialises"));
            ExitCode::Success
        }
        Command::List { faults: true, .. } => list_faults(),
        Command::List { dir, .. } => list(&dir),
        Command::Compose { args, images } => super::compose_cmd::compose(&args, image_options(&images)).await,
        Command::Up { file, images } => Box::pin(up(&file, image_options(&images), cancel)).await,
        Command::Down { run_id: Some(run_id) } => clean(SweepScope::Down(&run_id)).await,
        Command::Down { run_id: None } => list_kept().await,
        Command::Clean { all, kept } => clean(SweepScope::Leftovers { alive: all, kept }).await,
        Command::Images { command: ImagesCommand::Build(args) } => images(image_options(&args)).await,
        Command::Report(args) => super::report_cmds::report(&args),
        Command::Compare(args) => super::report_cmds::compare(&args),
        Command::Drill { args, images } => {
            Box::pin(super::report_cmds::drill(&args, image_options(&images), cancel, abort)).await
        }
    }
}

/// Checks each file, stopping at a signal (between files: one file's check is bounded by the
/// file size limit and the cap on problems shown).
fn validate(files: &[PathBuf], options: LoadOptions, cancel: &CancellationToken) -> ExitCode {
    let mut code = ExitCode::Success;
    for file in files {
        if cancel.is_cancelled() {
            return ExitCode::Interrupted;
        }
        match load_scenario_with(file, options) {
            Ok(scenario) => {
                let chaos = scenario.scenario.chaos.as_ref().map_or(String::new(), |c| {
                    format!(
                        ", chaos: {} kinds of fault, {} invariants; run with `pgdrill chaos`",
                        c.faults.len(),
                        c.invariants.len()
                    )
                });
                outln!("{}: ok ({} steps{chaos})", scenario.path.display(), scenario.scenario.steps.len());
                // Validation has loaded the rule files already, so this cannot fail on them.
                if let Ok(Some(setup)) = crate::engine::prepare_monitoring(&scenario) {
                    for unknown in setup.unknown_metrics() {
                        errln!("warning: {unknown}");
                    }
                }
            }
            Err(error) => {
                errln!("{:?}", miette::Report::new(error));
                code = ExitCode::InvalidScenario;
            }
        }
    }
    code
}

async fn run(args: RunArgs, cancel: CancellationToken, abort: CancellationToken) -> ExitCode {
    let scenarios = match load_all(&args.files, args.load.options()).and_then(refuse_chaos) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let options = RunOptions {
        reports_dir: args.reports_dir.clone(),
        keep: args.keep,
        images: image_options(&args.images),
        cancel: cancel.clone(),
        quiet: args.quiet,
        monitoring: false,
        citus: false,
        pooler: false,
        attach: None,
        reuse: None,
    };
    if let Some((attach, yes)) = args.attach.options(&abort) {
        match super::attach_cmd::prepare(&attach, &scenarios, &args.reports_dir, yes).await {
            Ok(true) => {}
            Ok(false) => return ExitCode::Success,
            Err(code) => return code,
        }
        return run_all(&scenarios, &RunOptions { attach: Some(attach), ..options }, &cancel).await;
    }
    run_all(&scenarios, &options, &cancel).await
}

async fn run_all(
    scenarios: &[crate::scenario::LoadedScenario],
    options: &RunOptions,
    cancel: &CancellationToken,
) -> ExitCode {
    let options = options.clone();
    let mut code = ExitCode::Success;
    for loaded in scenarios {
        match run_scenario(loaded, &options).await {
            Ok(outcome) => {
                // The verdicts first: a report that cannot be written must not take them along.
                outln!("{}", render_summary(&outcome.report));
                match &outcome.write_error {
                    None => outln!("report: {}", outcome.report_dir.join("report.json").display()),
                    Some(e) => {
                        errln!("error: {e}; the verdicts above are the only record of run {}", outcome.report.run_id);
                        code = ExitCode::ChecksFailed;
                    }
                }
                if !outcome.report.passed {
                    code = ExitCode::ChecksFailed;
                }
                if cancel.is_cancelled() {
                    return ExitCode::Interrupted;
                }
            }
            Err(error) => {
                errln!("error: {error}");
                return ExitCode::of_engine_error(&error);
            }
        }
    }
    code
}

/// The fault catalog, from the faults' own declarations.
fn list_faults() -> ExitCode {
    for fault in crate::fault::all_faults() {
        let options: Vec<String> = fault
            .options()
            .iter()
            .map(|o| format!("{}{}", o.key, if o.required { " (required)" } else { "" }))
            .collect();
        let lasts = match fault.lasting() {
            Some(_) => "lasts until undone",
            None => "over at once",
        };
        let chaos = if fault.chaos() { ", chaos" } else { "" };
        let options = if options.is_empty() { String::new() } else { format!("; options: {}", options.join(", ")) };
        outln!("{:<16} {} [{lasts}{chaos}{options}]", fault.name(), fault.summary());
    }
    outln!("{:<16} Undo active faults: those aimed at `target`, or all of them.", crate::scenario::FaultName::HEAL);
    ExitCode::Success
}

fn list(dir: &Path) -> ExitCode {
    let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
            .collect(),
        Err(e) => {
            errln!("error: failed to read {}: {e}", dir.display());
            return ExitCode::InvalidScenario;
        }
    };
    files.sort();
    let loaded = match load_all(&files, LoadOptions::default()) {
        Ok(l) => l,
        Err(code) => return code,
    };
    for scenario in loaded {
        let s = &scenario.scenario;
        let mut checks: Vec<String> = s
            .steps
            .iter()
            .filter_map(|step| step.value.expect.as_ref())
            .flatten()
            .map(|e| crate::engine::expectation_name(&e.value).to_string())
            .collect();
        checks.extend(s.invariants.iter().map(crate::scenario::variant_name));
        outln!("{}  [{}]", scenario.path.display(), s.name);
        if let Some(description) = &s.description {
            outln!("    {}", description.trim());
        }
        outln!("    checks: {}", checks.join(", "));
    }
    ExitCode::Success
}

async fn docker() -> Result<bollard::Docker, ExitCode> {
    Runtime::connect().await.map_err(|e| {
        errln!("error: {e}");
        ExitCode::Environment
    })
}

async fn up(file: &Path, image_options: ImageOptions, cancel: CancellationToken) -> ExitCode {
    let loaded = match load_all(&[file.to_path_buf()], LoadOptions::default()) {
        Ok(mut l) => l.remove(0),
        Err(code) => return code,
    };
    let docker = match docker().await {
        Ok(d) => d,
        Err(code) => return code,
    };
    let run_id = new_run_id();
    let runtime = Runtime::new(docker, &run_id).kept(true);
    let progress = Progress::new("", false);
    let options = RunOptions {
        reports_dir: PathBuf::from("reports"),
        keep: true,
        images: image_options,
        cancel: cancel.clone(),
        quiet: false,
        monitoring: false,
        citus: loaded.scenario.topology.kind == crate::scenario::TopologyKind::Citus,
        pooler: loaded.scenario.topology.pooler.is_some(),
        attach: None,
        reuse: None,
    };
    let images = tokio::select! {
        images = build_images(&runtime, &options, &progress) => match images {
            Ok(i) => i,
            Err(e) => {
                errln!("error: {e}");
                return ExitCode::Environment;
            }
        },
        () = cancel.cancelled() => return ExitCode::Interrupted,
    };
    let mut guard = TeardownGuard::new(&run_id);
    let started = tokio::select! {
        started = start_cluster(&runtime, &loaded, &images, &progress) => started,
        () = cancel.cancelled() => {
            // Interrupted half-way: remove what was started, now (the signal's sender may
            // escalate to SIGKILL soon).
            match sweep(runtime.docker(), SweepScope::Run(&run_id)).await {
                Ok(report) => errln!(
                    "interrupted: removed {} containers, {} networks of run {run_id}",
                    report.containers.len(),
                    report.networks.len()
                ),
                Err(e) => errln!("interrupted: could not remove run {run_id}: {e}; run `pgdrill down {run_id}`"),
            }
            guard.disarm();
            return ExitCode::Interrupted;
        }
    };
    match started {
        Ok(cluster) => {
            guard.disarm();
            outln!("cluster of run {run_id} is starting; endpoints on 127.0.0.1:");
            for (name, container) in cluster.started().map(|(_, c)| c).into_iter().flatten() {
                let mut ports: Vec<_> = container.ports.iter().collect();
                ports.sort();
                let ports: Vec<String> = ports.iter().map(|(c, h)| format!("{c}→{h}")).collect();
                outln!("  {name:<10} {}", ports.join("  "));
            }
            // This run's own password, printed here only: `up` is how a person gets a cluster
            // to connect to, and nothing else of pgdrill writes it anywhere.
            outln!(
                "psql: PGPASSWORD={} psql -h 127.0.0.1 -p {} -U postgres",
                cluster.plan.secrets.superuser.expose(),
                cluster.primary_endpoint().port
            );
            if let Some(pooler) = cluster.pooler_endpoint() {
                outln!("through PgBouncer (topology.pooler): the same, with -p {}", pooler.port);
            }
            outln!(
                "Patroni REST API (unsafe methods): user {}, password {}",
                crate::topology::REST_API_USER,
                cluster.plan.secrets.rest_api.expose()
            );
            outln!("remove it with: pgdrill down {run_id}");
            ExitCode::Success
        }
        Err(e) => {
            errln!("error: {e}");
            ExitCode::Environment
        }
    }
}

async fn clean(scope: SweepScope<'_>) -> ExitCode {
    let docker = match docker().await {
        Ok(d) => d,
        Err(code) => return code,
    };
    match sweep(&docker, scope).await {
        Ok(report) => {
            outln!(
                "removed {} containers, {} networks, {} volumes",
                report.containers.len(),
                report.networks.len(),
                report.volumes.len()
            );
            let hint = match scope {
                SweepScope::Down(run) => format!("; it is kept when it ends; then `pgdrill down {run}`"),
                _ => " (use --all to remove them too)".to_string(),
            };
            if report.skipped_live > 0 {
                outln!("skipped {} resources of runs still in progress{hint}", report.skipped_live);
            }
            if report.skipped_unknown > 0 {
                outln!(
                    "skipped {} resources created on another host, whose runs may still be going (use --all to remove them too)",
                    report.skipped_unknown
                );
            }
            if report.skipped_kept > 0 {
                outln!(
                    "skipped {} resources of kept runs (`pgdrill down` lists them; --kept removes them too)",
                    report.skipped_kept
                );
            }
            for failed in &report.failed {
                errln!("could not remove {failed}");
            }
            ExitCode::Success
        }
        Err(e) => {
            errln!("error: {e}");
            ExitCode::Environment
        }
    }
}

/// `pgdrill down` without a run id: the kept runs, and how to remove one.
async fn list_kept() -> ExitCode {
    let docker = match docker().await {
        Ok(d) => d,
        Err(code) => return code,
    };
    match kept_runs(&docker).await {
        Ok(runs) if runs.is_empty() => {
            outln!("no kept runs (`pgdrill up` and `pgdrill run --keep` keep theirs)");
            ExitCode::Success
        }
        Ok(runs) => {
            for run in &runs {
                let state = if run.alive { "  (its run is still going)" } else { "" };
                outln!("{}  {}{state}", run.run_id, run.containers.join(" "));
            }
            outln!("remove one with `pgdrill down RUN_ID`, all of them with `pgdrill clean --kept`");
            ExitCode::Success
        }
        Err(e) => {
            errln!("error: {e}");
            ExitCode::Environment
        }
    }
}

async fn images(image_options: ImageOptions) -> ExitCode {
    let docker = match docker().await {
        Ok(d) => d,
        Err(code) => return code,
    };
    let runtime = Runtime::new(docker, "images");
    let progress = Progress::new("", false);
    let options = RunOptions {
        reports_dir: PathBuf::from("reports"),
        keep: false,
        images: image_options,
        cancel: CancellationToken::new(),
        quiet: false,
        monitoring: true,
        citus: true,
        pooler: true,
        attach: None,
        reuse: None,
    };
    match build_images(&runtime, &options, &progress).await {
        Ok(images) => {
            outln!("image set: {} ({})", images.set.describe(), images.set);
            let bases = [("base", images.base.as_str()), ("patroni base", images.patroni_base.as_str())];
            for (name, tag) in bases.into_iter().chain(images.tags_by_role()) {
                outln!("  {name:<18} {tag}");
            }
            ExitCode::Success
        }
        Err(e) => {
            errln!("error: {e}");
            ExitCode::Environment
        }
    }
}
