//! Faults: each family in `kinds/` declares, acts, proves and undoes itself behind the
//! [`Fault`] trait, acting only through an [`Executor`]; targets are resolved from what the
//! observers last saw. Faults never read the observers' internals beyond the live view.
mod action_log;
mod apply;
mod audit;
mod command;
mod container;
mod docker;
mod error;
pub mod executor;
mod iptables;
mod kind;
pub mod link_proxy;
mod process;
pub mod rest;
mod target;

/// The fault families, one file each (every file in `kinds/` is a module; each registers itself).
mod kinds {
    automod::dir!("src/fault/kinds");
}

/// For the fault families' option tests: a scenario whose second step is `fault` on `target`
/// with `options` (indented lines, as a scenario writes them).
#[cfg(test)]
fn fault_scenario(fault: &str, target: &str, options: &str) -> String {
    indoc::formatdoc! {"
        name: x
        topology: {{kind: patroni, members: 3}}
        steps:
          - wait: healthy
            within: 60s
          - fault: {fault}
            target: {target}
        {options}"
    }
}

/// For the fault families' option tests: `yaml` parses, or fails with a message containing
/// `problem`.
#[cfg(test)]
fn assert_validation(yaml: &str, problem: Option<&str>) {
    match (crate::scenario::parse_scenario("x.yaml", yaml), problem) {
        (Ok(_), None) => {}
        (Err(error), Some(problem)) => {
            let text = error.to_string();
            assert!(text.contains(problem), "expected `{problem}` in: {text}");
        }
        (Ok(_), Some(problem)) => panic!("expected `{problem}`, but the scenario is valid"),
        (Err(error), None) => panic!("expected a valid scenario: {error}"),
    }
}

pub use action_log::ActionLog;
pub use apply::{apply, undo, FaultContext};
pub use audit::audit_leftovers;
pub use command::{parse_state, quote_words, CommandConfig, CommandExecutor, CommandMember};
pub use container::{verify_state, ContainerCondition};
pub use docker::DockerExecutor;
pub use error::FaultError;
pub use executor::{CommandOutput, ContainerState, Executor, ExecutorError, Operation};
pub use kind::{all_faults, fault_by_name, ActiveFault, Applied, Fault, FaultCx, FaultRequest, RegisteredFault};
pub use link_proxy::LinkProxies;
pub use rest::RestAuth;
pub use target::{Resolver, TargetMemory};
