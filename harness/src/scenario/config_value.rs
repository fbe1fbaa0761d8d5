//! A YAML value of the users' own Patroni configuration, kept in file order: parsed from their
//! patroni.yml or from the scenario's inline keys, merged the way Patroni merges configuration
//! files (mappings key by key, anything else replaced), and written back as Patroni's YAML. Only
//! data: what a key means is decided in `validate/patroni_config.rs` and `topology/configs.rs`.
use schemars::JsonSchema;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Serialize, Serializer};

/// One YAML node: a scalar with the kind YAML read it as, a list, or a mapping in file order.
#[derive(Debug, Clone, PartialEq)]
pub enum ConfigValue {
    /// A scalar, as written.
    Scalar(Scalar),
    /// A sequence.
    List(Vec<ConfigValue>),
    /// A mapping, keys in file order (Patroni reads them unordered; order only keeps the written
    /// file readable).
    Map(Vec<(String, ConfigValue)>),
}

/// A scalar's text and the type YAML gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scalar {
    /// The value's text (`20`, `on`, `128MB`; empty for null).
    pub text: String,
    /// What YAML read it as.
    pub kind: ScalarKind,
}

/// The type of a scalar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScalarKind {
    /// A string (quoted, or plain text that is no number, boolean or null).
    Str,
    /// A whole number.
    Int,
    /// A number with a fraction.
    Float,
    /// `true` or `false`.
    Bool,
    /// `null` or nothing.
    Null,
}

impl Default for ConfigValue {
    fn default() -> Self {
        Self::Map(Vec::new())
    }
}

impl ConfigValue {
    /// A string scalar.
    pub fn str(text: impl Into<String>) -> Self {
        Self::Scalar(Scalar { text: text.into(), kind: ScalarKind::Str })
    }

    /// A whole-number scalar.
    pub fn int(n: impl Into<i128>) -> Self {
        Self::Scalar(Scalar { text: n.into().to_string(), kind: ScalarKind::Int })
    }

    /// A boolean scalar.
    pub fn bool(b: bool) -> Self {
        Self::Scalar(Scalar { text: b.to_string(), kind: ScalarKind::Bool })
    }

