//! A scenario file's text with its positions: the loaded scenario, an index from dotted key
//! paths (`steps.2.fault`) to their line and column, and problems located in the text. Shared by
//! parsing (`load`) and validation (`validate`).
use std::collections::HashMap;
use std::path::PathBuf;

use miette::SourceSpan;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{Location, Spanned};

use super::error::Problem;
use super::model::Scenario;

/// Scenario files are hand-written and small (the default drill is under 2 KiB); anything
/// this big is a mistake or an attack, so it is refused before parsing.
pub(super) const MAX_FILE_BYTES: u64 = 1024 * 1024;

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

/// Builds a [`Problem`] at `location` in `text` (no position when the location is unknown).
pub(crate) fn problem_at(
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
pub(super) fn locate(text: &str, location: Location) -> Option<(SourceSpan, usize, usize)> {
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
pub(super) struct Context {
    pub(super) path: String,
}

impl Context {
    fn named_segments(&self) -> impl DoubleEndedIterator<Item = &str> {
        self.path.split('.').filter(|s| !s.is_empty() && s.parse::<usize>().is_err())
    }

    /// The key the value belongs to, e.g. `members`.
    pub(super) fn key(&self) -> &str {
        self.named_segments().next_back().unwrap_or("value")
    }

    /// What kind of value the enum at this path is, for "unknown fault `kil`".
    pub(super) fn noun(&self) -> &str {
        match self.key() {
            "fault" => "fault",
            "target" | "targets" => "target",
            "wait" => "wait condition",
            "expect" => "expectation",
            "invariants" => "invariant",
            "kind" => "topology kind",
            "via" => "workload route",
            "transactions" => "workload transaction kind",
            _ => "value",
        }
    }

    /// Where a key is, for "unknown key `foo` in a step".
    pub(super) fn place(&self) -> String {
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
    /// The scalar is a YAML string (quoted, or plain text that reads as no number, boolean or
    /// null): `"3"` is, `3` is not.
    pub string: bool,
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
        // Non-finite numbers (`.nan`) are values here like any other: rejecting them would leave
        // every problem of the file without a position.
        let mut options = yaml_options();
        options.non_finite_float_policy = serde_saphyr::NonFiniteFloatPolicy::PassThrough;
        let root: Spanned<Node> = serde_saphyr::from_str_with_options(text, options).ok()?;
        let mut entries = Vec::new();
        flatten(String::new(), None, root, &mut entries);
        let mut by_path = HashMap::with_capacity(entries.len());
        for (i, entry) in entries.iter().enumerate() {
            by_path.entry(entry.path.clone()).or_insert(i);
        }
        Some(Self { entries, by_path })
    }

    /// Every entry, in document order.
    pub(super) fn entries(&self) -> &[Entry] {
        &self.entries
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
    pub(super) fn context_at(&self, offset: usize) -> Option<Context> {
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
        Node::Scalar(text, string) => entries.push(Entry { path, key, value, scalar: Some(text), string }),
        Node::Seq(items) => {
            entries.push(Entry { path: path.clone(), key, value, scalar: None, string: false });
            for (i, item) in items.into_iter().enumerate() {
                flatten(join(&path, &i.to_string()), None, item, entries);
            }
        }
        Node::Map(pairs) => {
            entries.push(Entry { path: path.clone(), key, value, scalar: None, string: false });
            for (k, v) in pairs {
                flatten(join(&path, &k.value), Some(k.referenced), v, entries);
            }
        }
    }
}

/// Any YAML node, with spans on every key and value.
enum Node {
    /// The text, and whether YAML reads it as a string.
    Scalar(String, bool),
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
        Ok(Node::Scalar(v.to_owned(), true))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Scalar(v.to_string(), false))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Scalar(v.to_string(), false))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Node, E> {
        Ok(Node::Scalar(v.to_string(), false))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Node, E> {
        Ok(Node::Scalar(v.to_string(), false))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Node, E> {
        Ok(Node::Scalar(v.to_string(), false))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Node, E> {
        Ok(Node::Scalar(v.to_string(), false))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Scalar(String::new(), false))
    }
    fn visit_none<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Scalar(String::new(), false))
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

/// Budgets sized for scenario files: a real scenario nests about 8 levels deep and has a few
/// hundred nodes; aliases are allowed for sharing settings, not for billion-laughs expansion.
pub(super) fn yaml_options() -> serde_saphyr::Options {
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
        // `true`/`false` only, as the JSON Schema's booleans: YAML 1.1's `yes`, `no`, `on` and
        // `off` are strings to an editor (and `on`/`off` look like anything but a boolean).
        strict_booleans: true,
    }
}
