//! The `exec` step as written: a command run inside a member or etcd container (a runbook's
//! `patronictl`, `psql` or `etcdctl`), retried until its expectation holds or `within` runs out.
//! Validation (`validate::exec`) compiles the pattern and checks the target against the
//! topology; the engine runs it through the fault layer's executor; `check::exec` judges it.
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::target::Target;
use super::values::Budget;

/// `exec: {target, command, expect_exit, expect_output, within}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExecStep {
    /// The container the command runs in, resolved like a fault target when the step runs
    /// (`primary`, `replica`, `old_primary`, `etcd_leader`, `{member: pg-2}`, `{member: etcd-1}`).
    pub target: Target,
    /// The program and its arguments, run as root without a shell, e.g.
    /// `[patronictl, failover, --candidate, pg-2, --force]`.
    pub command: Vec<String>,
    /// The exit code that counts as success.
    #[serde(default)]
    pub expect_exit: i64,
    /// A regular expression (Rust `regex` syntax) the command's combined output must match, e.g.
    /// `'pg-2 .*\| Leader'`; `(?m)` makes `^`/`$` match at line ends.
    #[serde(default)]
    pub expect_output: Option<String>,
    /// Attempts are repeated (every second) until the expectation holds or this runs out; a
    /// single attempt still running at the end is cut off.
    #[serde(default = "default_within")]
    pub within: Budget,
}

/// Runbook commands mostly answer at once; 30s leaves room for the cluster to settle.
fn default_within() -> Budget {
    Budget(Duration::from_secs(30))
}

impl ExecStep {
    /// The compiled `expect_output` (`None` without one). Validation has compiled it already, so
    /// an error here means a scenario built in code or edited after its report.
    pub fn output_pattern(&self) -> Option<Result<regex::Regex, regex::Error>> {
        self.expect_output.as_deref().map(regex::Regex::new)
    }

    /// The command as one line, arguments with spaces quoted, e.g. `psql -c 'SELECT 1'`.
    pub fn command_line(&self) -> String {
        command_line(&self.command)
    }
}

/// `command` as one line, arguments with spaces or quotes single-quoted.
pub fn command_line(command: &[String]) -> String {
    let quote = |arg: &String| {
        if arg.is_empty() || arg.contains(|c: char| c.is_whitespace() || "'\"\\$;|&<>*?".contains(c)) {
            format!("'{}'", arg.replace('\'', r"'\''"))
        } else {
            arg.clone()
        }
    };
    command.iter().map(quote).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_quoting() {
        let step: ExecStep =
            serde_json::from_value(serde_json::json!({"target": "primary", "command": ["psql", "-c", "SELECT 1"]}))
                .unwrap();
        assert_eq!((step.expect_exit, step.within.0), (0, Duration::from_secs(30)));
        assert!(step.output_pattern().is_none());
        assert_eq!(step.command_line(), "psql -c 'SELECT 1'");
        assert_eq!(command_line(&["echo".into(), "it's".into()]), r"echo 'it'\''s'");
    }
}
