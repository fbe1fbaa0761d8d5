//! Scenario files: the YAML a user writes, its typed model, loading with precise errors, and
//! validation against the topology. Nothing here starts containers.
mod chaos;
mod config_value;
mod error;
mod exec;
mod expect;
mod fault_spec;
mod load;
mod model;
mod pooler;
mod schema;
mod snippet;
mod source;
mod step;
mod target;
mod user_patroni;
mod validate;
mod values;

#[cfg(test)]
mod bad_input_tests;
#[cfg(test)]
mod mutation_tests;
#[cfg(test)]
mod patroni_config_tests;
#[cfg(test)]
mod unknown_keys_tests;

pub use chaos::{chaos_faults, Chaos, ChaosFault, ChaosInvariant, CountRange, DurationRange, MAX_CHAOS_FAULTS};
pub use config_value::{ConfigValue, Scalar, ScalarKind, REDACTED};
pub use error::{Problem, ScenarioError, ScenarioErrorKind, MAX_SHOWN_PROBLEMS};
pub use exec::{command_line, ExecStep};
pub use expect::{AlertExpect, AlertSourceName, Expectation, Invariant};
pub use fault_spec::{
    fault_spec, fault_specs, option_regex, ActsOn, Ends, FaultName, FaultSpec, Lasting, OnOffPair, OptionKind,
    OptionProblem, OptionSpec, RegisteredFaultSpec, TargetRule, CLIENTS, COMMON_FAULT_KEYS, UNSUPPORTED_FAULTS,
};
pub use load::{load_scenario, load_scenario_with, parse_scenario, parse_scenario_with, LoadOptions};
pub use model::*;
pub use pooler::{PoolMode, Pooler};
pub use schema::scenario_json_schema;
pub use source::LoadedScenario;
pub use step::{option_value, FaultOptions, Step, WaitFor};
pub use target::Target;
pub use user_patroni::SHORT_KEYS;
pub use validate::{resolve_rule_path, rule_root, validate, validate_with, MAX_NAME_CHARS};
pub use values::{variant_name, Budget, Rate};
