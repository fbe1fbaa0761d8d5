//! A small YAML writer for replay files: block mappings for sections, flow style for short
//! values, plain scalars where YAML reads them back as the same string and JSON-quoted strings
//! (valid YAML double-quoted scalars) everywhere else. Values come from serde (`serde_json`), so
//! fields added to the scenario model later are written without changes here; nulls (absent
//! options) are left out.
use serde_json::Value;

/// `value` as a scalar or flow collection on one line.
pub fn flow(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => string(s),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(flow).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Object(map) => {
            let entries: Vec<String> =
                map.iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| format!("{}: {}", string(k), flow(v))).collect();
            format!("{{{}}}", entries.join(", "))
        }
    }
}

/// `key: value` at `indent` spaces: nested mappings as blocks, everything else in flow style.
pub fn block(out: &mut String, indent: usize, key: &str, value: &Value) {
    let pad = " ".repeat(indent);
    match value {
        Value::Null => {}
        Value::Object(map) if map.values().any(|v| !v.is_null()) => {
            out.push_str(&format!("{pad}{}:\n", string(key)));
            for (k, v) in map {
                block(out, indent + 2, k, v);
            }
        }
        other => out.push_str(&format!("{pad}{}: {}\n", string(key), flow(other))),
    }
}

/// A string as a scalar that reads back as the same string (never as a number, boolean or
/// null, and safe inside flow collections).
pub fn string(s: &str) -> String {
    if is_plain_safe(s) {
        s.to_owned()
    } else {
        serde_json::to_string(s).expect("a string serialises")
    }
}

fn is_plain_safe(s: &str) -> bool {
    const WORDS: [&str; 11] = ["true", "false", "yes", "no", "on", "off", "null", "y", "n", "~", ""];
    let lower = s.to_ascii_lowercase();
    let looks_numeric = s.parse::<f64>().is_ok()
        || ["0x", "0o", "0b", "+", ".", "-."].iter().any(|p| lower.starts_with(p))
        || lower.starts_with(".inf")
        || lower == ".nan";
    s.trim() == s
        && !WORDS.contains(&lower.as_str())
        && !looks_numeric
        && s.chars().all(|c| c.is_ascii_alphanumeric() || " _-./@()".contains(c))
        && !s.starts_with(['-', '@', '(', ')'])
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use test_case::test_case;

    use super::*;

    #[test_case("primary", "primary" ; "word")]
    #[test_case("pg-2", "pg-2" ; "member")]
    #[test_case("1m 30s", "1m 30s" ; "duration")]
    #[test_case("100/s", "100/s" ; "rate")]
    #[test_case("true", "\"true\"" ; "boolean word")]
    #[test_case("No", "\"No\"" ; "yaml 1.1 boolean")]
    #[test_case("12", "\"12\"" ; "number")]
    #[test_case("1e3", "\"1e3\"" ; "exponent")]
    #[test_case("0x1F", "\"0x1F\"" ; "hex")]
    #[test_case("", "\"\"" ; "empty")]
    #[test_case("a: b", "\"a: b\"" ; "colon")]
    #[test_case("x # y", "\"x # y\"" ; "comment")]
    #[test_case("-leading", "\"-leading\"" ; "dash")]
    #[test_case("multi\nline", "\"multi\\nline\"" ; "newline")]
    #[test_case("é", "\"é\"" ; "non ascii")]
    fn strings(input: &str, expected: &str) {
        assert_eq!(string(input), expected);
    }

    #[test]
    fn values_read_back_as_written() {
        let value = json!({
            "kind": "patroni",
            "members": 2,
            "monitoring": null,
            "patroni": {"ttl": 20, "synchronous_mode": false, "note": "a: b, [c]"},
            "rules": ["/abs/rules.yaml", "yes"],
            "ratio": 0.1,
        });
        let mut out = String::new();
        block(&mut out, 0, "topology", &value);
        assert!(!out.contains("monitoring"), "nulls are left out:\n{out}");
        let back: Value = serde_saphyr::from_str::<Value>(&out).expect("parses");
        let mut expected = value.clone();
        expected.as_object_mut().unwrap().remove("monitoring");
        assert_eq!(back, json!({ "topology": expected }), "\n{out}");
    }

    #[test]
    fn flow_mappings_skip_nulls() {
        assert_eq!(
            flow(&json!({"wait": "healthy", "within": "1m 30s", "fault": null})),
            "{wait: healthy, within: 1m 30s}"
        );
        assert_eq!(flow(&json!({"member": "pg-2"})), "{member: pg-2}");
    }
}
