//! Randomised chaos schedules (`pgdrill chaos`): proptest draws fault schedules from a
//! scenario's `chaos:` section, each schedule runs as a plain scenario (on the cluster the case
//! before left clean, else a fresh one), and the first failing schedule is shrunk (fewer faults,
//! shorter durations) by running the smaller ones, ending in a replay file that `pgdrill run`
//! plays back without randomness.
//!
//! Nothing here talks to Docker except [`EngineRunner`], which hands each case to the engine.
mod convert;
mod explore;
mod report;
mod runner;
mod schedule;
mod yaml;

pub use convert::{plan_case, CasePlan, Provenance};
pub use explore::{
    explore, Case, CaseOutcome, CaseRecord, CaseRun, CaseRunner, Exploration, ExploreOptions, Phase, SearchOutcome,
};
pub use report::{
    render_chaos_summary, write_chaos_report, ChaosReport, WriteError, CHAOS_REPORT_FILE, CHAOS_SCHEMA_VERSION,
    MINIMAL_FILE,
};
pub use runner::{judge, EngineRunner};
pub use schedule::{schedule_strategy, Schedule, ScheduledFault};
