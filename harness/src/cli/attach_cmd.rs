//! `run --cluster FILE`: before an attached run touches anything, the cluster file is read and
//! checked against every scenario, `--dry-run` prints the actions and stops, and otherwise the
//! user confirms by typing the environment's name (or passes `--yes`).
use std::io::BufRead as _;
use std::path::Path;

use super::output::{errln, outln};
use super::ExitCode;
use crate::cluster::load_cluster_file;
use crate::engine::{attach, dry_run, new_run_id, AttachOptions, AUDIT_LOG};
use crate::fault::ActionLog;
use crate::scenario::LoadedScenario;

/// Checks the cluster file against every scenario; prints the dry run, or asks for
/// confirmation. `Ok(true)`: go on and run; `Ok(false)`: done (a dry run).
pub(super) async fn prepare(
    options: &AttachOptions,
    scenarios: &[LoadedScenario],
    reports_dir: &Path,
    yes: bool,
) -> Result<bool, ExitCode> {
    let file = match load_cluster_file(&options.file) {
        Ok(file) => file,
        Err(e) => {
            errln!("{e}");
            return Err(ExitCode::InvalidScenario);
        }
    };
    // Every scenario fits before the first one touches the cluster.
    let scratch = std::env::temp_dir().join(format!("pgdrill-attach-check-{}.jsonl", std::process::id()));
    for loaded in scenarios {
        let log = ActionLog::create(&scratch).map_err(|e| {
            errln!("error: {e}");
            ExitCode::Environment
        })?;
        if let Err(e) = attach(loaded, &options.file, &file, log, "check") {
            errln!("error: {}: {e}", loaded.path.display());
            let _ = std::fs::remove_file(&scratch);
            return Err(ExitCode::of_engine_error(&e));
        }
    }
    let _ = std::fs::remove_file(&scratch);
    if options.dry_run {
        for loaded in scenarios {
            let dir = reports_dir.join(format!("{}-dry-run", new_run_id()));
            match dry_run(loaded, options, &dir.join(AUDIT_LOG)).await {
                Ok(lines) => {
                    outln!("{}:", loaded.path.display());
                    for line in lines {
                        outln!("  {line}");
                    }
                    outln!("audit log: {}", dir.join(AUDIT_LOG).display());
                }
                Err(e) => {
                    errln!("error: {e}");
                    return Err(ExitCode::of_engine_error(&e));
                }
            }
        }
        return Ok(false);
    }
    if yes {
        return Ok(true);
    }
    let environment = &file.environment.value;
    let members: Vec<&str> = file.members.iter().map(|m| m.value.name.value.as_str()).collect();
    errln!(
        "about to drill environment `{environment}` ({} members: {}) with {} scenario(s); faults act on the cluster.",
        members.len(),
        members.join(", "),
        scenarios.len()
    );
    errln!("type the environment's name to go on (or pass --yes):");
    let mut answer = String::new();
    let read = std::io::stdin().lock().read_line(&mut answer);
    if read.is_ok_and(|n| n > 0) && answer.trim() == environment {
        Ok(true)
    } else {
        errln!("not confirmed: nothing was done");
        Err(ExitCode::InvalidScenario)
    }
}
