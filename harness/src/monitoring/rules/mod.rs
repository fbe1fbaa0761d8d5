//! Alert rule files: read a Prometheus rule file (`groups:`) or a Kubernetes PrometheusRule
//! manifest (its `spec.groups`), list the alerts with where they are defined, compress their
//! time (`for_scale`) and write them back as a plain rule file for the Prometheus container.
//!
//! Parsing is as strict as Prometheus's own (unknown keys are errors) so that a rule file that
//! loads here also loads there, and errors point at the user's `file:line:col`. What an
//! expression means is promtool's business (`promtool`), not this module's.
mod model;
mod parse;
mod render;
mod scale;

#[cfg(test)]
mod tests;

pub use model::{AlertRule, Rule, RuleFile, RuleFileFormat, RuleGroup, RuleKind};
pub use parse::{load_rule_file, parse_rule_file};
pub use scale::{ScaleOptions, ScaledField, ScaledValue};
