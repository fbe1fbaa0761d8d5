//! Scenario files: the YAML a user writes, its typed model, loading with precise errors, and
//! validation against the topology. Nothing here starts containers.
mod chaos;
mod error;
mod load;
mod model;
mod schema;
mod validate;
mod values;

#[cfg(test)]
mod unknown_keys_tests;

pub use chaos::{Chaos, ChaosFault, ChaosInvariant, CountRange, DurationRange, CHAOS_FAULTS, MAX_CHAOS_FAULTS};
pub use error::{Problem, ScenarioError, ScenarioErrorKind};
pub use load::{load_scenario, parse_scenario, LoadedScenario};
pub use model::*;
pub use schema::scenario_json_schema;
pub(crate) use validate::fault_is_undoable;
pub use validate::validate;
pub use values::{variant_name, Budget, Rate};
