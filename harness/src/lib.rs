//! pgdrill: failover and chaos drills for Patroni clusters, against real containers.
//!
//! A run: [`scenario`] (parse, validate) → [`topology`] (container specs) → [`runtime`]
//! (Docker) → [`engine`] drives steps: [`fault`]s act, [`observe`]rs and the [`workload`]
//! record on the [`timeline`] → [`check`]s judge it → [`report`]s show it.
//! Observers and the workload reach PostgreSQL through [`pg`]. [`testing`] runs a folder of
//! scenario files as tests, one per file (a `harness = false` test target); [`init`] scaffolds
//! such a target, with starter drills, in a user's repository.
#![warn(missing_docs)]

pub mod chaos;
pub mod check;
pub mod cli;
pub mod cluster;
pub mod compose;
pub mod engine;
pub mod fault;
pub mod init;
pub mod monitoring;
pub mod observe;
pub mod pg;
pub mod report;
pub mod runtime;
pub mod scenario;
pub mod testing;
pub mod timeline;
pub mod topology;
pub mod wait;
pub mod workload;
