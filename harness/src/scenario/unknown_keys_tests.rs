//! Unknown keys inside an expectation or a chaos invariant are parse errors at the key, with the
//! allowed keys: silently ignored, `timeline: {increment: 2}` would run with the default and a
//! misspelt `others_max` would drop that check.
use indoc::indoc;
use test_case::test_case;

use super::{parse_scenario, Expectation, ScenarioErrorKind};

#[test_case(
    indoc! {"
        name: x
        topology: {kind: patroni}
        steps:
          - fault: kill
            target: primary
          - expect:
              - timeline: {increment: 2, within: 45s}
    "},
    7, 20, "unknown key `increment` in `timeline`, expected one of: increments, within",
    Some("did you mean `increments`?")
    ; "timeline increment"
)]
#[test_case(
    indoc! {"
        name: x
        topology: {kind: citus}
        workload: {writers: 2}
        steps:
          - fault: kill
            target: primary
            group: 1
          - expect:
              - write_pause:
                  group: 1
                  max: 5s
                  other_max: 2s
    "},
    12, 11, "unknown key `other_max` in `write_pause`, expected one of: group, max, errors, resumes_within, others_max",
    Some("did you mean `others_max`?")
    ; "write_pause others_max misspelt"
)]
#[test_case(
    indoc! {"
        name: x
        topology: {kind: patroni}
        steps:
          - fault: kill
            target: primary
          - expect:
              - new_leader: {within: 45s, member: pg-2}
    "},
    7, 35, "unknown key `member` in `new_leader`, expected one of: within",
    None
    ; "new_leader with a key it does not have"
)]
#[test_case(
    indoc! {"
        name: x
        topology: {kind: patroni}
        steps:
          - fault: kill
            target: primary
          - expect:
              - alert:
                  name: PatroniDown
                  state: firing
                  within: 90s
                  label: {member: pg-1}
    "},
    11, 11, "unknown key `label` in `alert`, expected one of: name, state, within, labels, source",
    Some("did you mean `labels`?")
    ; "alert label instead of labels"
)]
#[test_case(
    indoc! {"
        name: x
        topology: {kind: citus}
        steps:
          - fault: kill
            target: primary
          - expect:
              - pg_dist_node: {group: 1, new_primay: false, within: 30s}
    "},
    7, 34, "unknown key `new_primay` in `pg_dist_node`, expected one of: group, new_primary, within",
    Some("did you mean `new_primary`?")
    ; "pg_dist_node new_primary misspelt"
)]
#[test_case(
    indoc! {"
        name: x
        topology: {kind: patroni}
        steps:
          - fault: kill
            target: primary
          - expect:
              - rejoins: {target: old_primary, within: 60s, as: replica}
    "},
    7, 53, "unknown key `as` in `rejoins`, expected one of: target, within",
    None
    ; "rejoins with a key it does not have"
)]
#[test_case(
    indoc! {"
        name: x
        topology: {kind: patroni}
        workload: {writers: 2}
        chaos:
          faults: [{fault: kill, targets: [primary]}]
          spacing: {min: 10s, max: 20s}
          duration: {min: 5s, max: 10s}
          invariants:
            - single_primary
            - writable_again: {within: 30s, after: 1s}
    "},
    10, 37, "unknown key `after` in `writable_again`, expected one of: within",
    None
    ; "chaos writable_again with a key it does not have"
)]
#[test_case(
    indoc! {"
        name: x
        topology: {kind: patroni}
        workload: {writers: 2}
        chaos:
          faults: [{fault: kill, targets: [primary]}]
          spacing: {min: 10s, max: 20s}
          duration: {min: 5s, max: 10s}
          invariants:
            - max_write_unavailability:
                maxx: 30s
    "},
    10, 9, "unknown key `maxx` in `max_write_unavailability`, expected one of: max",
    None
    ; "chaos max_write_unavailability max misspelt"
)]
#[test_case(
    indoc! {"
        name: x
        topology: {kind: citus}
        workload: {writers: 2}
        chaos:
          faults: [{fault: kill, targets: [primary]}]
          spacing: {min: 10s, max: 20s}
          duration: {min: 5s, max: 10s}
          invariants: [{pg_dist_node_consistent: {withn: 30s}}]
    "},
    8, 43, "unknown key `withn` in `pg_dist_node_consistent`, expected one of: within",
    Some("did you mean `within`?")
    ; "chaos pg_dist_node_consistent within misspelt"
)]
fn unknown_nested_keys_are_errors(yaml: &str, line: usize, column: usize, message: &str, help: Option<&str>) {
    let error = parse_scenario("scenarios/x.yaml", yaml).expect_err("an unknown key must not parse");
    assert!(matches!(error.kind, ScenarioErrorKind::Parse(_)), "expected a parse error, got {error}");
    assert_eq!(error.to_string(), format!("scenarios/x.yaml:{line}:{column}: {message}"));
    let problem = &error.problems()[0];
    assert_eq!(problem.label, "unknown key");
    if let Some(help) = help {
        assert_eq!(problem.help.as_deref(), Some(help));
    }
}

/// The keys the errors name are the ones that parse.
#[test]
fn the_allowed_keys_parse() {
    let yaml = indoc! {"
        name: x
        topology: {kind: patroni}
        steps:
          - fault: kill
            target: primary
          - expect:
              - timeline: {increments: 2, within: 45s}
    "};
    let loaded = parse_scenario("scenarios/x.yaml", yaml).expect("valid");
    let expect = loaded.scenario.steps[1].value.expect.as_ref().expect("an expect step");
    assert!(matches!(expect[0].value, Expectation::Timeline { increments: 2, .. }), "{:?}", expect[0].value);
}
