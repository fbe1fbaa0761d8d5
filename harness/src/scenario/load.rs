//! Reading a scenario file: size and shape budgets, typed parsing, and parse errors rewritten to
//! name the user's key and list the allowed values. Also the span index that lets errors about
//! plain values (a `u32` in the model) point at the user's text. Semantic checks live in
//! `validate`; nothing here looks at what the scenario means.
use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use miette::SourceSpan;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{Error as YamlError, Location, MessageFormatter, Spanned};

use super::error::{Problem, ScenarioError};
use super::model::Scenario;
use super::validate::validate;

/// Scenario files are hand-written and small (the default drill is under 2 KiB); anything
/// this big is a mistake or an attack, so it is refused before parsing.
const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// A parsed and validated scenario, with the text it came from (reports and later errors
/// quote it).
#[derive(Debug, Clone)]
pub struct LoadedScenario {
    /// The file as the user named it.
    pub path: PathBuf,
    /// The file's text (without a leading byte-order mark).
    pub source: String,
    /// The typed scenario.
    pub scenario: Scenario,
}

/// Reads, parses and validates the scenario file at `path`.
pub fn load_scenario(path: &Path) -> Result<LoadedScenario, ScenarioError> {
    let text = read_limited(path).map_err(|error| ScenarioError::io(path, error))?;
    parse_scenario_at(path.to_path_buf(), &text)
}

/// Parses and validates scenario `text`; `source_name` names it in errors (a file name, or
/// e.g. `builtin:patroni-kill-primary`).
pub fn parse_scenario(source_name: &str, text: &str) -> Result<LoadedScenario, ScenarioError> {
    parse_scenario_at(PathBuf::from(source_name), text)
}

fn parse_scenario_at(path: PathBuf, text: &str) -> Result<LoadedScenario, ScenarioError> {
    // Spans are counted after the byte-order mark (the YAML parser skips it), so drop it here
    // and the snippets line up.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let scenario = serde_saphyr::from_str_with_options::<Scenario>(text, yaml_options())
        .map_err(|error| ScenarioError::parse(&path, text, parse_problem(&error, text)))?;
    let loaded = LoadedScenario { path, source: text.to_owned(), scenario };
    validate(&loaded)?;
    Ok(loaded)
}

fn read_limited(path: &Path) -> std::io::Result<String> {
    let file = std::fs::File::open(path)?;
    let mut text = String::new();
    // Reading one byte past the limit tells "exactly at the limit" from "over it" without
    // trusting metadata (the file may be a pipe or change underneath).
    file.take(MAX_FILE_BYTES + 1).read_to_string(&mut text)?;
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(std::io::Error::new(
            std::io::ErrorKind::FileTooLarge,
            format!("the file is larger than {} KiB, the limit for scenario files", MAX_FILE_BYTES / 1024),
        ));
    }
    Ok(text)
}

/// Budgets sized for scenario files: a real scenario nests about 8 levels deep and has a few
/// hundred nodes; aliases are allowed for sharing settings, not for billion-laughs expansion.
fn yaml_options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_depth: 32,
            max_nodes: 20_000,
            max_events: 100_000,
            max_aliases: 256,
            max_anchors: 256,
            max_merge_keys: 256,
            max_total_scalar_bytes: MAX_FILE_BYTES as usize,
        },
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: 20_000,
            max_replay_stack_depth: 16,
            max_alias_expansions_per_anchor: 64,
        },
        // miette draws the snippet; serde-saphyr's own would be printed twice.
        with_snippet: false,
    }
}

/// Builds a [`Problem`] at `location` in `text` (no position when the location is unknown).
pub(super) fn problem_at(
    text: &str,
    location: Location,
    message: impl Into<String>,
    label: impl Into<String>,
    help: Option<String>,
) -> Problem {
    let (span, line, column) = locate(text, location).unwrap_or(((0, 0).into(), 0, 0));
    Problem { message: message.into(), span, line, column, label: label.into(), help }
}

