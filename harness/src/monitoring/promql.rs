//! Just enough PromQL for pgdrill: Prometheus durations (`5m`, `1h30m`), a tokenizer that knows
//! strings, comments and brackets, rewriting the time windows of an expression (`[5m]`,
//! `[30m:1m]`, `offset 5m`) and listing the metric names an expression reads.
//!
//! This is not a PromQL parser: it never decides whether an expression is valid (promtool does,
//! see `promtool`), it only has to be right about where durations and metric names are in an
//! expression Prometheus accepts.
use std::fmt;

/// A Prometheus duration (`model.Duration`), in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct PromDuration(pub u64);

/// Units in the order Prometheus requires them (largest first), with their length in ms.
const UNITS: [(&str, u64); 7] = [
    ("y", 365 * 24 * 3_600_000),
    ("w", 7 * 24 * 3_600_000),
    ("d", 24 * 3_600_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
];

impl PromDuration {
    /// Parses Prometheus's duration syntax: `0`, or one or more `<integer><unit>` with units
    /// `y w d h m s ms`, each at most once and largest first (`1h30m`, `90s`, `500ms`).
    pub fn parse(text: &str) -> Option<PromDuration> {
        if text == "0" {
            return Some(PromDuration(0));
        }
        let bytes = text.as_bytes();
        let mut i = 0;
        let mut total: u64 = 0;
        let mut next_unit = 0; // index into UNITS: units must come in this order
        if bytes.is_empty() {
            return None;
        }
        while i < bytes.len() {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            if i == start {
                return None;
            }
            let number: u64 = text[start..i].parse().ok()?;
            let unit_start = i;
            while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
                i += 1;
            }
            let unit = &text[unit_start..i];
            let position = UNITS.iter().position(|(name, _)| *name == unit)?;
            if position < next_unit {
                return None;
            }
            next_unit = position + 1;
            total = total.checked_add(number.checked_mul(UNITS[position].1)?)?;
        }
        Some(PromDuration(total))
    }

    /// The duration in milliseconds.
    pub fn as_millis(self) -> u64 {
        self.0
    }

    /// As a [`std::time::Duration`].
    pub fn to_std(self) -> std::time::Duration {
        std::time::Duration::from_millis(self.0)
    }

    /// From a [`std::time::Duration`] (sub-millisecond parts are dropped).
    pub fn from_std(duration: std::time::Duration) -> PromDuration {
        PromDuration(duration.as_millis() as u64)
    }
}

/// Prometheus's own spelling: largest units first, weeks and years left out for readability
/// (`1m30s`, `12s`, `2d`, `4s500ms`, `0s`).
impl fmt::Display for PromDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            return f.write_str("0s");
        }
        let mut rest = self.0;
        for (unit, ms) in UNITS.iter().skip(2) {
            if rest >= *ms {
                write!(f, "{}{unit}", rest / ms)?;
                rest %= ms;
            }
        }
        Ok(())
    }
}

/// What a token is. Only the distinctions pgdrill needs are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenKind {
    /// A metric name, label name, function, keyword (`[a-zA-Z_:][a-zA-Z0-9_:]*`).
    Ident,
    /// A number literal (`1`, `0.9`, `1e3`, `0x1f`).
    Number,
    /// A duration literal (`5m`, `1h30m`).
    Duration,
    /// A string literal, quotes included.
    String,
    /// A `#` comment up to the end of the line.
    Comment,
    /// `(`
    LParen,
    /// `)`
    RParen,
    /// `{`
    LBrace,
    /// `}`
    RBrace,
    /// `[`
    LBracket,
    /// `]`
    RBracket,
    /// `:` inside brackets (subquery step).
    Colon,
    /// `,`
    Comma,
    /// Any operator or other punctuation (`+`, `==`, `=~`, `@`, ...).
    Op,
}

/// One token: its kind and byte range in the expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Token {
    pub kind: TokenKind,
    pub start: usize,
    pub end: usize,
}

