//! Reading a scenario file: size and shape budgets, typed parsing, and parse errors rewritten to
//! name the user's key and list the allowed values. Also the span index that lets errors about
//! plain values (a `u32` in the model) point at the user's text. Semantic checks live in
//! `validate`; nothing here looks at what the scenario means.
use std::borrow::Cow;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde_saphyr::{Error as YamlError, Location, MessageFormatter};

use super::error::{Problem, ScenarioError};
use super::model::Scenario;
use super::snippet::shown;
use super::source::{locate, problem_at, suggest, yaml_options, Context, LoadedScenario, SpanIndex, MAX_FILE_BYTES};
use super::validate::{limit_of, validate_with};

/// What loading may accept beyond the defaults (`--allow-outside-rules`).
#[derive(Debug, Clone, Copy, Default)]
pub struct LoadOptions {
    /// Rule files may be absolute paths or lead outside the scenario's repository.
    pub allow_outside_rules: bool,
}

/// Reads, parses and validates the scenario file at `path`.
pub fn load_scenario(path: &Path) -> Result<LoadedScenario, ScenarioError> {
    load_scenario_with(path, LoadOptions::default())
}

/// [`load_scenario`] with `options`.
pub fn load_scenario_with(path: &Path, options: LoadOptions) -> Result<LoadedScenario, ScenarioError> {
    let text = read_limited(path).map_err(|error| ScenarioError::io(path, error))?;
    parse_scenario_at(path.to_path_buf(), &text, options)
}

/// Parses and validates scenario `text`; `source_name` names it in errors (a file name, or
/// e.g. `builtin:patroni-kill-primary`).
pub fn parse_scenario(source_name: &str, text: &str) -> Result<LoadedScenario, ScenarioError> {
    parse_scenario_with(source_name, text, LoadOptions::default())
}

/// [`parse_scenario`] with `options`.
pub fn parse_scenario_with(
    source_name: &str,
    text: &str,
    options: LoadOptions,
) -> Result<LoadedScenario, ScenarioError> {
    parse_scenario_at(PathBuf::from(source_name), text, options)
}

fn parse_scenario_at(path: PathBuf, text: &str, options: LoadOptions) -> Result<LoadedScenario, ScenarioError> {
    // Spans are counted after the byte-order mark (the YAML parser skips it), so drop it here
    // and the snippets line up.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut scenario = serde_saphyr::from_str_with_options::<Scenario>(text, yaml_options())
        .map_err(|error| ScenarioError::parse(&path, text, parse_problem(&error, text)))?;
    super::user_patroni::resolve_user_patroni(&path, text, &mut scenario, options)?;
    let loaded = LoadedScenario { path, source: text.to_owned(), scenario };
    validate_with(&loaded, options)?;
    Ok(loaded)
}

pub(super) fn read_limited(path: &Path) -> std::io::Result<String> {
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

// ---------------------------------------------------------------------------------------------
// Parse errors

/// Rewrites a serde-saphyr error into a [`Problem`] that names the key it is about (found via
/// the span index, which parses even when the typed model does not) and lists allowed values.
pub(super) fn parse_problem(error: &YamlError, text: &str) -> Problem {
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
                format!("unknown {noun} `{}`, expected one of: {}", shown(variant), expected.join(", ")),
                format!("unknown {noun}"),
                Some(
                    suggest(variant, expected).unwrap_or_else(|| "`pgdrill schema` prints the scenario format".into()),
                ),
            )
        }
        YamlError::SerdeUnknownField { field, expected, .. } => (
            format!("unknown key `{}` {}, expected one of: {}", shown(field), context.place(), expected.join(", ")),
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
        YamlError::InvalidBooleanStrict { .. } => {
            let found =
                locate(text, location).map_or("", |(span, ..)| &text[span.offset()..span.offset() + span.len()]);
            (
                format!("invalid value `{}` for `{}`: expected true or false", shown(found), context.key()),
                "not true or false".into(),
                Some("booleans are `true` or `false` (YAML 1.1's yes/no/on/off are not)".into()),
            )
        }
        YamlError::InvalidScalar { ty, .. } => {
            let found =
                locate(text, location).map_or("", |(span, ..)| &text[span.offset()..span.offset() + span.len()]);
            let expected = limit_of(&context.path).map_or_else(|| expected_scalar(ty), Cow::Owned);
            (
                format!("invalid value `{}` for `{}`: expected {expected}", shown(found), context.key()),
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
            let key = shown(key.as_deref().unwrap_or("?"));
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
    fn the_shipped_scenarios_and_benchmarks_load() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let entries = ["scenarios", "bench"].iter().filter_map(|dir| std::fs::read_dir(root.join(dir)).ok());
        for entry in entries.flatten().flatten() {
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
            error.to_string().contains(
                "invalid.yaml:8:12: unknown fault `kil`, expected one of: client_link_bandwidth, client_link_delay,"
            ),
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
    #[test_case(&with_step("  - expect:\n      - new_leaderr: {within: 1s}"), 7, 9, "unknown expectation `new_leaderr`, expected one of: new_leader, timeline, rejoins, no_failover, primary_demoted, writable_again, max_write_unavailability, replication_streaming, alert, pg_dist_node, no_orphaned_prepared_transactions, write_pause, no_write_acked, never_leader, leader_is, pooler_recovers" ; "misspelled expectation")]
    #[test_case(&format!("{}invariants: [single_primary, no_lost_writes]\n", with_step("  - sleep: 1s")), 7, 30, "unknown invariant `no_lost_writes`, expected one of: single_primary, no_acked_write_lost" ; "unknown invariant")]
    #[test_case("name: x\ntopology:\n  kind: citrus\nsteps: []\n", 3, 9, "unknown topology kind `citrus`, expected one of: patroni, citus" ; "unknown topology kind")]
    #[test_case(&with_step("  - wait: ready\n    within: 1s"), 6, 11, "unknown wait condition `ready`, expected one of: healthy" ; "unknown wait condition")]
    #[test_case("name: x\ntopology:\n  kind: patroni\n  members: three\nsteps: []\n", 4, 12, "invalid value `three` for `members`: expected a whole number from 1 to 9" ; "wrong type for members")]
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
