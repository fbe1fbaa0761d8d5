//! The lane registry: the lane types in drawing order. A new kind of lane is one function
//! `fn(&Ctx) -> Vec<Lane>` in its own file and one entry here.
use super::alert_lanes::alert_lanes;
use super::citus_lanes::dist_node_lanes;
use super::ctx::Ctx;
use super::geometry::Lane;
use super::member_lanes::member_lanes;
use super::pooler_lanes::pooler_lanes;
use super::run_lanes::{fault_lanes, phase_lanes, step_lanes};
use super::workload_lanes::workload_lanes;

/// The lane types, top to bottom. A new kind of lane is one function here.
pub(super) const LANE_TYPES: &[fn(&Ctx<'_>) -> Vec<Lane>] =
    &[phase_lanes, step_lanes, fault_lanes, member_lanes, dist_node_lanes, workload_lanes, pooler_lanes, alert_lanes];
