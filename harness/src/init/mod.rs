//! `pgdrill init`: scaffolds drills in a user's repository — starter scenarios in `drills/`
//! (their rule file wired in), a `harness = false` test target running them through
//! [`crate::testing`], `.config/nextest.toml` with a Docker test group and a `ci` profile with
//! JUnit, and a CI workflow.
//!
//! The contents come from the files of `harness/templates/init/` (embedded with `include_str!`);
//! [`plan`] decides every file's contents without touching the disk beyond reading, and
//! [`Scaffold::write`] writes them, creating files that do not exist and never overwriting one.
//!
//! Must not: run drills or call Docker.
mod manifest;
mod paths;
mod plan;
mod templates;

pub use plan::{plan, Change, Dependency, InitError, InitOptions, Scaffold};
