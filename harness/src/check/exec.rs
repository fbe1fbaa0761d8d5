//! `exec`: a runbook command answered as the step expects — its exit code, and its output
//! matching `expect_output` — within `within`. Judged from the step's recorded
//! [`EventKind::Exec`] (the last attempt), so `pgdrill report --rejudge` decides the same way;
//! the engine asks [`answer_holds`] after each attempt to know when to stop retrying.
use std::time::Duration;

use super::member_history::secs;
use super::verdict::{Status, Verdict};
use crate::scenario::ExecStep;
use crate::timeline::{EventKind, Millis};

/// The check's name, as verdicts and scenario files spell it.
pub const NAME: &str = "exec";
/// The most output an attempt keeps (bytes; longer output keeps its head and says how much was
/// cut). `expect_output` is matched against this bounded text, during the run and when judged
/// again, so both see the same thing.
pub const EXEC_OUTPUT_LIMIT: usize = 4096;
/// How much of the output a failed verdict quotes.
const QUOTED_OUTPUT: usize = 600;
/// Bookkeeping between the engine's deadline and the recorded times (a few ms); an attempt that
/// matched just at the deadline still counts.
const SLACK: Duration = Duration::from_millis(500);

/// What one `exec` step recorded: the fields of its [`EventKind::Exec`].
#[derive(Debug, Clone, Copy)]
pub struct ExecRecord<'a> {
    /// Index of the step.
    pub step: usize,
    /// Where it ran.
    pub container: &'a str,
    /// The program and its arguments.
    pub command: &'a [String],
    /// When the first attempt began.
    pub started_at: Millis,
    /// When the last attempt ended.
    pub ended_at: Millis,
    /// How many attempts.
    pub attempts: u32,
    /// The last attempt's exit code.
    pub exit_code: Option<i64>,
    /// Its bounded output.
    pub output: &'a str,
    /// Why it gave no exit code.
    pub error: Option<&'a str>,
}

impl<'a> ExecRecord<'a> {
    /// The record an [`EventKind::Exec`] at `at` holds; `None` for any other event.
    pub fn from_event(at: Millis, kind: &'a EventKind) -> Option<Self> {
        let EventKind::Exec { step, container, command, started_at, attempts, exit_code, output, error } = kind else {
            return None;
        };
        Some(Self {
            step: *step,
            container,
            command,
            started_at: *started_at,
            ended_at: at,
            attempts: *attempts,
            exit_code: *exit_code,
            output,
            error: error.as_deref(),
        })
    }
}

/// `output` cut to [`EXEC_OUTPUT_LIMIT`] bytes (at a character boundary), saying how much was cut.
pub fn bound_output(output: &str) -> String {
    if output.len() <= EXEC_OUTPUT_LIMIT {
        return output.to_string();
    }
    let mut end = EXEC_OUTPUT_LIMIT;
    while !output.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} more bytes not kept)", &output[..end], output.len() - end)
}

/// Whether an attempt's answer is what `spec` expects: the exit code, and the (bounded) output
/// matching `expect_output`. An attempt without an exit code never holds.
pub fn answer_holds(spec: &ExecStep, exit_code: Option<i64>, output: &str) -> bool {
    exit_code == Some(spec.expect_exit) && spec.output_pattern().is_none_or(|p| p.is_ok_and(|p| p.is_match(output)))
}

/// Judges step `record.step`'s recorded answer against `spec`.
pub fn exec(spec: &ExecStep, record: &ExecRecord<'_>) -> Verdict {
    let elapsed = record.ended_at.saturating_sub(record.started_at);
    let within = spec.within.0;
    let mut budget = format!("exit {}", spec.expect_exit);
    if let Some(pattern) = &spec.expect_output {
        budget.push_str(&format!(", output ~ /{pattern}/"));
    }
    budget.push_str(&format!(", within {}", crate::scenario::Budget(within)));
    let tries = match record.attempts {
        1 => "1 attempt".to_string(),
        n => format!("{n} attempts"),
    };
    let ran = format!("`{}` in {}", spec.command_line(), record.container);
    let holds = answer_holds(spec, record.exit_code, record.output);
    let in_time = elapsed as u128 <= (within + SLACK).as_millis();
    let (status, observed) = if holds && in_time {
        (Status::Pass, format!("{ran}: exit {} after {} ({tries})", spec.expect_exit, secs(elapsed)))
    } else {
        let mut why = Vec::new();
        match (record.exit_code, record.error) {
            (_, Some(error)) => why.push(error.to_string()),
            (Some(code), None) if code != spec.expect_exit => {
                why.push(format!("exit {code}, not {}", spec.expect_exit))
            }
            (None, None) => why.push("no exit code".to_string()),
            _ => {}
        }
        match spec.output_pattern() {
            Some(Ok(pattern)) if !pattern.is_match(record.output) => {
                why.push(format!("output does not match /{pattern}/"))
            }
            Some(Err(error)) => why.push(format!("`expect_output` does not compile: {error}")),
            _ => {}
        }
        if holds && !in_time {
            why.push(format!("answered as expected only after {}", secs(elapsed)));
        }
        let last = if record.attempts > 1 { "last of " } else { "" };
        (
            Status::Fail,
            format!(
                "{ran}: {} ({last}{tries} in {}); output: «{}»",
                why.join("; "),
                secs(elapsed),
                quote(record.output)
            ),
        )
    };
    Verdict {
        check: NAME.into(),
        step: Some(record.step),
        status,
        observed,
        budget,
        observed_ms: Some(elapsed),
        budget_ms: Some(within.as_millis() as u64),
    }
}