impl Token {
    pub(crate) fn text<'a>(&self, source: &'a str) -> &'a str {
        &source[self.start..self.end]
    }
}

/// Splits an expression into tokens. Unknown characters become one-character `Op` tokens, and an
/// unterminated string runs to the end: the tokenizer never fails (promtool reports errors).
pub(crate) fn tokenize(expr: &str) -> Vec<Token> {
    let bytes = expr.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    let mut bracket_depth = 0usize;
    let is_ident_start = |b: u8| b.is_ascii_alphabetic() || b == b'_' || b == b':';
    let is_ident_char = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b':';
    while i < bytes.len() {
        let b = bytes[i];
        let start = i;
        let kind = match b {
            b' ' | b'\t' | b'\n' | b'\r' => {
                i += 1;
                continue;
            }
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                TokenKind::Comment
            }
            b'"' | b'\'' | b'`' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b {
                    // Backquoted strings are raw; the others know backslash escapes.
                    if bytes[i] == b'\\' && b != b'`' {
                        i += 1;
                    }
                    i += 1;
                }
                i = (i + 1).min(bytes.len());
                TokenKind::String
            }
            b'(' => single(&mut i, TokenKind::LParen),
            b')' => single(&mut i, TokenKind::RParen),
            b'{' => single(&mut i, TokenKind::LBrace),
            b'}' => single(&mut i, TokenKind::RBrace),
            b'[' => {
                bracket_depth += 1;
                single(&mut i, TokenKind::LBracket)
            }
            b']' => {
                bracket_depth = bracket_depth.saturating_sub(1);
                single(&mut i, TokenKind::RBracket)
            }
            b',' => single(&mut i, TokenKind::Comma),
            b':' if bracket_depth > 0 => single(&mut i, TokenKind::Colon),
            b'0'..=b'9' => number_or_duration(bytes, &mut i),
            b'.' if bytes.get(i + 1).is_some_and(u8::is_ascii_digit) => number_or_duration(bytes, &mut i),
            _ if is_ident_start(b) => {
                while i < bytes.len() && is_ident_char(bytes[i]) {
                    i += 1;
                }
                TokenKind::Ident
            }
            _ => {
                // Two-character operators first, so `=~` is not read as `=` then `~`.
                let two = bytes.get(i..i + 2).unwrap_or_default();
                i += if matches!(two, b"==" | b"!=" | b"<=" | b">=" | b"=~" | b"!~") { 2 } else { 1 };
                // Keep multi-byte characters whole (a stray `é` is one token, not half of one).
                while i < bytes.len() && !expr.is_char_boundary(i) {
                    i += 1;
                }
                TokenKind::Op
            }
        };
        tokens.push(Token { kind, start, end: i });
    }
    tokens
}

fn single(i: &mut usize, kind: TokenKind) -> TokenKind {
    *i += 1;
    kind
}

/// Reads `[0-9a-zA-Z_.]` (and an exponent's sign) and decides between number and duration.
fn number_or_duration(bytes: &[u8], i: &mut usize) -> TokenKind {
    let start = *i;
    while *i < bytes.len() {
        let b = bytes[*i];
        let exponent_sign = (b == b'+' || b == b'-')
            && matches!(bytes[*i - 1], b'e' | b'E')
            && !bytes[start..*i].starts_with(b"0x")
            && bytes.get(*i + 1).is_some_and(u8::is_ascii_digit);
        if b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || exponent_sign {
            *i += 1;
        } else {
            break;
        }
    }
    let text = std::str::from_utf8(&bytes[start..*i]).unwrap_or_default();
    if text != "0" && PromDuration::parse(text).is_some() {
        TokenKind::Duration
    } else {
        TokenKind::Number
    }
}

