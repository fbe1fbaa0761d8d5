//! `pgdrill init`: scaffold drills in the user's repository (see [`crate::init`]).
use std::path::PathBuf;

use clap::Args;

use super::output::{errln, outln};
use super::ExitCode;
use crate::init::{plan, Change, Dependency, InitError, InitOptions};

/// `pgdrill init`'s arguments.
#[derive(Debug, Args)]
pub(super) struct InitArgs {
    /// The repository (or package) to scaffold in; created when missing.
    #[arg(default_value = ".")]
    dir: PathBuf,
    /// Also a Citus drill (worker primary killed).
    #[arg(long)]
    citus: bool,
    /// Your alert rules (a Prometheus rule file or Kubernetes PrometheusRule manifests), evaluated
    /// during the kill-primary drill.
    #[arg(long, value_name = "FILE")]
    rules: Option<PathBuf>,
    /// Depend on pgdrill from this checkout's harness/ directory (a path dependency).
    #[arg(long, value_name = "PATH", conflicts_with = "pgdrill_git")]
    pgdrill_path: Option<PathBuf>,
    /// Depend on pgdrill from this git repository.
    #[arg(long, value_name = "URL")]
    pgdrill_git: Option<String>,
}

/// Plans, writes, and says what was written and what to run next.
pub(super) fn init(args: &InitArgs) -> ExitCode {
    let dependency = match (&args.pgdrill_path, &args.pgdrill_git) {
        (Some(path), _) => Dependency::Path(path.clone()),
        (None, Some(url)) => Dependency::Git(url.clone()),
        (None, None) => match Dependency::compiled_from() {
            Some(found) => found,
            None => {
                errln!(
                    "error: where should the drills' crate get pgdrill from? This binary was not built from a \
                     checkout that is still there: pass --pgdrill-path PATH (a checkout's harness/) or \
                     --pgdrill-git URL"
                );
                return ExitCode::InvalidScenario;
            }
        },
    };
    let options = InitOptions { dir: args.dir.clone(), citus: args.citus, rules: args.rules.clone(), dependency };
    let scaffold = match plan(&options).and_then(|s| s.write().map(|()| s)) {
        Ok(s) => s,
        Err(e) => {
            let mut text = format!("error: {e}");
            let mut cause = std::error::Error::source(&e);
            while let Some(c) = cause {
                text.push_str(&format!(": {c}"));
                cause = c.source();
            }
            errln!("{text}");
            return match e {
                InitError::Io { .. } => ExitCode::Environment,
                _ => ExitCode::InvalidScenario,
            };
        }
    };
    for change in &scaffold.changes {
        let verb = match change {
            Change::Create { .. } => "created",
            Change::Extend { .. } => "extended",
        };
        outln!("{verb:>9} {}", change.path().display());
    }
    for note in &scaffold.notes {
        outln!("note: {note}");
    }
    outln!("next: cd {} && pgdrill validate drills/*.yaml && cargo nextest run --test drills", args.dir.display());
    ExitCode::Success
}
