//! Loading the scenario files a command was given, as `run`, `up`, `list` and `drill` all do:
//! every file's diagnostics printed, then one exit code for the lot. Shared by the command
//! files, so none of them imports another.
use std::path::PathBuf;

use super::output::errln;
use super::ExitCode;
use crate::scenario::{load_scenario_with, LoadOptions, LoadedScenario};

/// Loads every file, printing each invalid one's diagnostics; fails if any was invalid.
pub(super) fn load_all(files: &[PathBuf], options: LoadOptions) -> Result<Vec<LoadedScenario>, ExitCode> {
    let mut loaded = Vec::new();
    let mut failed = false;
    for file in files {
        match load_scenario_with(file, options) {
            Ok(scenario) => loaded.push(scenario),
            Err(error) => {
                errln!("{:?}", miette::Report::new(error));
                failed = true;
            }
        }
    }
    if failed {
        Err(ExitCode::InvalidScenario)
    } else {
        Ok(loaded)
    }
}

/// Scenarios with a `chaos:` section are run by `pgdrill chaos`: their steps alone are not the
/// drill, and running them would silently skip the schedules.
pub(super) fn refuse_chaos(scenarios: Vec<LoadedScenario>) -> Result<Vec<LoadedScenario>, ExitCode> {
    match scenarios.iter().find(|s| s.scenario.chaos.is_some()) {
        Some(chaos) => {
            errln!("error: {} has a `chaos:` section: run it with `pgdrill chaos FILE`", chaos.path.display());
            Err(ExitCode::InvalidScenario)
        }
        None => Ok(scenarios),
    }
}