    /// The value at `key` of a mapping.
    pub fn get(&self, key: &str) -> Option<&ConfigValue> {
        match self {
            Self::Map(pairs) => pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The value at a dotted `path` (`bootstrap.dcs`).
    pub fn at(&self, path: &str) -> Option<&ConfigValue> {
        path.split('.').try_fold(self, |value, key| value.get(key))
    }

    /// The mapping's pairs (empty for anything else).
    pub fn pairs(&self) -> &[(String, ConfigValue)] {
        match self {
            Self::Map(pairs) => pairs,
            _ => &[],
        }
    }

    /// Whether this is an empty mapping (or not a mapping at all).
    pub fn is_empty_map(&self) -> bool {
        self.pairs().is_empty()
    }

    /// Sets `key` of a mapping: in place when present, else appended (a non-mapping becomes one).
    pub fn set(&mut self, key: &str, value: ConfigValue) {
        if !matches!(self, Self::Map(_)) {
            *self = Self::Map(Vec::new());
        }
        let Self::Map(pairs) = self else { unreachable!("made a mapping above") };
        match pairs.iter_mut().find(|(k, _)| k == key) {
            Some((_, slot)) => *slot = value,
            None => pairs.push((key.to_owned(), value)),
        }
    }

    /// Removes `key` from a mapping, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<ConfigValue> {
        let Self::Map(pairs) = self else { return None };
        let i = pairs.iter().position(|(k, _)| k == key)?;
        Some(pairs.remove(i).1)
    }

    /// Merges `over` into `self` as Patroni merges its configuration files (`patch_config`):
    /// mappings key by key, recursively; any other value of `over` replaces `self`'s.
    pub fn merge(&mut self, over: &ConfigValue) {
        match (self, over) {
            (this @ Self::Map(_), Self::Map(pairs)) => {
                for (key, value) in pairs {
                    let Self::Map(mine) = this else { unreachable!("matched a mapping") };
                    match mine.iter_mut().find(|(k, _)| k == key) {
                        Some((_, slot)) => slot.merge(value),
                        None => mine.push((key.clone(), value.clone())),
                    }
                }
            }
            (this, other) => *this = other.clone(),
        }
    }

    /// A boolean scalar's value.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Self::Scalar(Scalar { text, kind: ScalarKind::Bool }) => text.parse().ok(),
            _ => None,
        }
    }

    /// A whole number's value.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Self::Scalar(Scalar { text, kind: ScalarKind::Int }) => text.parse().ok(),
            _ => None,
        }
    }

    /// A string scalar's text.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::Scalar(Scalar { text, kind: ScalarKind::Str }) => Some(text),
            _ => None,
        }
    }

    /// Whether the value is a scalar (of any kind).
    pub fn is_scalar(&self) -> bool {
        matches!(self, Self::Scalar(_))
    }

    /// The value as YAML lines of a block mapping's or sequence's body, each indented by
    /// `indent` spaces. Strings are single-quoted: Patroni reads YAML 1.1, where a bare `on`
    /// would be a boolean.
    pub fn yaml_lines(&self, indent: usize) -> Vec<String> {
        let pad = " ".repeat(indent);
        let mut lines = Vec::new();
        match self {
            Self::Map(pairs) => {
                for (key, value) in pairs {
                    match value {
                        Self::Scalar(s) => lines.push(format!("{pad}{}: {}", yaml_key(key), scalar_yaml(s))),
                        Self::Map(p) if p.is_empty() => lines.push(format!("{pad}{}: {{}}", yaml_key(key))),
                        Self::List(l) if l.is_empty() => lines.push(format!("{pad}{}: []", yaml_key(key))),
                        nested => {
                            lines.push(format!("{pad}{}:", yaml_key(key)));
                            lines.extend(nested.yaml_lines(indent + 2));
                        }
                    }
                }
            }
            Self::List(items) => {
                for item in items {
                    match item {
                        Self::Scalar(s) => lines.push(format!("{pad}- {}", scalar_yaml(s))),
                        nested => {
                            let inner = nested.yaml_lines(indent + 2);
                            if let Some((first, rest)) = inner.split_first() {
                                lines.push(format!("{pad}- {}", first.trim_start()));
                                lines.extend(rest.iter().cloned());
                            } else {
                                lines.push(format!("{pad}- {{}}"));
                            }
                        }
                    }
                }
            }
            Self::Scalar(s) => lines.push(format!("{pad}{}", scalar_yaml(s))),
        }
        lines
    }

    /// The value with every secret-looking entry replaced by `<redacted>`: values of keys
    /// naming a password, secret, token or passphrase, and `password=…` in connection strings.
    pub fn redacted(&self) -> ConfigValue {
        match self {
            Self::Map(pairs) => Self::Map(
                pairs
                    .iter()
                    .map(|(key, value)| {
                        let lower = key.to_lowercase();
                        let secret = SECRET_WORDS.iter().any(|word| lower.contains(word))
                            && !NOT_SECRET.contains(&lower.as_str());
                        (key.clone(), if secret && value.is_scalar() { Self::str(REDACTED) } else { value.redacted() })
                    })
                    .collect(),
            ),
            Self::List(items) => Self::List(items.iter().map(Self::redacted).collect()),
            Self::Scalar(Scalar { text, kind: ScalarKind::Str }) => Self::str(redact_conninfo(text)),
            scalar => scalar.clone(),
        }
    }
}

/// What a redacted value reads as.
pub const REDACTED: &str = "<redacted>";
const SECRET_WORDS: [&str; 5] = ["password", "passwd", "secret", "token", "passphrase"];
/// Keys with those words whose values are settings, not secrets (PostgreSQL's hashing method).
const NOT_SECRET: [&str; 1] = ["password_encryption"];