/// Which kind of time window a rewrite touched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WindowKind {
    /// A range selector `x[5m]`, or a subquery's range `(...)[30m:1m]`.
    Range,
    /// A subquery's resolution, the `1m` in `[30m:1m]`.
    Resolution,
    /// An `offset 5m` modifier.
    Offset,
}

/// One duration rewritten in an expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowChange {
    /// What the duration was.
    pub kind: WindowKind,
    /// The value before.
    pub from: PromDuration,
    /// The value after.
    pub to: PromDuration,
}

/// Rewrites every range, subquery and offset duration of `expr` with `scale(kind, duration)`,
/// leaving everything else (spacing, comments, strings) as it was. Returns the new text and
/// what changed (durations whose value did not change are not listed).
pub fn rewrite_windows(
    expr: &str,
    mut scale: impl FnMut(WindowKind, PromDuration) -> PromDuration,
) -> (String, Vec<WindowChange>) {
    let tokens: Vec<Token> = tokenize(expr).into_iter().filter(|t| t.kind != TokenKind::Comment).collect();
    let mut out = String::with_capacity(expr.len());
    let mut copied = 0;
    let mut changes = Vec::new();
    for (n, token) in tokens.iter().enumerate() {
        if token.kind != TokenKind::Duration {
            continue;
        }
        let previous = n.checked_sub(1).map(|p| &tokens[p]);
        let before_previous = n.checked_sub(2).map(|p| &tokens[p]);
        let kind = match (before_previous, previous) {
            (_, Some(p)) if p.kind == TokenKind::LBracket => WindowKind::Range,
            (_, Some(p)) if p.kind == TokenKind::Colon => WindowKind::Resolution,
            (_, Some(p)) if p.kind == TokenKind::Ident && p.text(expr).eq_ignore_ascii_case("offset") => {
                WindowKind::Offset
            }
            // `offset -5m` (negative offsets)
            (Some(pp), Some(p))
                if p.kind == TokenKind::Op
                    && p.text(expr) == "-"
                    && pp.kind == TokenKind::Ident
                    && pp.text(expr).eq_ignore_ascii_case("offset") =>
            {
                WindowKind::Offset
            }
            _ => continue,
        };
        let Some(from) = PromDuration::parse(token.text(expr)) else { continue };
        let to = scale(kind, from);
        if to == from {
            continue;
        }
        out.push_str(&expr[copied..token.start]);
        out.push_str(&to.to_string());
        copied = token.end;
        changes.push(WindowChange { kind, from, to });
    }
    out.push_str(&expr[copied..]);
    (out, changes)
}

/// Words that are never metric names when they stand alone.
const KEYWORDS: &[&str] = &[
    "and",
    "or",
    "unless",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "offset",
    "bool",
    "atan2",
    "inf",
    "nan",
    // Aggregations can be written `sum by (x) (...)`: the name is not followed by `(`.
    "sum",
    "avg",
    "count",
    "min",
    "max",
    "group",
    "stddev",
    "stdvar",
    "topk",
    "bottomk",
    "quantile",
    "count_values",
];

/// Aggregation operators whose result drops the labels not named in `by (…)` (or named in
/// `without (…)`). `topk`, `bottomk` and `limitk` are not among them: they return their input
/// series with all their labels.
pub(crate) const POOLING_AGGREGATIONS: &[&str] =
    &["sum", "avg", "count", "min", "max", "group", "stddev", "stdvar", "quantile", "count_values"];

/// Keywords whose parenthesised list holds label names, not expressions.
const GROUPING: &[&str] = &["by", "without", "on", "ignoring", "group_left", "group_right"];

