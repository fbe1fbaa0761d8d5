//! Exit codes: one table for every command. Each command maps its outcome to one of these and
//! nothing else; README's exit-code table says the same, and a test holds them together.
use crate::engine::{EngineError, MonitoringError};
use crate::monitoring::PromtoolError;

/// What `pgdrill` exits with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ExitCode {
    /// Every check passed (or the command succeeded).
    Success = 0,
    /// A run finished but a check failed, or the run hit an error while driving the cluster, or
    /// its report could not be written; `compare` found a regression; standard output could not
    /// be written.
    ChecksFailed = 1,
    /// Bad input, so nothing was started: an invalid scenario file, a rule file promtool
    /// rejects, an unreadable report, a `compare` with nothing to compare, a usage error.
    InvalidScenario = 2,
    /// The environment is not usable: Docker unreachable, an image failed to build, a file
    /// could not be written, ...
    Environment = 3,
    /// Interrupted by Ctrl-C / SIGTERM (after cleaning up).
    Interrupted = 130,
}

impl ExitCode {
    /// Every code, in the order README lists them.
    pub const ALL: [ExitCode; 5] =
        [Self::Success, Self::ChecksFailed, Self::InvalidScenario, Self::Environment, Self::Interrupted];

    /// The number the process exits with.
    pub const fn code(self) -> u8 {
        self as u8
    }

    /// When a command exits with this code, as README's exit-code table words it.
    pub const fn meaning(self) -> &'static str {
        match self {
            Self::Success => "every check passed, or the command did what it was asked",
            Self::ChecksFailed => {
                "a check failed or the run hit an error; a run's report could not be written (its verdicts are \
                 printed first); `compare` found a regression; standard output could not be written"
            }
            Self::InvalidScenario => {
                "bad input, nothing was started: an invalid scenario, a rule file promtool rejects, an unreadable \
                 report, a `compare` with nothing to compare, a usage error"
            }
            Self::Environment => "environment problem: Docker, images, a file that could not be written",
            Self::Interrupted => "interrupted by Ctrl-C or SIGTERM (after teardown)",
        }
    }

    /// The code of a run (or an image build) that ended in `error`.
    pub fn of_engine_error(error: &EngineError) -> Self {
        match error {
            EngineError::Runtime(_) | EngineError::Images(_) => Self::Environment,
            EngineError::Interrupted(_) => Self::Interrupted,
            // The cluster file does not fit the scenario: nothing was touched.
            EngineError::Attach(_) | EngineError::Scenario(_) => Self::InvalidScenario,
            // The users' rule files are input: promtool rejecting them (or one unreadable) is bad input.
            EngineError::Monitoring(MonitoringError::Promtool(PromtoolError::Rejected { .. }))
            | EngineError::Monitoring(MonitoringError::RuleFile(_)) => Self::InvalidScenario,
            _ => Self::ChecksFailed,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;
    use crate::monitoring::PromtoolProblem;

    #[test]
    fn a_rule_file_promtool_rejects_is_bad_input() {
        let problem = PromtoolProblem {
            path: PathBuf::from("rules/x.yaml"),
            line: 4,
            group: Some("pg".into()),
            rule: Some("Down".into()),
            message: "could not parse expression".into(),
        };
        let rejected = PromtoolError::Rejected { problems: vec![problem] };
        let error = EngineError::Monitoring(rejected.into());
        assert_eq!(ExitCode::of_engine_error(&error), ExitCode::InvalidScenario, "{error}");

        let failed = PromtoolError::TimedOut(crate::wait::WaitTimeout {
            what: "promtool".into(),
            waited: std::time::Duration::from_secs(30),
            last_seen: "running".into(),
        });
        let error = EngineError::Monitoring(failed.into());
        assert_eq!(ExitCode::of_engine_error(&error), ExitCode::ChecksFailed, "{error}");
        let error = EngineError::Interrupted("SIGTERM".into());
        assert_eq!(ExitCode::of_engine_error(&error), ExitCode::Interrupted);
    }

    /// README's exit-code table, as (code, meaning) rows.
    fn readme_table() -> Vec<(u8, String)> {
        let readme = Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md");
        let text = std::fs::read_to_string(&readme).expect("README.md beside the crate");
        text.lines()
            .skip_while(|line| !line.starts_with("| exit code |"))
            .skip(2)
            .take_while(|line| line.starts_with('|'))
            .map(|line| {
                let cells: Vec<&str> = line.trim_matches('|').split(" | ").map(str::trim).collect();
                let code = cells[0].parse().unwrap_or_else(|_| panic!("not an exit code: {line}"));
                (code, cells[1..].join(" | "))
            })
            .collect()
    }

    #[test]
    fn the_readme_table_is_the_code_table() {
        let code: Vec<(u8, String)> = ExitCode::ALL.iter().map(|c| (c.code(), c.meaning().to_string())).collect();
        assert_eq!(readme_table(), code, "README.md's exit-code table must match cli/exit.rs");
    }
}