/// The output on one line, its head kept when long.
fn quote(output: &str) -> String {
    let one_line = output.trim().replace('\n', " ⏎ ");
    match one_line.char_indices().nth(QUOTED_OUTPUT) {
        Some((cut, _)) => format!("{}…", &one_line[..cut]),
        None => one_line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(yaml: serde_json::Value) -> ExecStep {
        serde_json::from_value(yaml).unwrap()
    }

    fn record<'a>(exit_code: Option<i64>, output: &'a str, attempts: u32, ended_at: Millis) -> ExecRecord<'a> {
        ExecRecord {
            step: 3,
            container: "pg-2",
            command: &[],
            started_at: 10_000,
            ended_at,
            attempts,
            exit_code,
            output,
            error: None,
        }
    }

    const LIST: &str = "| pg-2 | 172.18.0.4 | Leader  | running   |  2 |           |\n Maintenance mode: on\n";

    #[test]
    fn a_matching_answer_passes() {
        let s = spec(serde_json::json!({"target": "primary", "command": ["patronictl", "list"],
            "expect_output": r"pg-2 .*\| Leader", "within": "30s"}));
        let v = exec(&s, &record(Some(0), LIST, 4, 13_200));
        assert_eq!(v.status, Status::Pass, "{v:?}");
        assert_eq!(v.observed, "`patronictl list` in pg-2: exit 0 after 3.2s (4 attempts)");
        assert_eq!(v.budget, r"exit 0, output ~ /pg-2 .*\| Leader/, within 30s");
        assert_eq!((v.step, v.observed_ms, v.budget_ms), (Some(3), Some(3_200), Some(30_000)));
    }

    #[test]
    fn a_wrong_answer_fails_quoting_the_output() {
        let s = spec(serde_json::json!({"target": "primary", "command": ["patronictl", "list"],
            "expect_output": r"pg-3 .*\| Leader", "within": "10s"}));
        let v = exec(&s, &record(Some(0), LIST, 10, 20_100));
        assert_eq!(v.status, Status::Fail);
        assert!(
            v.observed.contains(r"output does not match /pg-3 .*\| Leader/ (last of 10 attempts in 10.1s)"),
            "{v:?}"
        );
        assert!(
            v.observed.contains(
                "output: «| pg-2 | 172.18.0.4 | Leader  | running   |  2 |           | ⏎  Maintenance mode: on»"
            ),
            "{v:?}"
        );

        let exit = spec(serde_json::json!({"target": "primary", "command": ["patronictl", "failover"]}));
        let v = exec(&exit, &record(Some(1), "Error: no candidate", 1, 10_500));
        assert_eq!(v.status, Status::Fail);
        assert!(v.observed.starts_with("`patronictl failover` in pg-2: exit 1, not 0 (1 attempt in 0.5s)"), "{v:?}");

        let mut cut = record(None, "", 3, 40_000);
        cut.error = Some("timed out after 30.0s waiting for `psql` in pg-1");
        let v = exec(&exit, &cut);
        assert!(v.observed.contains("timed out after 30.0s"), "{v:?}");
    }

    #[test]
    fn late_or_codeless_answers_never_hold() {
        let s = spec(serde_json::json!({"target": "primary", "command": ["true"], "within": "5s"}));
        assert!(!answer_holds(&s, None, ""));
        assert!(answer_holds(&s, Some(0), "anything"));
        let v = exec(&s, &record(Some(0), "", 2, 16_000));
        assert_eq!(v.status, Status::Fail);
        assert!(v.observed.contains("answered as expected only after 6.0s"), "{v:?}");
    }

    #[test]
    fn output_is_bounded_at_a_character_boundary() {
        let long = "é".repeat(EXEC_OUTPUT_LIMIT);
        let bounded = bound_output(&long);
        assert!(bounded.starts_with(&"é".repeat(EXEC_OUTPUT_LIMIT / 2)));
        assert!(bounded.ends_with(&format!("… ({} more bytes not kept)", EXEC_OUTPUT_LIMIT)), "{bounded}");
        assert_eq!(bound_output("short"), "short");
    }
}
