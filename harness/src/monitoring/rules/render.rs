//! Writing a rule file back as a plain Prometheus rule file, quoted so that Prometheus's YAML
//! library reads every string as written.
use std::fmt::Write as _;

use super::model::{RuleFile, RuleKind};

impl RuleFile {
    /// The file as a plain Prometheus rule file, with a header saying where it came from.
    ///
    /// Strings are written as plain scalars only when YAML 1.1 and 1.2 read them the same way
    /// (Prometheus's YAML library would turn a bare `no` into a boolean), multi-line strings as
    /// literal blocks, everything else double-quoted.
    pub fn to_yaml(&self, header: &str) -> String {
        let mut out = String::new();
        for line in header.lines() {
            let _ = writeln!(out, "# {line}");
        }
        out.push_str("groups:\n");
        for group in &self.groups {
            let _ = writeln!(out, "- name: {}", scalar(&group.name, 2));
            if let Some(interval) = group.interval {
                let _ = writeln!(out, "  interval: {interval}");
            }
            if let Some(limit) = group.limit {
                let _ = writeln!(out, "  limit: {limit}");
            }
            if group.rules.is_empty() {
                out.push_str("  rules: []\n");
                continue;
            }
            out.push_str("  rules:\n");
            for rule in &group.rules {
                let key = match rule.kind {
                    RuleKind::Alert => "alert",
                    RuleKind::Record => "record",
                };
                let _ = writeln!(out, "  - {key}: {}", scalar(&rule.name, 4));
                let _ = writeln!(out, "    expr: {}", scalar(&rule.expr, 4));
                if let Some(for_) = rule.for_ {
                    let _ = writeln!(out, "    for: {for_}");
                }
                if let Some(keep) = rule.keep_firing_for {
                    let _ = writeln!(out, "    keep_firing_for: {keep}");
                }
                for (name, map) in [("labels", &rule.labels), ("annotations", &rule.annotations)] {
                    if map.is_empty() {
                        continue;
                    }
                    let _ = writeln!(out, "    {name}:");
                    for (key, value) in map {
                        let _ = writeln!(out, "      {}: {}", scalar(key, 6), scalar(value, 6));
                    }
                }
            }
        }
        out
    }
}

/// A YAML scalar for `value` at nesting `indent` (spaces before the key).
pub(super) fn scalar(value: &str, indent: usize) -> String {
    if is_plain_safe(value) {
        return value.to_string();
    }
    let printable = value.chars().all(|c| c == '\n' || c == '\t' || !c.is_control());
    if value.contains('\n') && printable {
        let body = value.trim_end_matches('\n');
        let trailing = value.len() - body.len();
        let chomp = match trailing {
            0 => "-",
            1 => "",
            _ => "+",
        };
        // An explicit indentation indicator when the text itself starts with a space.
        let indicator = if body.starts_with(' ') { "2" } else { "" };
        let pad = " ".repeat(indent + 2);
        let mut out = format!("|{indicator}{chomp}");
        for line in body.split('\n') {
            out.push('\n');
            if !line.is_empty() {
                out.push_str(&pad);
                out.push_str(line);
            }
        }
        for _ in 1..trailing {
            out.push('\n');
        }
        return out;
    }
    // A JSON string is a valid YAML double-quoted scalar.
    serde_json::to_string(value).expect("strings always serialize")
}

/// Whether `value` can be written unquoted and reads back as the same string in YAML 1.1 and
/// 1.2 (no booleans, nulls or numbers; no indicator characters).
fn is_plain_safe(value: &str) -> bool {
    const RESERVED: &[&str] =
        &["y", "n", "yes", "no", "on", "off", "true", "false", "null", "~", "nan", "inf", "-inf", ".nan", ".inf"];
    // A letter, `_`, `/` or `(` first: never an indicator, a number or a timestamp. Later
    // characters may be anything printable in block context except the two pairs below.
    let Some(first) = value.chars().next() else { return false };
    if !(first.is_ascii_alphabetic() || "_/(".contains(first)) {
        return false;
    }
    if value.ends_with(' ') || RESERVED.contains(&value.to_ascii_lowercase().as_str()) {
        return false;
    }
    if value.contains(": ") || value.contains(" #") || value.ends_with(':') {
        return false;
    }
    value.chars().all(|c| c == ' ' || c.is_ascii_graphic())
}
