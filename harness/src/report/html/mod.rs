//! The HTML sink: `report.html`, one self-contained page (inline CSS and SVG, no script, nothing
//! fetched) to open from a CI artefact: the run's header, the verdict table and a timeline drawn
//! from the report's events. Like every sink it only reads the report; it never judges.
//!
//! The timeline is a stack of lanes on one time axis ([`geometry`], laid out by [`svg`]). Each
//! lane type is one function `fn(&Ctx) -> Vec<Lane>` listed in [`lanes::LANE_TYPES`], so a new
//! kind of lane is one function and one entry there: phases, steps and faults ([`run_lanes`]),
//! members grouped by Citus group when the members are Citus ones ([`member_lanes`]),
//! pg_dist_node per Citus group with Patroni's pg_dist_node transactions ([`citus_lanes`]), the
//! workload, also per worker group when writes carry one ([`workload_lanes`]) and alerts
//! ([`alert_lanes`]). Below the timeline, the alert coverage matrix of a run with monitoring
//! ([`coverage`]). Page size stays bounded for long runs: writes are aggregated into 500 ms
//! buckets, a lane draws at most one span per pixel, alert lanes and the event log are capped.
mod alert_lanes;
mod citus_lanes;
mod coverage;
mod ctx;
mod format;
mod geometry;
mod lanes;
mod member_lanes;
mod page;
mod pooler_lanes;
mod run_lanes;
mod style;
mod suite;
mod svg;
mod workload_lanes;

#[cfg(test)]
mod tests;

pub use page::{render_html, write_html, HTML_FILE};
pub use suite::{render_suite_index, SuiteRun};
