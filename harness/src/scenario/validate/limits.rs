//! Values that parse but are absurd or are not what the JSON Schema says: quoted numbers and
//! booleans (serde reads `"3"` as 3, an editor's schema check does not), scenario names that
//! cannot name a report or be printed raw, budgets of years, even etcd clusters.
use std::collections::BTreeSet;
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::Value;

use super::{At, Checker};
use crate::scenario::fault_spec::fault_specs;
use crate::scenario::model::Scenario;
use crate::scenario::schema::scenario_json_schema;
use crate::scenario::snippet::shown;

/// The longest duration a scenario may write: a drill longer than a day is a mistake (and
/// `99999999999h` would overflow the clocks it is added to).
pub(super) const MAX_BUDGET: Duration = Duration::from_secs(24 * 3600);
/// Scenario names: report directories and test names are made of them.
pub const MAX_NAME_CHARS: usize = 64;
/// Descriptions are a few sentences for `pgdrill list`.
pub(super) const MAX_DESCRIPTION_CHARS: usize = 2000;

impl Checker<'_> {
    /// Scalars the file quotes where the JSON Schema wants a number or a boolean.
    pub(super) fn written_types(&mut self) {
        let Some(index) = &self.index else { return };
        let quoted: Vec<(String, String, &'static str)> = index
            .entries()
            .iter()
            .filter(|entry| entry.string && !is_fault_option(&entry.path))
            .filter_map(|entry| {
                let wanted = wanted_type(&schema_types(&entry.path))?;
                Some((entry.path.clone(), entry.scalar.clone().unwrap_or_default(), wanted))
            })
            .collect();
        for (path, text, wanted) in quoted {
            let key = path.rsplit('.').find(|s| s.parse::<usize>().is_err()).unwrap_or("value").to_owned();
            let text = shown(&text);
            self.report(
                &path,
                At::Value,
                format!("`{key}: \"{text}\"` is a string, but `{key}` takes {wanted}: write it without quotes"),
                format!("quoted; expected {wanted}"),
                Some(format!("quotes make a YAML value a string; write e.g. `{key}: {}`", example(wanted, &text))),
            );
        }
    }

    /// The scenario's name and description: what `pgdrill list` prints and reports are named by.
    pub(super) fn names(&mut self, scenario: &Scenario) {
        let name = &scenario.name;
        let chars = name.chars().count();
        let bad = name.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')));
        let why = if chars == 0 {
            Some("is empty".to_string())
        } else if chars > MAX_NAME_CHARS {
            Some(format!("has {chars} characters, more than {MAX_NAME_CHARS}"))
        } else if let Some(c) = bad {
            Some(format!("has `{}`, which a name may not contain", c.escape_default()))
        } else if name.starts_with(['.', '-']) {
            Some("starts with `.` or `-`".to_string())
        } else {
            None
        };
        if let Some(why) = why {
            self.report(
                "name",
                At::Value,
                format!("the name `{}` {why}", shown(name)),
                format!("1 to {MAX_NAME_CHARS} letters, digits, `-`, `_`, `.`"),
                Some(format!(
                    "a name is 1 to {MAX_NAME_CHARS} ASCII letters, digits, `-`, `_` and `.` (not first), e.g. \
                     `patroni-kill-primary`: reports and test names are made of it"
                )),
            );
        }
        let Some(description) = &scenario.description else { return };
        let control = description.chars().find(|c| c.is_control() && !matches!(c, '\n' | '\t'));
        let chars = description.chars().count();
        if chars > MAX_DESCRIPTION_CHARS || control.is_some() {
            let why = match control {
                Some(c) => format!("has the control character `{}`", c.escape_default()),
                None => format!("has {chars} characters, more than {MAX_DESCRIPTION_CHARS}"),
            };
            self.report(
                "description",
                At::Value,
                format!("the description {why}"),
                "not a short text",
                Some(format!(
                    "a description is up to {MAX_DESCRIPTION_CHARS} characters of text (line breaks and tabs \
                     allowed): `pgdrill list` prints it"
                )),
            );
        }
    }
}

/// A key a fault declares for itself (`steps.2.probability`, `chaos.faults.0.peers.member`):
/// its type is checked against that declaration, which says more than the schema.
fn is_fault_option(path: &str) -> bool {
    let segments: Vec<&str> = path.split('.').collect();
    let key = match segments.as_slice() {
        ["steps", _, key, ..] => key,
        ["chaos", "faults", _, key, ..] => key,
        _ => return false,
    };
    fault_specs().iter().any(|spec| spec.options().iter().any(|option| option.key == *key))
}