/// Byte span, line and column of `location`. serde-saphyr counts characters; miette wants
/// bytes, which serde-saphyr knows for string input (computed from the text otherwise).
fn locate(text: &str, location: Location) -> Option<(SourceSpan, usize, usize)> {
    if location.line() == 0 {
        return None;
    }
    let span = location.span();
    let (offset, len) = match (span.byte_offset(), span.byte_len()) {
        (Some(offset), Some(len)) => (offset as usize, len as usize),
        _ => {
            let byte_at = |chars: u64| text.char_indices().nth(chars as usize).map_or(text.len(), |(i, _)| i);
            let start = byte_at(span.offset());
            (start, byte_at(span.offset() + span.len()) - start)
        }
    };
    let offset = offset.min(text.len());
    let len = len.min(text.len() - offset);
    Some(((offset, len).into(), location.line() as usize, location.column() as usize))
}

// ---------------------------------------------------------------------------------------------
// Parse errors

/// Rewrites a serde-saphyr error into a [`Problem`] that names the key it is about (found via
/// the span index, which parses even when the typed model does not) and lists allowed values.
fn parse_problem(error: &YamlError, text: &str) -> Problem {
    let (inner, defined) = match error.without_snippet() {
        YamlError::AliasError { error, locations, .. } => (error.as_ref(), Some(locations.defined_location)),
        other => (other, None),
    };
    let location = error.location().or_else(|| inner.location()).unwrap_or(Location::UNKNOWN);
    let context = SpanIndex::build(text)
        .and_then(|index| locate(text, location).and_then(|(span, ..)| index.context_at(span.offset())));
    let context = context.unwrap_or_default();
    let (message, label, help) = describe(inner, text, location, &context);
    let mut problem = problem_at(text, location, message, label, help);
    if let Some(defined) = defined.filter(|defined| *defined != location && defined.line() > 0) {
        let note = format!("the anchor is defined at line {}, column {}", defined.line(), defined.column());
        problem.help = Some(match problem.help {
            Some(help) => format!("{help}\n{note}"),
            None => note,
        });
    }
    problem
}

/// Message, label and help for one parse error.
fn describe(error: &YamlError, text: &str, location: Location, context: &Context) -> (String, String, Option<String>) {
    match error {
        YamlError::SerdeUnknownVariant { variant, expected, .. } => {
            let noun = context.noun();
            (
                format!("unknown {noun} `{variant}`, expected one of: {}", expected.join(", ")),
                format!("unknown {noun}"),
                Some(
                    suggest(variant, expected).unwrap_or_else(|| "`pgdrill schema` prints the scenario format".into()),
                ),
            )
        }
        YamlError::SerdeUnknownField { field, expected, .. } => (
            format!("unknown key `{field}` {}, expected one of: {}", context.place(), expected.join(", ")),
            "unknown key".into(),
            Some(suggest(field, expected).unwrap_or_else(|| {
                "unknown keys are errors, so that a typo cannot silently skip part of a drill".into()
            })),
        ),
        YamlError::SerdeMissingField { field, .. } => (
            format!("missing key `{field}` {}", context.place()),
            format!("`{field}` is required here"),
            missing_field_help(field),
        ),
        YamlError::InvalidScalar { ty, .. } => {
            let found =
                locate(text, location).map_or("", |(span, ..)| &text[span.offset()..span.offset() + span.len()]);
            let expected = expected_scalar(ty);
            (
                format!("invalid value `{found}` for `{}`: expected {expected}", context.key()),
                format!("not {expected}"),
                None,
            )
        }
        YamlError::SerdeInvalidType { unexpected, expected, .. } => (
            format!("invalid type for `{}`: expected {expected}, found {unexpected}", context.key()),
            format!("expected {expected}"),
            None,
        ),
        YamlError::SerdeInvalidValue { unexpected, expected, .. } => (
            format!("invalid value for `{}`: expected {expected}, found {unexpected}", context.key()),
            format!("expected {expected}"),
            None,
        ),
        YamlError::ExternallyTaggedEnumExpectedScalarOrMapping { .. } => {
            let noun = context.noun();
            (
                format!("invalid {noun}: expected a name or a mapping with one key"),
                format!("not a {noun}"),
                Some("e.g. `target: primary` or `target: {member: pg-2}`".into()),
            )
        }
        YamlError::DuplicateMappingKey { key, .. } => {
            let key = key.as_deref().unwrap_or("?");
            (
                format!("duplicate key `{key}`"),
                format!("second `{key}`"),
                Some("each key may appear once in a mapping; remove one of them".into()),
            )
        }
        YamlError::Message { msg, .. } => (msg.clone(), format!("invalid `{}`", context.key()), None),
        YamlError::Unexpected { expected, .. } => {
            let expected = match *expected {
                "sequence start" => "a list (`- item` lines or `[a, b]`)",
                "mapping start" => "a mapping (`key: value` lines or `{key: value}`)",
                "string scalar" => "a single value",
                other => other,
            };
            (format!("invalid `{}`: expected {expected}", context.key()), format!("expected {expected}"), None)
        }
        YamlError::Eof { .. } if text.lines().all(|line| line.trim().is_empty() || line.trim().starts_with('#')) => (
            "the scenario file is empty".into(),
            "empty".into(),
            Some("a scenario needs at least `name`, `topology` and `steps`".into()),
        ),
        YamlError::Budget { .. } => (
            user_message(error).into_owned(),
            "limit exceeded here".into(),
            Some("scenario files are limited in size, nesting depth and aliases".into()),
        ),
        other if context.path.is_empty() => (user_message(other).into_owned(), "here".into(), None),
        other => (format!("invalid `{}`: {}", context.key(), user_message(other)), "here".into(), None),
    }
}

