//! Scenario files: the YAML a user writes, its typed model, loading with precise errors, and
//! validation against the topology. Nothing here starts containers.
mod model;
mod values;

pub use model::*;
pub use values::{Budget, Rate};