/// The real limit of the whole number at `path`, for a parse error that would otherwise quote
/// its Rust type (`members: 300` is "1 to 9", not "0 to 255").
pub(in crate::scenario) fn limit_of(path: &str) -> Option<String> {
    let segments: Vec<&str> = path.split('.').collect();
    let range =
        |range: &std::ops::RangeInclusive<u8>| format!("a whole number from {} to {}", range.start(), range.end());
    Some(match segments.as_slice() {
        ["topology", "members"] => range(&super::MEMBERS),
        ["topology", "etcd"] => "1, 3, 5 or 7".to_string(),
        ["topology", "groups", "coordinator"] | ["topology", "groups", "workers", _] => range(&super::GROUP_MEMBERS),
        ["topology", "patroni", "ttl"] => format!("a whole number, at least {}", super::MIN_TTL),
        ["topology", "patroni", "loop_wait"] => format!("a whole number, at least {}", super::MIN_LOOP_WAIT),
        ["topology", "patroni", "retry_timeout"] => format!("a whole number, at least {}", super::MIN_RETRY_TIMEOUT),
        ["topology", "pooler", "pool_size"] => {
            format!("a whole number from {} to {}", super::pooler::POOL_SIZE.start(), super::pooler::POOL_SIZE.end())
        }
        ["workload", "writers"] => format!("a whole number from 1 to {}", super::MAX_WRITERS),
        ["chaos", "count", "min" | "max"] => {
            format!("a whole number from 1 to {}", crate::scenario::chaos::MAX_CHAOS_FAULTS)
        }
        [.., "group"] => {
            format!("a group number: 0 (the coordinator) or a worker group 1 to {}", super::MAX_WORKER_GROUPS)
        }
        _ => return None,
    })
}

/// What a quoted scalar should have been, when the schema allows no string there.
fn wanted_type(types: &BTreeSet<&'static str>) -> Option<&'static str> {
    if types.is_empty() || types.contains("string") {
        return None;
    }
    if types.contains("integer") {
        Some("a whole number")
    } else if types.contains("number") {
        Some("a number")
    } else if types.contains("boolean") {
        Some("true or false")
    } else {
        None
    }
}

fn example(wanted: &str, text: &str) -> String {
    match wanted {
        "true or false" => if text.eq_ignore_ascii_case("false") { "false" } else { "true" }.to_string(),
        _ if text.trim().parse::<f64>().is_ok() => text.trim().to_string(),
        _ => "3".to_string(),
    }
}

/// The JSON types the schema allows at a dotted path of the file (`topology.members`:
/// `integer`); empty when the schema does not describe the path.
pub(super) fn schema_types(path: &str) -> BTreeSet<&'static str> {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    let schema = SCHEMA.get_or_init(scenario_json_schema);
    let segments: Vec<&str> = if path.is_empty() { Vec::new() } else { path.split('.').collect() };
    let mut types = BTreeSet::new();
    walk(schema, schema, &segments, &mut types, 0);
    types
}

fn walk(root: &'static Value, node: &'static Value, path: &[&str], types: &mut BTreeSet<&'static str>, depth: usize) {
    // The scenario schema nests a dozen levels; the bound only guards against a recursive $ref.
    if depth > 64 {
        return;
    }
    if let Some(reference) = node.get("$ref").and_then(Value::as_str) {
        if let Some(target) = reference.strip_prefix("#/").map(|p| p.split('/').fold(root, |v, key| &v[key])) {
            walk(root, target, path, types, depth + 1);
        }
    }
    for combinator in ["oneOf", "anyOf", "allOf"] {
        for branch in node.get(combinator).and_then(Value::as_array).into_iter().flatten() {
            walk(root, branch, path, types, depth + 1);
        }
    }
    let Some((first, rest)) = path.split_first() else {
        match node.get("type") {
            Some(Value::String(name)) => {
                types.insert(name.as_str());
            }
            Some(Value::Array(names)) => types.extend(names.iter().filter_map(Value::as_str)),
            _ => {}
        }
        if node.get("enum").is_some() || node.get("const").is_some_and(Value::is_string) {
            types.insert("string");
        }
        return;
    };
    if let Some(property) = node.get("properties").and_then(|p| p.get(*first)) {
        walk(root, property, rest, types, depth + 1);
    } else if let (Some(items), true) = (node.get("items"), first.parse::<usize>().is_ok()) {
        walk(root, items, rest, types, depth + 1);
    } else if let Some(additional) = node.get("additionalProperties").filter(|a| a.is_object()) {
        walk(root, additional, rest, types, depth + 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_says_what_each_path_takes() {
        let types = |path| schema_types(path).into_iter().collect::<Vec<_>>();
        assert_eq!(types("topology.members"), ["integer"]);
        assert_eq!(types("topology.patroni.synchronous_mode"), ["boolean"]);
        assert_eq!(types("name"), ["string"]);
        assert!(types("steps.3.expect.0.timeline.increments").contains(&"integer"));
        assert!(types("steps.0.target.group").contains(&"integer"));
        assert!(types("steps.0.expect.0.alert.labels.group").contains(&"string"));
        assert_eq!(types("nonsense.path"), Vec::<&str>::new());
    }
}