fn user_message(error: &YamlError) -> Cow<'_, str> {
    serde_saphyr::UserMessageFormatter.format_message(error)
}

fn expected_scalar(ty: &str) -> Cow<'static, str> {
    match ty {
        "u8" => "a whole number from 0 to 255".into(),
        "u16" => "a whole number from 0 to 65535".into(),
        "u32" | "u64" | "usize" => "a whole number, 0 or more".into(),
        "i8" | "i16" | "i32" | "i64" | "isize" => "a whole number".into(),
        "f32" | "f64" => "a number".into(),
        "bool" | "boolean" => "true or false".into(),
        other => format!("a value of type {other}").into(),
    }
}

fn missing_field_help(field: &str) -> Option<String> {
    let example = match field {
        "within" => "within: 45s",
        "name" => "name: my-drill",
        "topology" => "topology: {kind: patroni, members: 3}",
        "kind" => "kind: patroni",
        "steps" => "steps: [{wait: healthy, within: 90s}]",
        "target" => "target: old_primary",
        _ => return None,
    };
    Some(format!("add `{example}`"))
}

/// "did you mean `kill`?" when `word` is a small typo of one allowed value.
pub(super) fn suggest(word: &str, allowed: &[&str]) -> Option<String> {
    let (best, distance) =
        allowed.iter().map(|candidate| (*candidate, edit_distance(word, candidate))).min_by_key(|(_, d)| *d)?;
    (distance > 0 && distance <= 2 && distance * 2 < best.len().max(2)).then(|| format!("did you mean `{best}`?"))
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

/// Where in the document an error is: the mapping or sequence it happened in, as a dotted
/// path (`steps.2.fault`; `` for the top level).
#[derive(Debug, Default)]
struct Context {
    path: String,
}

impl Context {
    fn named_segments(&self) -> impl DoubleEndedIterator<Item = &str> {
        self.path.split('.').filter(|s| !s.is_empty() && s.parse::<usize>().is_err())
    }

    /// The key the value belongs to, e.g. `members`.
    fn key(&self) -> &str {
        self.named_segments().next_back().unwrap_or("value")
    }

    /// What kind of value the enum at this path is, for "unknown fault `kil`".
    fn noun(&self) -> &str {
        match self.key() {
            "fault" => "fault",
            "target" | "targets" => "target",
            "wait" => "wait condition",
            "expect" => "expectation",
            "invariants" => "invariant",
            "kind" => "topology kind",
            "via" => "workload route",
            _ => "value",
        }
    }

    /// Where a key is, for "unknown key `foo` in a step".
    fn place(&self) -> String {
        let last_is_index = self.path.rsplit('.').next().is_some_and(|s| s.parse::<usize>().is_ok());
        match (self.named_segments().next_back(), last_is_index) {
            (None, _) => "at the top level".into(),
            (Some("steps"), true) => "in a step".into(),
            (Some("expect"), true) => "in an expectation".into(),
            (Some(key), true) => format!("in an entry of `{key}`"),
            (Some(key), false) => format!("in `{key}`"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Span index

/// Where every key and value of a scenario file is, by dotted path (`topology.patroni.ttl`,
/// `steps.2.within`). Built from the raw YAML, so it works whatever the model's types are, and
/// even when the typed parse fails.
#[derive(Debug)]
pub(super) struct SpanIndex {
    /// In document order, each container before its children.
    entries: Vec<Entry>,
    /// Position in `entries` by path (validation looks up many paths).
    by_path: HashMap<String, usize>,
}

/// One key/value (or sequence item) of the document.
#[derive(Debug, Clone)]
pub(super) struct Entry {
    /// Dotted path; sequence items are numbered from 0.
    pub path: String,
    /// The key, for mapping values.
    pub key: Option<Location>,
    /// The value (zero-length at the start of a block mapping or sequence).
    pub value: Location,
    /// The value's text, for scalars.
    pub scalar: Option<String>,
}

impl Entry {
    /// The key when there is one, else the value: where "this key is wrong here" points.
    pub fn key_or_value(&self) -> Location {
        self.key.unwrap_or(self.value)
    }
}

impl SpanIndex {
    /// Indexes `text`; `None` when it is not YAML (the typed parse reports that).
    pub(super) fn build(text: &str) -> Option<Self> {
        let root: Spanned<Node> = serde_saphyr::from_str_with_options(text, yaml_options()).ok()?;
        let mut entries = Vec::new();
        flatten(String::new(), None, root, &mut entries);
        let mut by_path = HashMap::with_capacity(entries.len());
        for (i, entry) in entries.iter().enumerate() {
            by_path.entry(entry.path.clone()).or_insert(i);
        }
        Some(Self { entries, by_path })
    }

    /// The entry at `path`, e.g. `steps.2.target.member`.
    pub(super) fn get(&self, path: &str) -> Option<&Entry> {
        self.by_path.get(path).map(|&i| &self.entries[i])
    }

    /// The keys of the mapping at `path`, in file order.
    pub(super) fn keys_of<'a>(&'a self, path: &'a str) -> impl Iterator<Item = &'a Entry> + 'a {
        // Descendants directly follow their container, so the scan stops at the subtree's end.
        let start = self.by_path.get(path).map_or(self.entries.len(), |&i| i + 1);
        self.entries[start..]
            .iter()
            .map_while(move |entry| Some((entry, entry.path.strip_prefix(path)?.strip_prefix('.')?)))
            .filter(|(entry, rest)| entry.key.is_some() && !rest.contains('.'))
            .map(|(entry, _)| entry)
    }

    /// The container an error at byte `offset` is about: for an error on a key, the mapping
    /// holding it; for an error on a value, that value.
    fn context_at(&self, offset: usize) -> Option<Context> {
        let starts_at = |location: Location| location.span().byte_offset() == Some(offset as u64);
        let on_value = self.entries.iter().rev().find(|entry| starts_at(entry.value) && entry.scalar.is_some());
        if let Some(entry) = on_value {
            return Some(Context { path: entry.path.clone() });
        }
        if let Some(entry) = self.entries.iter().find(|entry| entry.key.is_some_and(starts_at)) {
            return Some(Context { path: parent(&entry.path).to_owned() });
        }
        let entry = self.entries.iter().rev().find(|entry| starts_at(entry.value))?;
        Some(Context { path: entry.path.clone() })
    }
}

fn parent(path: &str) -> &str {
    path.rsplit_once('.').map_or("", |(parent, _)| parent)
}

fn join(path: &str, segment: &str) -> String {
    if path.is_empty() {
        segment.to_owned()
    } else {
        format!("{path}.{segment}")
    }
}

fn flatten(path: String, key: Option<Location>, node: Spanned<Node>, entries: &mut Vec<Entry>) {
    let value = node.referenced;
    match node.value {
        Node::Scalar(text) => entries.push(Entry { path, key, value, scalar: Some(text) }),
        Node::Seq(items) => {
            entries.push(Entry { path: path.clone(), key, value, scalar: None });
            for (i, item) in items.into_iter().enumerate() {
                flatten(join(&path, &i.to_string()), None, item, entries);
            }
        }
        Node::Map(pairs) => {
            entries.push(Entry { path: path.clone(), key, value, scalar: None });
            for (k, v) in pairs {
                flatten(join(&path, &k.value), Some(k.referenced), v, entries);
            }
        }
    }
}

/// Any YAML node, with spans on every key and value.
enum Node {
    Scalar(String),
    Seq(Vec<Spanned<Node>>),
    Map(Vec<(Spanned<String>, Spanned<Node>)>),
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any YAML node")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Node, E> {
        Ok(Node::Scalar(v.to_owned()))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Scalar(v.to_string()))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Scalar(v.to_string()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Node, E> {
        Ok(Node::Scalar(v.to_string()))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Node, E> {
        Ok(Node::Scalar(v.to_string()))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Node, E> {
        Ok(Node::Scalar(v.to_string()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Node, E> {
        Ok(Node::Scalar(v.to_string()))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Scalar(String::new()))
    }
    fn visit_none<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Scalar(String::new()))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Node::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut pairs = Vec::new();
        while let Some(key) = map.next_key::<Spanned<String>>()? {
            pairs.push((key, map.next_value()?));
        }
        Ok(Node::Map(pairs))
    }
}

#[cfg(test)]
mod tests {
    use indoc::indoc;
    use test_case::test_case;

    use super::*;
    use crate::scenario::{FaultName, Invariant, Target};

    const DEFAULT_DRILL: &str = indoc! {"
        name: patroni-kill-primary
        description: SIGKILL the primary under write load; a sync standby takes over, nothing acknowledged is lost.
        topology:
          kind: patroni
          members: 3
          etcd: 3
          patroni: {ttl: 20, loop_wait: 2, retry_timeout: 5, synchronous_mode: true}
        workload: {writers: 2, rate: 100/s}
        steps:
          - wait: healthy
            within: 90s
          - sleep: 3s
          - fault: kill
            target: primary
          - expect:
              - new_leader: {within: 45s}
              - timeline: {increments: 1, within: 45s}
          - fault: start
            target: old_primary
          - expect:
              - rejoins: {target: old_primary, within: 60s}
        invariants: [single_primary, no_acked_write_lost]
    "};

    #[test]
    fn the_default_drill_loads() {
        let loaded = parse_scenario("scenarios/patroni-kill-primary.yaml", DEFAULT_DRILL).expect("valid");
        let scenario = &loaded.scenario;
        assert_eq!(scenario.name, "patroni-kill-primary");
        assert_eq!(scenario.topology.members, 3);
        assert!(scenario.topology.patroni.synchronous_mode);
        assert_eq!(scenario.steps.len(), 6);
        assert_eq!(scenario.steps[2].value.fault, Some(FaultName::from("kill")));
        assert_eq!(scenario.steps[2].value.target.as_ref().map(|t| &t.value), Some(&Target::Primary));
        assert_eq!(scenario.steps[2].referenced.line(), 13);
        assert_eq!(scenario.invariants, vec![Invariant::SinglePrimary, Invariant::NoAckedWriteLost]);
    }

    #[test]
    fn the_shipped_scenarios_load() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
        let Ok(entries) = std::fs::read_dir(&dir) else { return };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|ext| ext == "yaml") {
                if let Err(error) = load_scenario(&path) {
                    panic!("{error}");
                }
            }
        }
    }

    #[test]
    fn the_test_fixtures_load_or_fail_as_intended() {
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        for name in ["long-sleep.yaml", "tight-budget.yaml"] {
            if let Err(error) = load_scenario(&fixtures.join(name)) {
                panic!("{error}");
            }
        }
        let error = load_scenario(&fixtures.join("invalid.yaml")).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("invalid.yaml:8:12: unknown fault `kil`, expected one of: disconnect, failover,"),
            "{error}"
        );
    }

    /// Minimal valid scenario, with one line (line 6, a step) to replace.
    fn with_step(step: &str) -> String {
        format!("name: x\ntopology:\n  kind: patroni\n  members: 3\nsteps:\n{step}\n")
    }

    #[test_case(&format!("{}bogus: 1\n", with_step("  - sleep: 1s")), 7, 1, "unknown key `bogus` at the top level, expected one of: name, description, topology, workload, steps, invariants, chaos" ; "unknown top-level key")]
    #[test_case(&with_step("  - fault: kill\n    target: {membr: pg-2}"), 7, 14, "unknown target `membr`, expected one of: primary, replica, replicas, sync_standby, old_primary, members, etcd_leader, etcd, member" ; "misspelled target form")]
    #[test_case(&with_step("  - fault: kill\n    target: leader"), 7, 13, "unknown target `leader`, expected one of: primary, replica, replicas, sync_standby, old_primary, members, etcd_leader, etcd, member" ; "unknown target")]
    #[test_case(&with_step("  - expect:\n      - new_leaderr: {within: 1s}"), 7, 9, "unknown expectation `new_leaderr`, expected one of: new_leader, timeline, rejoins, no_failover, primary_demoted, writable_again, max_write_unavailability, replication_streaming, alert, pg_dist_node, write_pause, leader_is" ; "misspelled expectation")]
    #[test_case(&format!("{}invariants: [single_primary, no_lost_writes]\n", with_step("  - sleep: 1s")), 7, 30, "unknown invariant `no_lost_writes`, expected one of: single_primary, no_acked_write_lost" ; "unknown invariant")]
    #[test_case("name: x\ntopology:\n  kind: citrus\nsteps: []\n", 3, 9, "unknown topology kind `citrus`, expected one of: patroni, citus" ; "unknown topology kind")]
    #[test_case(&with_step("  - wait: ready\n    within: 1s"), 6, 11, "unknown wait condition `ready`, expected one of: healthy" ; "unknown wait condition")]
    #[test_case("name: x\ntopology:\n  kind: patroni\n  members: three\nsteps: []\n", 4, 12, "invalid value `three` for `members`: expected a whole number from 0 to 255" ; "wrong type for members")]
    #[test_case("name: x\ntopology:\n  kind: patroni\n  patroni: {ttl: 20s}\nsteps: []\n", 4, 18, "invalid value `20s` for `ttl`: expected a whole number" ; "unit on a number")]
    #[test_case(&with_step("  - wait: healthy\n    within: 45 seconds please"), 7, 13, "invalid duration `45 seconds please`" ; "bad duration")]
    #[test_case(&format!("{}workload: {{rate: 100/h}}\n", with_step("  - sleep: 1s")), 7, 18, "invalid rate unit `h`" ; "bad rate")]
    #[test_case(&with_step("  - expect:\n      - rejoins: {target: old_primary}"), 7, 19, "missing key `within` in `rejoins`" ; "missing budget")]
    #[test_case("name: x\nname: y\ntopology: {kind: patroni}\nsteps: []\n", 2, 1, "duplicate key `name`" ; "duplicate key")]
    #[test_case("name: x\ntopology: {kind: patroni}\nsteps:\n  - sleep: 1s\n - sleep: 2s\n", 5, 2, "did not find expected key" ; "syntax error")]
    #[test_case("name: x\ntopology: {kind: patroni}\nsteps: {sleep: 1s}\n", 3, 8, "invalid `steps`: expected a list" ; "mapping instead of a list")]
    #[test_case("name: x\ntopology: {kind: patroni, patroni: {synchronous_mode: maybe}}\nsteps: []\n", 2, 55, "invalid value `maybe` for `synchronous_mode`: expected true or false" ; "not a boolean")]
    #[test_case("# nothing yet\n", 2, 1, "the scenario file is empty" ; "empty file")]
    fn parse_errors_point_at_the_text(yaml: &str, line: usize, column: usize, phrase: &str) {
        let error = parse_scenario("scenarios/x.yaml", yaml).expect_err("must not parse");
        let text = error.to_string();
        assert!(matches!(error.kind, super::super::ScenarioErrorKind::Parse(_)), "expected a parse error, got {text}");
        let prefix = format!("scenarios/x.yaml:{line}:{column}: ");
        assert!(text.starts_with(&prefix), "expected {prefix}..., got: {text}");
        assert!(text.contains(phrase), "expected `{phrase}` in: {text}");
    }

    #[test]
    fn typos_get_a_suggestion() {
        let error = parse_scenario("x.yaml", &with_step("  - fault: kil\n    target: primary")).unwrap_err();
        assert_eq!(error.problems()[0].help.as_deref(), Some("did you mean `kill`?"));
        assert_eq!(error.problems()[0].label, "unknown fault");
        let error = parse_scenario("x.yaml", &with_step("  - fault: kill\n    targte: primary")).unwrap_err();
        assert!(error.problems().iter().any(|p| p.help.as_deref() == Some("did you mean `target`?")), "{error}");
    }

    #[test]
    fn missing_file_is_an_io_error() {
        let error = load_scenario(Path::new("/nonexistent/x.yaml")).unwrap_err();
        assert!(matches!(error.kind, super::super::ScenarioErrorKind::Io(_)));
        assert_eq!(error.to_string(), "failed to read scenario file /nonexistent/x.yaml");
    }

    #[test]
    fn alias_bombs_hit_the_budget() {
        let mut yaml = String::from("a0: &a0 [x, x, x, x, x, x, x, x]\n");
        for i in 1..8 {
            yaml.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n",
                p = i - 1
            ));
        }
        let error = parse_scenario("bomb.yaml", &yaml).unwrap_err();
        assert!(matches!(error.kind, super::super::ScenarioErrorKind::Parse(_)), "{error}");
    }

    #[test]
    fn span_index_finds_keys_and_values() {
        let index = SpanIndex::build(DEFAULT_DRILL).unwrap();
        let ttl = index.get("topology.patroni.ttl").unwrap();
        assert_eq!((ttl.value.line(), ttl.value.column()), (7, 18));
        assert_eq!(ttl.scalar.as_deref(), Some("20"));
        let target = index.get("steps.5.expect.0.rejoins.target").unwrap();
        assert_eq!(target.key.map(|k| (k.line(), k.column())), Some((21, 19)));
        let keys: Vec<_> = index.keys_of("steps.0").map(|e| e.path.as_str()).collect();
        assert_eq!(keys, ["steps.0.wait", "steps.0.within"]);
    }

    #[test_case("kil", &["kill", "start"], Some("kill"))]
    #[test_case("strat", &["kill", "start"], Some("start"))]
    #[test_case("x", &["kill", "start"], None)]
    #[test_case("replicas", &["primary", "replica"], Some("replica"))]
    fn suggestions(word: &str, allowed: &[&str], expected: Option<&str>) {
        assert_eq!(suggest(word, allowed), expected.map(|e| format!("did you mean `{e}`?")));
    }
}
