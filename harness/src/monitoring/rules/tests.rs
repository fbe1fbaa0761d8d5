use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use indoc::indoc;
use test_case::test_case;

use super::render::scalar;
use super::*;
use crate::monitoring::error::RuleFileError;
use crate::monitoring::promql::PromDuration;

const PLAIN: &str = indoc! {r#"
    groups:
      - name: citus_cluster_alerts
        interval: 30s
        rules:
          - alert: PostgreSQLDown
            expr: patroni_postgres_running == 0
            for: 1m
            labels:
              severity: critical
            annotations:
              summary: "PostgreSQL is down"
              description: "PostgreSQL on {{ $labels.pod }} is not running"
          - record: job:up:sum
            expr: sum by (job) (up)
          - alert: FailoverDetected
            expr: increase(patroni_timeline[5m]) > 0
            for: 1m
            labels:
              severity: info
          - alert: CitusMetadataNotSynced
            expr: |
              citus_metadata_sync_nodes_metadata_synced
              <
              citus_metadata_sync_node_count
            for: 5m
"#};

fn parse(text: &str) -> Result<RuleFile, RuleFileError> {
    parse_rule_file(Path::new("rules/x.yaml"), text)
}

#[test]
fn plain_file_lists_alerts_with_lines() {
    let file = parse(PLAIN).unwrap();
    assert_eq!(file.format, RuleFileFormat::Plain);
    let alerts = file.alerts();
    let summary: Vec<_> = alerts.iter().map(|a| (a.name.as_str(), a.line, a.for_.to_string())).collect();
    assert_eq!(
        summary,
        [
            ("PostgreSQLDown", 5, "1m".into()),
            ("FailoverDetected", 15, "1m".into()),
            ("CitusMetadataNotSynced", 20, "5m".into())
        ]
    );
    let down = &alerts[0];
    assert_eq!(down.expr, "patroni_postgres_running == 0");
    assert_eq!(down.labels["severity"], "critical");
    assert_eq!(down.annotations["description"], "PostgreSQL on {{ $labels.pod }} is not running");
    assert_eq!(down.file, Path::new("rules/x.yaml"));
    assert_eq!(down.group, "citus_cluster_alerts");
    assert_eq!(alerts[2].expr, "citus_metadata_sync_nodes_metadata_synced\n<\ncitus_metadata_sync_node_count\n");
    assert_eq!(file.groups[0].interval, Some(PromDuration(30_000)));
    assert_eq!(file.groups[0].line, 2);
    assert_eq!(file.line_of("citus_cluster_alerts", Some(2)), Some(13));
    assert_eq!(file.line_of("citus_cluster_alerts", None), Some(2));
}

#[test]
fn prometheus_rule_manifest_uses_spec_groups() {
    let text = indoc! {r#"
        apiVersion: v1
        kind: ServiceMonitor
        metadata: {name: other}
        spec: {endpoints: [{port: metrics}]}
        ---
        apiVersion: monitoring.coreos.com/v1
        kind: PrometheusRule
        metadata:
          name: citusdemo-alerts
          labels: {prometheus: kube-prometheus}
        spec:
          groups:
            - name: citus
              rules:
                - alert: NoPrimaryInCluster
                  expr: sum(patroni_primary) == 0
                  for: 2m
    "#};
    let file = parse(text).unwrap();
    assert_eq!(file.format, RuleFileFormat::PrometheusRule { names: vec!["citusdemo-alerts".into()] });
    assert_eq!(file.skipped, ["document 1: ServiceMonitor other"]);
    let alerts = file.alerts();
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].name, "NoPrimaryInCluster");
    assert_eq!(alerts[0].line, 15, "lines count from the top of the file, across documents");
}

#[test_case("groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n        fr: 1m\n", 6, "unknown field `fr`"; "typo in a rule")]
#[test_case("groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n        for: 1.5m\n", 6, "invalid duration `1.5m` for `for`"; "bad duration")]
#[test_case("groups:\n  - name: g\n    rules:\n      - expr: up\n", 4, "exactly one of `alert:`"; "neither alert nor record")]
#[test_case("groups:\n  - name: g\n    rules:\n      - record: r\n        expr: up\n        for: 1m\n", 6, "only allowed in alerting rules"; "for on a recording rule")]
#[test_case("groups: []\nrules: []\n", 2, "unknown key `rules` at the top of the file"; "unknown top-level key")]
#[test_case("kind: ConfigMap\ndata: {}\n", 0, "not a rule file"; "other kind without apiVersion")]
#[test_case("groups: []\n", 0, "no rule groups"; "empty")]
#[test_case("groups:\n  - name: g\n    rules: [\n", 3, ""; "broken YAML")]
fn errors_point_at_the_file(text: &str, line: usize, message: &str) {
    let error = parse(text).unwrap_err();
    assert_eq!(error.line, line, "{error}");
    assert!(error.to_string().contains(message), "{error}");
    assert!(error.to_string().starts_with("rules/x.yaml"), "{error}");
}

#[test]
fn scalars_are_read_as_text() {
    let file =
        parse("groups:\n- name: g\n  rules:\n  - alert: A\n    expr: 1\n    labels: {priority: 2, page: true}\n")
            .unwrap();
    let rule = &file.groups[0].rules[0];
    assert_eq!(rule.expr, "1");
    assert_eq!(rule.labels["priority"], "2");
    assert_eq!(rule.labels["page"], "true");
}

fn options(factor: f64) -> ScaleOptions {
    ScaleOptions::new(factor, Duration::from_secs(1)).unwrap()
}

