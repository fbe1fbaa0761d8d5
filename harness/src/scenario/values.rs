//! Typed scalar values of scenario files: budgets (durations) and rates.
use std::fmt;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A time budget written like `45s`, `500ms`, `2m`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Budget(pub Duration);

impl Budget {
    /// The budget in milliseconds.
    pub fn as_millis(&self) -> u64 {
        self.0.as_millis() as u64
    }
}

impl fmt::Display for Budget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", humantime::format_duration(self.0))
    }
}

impl<'de> Deserialize<'de> for Budget {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        humantime::parse_duration(text.trim()).map(Budget).map_err(|e| {
            serde::de::Error::custom(format!(
                "invalid duration `{text}`: {e}; write a number with a unit, e.g. 500ms, 45s, 2m"
            ))
        })
    }
}

impl Serialize for Budget {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl JsonSchema for Budget {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Duration".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": r"^\s*[0-9]+(\.[0-9]+)?\s*(ms|s|m|h)(\s*[0-9]+\s*(ms|s|m|h))*\s*$",
            "description": "A duration with a unit, e.g. 500ms, 45s, 2m, 1m 30s",
            "examples": ["45s", "500ms", "2m"]
        })
    }
}

/// An operation rate written like `100/s` or `6000/m`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    /// Operations per second.
    pub per_second: f64,
}

impl Rate {
    /// A rate of `n` per second.
    pub fn per_second(n: u32) -> Self {
        Self { per_second: f64::from(n) }
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/s", self.per_second)
    }
}

fn parse_rate(text: &str) -> Result<Rate, String> {
    let (count, unit) = text
        .trim()
        .split_once('/')
        .ok_or_else(|| format!("invalid rate `{text}`: write a count per unit, e.g. 100/s or 600/m"))?;
    let count: f64 = count.trim().parse().map_err(|_| format!("invalid rate `{text}`: `{count}` is not a number"))?;
    let seconds = match unit.trim() {
        "s" => 1.0,
        "m" => 60.0,
        other => return Err(format!("invalid rate unit `{other}` in `{text}`: allowed units are s and m")),
    };
    if !(count > 0.0 && count.is_finite()) {
        return Err(format!("invalid rate `{text}`: the count must be positive"));
    }
    Ok(Rate { per_second: count / seconds })
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        parse_rate(&text).map_err(serde::de::Error::custom)
    }
}

impl Serialize for Rate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl JsonSchema for Rate {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Rate".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": r"^\s*[0-9]+(\.[0-9]+)?\s*/\s*(s|m)\s*$",
            "description": "Operations per second or minute, e.g. 100/s",
            "examples": ["100/s"]
        })
    }
}

/// The name a scenario file uses for an enum value: `kill_postgres` for a unit variant, the key
/// of `{new_leader: {...}}` for a variant with data.
pub fn variant_name<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => name,
        Ok(serde_json::Value::Object(map)) => map.keys().next().cloned().unwrap_or_default(),
        _ => String::new(),
    }
}
