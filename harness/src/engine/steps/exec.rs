//! Running an `exec` step: the command goes through the fault layer's executor (never Docker
//! directly), in the container its target resolves to when each attempt starts, and is repeated
//! until it answers as expected or `within` runs out. The last attempt is recorded on the
//! timeline, where `check::exec` judges it; a wrong answer fails that check, not the run.
use std::sync::Mutex;
use std::time::Duration;

use super::StepDriver;
use crate::check::{answer_holds, bound_output, exec, ExecRecord};
use crate::scenario::{ExecStep, Scenario};
use crate::timeline::EventKind;
use crate::wait::{poll_until, Probe};

/// Pause between attempts (a runbook step usually waits for Patroni's next HA loop).
const RETRY_EVERY: Duration = Duration::from_secs(1);

/// One run of the command.
#[derive(Debug, Clone, Default)]
struct Attempt {
    container: String,
    exit_code: Option<i64>,
    output: String,
    error: Option<String>,
}

impl Attempt {
    /// What it answered, in a few words, for the wait's "last seen".
    fn summary(&self) -> String {
        let head = self.output.trim().lines().next().unwrap_or_default();
        match (&self.error, self.exit_code) {
            (Some(error), _) => error.clone(),
            (None, Some(code)) => format!("{}: exit {code}: {head}", self.container),
            (None, None) => format!("{}: no exit code", self.container),
        }
    }
}

impl StepDriver<'_> {
    /// Runs step `index`'s command until it answers as `spec` expects or `within` runs out,
    /// records the last attempt and returns the `exec` verdict as the step's detail.
    pub(super) async fn run_exec(
        &mut self,
        index: usize,
        spec: &ExecStep,
        group: Option<u32>,
        scenario: &Scenario,
    ) -> String {
        let started_at = self.timeline.now();
        let attempts = Mutex::new(0u32);
        let last: Mutex<Option<(u32, Attempt)>> = Mutex::new(None);
        let what = format!("`{}` to answer as expected", spec.command_line());
        let (this, attempts_ref, last_ref) = (&*self, &attempts, &last);
        let outcome = poll_until(&what, spec.within.0, RETRY_EVERY, move || async move {
            let number = {
                let mut n = attempts_ref.lock().expect("exec attempts lock");
                *n += 1;
                *n
            };
            let attempt = this.exec_once(spec, group, scenario).await;
            let holds = attempt.error.is_none() && answer_holds(spec, attempt.exit_code, &attempt.output);
            let summary = attempt.summary();
            *last_ref.lock().expect("exec attempt lock") = Some((number, attempt));
            if holds {
                Probe::Done(())
            } else {
                Probe::NotYet(summary)
            }
        })
        .await;
        let attempts = attempts.into_inner().expect("exec attempts lock");
        let last = last.into_inner().expect("exec attempt lock");
        let attempt = match (outcome, last) {
            (Ok(()), Some((_, attempt))) => attempt,
            // Every attempt ended: the last one's answer is the verdict's evidence.
            (Err(_), Some((number, attempt))) if number == attempts => attempt,
            // The last attempt was still running when `within` ran out.
            (Err(timeout), last) => Attempt {
                container: last.map(|(_, a)| a.container).unwrap_or_default(),
                error: Some(timeout.to_string()),
                ..Attempt::default()
            },
            (Ok(()), None) => unreachable!("a finished wait had an attempt"),
        };
        let kind = EventKind::Exec {
            step: index,
            container: attempt.container,
            command: spec.command.clone(),
            started_at,
            attempts,
            exit_code: attempt.exit_code,
            output: attempt.output,
            error: attempt.error,
        };
        let at = self.timeline.record(kind.clone());
        let record = ExecRecord::from_event(at, &kind).expect("an exec event");
        let verdict = exec(spec, &record);
        let status = format!("{:?}", verdict.status).to_lowercase();
        format!("{} {status}: {}", verdict.check, verdict.observed)
    }

    /// One attempt: resolve the target now (the primary may have moved), run the command.
    async fn exec_once(&self, spec: &ExecStep, group: Option<u32>, scenario: &Scenario) -> Attempt {
        let container = match self.resolve(&spec.target, scenario, group).await {
            Ok(targets) => targets.into_iter().next(),
            Err(reason) => {
                return Attempt { error: Some(format!("cannot resolve the target: {reason}")), ..Attempt::default() }
            }
        };
        let Some(container) = container else {
            return Attempt { error: Some("the target names no container".into()), ..Attempt::default() };
        };
        let command: Vec<&str> = spec.command.iter().map(String::as_str).collect();
        match self.faults.executor.exec(&container, &command).await {
            Ok(out) => Attempt { container, exit_code: Some(out.code), output: bound_output(&out.output), error: None },
            Err(e) => Attempt { container, error: Some(e.to_string()), ..Attempt::default() },
        }
    }
}