/// The metric names `expr` reads, in order of first use, without duplicates: identifiers that
/// are neither functions (followed by `(`), keywords, label names (inside `{...}` or grouping
/// lists) nor the `start()`/`end()` of `@`; plus names given as `{__name__="..."}`.
pub fn metric_names(expr: &str) -> Vec<String> {
    let tokens: Vec<Token> = tokenize(expr).into_iter().filter(|t| t.kind != TokenKind::Comment).collect();
    let mut names: Vec<String> = Vec::new();
    let add = |name: String, names: &mut Vec<String>| {
        if !names.contains(&name) {
            names.push(name);
        }
    };
    let mut i = 0;
    while i < tokens.len() {
        let token = tokens[i];
        match token.kind {
            TokenKind::LBrace => {
                // Label matchers: only `__name__="x"` names a metric.
                let mut j = i + 1;
                while j < tokens.len() && tokens[j].kind != TokenKind::RBrace {
                    let is_name_matcher = tokens[j].kind == TokenKind::Ident
                        && tokens[j].text(expr) == "__name__"
                        && tokens.get(j + 1).is_some_and(|t| t.text(expr) == "=")
                        && tokens.get(j + 2).is_some_and(|t| t.kind == TokenKind::String);
                    if is_name_matcher {
                        add(unquote(tokens[j + 2].text(expr)), &mut names);
                    }
                    j += 1;
                }
                i = j + 1;
            }
            TokenKind::Ident => {
                let text = token.text(expr);
                let lower = text.to_ascii_lowercase();
                let next = tokens.get(i + 1);
                let followed_by_paren = next.is_some_and(|t| t.kind == TokenKind::LParen);
                if GROUPING.contains(&lower.as_str()) && followed_by_paren {
                    // Skip the label list.
                    let mut j = i + 2;
                    while j < tokens.len() && tokens[j].kind != TokenKind::RParen {
                        j += 1;
                    }
                    i = j + 1;
                    continue;
                }
                if !followed_by_paren && !KEYWORDS.contains(&lower.as_str()) {
                    add(text.to_string(), &mut names);
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    names
}

/// The series selectors `expr` reads, as written (`patroni_primary{citus_group="0"}`, `up`,
/// `{__name__="x"}`), in order of first use, without duplicates and without range or offset:
/// what `/api/v1/series?match[]=` takes to tell whether the series an alert needs existed.
pub fn selectors(expr: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (selector, _) in selector_positions(expr) {
        if !out.contains(&selector) {
            out.push(selector);
        }
    }
    out
}

/// The tokens of `expr` without comments: what token indices elsewhere in this module count.
pub(crate) fn code_tokens(expr: &str) -> Vec<Token> {
    tokenize(expr).into_iter().filter(|t| t.kind != TokenKind::Comment).collect()
}

/// Every use of a selector in `expr`, in order, with the index of its first token in
/// [`code_tokens`] (where `monitoring::pooling` looks at what encloses it).
pub(crate) fn selector_positions(expr: &str) -> Vec<(String, usize)> {
    let tokens = code_tokens(expr);
    let names = metric_names(expr);
    let mut out: Vec<(String, usize)> = Vec::new();
    let braces_end = |from: usize| (from..tokens.len()).find(|&j| tokens[j].kind == TokenKind::RBrace);
    let mut i = 0;
    while i < tokens.len() {
        let token = tokens[i];
        let is_name = token.kind == TokenKind::Ident
            && names.iter().any(|n| n == token.text(expr))
            && !tokens.get(i + 1).is_some_and(|t| t.kind == TokenKind::LParen);
        // Grouping lists hold label names that may equal a metric name: skip them.
        let is_grouping = token.kind == TokenKind::Ident
            && GROUPING.contains(&token.text(expr).to_ascii_lowercase().as_str())
            && tokens.get(i + 1).is_some_and(|t| t.kind == TokenKind::LParen);
        if is_grouping {
            i = (i + 2..tokens.len()).find(|&j| tokens[j].kind == TokenKind::RParen).map_or(tokens.len(), |j| j + 1);
            continue;
        }
        if is_name {
            match tokens.get(i + 1) {
                Some(next) if next.kind == TokenKind::LBrace => {
                    let end = braces_end(i + 1).unwrap_or(tokens.len() - 1);
                    out.push((selector_text(expr, &tokens[i..=end]), i));
                    i = end + 1;
                }
                _ => {
                    out.push((token.text(expr).to_string(), i));
                    i += 1;
                }
            }
        } else if token.kind == TokenKind::LBrace {
            let end = braces_end(i).unwrap_or(tokens.len() - 1);
            let inner = &tokens[i..=end];
            if inner.iter().any(|t| t.kind == TokenKind::Ident && t.text(expr) == "__name__") {
                out.push((selector_text(expr, inner), i));
            }
            i = end + 1;
        } else {
            i += 1;
        }
    }
    out
}

/// The tokens' text with whitespace between them normalised (`a{b="c" , d="e"}` stays readable).
fn selector_text(expr: &str, tokens: &[Token]) -> String {
    let mut text = String::new();
    for (n, token) in tokens.iter().enumerate() {
        if n > 0 && tokens[n - 1].kind == TokenKind::Comma {
            text.push(' ');
        }
        text.push_str(token.text(expr));
    }
    text
}

/// The value of a PromQL string literal (escapes other than `\"`, `\'` and `\\` are kept as
/// written: metric names never contain them).
fn unquote(literal: &str) -> String {
    let inner = literal.get(1..literal.len().saturating_sub(1)).unwrap_or_default();
    if literal.starts_with('`') {
        return inner.to_string();
    }
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some(e @ ('"' | '\'' | '\\')) => out.push(e),
                Some(e) => {
                    out.push('\\');
                    out.push(e);
                }
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use test_case::test_case;

    use super::*;

    #[test_case("0", Some(0))]
    #[test_case("5m", Some(300_000))]
    #[test_case("1h30m", Some(5_400_000))]
    #[test_case("500ms", Some(500))]
    #[test_case("1m30s500ms", Some(90_500))]
    #[test_case("2d", Some(172_800_000))]
    #[test_case("1w", Some(604_800_000))]
    #[test_case("1y", Some(31_536_000_000))]
    #[test_case("30m1h", None; "units out of order")]
    #[test_case("5m5m", None; "unit twice")]
    #[test_case("5", None; "no unit")]
    #[test_case("1.5m", None; "fractions")]
    #[test_case("", None; "empty")]
    #[test_case("5M", None; "units are lower case")]
    fn durations_parse(text: &str, ms: Option<u64>) {
        assert_eq!(PromDuration::parse(text).map(PromDuration::as_millis), ms);
    }

    #[test_case(0, "0s")]
    #[test_case(12_000, "12s")]
    #[test_case(30_000, "30s")]
    #[test_case(90_000, "1m30s")]
    #[test_case(4_500, "4s500ms")]
    #[test_case(360_000, "6m")]
    #[test_case(86_400_000, "1d")]
    #[test_case(9_000_000_000, "104d4h")]
    fn durations_format_and_round_trip(ms: u64, text: &str) {
        assert_eq!(PromDuration(ms).to_string(), text);
        assert_eq!(PromDuration::parse(text), Some(PromDuration(ms)));
    }

    fn tenth(_: WindowKind, d: PromDuration) -> PromDuration {
        PromDuration(d.0 / 10)
    }

    #[test_case("increase(patroni_timeline[5m]) > 0", "increase(patroni_timeline[30s]) > 0")]
    #[test_case("rate(x{a=\"[5m]\"}[1h])", "rate(x{a=\"[5m]\"}[6m])"; "strings are left alone")]
    #[test_case("max_over_time(rate(x[5m])[30m:1m])", "max_over_time(rate(x[30s])[3m:6s])"; "subquery")]
    #[test_case("x offset 10m", "x offset 1m"; "offset")]
    #[test_case("x OFFSET -10m", "x OFFSET -1m"; "negative offset")]
    #[test_case("x[5m] # over [5m]\n", "x[30s] # over [5m]\n"; "comments are left alone")]
    #[test_case("x > 5", "x > 5"; "numbers are not durations")]
    #[test_case("job:rate5m:sum[10m]", "job:rate5m:sum[1m]"; "colons in names")]
    #[test_case("rate(x[ 5m ])", "rate(x[ 30s ])"; "spaces")]
    fn windows_are_rewritten(expr: &str, expected: &str) {
        assert_eq!(rewrite_windows(expr, tenth).0, expected);
    }

    #[test]
    fn rewrite_reports_each_change() {
        let (_, changes) = rewrite_windows("max_over_time(rate(x[5m])[30m:1m]) offset 1h", tenth);
        let kinds: Vec<_> = changes.iter().map(|c| (c.kind, c.from.to_string(), c.to.to_string())).collect();
        assert_eq!(
            kinds,
            [
                (WindowKind::Range, "5m".into(), "30s".into()),
                (WindowKind::Range, "30m".into(), "3m".into()),
                (WindowKind::Resolution, "1m".into(), "6s".into()),
                (WindowKind::Offset, "1h".into(), "6m".into()),
            ]
        );
    }

    #[test_case("patroni_postgres_running == 0", &["patroni_postgres_running"])]
    #[test_case(
        "sum(patroni_primary{cluster_name=\"citusdemo\", citus_group=\"0\"}) == 0",
        &["patroni_primary"]; "aggregation and matchers"
    )]
    #[test_case(
        "rate(pg_stat_database_blks_hit[5m]) / (rate(pg_stat_database_blks_hit[5m]) + rate(pg_stat_database_blks_read[5m])) < 0.90",
        &["pg_stat_database_blks_hit", "pg_stat_database_blks_read"]; "deduplicated"
    )]
    #[test_case(
        "sum by (pod, citus_group) (patroni_primary) == bool on(pod) group_left(member) up",
        &["patroni_primary", "up"]; "grouping lists hold labels"
    )]
    #[test_case("sum(x) without (instance)", &["x"]; "without after")]
    #[test_case("{__name__=\"up\", job=\"patroni\"} == 0", &["up"]; "name matcher")]
    #[test_case("absent(up{job=\"x\"}) or vector(0)", &["up"]; "functions")]
    #[test_case("x @ start() + Inf - NaN", &["x"]; "at modifier and special numbers")]
    #[test_case("citus_metadata_sync_nodes_metadata_synced\n<\ncitus_metadata_sync_node_count", &["citus_metadata_sync_nodes_metadata_synced", "citus_metadata_sync_node_count"]; "multi-line")]
    #[test_case("job:requests:rate5m > 1e3", &["job:requests:rate5m"]; "recording rule names and exponents")]
    #[test_case("label_replace(up, \"a\", \"$1\", \"b\", \"(.*)\")", &["up"]; "strings are not names")]
    #[test_case("topk(3, x) and count_values(\"v\", y)", &["x", "y"]; "parameters")]
    fn metric_names_are_found(expr: &str, expected: &[&str]) {
        assert_eq!(metric_names(expr), expected);
    }

    #[test_case(
        "sum(patroni_primary{cluster_name=\"citusdemo\",citus_group=\"0\"}) == 0",
        &["patroni_primary{cluster_name=\"citusdemo\", citus_group=\"0\"}"]; "matchers kept"
    )]
    #[test_case("rate(x[5m]) / rate(x[5m]) > y offset 1m", &["x", "y"]; "ranges and offsets dropped")]
    #[test_case("{__name__=\"up\", job=\"p\"} == 0 and up{job=\"q\"}", &["{__name__=\"up\", job=\"p\"}", "up{job=\"q\"}"]; "name matchers")]
    #[test_case("max by (up) (x) and up", &["x", "up"]; "grouping labels named like a metric")]
    fn selectors_are_found(expr: &str, expected: &[&str]) {
        assert_eq!(selectors(expr), expected);
    }
}
