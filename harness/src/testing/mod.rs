//! Scenario files as tests: one [`libtest_mimic::Trial`] per file of a folder, for a test target
//! with `harness = false` — what pgdrill's own `tests/scenarios.rs` runs, and what `pgdrill init`
//! writes into a user's repository.
//!
//! The whole `main` of `tests/drills.rs`, with `[[test]] name = "drills", harness = false` in
//! Cargo.toml:
//!
//! ```no_run
//! pgdrill::testing::Drills::new(concat!(env!("CARGO_MANIFEST_DIR"), "/drills")).run();
//! ```
//!
//! Each trial is named by its file (`drill::kill-primary` for `drills/kill-primary.yaml`) and
//! - fails at once, with the file's diagnostics, when the scenario does not load (no Docker
//!   needed: a typo is never a skip);
//! - otherwise runs the drill against real containers, tearing them down on SIGTERM (nextest's
//!   timeout) before it escalates, checks that nothing of the run is left in Docker, judges the
//!   written `report.json` again and fails on any verdict that differs from the run's, and fails
//!   on a failed verdict with the terminal summary;
//! - is reported as **ignored** (nextest: SKIP), never as passed, when no Docker engine answers
//!   ([`docker`] says how and where the reason shows). `PGDRILL_REQUIRE_DOCKER=1` (CI) makes a
//!   missing engine a failure instead.
//!
//! For a test of your own application, [`Cluster`] starts a scenario's topology, gives the DSN
//! your application should use, and runs the scenario's steps while it works.
//!
//! Stability: this module's names, the trial names (prefix + file stem) and the checks above
//! change only with a minor version bump of pgdrill, and then in the changelog.
//!
//! Must not: judge anything itself (verdicts are [`crate::check`]'s) or hold a run loop of its own
//! ([`crate::engine::run_scenario`] runs every drill).
pub mod docker;
mod drill;
mod drills;

pub use crate::engine::ClusterHandle as Cluster;
pub use drill::{expect_pass, run_drill, run_leftovers, DrillOptions};
pub use drills::{Check, Drills, DrillsError};
pub use libtest_mimic::{Arguments, Completion, Failed, Trial};