#[test]
fn scaling_compresses_for_windows_and_intervals() {
    let file = parse(PLAIN).unwrap();
    let (scaled, changes) = file.scaled(&options(0.1));
    let failover = &scaled.groups[0].rules[2];
    assert_eq!(failover.for_, Some(PromDuration(6_000)));
    assert_eq!(failover.expr, "increase(patroni_timeline[30s]) > 0");
    assert_eq!(scaled.groups[0].interval, Some(PromDuration(3_000)));
    let listed: Vec<String> = changes
        .iter()
        .map(|c| {
            format!(
                "{}:{:?}:{}->{}{}",
                c.rule.as_deref().unwrap_or("-"),
                c.what,
                c.from,
                c.to,
                if c.floored { " floored" } else { "" }
            )
        })
        .collect();
    assert_eq!(
        listed,
        [
            "-:GroupInterval:30s->3s",
            "PostgreSQLDown:For:1m->6s",
            "FailoverDetected:For:1m->6s",
            "FailoverDetected:Window(Range):5m->30s",
            "CitusMetadataNotSynced:For:5m->30s",
        ]
    );
    // The original is untouched, lines stay the user's.
    assert_eq!(file.groups[0].rules[2].expr, "increase(patroni_timeline[5m]) > 0");
    assert_eq!(changes[3].line, 15);
}

#[test]
fn scaling_respects_floors_and_never_raises() {
    let text = "groups:\n- name: g\n  interval: 2s\n  rules:\n  - alert: A\n    expr: rate(x[20s]) > 0 and y[2s]\n    for: 10s\n  - alert: B\n    expr: up\n    for: 0s\n";
    let (scaled, changes) = parse(text).unwrap().scaled(&options(0.01));
    let a = &scaled.groups[0].rules[0];
    assert_eq!(a.expr, "rate(x[4s]) > 0 and y[2s]", "range floor 4 × scrape; 2s was already below it");
    assert_eq!(a.for_, Some(PromDuration(2_000)), "for floor 2 × scrape");
    assert_eq!(scaled.groups[0].interval, Some(PromDuration(1_000)), "interval floor 1 × scrape");
    assert_eq!(scaled.groups[0].rules[1].for_, Some(PromDuration(0)));
    assert!(changes.iter().all(|c| c.floored));
    assert_eq!(changes.len(), 3);
}

#[test]
fn scale_factor_must_be_positive() {
    assert!(ScaleOptions::new(0.0, Duration::from_secs(1)).is_err());
    assert!(ScaleOptions::new(f64::NAN, Duration::from_secs(1)).is_err());
    assert!(ScaleOptions::new(-1.0, Duration::from_secs(1)).is_err());
    assert!(ScaleOptions::new(2.0, Duration::from_secs(1)).is_ok());
}

#[test]
fn written_file_reads_back_the_same() {
    let file = parse(PLAIN).unwrap();
    let (scaled, _) = file.scaled(&options(0.1));
    let yaml = scaled.to_yaml("generated by pgdrill from rules/x.yaml\nfor_scale 0.1");
    assert!(yaml.starts_with("# generated by pgdrill from rules/x.yaml\n# for_scale 0.1\ngroups:\n"), "{yaml}");
    assert!(yaml.contains("    expr: increase(patroni_timeline[30s]) > 0\n"), "{yaml}");
    assert!(yaml.contains("    expr: |\n      citus_metadata_sync_nodes_metadata_synced\n      <\n"), "{yaml}");
    let again = parse(&yaml).unwrap();
    assert_eq!(again.groups.len(), 1);
    for (a, b) in again.groups[0].rules.iter().zip(&scaled.groups[0].rules) {
        assert_eq!(
            (&a.name, &a.expr, a.for_, &a.labels, &a.annotations),
            (&b.name, &b.expr, b.for_, &b.labels, &b.annotations)
        );
    }
}

#[test_case("critical", "critical")]
#[test_case("no", "\"no\"")]
#[test_case("On", "\"On\"")]
#[test_case("1", "\"1\"")]
#[test_case("PostgreSQL is down", "PostgreSQL is down")]
#[test_case("a: b", "\"a: b\"")]
#[test_case("{{ $labels.pod }}", "\"{{ $labels.pod }}\"")]
#[test_case("x # y", "\"x # y\"")]
#[test_case("", "\"\"")]
#[test_case("a\nb", "|-\n  a\n  b")]
#[test_case("a\n\nb\n", "|\n  a\n\n  b")]
#[test_case(" a\nb\n\n", "|2+\n   a\n  b\n")]
#[test_case("rate(x{a=\"b\"}[5m]) > 0", "rate(x{a=\"b\"}[5m]) > 0"; "brackets and quotes inside")]
#[test_case("[x]", "\"[x]\""; "flow indicator first")]
fn scalars_are_written_safely(value: &str, expected: &str) {
    let written = scalar(value, 0);
    assert_eq!(written, expected);
    let yaml = format!("v: {written}\n");
    let back: BTreeMap<String, String> = serde_saphyr::from_str(&yaml).unwrap();
    assert_eq!(back["v"], value);
}

#[test]
fn shipped_rule_file_loads() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/rules/pgdrill-alerts.yaml");
    let file = load_rule_file(&path).unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<String> = file.alerts().into_iter().map(|a| a.name).collect();
    for expected in [
        "PostgreSQLDown",
        "NoPrimaryInCluster",
        "HighReplicationLag",
        "CitusWorkerInactive",
        "CitusMetadataNotSynced",
        "FailoverDetected",
        "InactiveShardsDetected",
        "PatroniClusterUnlocked",
    ] {
        assert!(names.iter().any(|n| n == expected), "{expected} missing from {names:?}");
    }
}