/// `host=a password=x user=b` → `host=a password=<redacted> user=b`.
fn redact_conninfo(text: &str) -> String {
    if !text.to_lowercase().contains("password=") {
        return text.to_owned();
    }
    text.split(' ')
        .map(|word| match word.split_once('=') {
            Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}={REDACTED}"),
            _ => word.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn yaml_key(key: &str) -> String {
    let plain = !key.is_empty()
        && key.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        && !key.starts_with(['-', '.']);
    if plain {
        key.to_owned()
    } else {
        quoted(key)
    }
}

fn scalar_yaml(scalar: &Scalar) -> String {
    match scalar.kind {
        ScalarKind::Str => quoted(&scalar.text),
        ScalarKind::Null => "null".to_owned(),
        _ => scalar.text.clone(),
    }
}

fn quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// Written as the JSON value it is (strings, numbers, booleans, null, arrays, objects), so a
/// report or a scenario written back reads the same.
impl Serialize for ConfigValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match self {
            Self::Scalar(Scalar { text, kind }) => match kind {
                ScalarKind::Str => serializer.serialize_str(text),
                ScalarKind::Bool => serializer.serialize_bool(text == "true"),
                ScalarKind::Null => serializer.serialize_unit(),
                ScalarKind::Int => match text.parse::<i64>() {
                    Ok(n) => serializer.serialize_i64(n),
                    Err(_) => serializer.serialize_str(text),
                },
                ScalarKind::Float => match text.parse::<f64>() {
                    Ok(n) => serializer.serialize_f64(n),
                    Err(_) => serializer.serialize_str(text),
                },
            },
            Self::List(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Self::Map(pairs) => {
                let mut map = serializer.serialize_map(Some(pairs.len()))?;
                for (key, value) in pairs {
                    map.serialize_entry(key, value)?;
                }
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for ConfigValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

impl JsonSchema for ConfigValue {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "PatroniYaml".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "Patroni configuration keys, as in patroni.yml (checked by `pgdrill validate`)"
        })
    }
}

struct ValueVisitor;

fn scalar(text: impl ToString, kind: ScalarKind) -> ConfigValue {
    ConfigValue::Scalar(Scalar { text: text.to_string(), kind })
}

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = ConfigValue;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a Patroni configuration value")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<ConfigValue, E> {
        Ok(scalar(v, ScalarKind::Str))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<ConfigValue, E> {
        Ok(scalar(v, ScalarKind::Bool))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<ConfigValue, E> {
        Ok(scalar(v, ScalarKind::Int))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<ConfigValue, E> {
        Ok(scalar(v, ScalarKind::Int))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<ConfigValue, E> {
        Ok(scalar(v, ScalarKind::Int))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<ConfigValue, E> {
        Ok(scalar(v, ScalarKind::Int))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<ConfigValue, E> {
        Ok(scalar(v, ScalarKind::Float))
    }
    fn visit_unit<E: de::Error>(self) -> Result<ConfigValue, E> {
        Ok(scalar("", ScalarKind::Null))
    }
    fn visit_none<E: de::Error>(self) -> Result<ConfigValue, E> {
        Ok(scalar("", ScalarKind::Null))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ConfigValue, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(ConfigValue::List(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ConfigValue, A::Error> {
        let mut pairs = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            pairs.push((key, map.next_value()?));
        }
        Ok(ConfigValue::Map(pairs))
    }
}

#[cfg(test)]
mod tests {
    use indoc::indoc;

    use super::*;

    fn parse(yaml: &str) -> ConfigValue {
        serde_saphyr::from_str(yaml).expect("valid YAML")
    }

    #[test]
    fn merging_follows_patronis_patch_config() {
        let mut base = parse("a: 1\nb: {c: 2, d: [x]}\n");
        base.merge(&parse("b: {c: 3, d: [y, z], e: 'on'}\nf: true\n"));
        assert_eq!(base, parse("a: 1\nb: {c: 3, d: [y, z], e: 'on'}\nf: true\n"));
    }

    #[test]
    fn yaml_lines_round_trip_and_quote_strings() {
        let value = parse(indoc! {"
            parameters:
              wal_log_hints: 'on'
              max_connections: 100
              'odd key': x
            pg_hba:
              - host all all 0.0.0.0/0 scram-sha-256
            slots:
              - {name: a, type: physical}
            empty: {}
        "});
        let text = value.yaml_lines(0).join("\n");
        assert!(text.contains("  wal_log_hints: 'on'\n  max_connections: 100"), "{text}");
        assert!(text.contains("- 'host all all 0.0.0.0/0 scram-sha-256'"), "{text}");
        assert!(text.contains("  - name: 'a'\n    type: 'physical'"), "{text}");
        assert_eq!(parse(&text), value, "{text}");
    }

    #[test]
    fn secrets_are_redacted() {
        let value = parse(indoc! {"
            parameters:
              ssl_passphrase_command: echo x
              primary_conninfo: host=a password=hunter2 user=b
            restapi_password: hunter2
            password_encryption: scram-sha-256
            keep: 1
        "});
        let json = serde_json::to_string(&value.redacted()).unwrap();
        assert!(!json.contains("hunter2"), "{json}");
        assert!(json.contains("password=<redacted> user=b"), "{json}");
        assert!(json.contains(r#""ssl_passphrase_command":"<redacted>""#), "{json}");
        assert!(json.contains(r#""keep":1"#), "{json}");
        assert!(json.contains(r#""password_encryption":"scram-sha-256""#), "a setting, not a secret: {json}");
    }
}
