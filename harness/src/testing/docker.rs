//! Whether the drills can run here: a bounded probe of the Docker engine, and what a trial that
//! needs it does when it does not answer.
//!
//! Without an engine a drill is never a pass:
//! - when tests are **listed** (`--list`, which nextest does before it runs anything), the
//!   drills are flagged ignored: nextest counts them as skipped (`--status-level skip` prints a
//!   `SKIP` line for each). Nextest shows no ignore reasons (nextest-rs/nextest#490) and no
//!   stderr of the listing, so one more skipped trial is named by the reason
//!   ([`reason_trial_name`]: `SKIP … docker-unavailable::no Docker engine; …`), and every drill
//!   that is run anyway (`--run-ignored`) fails with it;
//! - under `cargo test` (libtest-mimic runs the trials itself) each drill ends as ignored with the
//!   reason: `test drill::kill-primary ... ignored, no Docker engine: …`;
//! - with `PGDRILL_REQUIRE_DOCKER=1` (the CI workflow `pgdrill init` writes sets it) nothing is
//!   ignored and every drill fails with the reason: on CI a missing engine is a broken runner,
//!   not a reason to go green.
use std::sync::OnceLock;
use std::time::Duration;

use libtest_mimic::{Completion, Failed};

/// How long the probe waits for the engine to answer (`docker version` and a ping).
pub const PROBE_WITHIN: Duration = Duration::from_secs(5);

/// The environment variable that turns a missing Docker engine into failed drills.
pub const REQUIRE_DOCKER_ENV: &str = "PGDRILL_REQUIRE_DOCKER";

/// Why no Docker engine can be used here, or `None` when one answers. Probed once per process
/// (bounded by [`PROBE_WITHIN`]) and remembered.
pub fn unavailable() -> Option<String> {
    static PROBED: OnceLock<Option<String>> = OnceLock::new();
    PROBED.get_or_init(probe).clone()
}

fn probe() -> Option<String> {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return Some(format!("no Docker engine: failed to start an async runtime to ask for one: {e}")),
    };
    runtime.block_on(async {
        match tokio::time::timeout(PROBE_WITHIN, crate::runtime::Runtime::connect()).await {
            Ok(Ok(_)) => None,
            Ok(Err(e)) => Some(format!("no Docker engine: {}", with_causes(&e))),
            Err(_) => Some(format!("no Docker engine: it did not answer within {}s", PROBE_WITHIN.as_secs())),
        }
    })
}

/// The error and its causes on one line (bollard's cause says which socket it tried).
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(e) = cause {
        let said = e.to_string();
        if !text.contains(&said) {
            text.push_str(&format!(": {said}"));
        }
        cause = e.source();
    }
    text
}

/// The name of the skipped trial that carries `reason` into nextest's output (`SKIP …
/// docker-unavailable::no Docker engine; …`): its first line, with `: ` (which ends a name in
/// libtest's listing) written `; `.
pub fn reason_trial_name(reason: &str) -> String {
    let first = reason.lines().next().unwrap_or_default().trim();
    format!("docker-unavailable::{}", first.replace(": ", "; ").replace(':', ";"))
}

/// `PGDRILL_REQUIRE_DOCKER` is set to something other than `0` or empty.
pub fn required() -> bool {
    std::env::var(REQUIRE_DOCKER_ENV).is_ok_and(|v| !v.is_empty() && v != "0")
}

/// The process was started by cargo-nextest (to list or to run a test): it sets
/// `NEXTEST_RUN_ID` in both phases (since 0.9.138) and `NEXTEST` when it runs one.
pub fn under_nextest() -> bool {
    std::env::var_os("NEXTEST_RUN_ID").is_some() || std::env::var_os("NEXTEST").is_some()
}

/// Whether a trial needing Docker is flagged ignored in this process.
///
/// When tests are listed (nextest always lists first): without an engine, unless it is required.
/// When they are run: exactly when libtest was asked for the ignored ones (`--ignored`, which
/// nextest passes to run a test it listed as ignored), so the trial asked for is never filtered
/// out — an empty run exits 0, which nextest would count as a pass — and runs into
/// [`outcome_without_docker`]. A trial listed as not ignored is run unflagged: an engine gone
/// between listing and running fails it.
pub fn flag_ignored(unavailable: Option<&str>, args: &libtest_mimic::Arguments) -> bool {
    if args.list {
        unavailable.is_some() && !required()
    } else {
        args.ignored
    }
}

/// What a trial that needs Docker ends with when it is run and `reason` says there is none.
pub fn outcome_without_docker(reason: &str) -> Result<Completion, Failed> {
    without_docker(reason, required(), under_nextest())
}

/// [`outcome_without_docker`] with the environment read.
fn without_docker(reason: &str, required: bool, under_nextest: bool) -> Result<Completion, Failed> {
    if required {
        Err(format!("{reason} ({REQUIRE_DOCKER_ENV} is set: a drill without Docker fails)").into())
    } else if under_nextest {
        // Nextest counts an exit status of 0 as a pass: a drill that was listed as skipped and is
        // run anyway (`--run-ignored`) must fail, with the reason.
        Err(format!("{reason} (the drill was listed as skipped; run with a Docker engine)").into())
    } else {
        Ok(Completion::ignored_with(reason))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reason_trial_is_one_line_without_a_colon_and_space() {
        let name = reason_trial_name("no Docker engine: Socket not found: /x.sock\n  pgdrill starts real containers");
        assert_eq!(name, "docker-unavailable::no Docker engine; Socket not found; /x.sock");
    }

    #[test]
    fn without_docker_a_drill_is_never_a_pass() {
        let reason = "no Docker engine: socket not found";
        assert!(matches!(
            without_docker(reason, false, false),
            Ok(Completion::Ignored { reason: Some(r) }) if r == reason
        ));
        let required = without_docker(reason, true, false).err().expect("required: a failure");
        assert!(required.message().is_some_and(|m| m.contains(reason) && m.contains(REQUIRE_DOCKER_ENV)));
        let nextest = without_docker(reason, false, true).err().expect("nextest: a failure, not exit 0");
        assert!(nextest.message().is_some_and(|m| m.contains(reason)));
    }

    #[test]
    fn only_a_listing_flags_by_the_engine_and_a_run_by_what_was_asked() {
        let args =
            |argv: &[&str]| libtest_mimic::Arguments::from_iter(std::iter::once("t").chain(argv.iter().copied()));
        let none = Some("no Docker engine");
        // Assumes PGDRILL_REQUIRE_DOCKER is not set for the unit tests.
        if !required() {
            assert!(flag_ignored(none, &args(&["--list"])));
        }
        assert!(!flag_ignored(None, &args(&["--list"])));
        assert!(!flag_ignored(none, &args(&["--exact", "drill::x"])), "a run never skips by itself");
        assert!(flag_ignored(none, &args(&["--exact", "drill::x", "--ignored"])), "asked for: not filtered out");
    }
}
