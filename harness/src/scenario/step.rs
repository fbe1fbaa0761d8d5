//! One step of a scenario as written. The keys every step may have are typed here; the keys a
//! fault takes beyond `target`, `group` and `duration` (`peers`, `probability`, `cpus`, …) are
//! declared by the fault itself ([`FaultSpec::options`](super::FaultSpec::options)) and kept as
//! written, to be checked by `validate` against that declaration with the file's positions.
use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_saphyr::Spanned;

use super::exec::ExecStep;
use super::expect::Expectation;
use super::fault_spec::{fault_specs, FaultName, OptionKind};
use super::target::Target;
use super::values::Budget;

/// Keys a step holds for its fault, as written (checked by `validate`).
pub type FaultOptions = BTreeMap<String, serde_json::Value>;

/// One step as written: exactly one of `wait`, `fault`, `expect`, `sleep` or `exec` must be set
/// (checked by `validate`).
#[derive(Debug, Clone, Default)]
pub struct Step {
    /// Wait for a condition, bounded by `within`.
    pub wait: Option<WaitFor>,
    /// Apply a fault to `target` (or `heal`).
    pub fault: Option<FaultName>,
    /// Who the fault hits (resolved when the step runs).
    pub target: Option<Spanned<Target>>,
    /// Citus: the group `target` and target options are resolved in (0 = coordinator); on an
    /// expect step, the group its expectations look at (default: the group of the most recent
    /// fault).
    pub group: Option<Spanned<u32>>,
    /// Expectations measured from the most recent fault step before this one.
    pub expect: Option<Vec<Spanned<Expectation>>>,
    /// Undo the fault automatically after this long (otherwise a `heal` step or the end of the
    /// run undoes it).
    pub duration: Option<Budget>,
    /// Do nothing for this long (the workload keeps running).
    pub sleep: Option<Budget>,
    /// Bound for `wait`.
    pub within: Option<Budget>,
    /// Run a command inside a container (a runbook step), retried until it answers as expected.
    pub exec: Option<ExecStep>,
    /// Every other key: the fault's own options (`peers`, `probability`, …), or mistakes.
    pub options: FaultOptions,
}

impl Step {
    /// A fault option parsed as `T` (validated already, so `None` means absent).
    pub fn option<T: serde::de::DeserializeOwned>(&self, key: &str) -> Option<T> {
        option_value(&self.options, key)
    }
}

/// An option of `options` parsed as `T`; `None` when absent or not a `T`.
pub fn option_value<T: serde::de::DeserializeOwned>(options: &FaultOptions, key: &str) -> Option<T> {
    options.get(key).and_then(|value| serde_json::from_value(value.clone()).ok())
}

/// Conditions a `wait` step can wait for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WaitFor {
    /// Every member reachable, exactly one running primary, every other member a running or
    /// streaming replica, and the primary accepting writes through HAProxy.
    Healthy,
}

impl<'de> Deserialize<'de> for Step {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(StepVisitor)
    }
}

struct StepVisitor;

impl<'de> Visitor<'de> for StepVisitor {
    type Value = Step;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a step: a mapping with one of wait, fault, expect, sleep or exec")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Step, A::Error> {
        let mut step = Step::default();
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "wait" => step.wait = Some(map.next_value()?),
                "fault" => step.fault = Some(map.next_value()?),
                "target" => step.target = Some(map.next_value()?),
                "group" => step.group = Some(map.next_value()?),
                "expect" => step.expect = Some(map.next_value()?),
                "duration" => step.duration = Some(map.next_value()?),
                "sleep" => step.sleep = Some(map.next_value()?),
                "within" => step.within = Some(map.next_value()?),
                "exec" => step.exec = Some(map.next_value()?),
                _ => {
                    let value: serde_json::Value = map.next_value()?;
                    step.options.insert(key, value);
                }
            }
        }
        Ok(step)
    }
}

impl Serialize for Step {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        if let Some(wait) = &self.wait {
            map.serialize_entry("wait", wait)?;
        }
        if let Some(fault) = &self.fault {
            map.serialize_entry("fault", fault)?;
        }
        if let Some(target) = &self.target {
            map.serialize_entry("target", &target.value)?;
        }
        if let Some(group) = &self.group {
            map.serialize_entry("group", &group.value)?;
        }
        if let Some(expect) = &self.expect {
            let expect: Vec<&Expectation> = expect.iter().map(|e| &e.value).collect();
            map.serialize_entry("expect", &expect)?;
        }
        for (key, value) in [("duration", &self.duration), ("sleep", &self.sleep), ("within", &self.within)] {
            if let Some(value) = value {
                map.serialize_entry(key, value)?;
            }
        }
        if let Some(exec) = &self.exec {
            map.serialize_entry("exec", exec)?;
        }
        for (key, value) in &self.options {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

/// The keys every step may have, for the JSON Schema (the faults add theirs).
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct StepKeys {
    /// Wait for a condition, bounded by `within`.
    wait: Option<WaitFor>,
    /// Apply a fault to `target`.
    fault: Option<FaultName>,
    /// Who the fault hits (resolved when the step runs).
    target: Option<Target>,
    /// Citus: the group `target` and target options are resolved in (0 = coordinator); on an
    /// expect step, the group its expectations look at.
    group: Option<u32>,
    /// Expectations measured from the most recent fault step before this one.
    expect: Option<Vec<Expectation>>,
    /// Undo the fault automatically after this long.
    duration: Option<Budget>,
    /// Do nothing for this long (the workload keeps running).
    sleep: Option<Budget>,
    /// Bound for `wait`.
    within: Option<Budget>,
    /// Run a command inside a container (a runbook step), retried until it answers as expected.
    exec: Option<ExecStep>,
}

impl JsonSchema for Step {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Step".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let mut schema = StepKeys::json_schema(generator);
        let mut extra = serde_json::Map::new();
        for spec in fault_specs() {
            for option in spec.options() {
                let entry = extra.entry(option.key).or_insert_with(|| {
                    let mut sub = option_schema(option.kind, generator).to_value();
                    sub["description"] = serde_json::Value::String(String::new());
                    sub
                });
                let doc = format!("`{}`: {}", spec.name(), option.doc);
                let description = entry["description"].as_str().unwrap_or_default().to_string();
                entry["description"] = serde_json::Value::String(if description.is_empty() {
                    doc
                } else {
                    format!("{description}\n{doc}")
                });
            }
        }
        if let Some(properties) = schema.get_mut("properties").and_then(|p| p.as_object_mut()) {
            properties.extend(extra);
        }
        schema
    }
}

fn option_schema(kind: OptionKind, generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
    match kind {
        OptionKind::Target => generator.subschema_for::<Target>(),
        OptionKind::Bool => schemars::json_schema!({"type": "boolean"}),
        OptionKind::Duration => generator.subschema_for::<Budget>(),
        OptionKind::Number { above, max, max_inclusive } => {
            let mut schema = schemars::json_schema!({"type": "number", "exclusiveMinimum": above});
            let bound = if max_inclusive { "maximum" } else { "exclusiveMaximum" };
            schema.insert(bound.into(), max.into());
            schema
        }
        OptionKind::Count { max } => schemars::json_schema!({"type": "integer", "minimum": 1, "maximum": max}),
        OptionKind::Choice(words) => schemars::json_schema!({"type": "string", "enum": words}),
        OptionKind::Regex => schemars::json_schema!({"type": "string", "format": "regex"}),
    }
}
