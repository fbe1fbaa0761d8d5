//! Bad input refused precisely: for every class of scenario that can never work or is not what
//! it looks like, the message, the `file:line:col` it points at and what it allows. One table
//! per class; each snippet changes one thing in an otherwise valid scenario.
use indoc::{formatdoc, indoc};
use test_case::test_case;

use super::parse_scenario;

/// A valid Patroni scenario (3 members, no workload) whose steps start on line 6 with a kill of
/// the primary; `more` follows it.
fn after_kill(more: &str) -> String {
    formatdoc! {"
        name: x
        topology:
          kind: patroni
          members: 3
        steps:
          - fault: kill
            target: primary
        {more}"
    }
}

/// The one problem of `yaml`, as `line:col: message | help`.
#[track_caller]
fn the_problem(yaml: &str) -> String {
    let error = parse_scenario("scenarios/x.yaml", yaml).expect_err("must be refused");
    let problems = error.problems();
    assert_eq!(problems.len(), 1, "expected one problem: {error}");
    let p = &problems[0];
    format!("{}:{}: {} | {}", p.line, p.column, p.message, p.help.as_deref().unwrap_or_default())
}

#[track_caller]
fn assert_refused(yaml: &str, at: &str, phrases: &[&str]) {
    let found = the_problem(yaml);
    assert!(found.starts_with(&format!("{at}: ")), "expected a problem at {at}, got: {found}");
    for phrase in phrases {
        assert!(found.contains(phrase), "expected `{phrase}` in: {found}");
    }
}

#[test_case("  - fault: partition\n    target: primary\n    peers: primary\n    duration: 5s\n", "10:12", &["`peers` of fault `partition` is its `target` itself"] ; "partition peers are its target")]
#[test_case("  - fault: partition\n    target: {member: pg-2}\n    peers: {member: pg-2}\n", "10:12", &["`peers` of fault `partition` is its `target` itself", "other containers"] ; "partition peers name the target member")]
#[test_case("  - fault: switchover\n    candidate: {member: etcd-1}\n", "9:16", &["fault `switchover` acts on Patroni members only, and `etcd-1` is not one"] ; "switchover candidate is an etcd member")]
#[test_case("  - fault: kill_postgres\n    target: etcd_leader\n", "9:13", &["fault `kill_postgres` acts on Patroni members only, and etcd is not one"] ; "kill_postgres on etcd")]
#[test_case("  - fault: kill_patroni\n    target: {member: haproxy}\n", "9:13", &["fault `kill_patroni` acts on Patroni members only, and `haproxy` is not one", "aim it at"] ; "kill_patroni on haproxy")]
#[test_case("  - expect:\n      - rejoins: {target: {member: etcd-1}, within: 60s}\n", "9:36", &["`rejoins` watches a Patroni member, and `etcd-1` is not one", "pg-1, pg-2, pg-3"] ; "rejoins on etcd")]
#[test_case("  - expect:\n      - leader_is: {target: {member: haproxy}, within: 60s}\n", "9:38", &["`leader_is` watches a Patroni member, and `haproxy` is not one"] ; "leader_is on haproxy")]
#[test_case("  - expect:\n      - never_leader: {target: {member: etcd-1}}\n", "9:41", &["`never_leader` watches a Patroni member, and `etcd-1` is not one"] ; "never_leader on etcd")]
#[test_case("  - fault: kill\n    target: sync_standby\n", "9:13", &["`sync_standby` in step 2 names no member: this topology runs without synchronous replication", "synchronous_mode: true"] ; "sync_standby without synchronous mode")]
#[test_case("  - expect: []\n", "8:13", &["`expect` in step 2 lists no expectations", "new_leader"] ; "empty expect")]
fn targets_that_can_never_work(more: &str, at: &str, phrases: &[&str]) {
    assert_refused(&after_kill(more), at, phrases);
}

#[test]
fn sync_standby_is_fine_with_synchronous_mode() {
    let yaml = after_kill("  - fault: kill\n    target: sync_standby\n")
        .replace("members: 3\n", "members: 3\n  patroni: {synchronous_mode: true}\n");
    parse_scenario("x.yaml", &yaml).unwrap_or_else(|e| panic!("{e}"));
}

#[test_case("  - expect:\n      - writable_again: {within: 30s}\n", "9:9", "`writable_again`" ; "writable_again")]
#[test_case("  - expect:\n      - max_write_unavailability: {max: 10s}\n", "9:9", "`max_write_unavailability`" ; "max_write_unavailability")]
#[test_case("  - expect:\n      - no_write_acked: {within: 10s}\n", "9:9", "`no_write_acked`" ; "no_write_acked")]
fn write_checks_need_a_workload(more: &str, at: &str, name: &str) {
    let message = format!("{name} measures the workload's writes, but the scenario has no `workload` section");
    assert_refused(&after_kill(more), at, &[&message, "workload: {writers: 2, rate: 100/s}"]);
}

#[test]
fn write_pause_needs_a_workload() {
    let yaml = indoc! {"
        name: x
        topology: {kind: citus}
        steps:
          - fault: kill
            target: primary
            group: 1
          - expect:
              - write_pause: {group: 1, max: 5s}
    "};
    assert_refused(yaml, "8:9", &["`write_pause` measures the workload's writes"]);
}

#[test_case("  members: \"3\"\n", "4:12", &["`members: \"3\"` is a string, but `members` takes a whole number", "`members: 3`"] ; "quoted member count")]
#[test_case("  patroni: {synchronous_mode: \"true\"}\n", "4:31", &["`synchronous_mode: \"true\"` is a string, but `synchronous_mode` takes true or false", "`synchronous_mode: true`"] ; "quoted boolean")]
#[test_case("  patroni: {ttl: '30'}\n", "4:18", &["`ttl: \"30\"` is a string, but `ttl` takes a whole number"] ; "single-quoted ttl")]
#[test_case("  monitoring: {rules: [rules/pgdrill-alerts.yaml], for_scale: \"0.1\"}\n", "4:63", &["`for_scale: \"0.1\"` is a string, but `for_scale` takes a number"] ; "quoted for_scale")]
#[test_case("  patroni: {failsafe_mode: yes}\n", "4:28", &["invalid value `yes` for `failsafe_mode`: expected true or false"] ; "YAML 1.1 boolean")]
fn quoted_numbers_and_booleans_in_the_topology(line: &str, at: &str, phrases: &[&str]) {
    let yaml = format!("name: x\ntopology:\n  kind: patroni\n{line}steps:\n  - sleep: 1s\n");
    let path = format!("{}/../scenarios/x.yaml", env!("CARGO_MANIFEST_DIR"));
    let error = parse_scenario(&path, &yaml).expect_err("must be refused");
    let p = &error.problems()[0];
    let found = format!("{}:{}: {} | {}", p.line, p.column, p.message, p.help.as_deref().unwrap_or_default());
    assert_eq!(error.problems().len(), 1, "{error}");
    assert!(found.starts_with(&format!("{at}: ")), "expected {at}, got: {found}");
    for phrase in phrases {
        assert!(found.contains(phrase), "expected `{phrase}` in: {found}");
    }
}

#[test_case("  - expect:\n      - timeline: {increments: \"2\", within: 45s}\n", "9:32", &["`increments: \"2\"` is a string"] ; "quoted increments")]
#[test_case("  - fault: loss\n    target: primary\n    probability: \"0.3\"\n", "10:18", &["invalid value for `probability`: expected a number between 0 and 1"] ; "quoted fault option")]
#[test_case("  - fault: partition\n    target: primary\n    one_way: \"true\"\n", "10:14", &["invalid value for `one_way`: expected true or false"] ; "quoted fault boolean")]
fn quoted_numbers_and_booleans_in_steps(more: &str, at: &str, phrases: &[&str]) {
    assert_refused(&after_kill(more), at, phrases);
}

#[test_case("  - sleep: 99999999999h\n", "8:12", &["`sleep: 99999999999h` is longer than 24h", "45s or 2m"] ; "absurd sleep")]
#[test_case("  - expect:\n      - new_leader: {within: 25h}\n", "9:30", &["`within: 25h` is longer than 24h"] ; "budget over a day")]
fn absurd_durations(more: &str, at: &str, phrases: &[&str]) {
    assert_refused(&after_kill(more), at, phrases);
}

#[test_case("etcd: 4", "4:9", &["`etcd: 4` is even: 4 members tolerate no more failures than 3", "1, 3, 5 or 7"] ; "even etcd")]
#[test_case("etcd: 2", "4:9", &["`etcd: 2` is even"] ; "two etcd members")]
#[test_case("members: 300", "4:12", &["invalid value `300` for `members`: expected a whole number from 1 to 9"] ; "members beyond the integer type")]
#[test_case("members: -1", "4:12", &["`members`: expected a whole number from 1 to 9"] ; "negative members")]
#[test_case("etcd: 1000", "4:9", &["invalid value `1000` for `etcd`: expected 1, 3, 5 or 7"] ; "etcd beyond the integer type")]
#[test_case("patroni: {ttl: -5}", "4:18", &["`ttl`: expected a whole number, at least 20"] ; "negative ttl")]
#[test_case("groups: {workers: [300]}", "4:22", &["for `workers`: expected a whole number from 1 to 5"] ; "group size beyond the integer type")]
#[test_case("patroni: {postgresql: {data_dir: /data}}", "4:26", &["`data_dir` collides with a key pgdrill owns", "remove this key"] ; "a Patroni key pgdrill owns")]
#[test_case("patroni: {bootstrap: {dcs: {synchronous_mode: quorum}}}", "4:49", &["`synchronous_mode: quorum` is not drilled"] ; "quorum commit")]
#[test_case("patroni: {tags: {replicatefrom: pg-2}}", "4:20", &["tag `replicatefrom` changes how members replicate"] ; "a cascading tag")]
#[test_case("patroni: {postgresql: {parameters: {wal_level: logical}}}", "4:39", &["Patroni ignores `wal_level` in a local `postgresql.parameters`", "bootstrap.dcs.postgresql.parameters.wal_level"] ; "a DCS-only parameter set locally")]
fn absurd_topologies(topology: &str, at: &str, phrases: &[&str]) {
    let yaml = format!("name: x\ntopology:\n  kind: patroni\n  {topology}\nsteps:\n  - sleep: 1s\n");
    let error = parse_scenario("scenarios/x.yaml", &yaml).expect_err("must be refused");
    let p = &error.problems()[0];
    let found = format!("{}:{}: {} | {}", p.line, p.column, p.message, p.help.as_deref().unwrap_or_default());
    assert!(found.starts_with(&format!("{at}: ")), "expected {at}, got: {found}");
    for phrase in phrases {
        assert!(found.contains(phrase), "expected `{phrase}` in: {found}");
    }
}

#[test]
fn writers_beyond_the_integer_type_quote_the_real_limit() {
    let yaml = after_kill("workload: {writers: 100000}\n");
    let error = parse_scenario("x.yaml", &yaml).expect_err("must be refused").to_string();
    assert!(
        error.starts_with("x.yaml:8:21: invalid value `100000` for `writers`: expected a whole number from 1 to 64"),
        "{error}"
    );
}

#[test_case("name: ''", "1:7", &["the name `` is empty", "1 to 64"] ; "empty name")]
#[test_case("name: a/b", "1:7", &["the name `a/b` has `/`, which a name may not contain"] ; "path separator")]
#[test_case("name: \"a\\u001b[31mb\"", "1:7", &["has `\\u{1b}`", "a\\u{1b}[31mb"] ; "terminal escape")]
#[test_case("name: ../up", "1:7", &["has `/`"] ; "climbing name")]
#[test_case("name: .hidden", "1:7", &["starts with `.` or `-`"] ; "hidden name")]
#[test_case("name: x\ndescription: \"bell\\a\"", "2:14", &["the description has the control character `\\u{7}`", "pgdrill list"] ; "control character in the description")]
fn absurd_names(name: &str, at: &str, phrases: &[&str]) {
    let yaml = format!("{name}\ntopology: {{kind: patroni}}\nsteps:\n  - sleep: 1s\n");
    assert_refused(&yaml, at, phrases);
}

#[test]
fn a_huge_name_is_refused_without_being_quoted_whole() {
    let yaml = format!("name: {}\ntopology: {{kind: patroni}}\nsteps:\n  - sleep: 1s\n", "n".repeat(100_000));
    let found = the_problem(&yaml);
    assert!(found.starts_with("1:7: the name `nnn"), "{found}");
    assert!(found.contains("has 100000 characters, more than 64"), "{found}");
    assert!(found.len() < 400, "the message quotes a clipped name: {} bytes", found.len());
}

#[test_case("interval: 1ms", "`interval: 1ms` is out of range: pgdrill scrapes every 100ms to 1m" ; "interval too short")]
#[test_case("interval: 72h", "`interval: 72h` is out of range" ; "interval of days")]
fn scrape_intervals(interval: &str, phrase: &str) {
    let yaml = format!(
        "name: x\ntopology:\n  kind: patroni\n  monitoring: {{rules: [rules/pgdrill-alerts.yaml], {interval}}}\nsteps:\n  - sleep: 1s\n"
    );
    let path = format!("{}/../scenarios/x.yaml", env!("CARGO_MANIFEST_DIR"));
    let error = parse_scenario(&path, &yaml).expect_err("must be refused");
    assert_eq!(error.problems().len(), 1, "{error}");
    let p = &error.problems()[0];
    assert_eq!((p.line, p.column), (4, 62), "{error}");
    assert!(p.message.contains(phrase), "{error}");
}

#[test_case("  - fault: loss\n    target: primary\n    probability: .nan\n", "10:18" ; "NaN probability")]
fn nan_has_a_location(more: &str, at: &str) {
    let error = parse_scenario("x.yaml", &after_kill(more)).expect_err("must be refused");
    let p = &error.problems()[0];
    assert!(p.has_location(), "{error}");
    assert_eq!(format!("{}:{}", p.line, p.column), at, "{error}");
}

#[test]
fn nan_for_scale_has_a_location() {
    let yaml = "name: x\ntopology:\n  kind: patroni\n  monitoring: {rules: [rules/pgdrill-alerts.yaml], for_scale: .nan}\nsteps:\n  - sleep: 1s\n";
    let path = format!("{}/../scenarios/x.yaml", env!("CARGO_MANIFEST_DIR"));
    let error = parse_scenario(&path, yaml).expect_err("must be refused");
    let p = &error.problems()[0];
    assert_eq!((p.line, p.column), (4, 63), "{error}");
    assert!(p.message.contains("for_scale NaN is out of range"), "{error}");
}

/// A scratch repository: `root/.git`, the scenario's directory `root/scenarios`, a valid rule
/// file inside, a file that is not a rule file (with a secret in it) and a rule file outside.
struct Repo {
    dir: std::path::PathBuf,
}

impl Repo {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("pgdrill-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for sub in ["repo/.git", "repo/scenarios/rules"] {
            std::fs::create_dir_all(dir.join(sub)).expect("scratch dirs");
        }
        let rules = indoc! {"
            groups:
              - name: g
                rules:
                  - alert: Down
                    expr: up == 0
        "};
        std::fs::write(dir.join("repo/scenarios/rules/ok.yaml"), rules).expect("rule file");
        std::fs::write(dir.join("outside.yaml"), rules).expect("rule file outside");
        std::fs::write(dir.join("repo/secret.yaml"), "password: hunter2\nuser: admin\n").expect("secret file");
        Self { dir }
    }

    fn parse(&self, rule: &str, allow_outside: bool) -> Result<(), String> {
        let yaml =
            format!("name: x\ntopology:\n  kind: patroni\n  monitoring: {{rules: [{rule}]}}\nsteps:\n  - sleep: 1s\n");
        let path = self.dir.join("repo/scenarios/x.yaml").display().to_string();
        let options = super::LoadOptions { allow_outside_rules: allow_outside };
        super::parse_scenario_with(&path, &yaml, options).map(|_| ()).map_err(|e| format!("{e}"))
    }
}

impl Drop for Repo {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn rule_files_stay_inside_the_repository() {
    let repo = Repo::new("rules-inside");
    repo.parse("rules/ok.yaml", false).unwrap_or_else(|e| panic!("{e}"));
    let outside = repo.dir.join("outside.yaml").display().to_string();
    for (rule, phrase) in [
        (outside.as_str(), "is an absolute path"),
        ("../../outside.yaml", "leads outside the scenario's repository"),
        ("../../../../../../../../etc/passwd", "leads outside the scenario's repository"),
        ("/etc/passwd", "is an absolute path"),
    ] {
        let error = repo.parse(rule, false).expect_err(rule);
        assert!(error.contains("x.yaml:4:24: rule file `"), "{error}");
        assert!(error.contains(phrase), "{rule}: {error}");
    }
    repo.parse(&outside, true).unwrap_or_else(|e| panic!("allowed by the flag: {e}"));
    repo.parse("../../outside.yaml", true).unwrap_or_else(|e| panic!("allowed by the flag: {e}"));
}

#[test]
fn a_file_that_is_not_a_rule_file_is_never_quoted() {
    let repo = Repo::new("rules-secret");
    let error = repo.parse("../secret.yaml", false).expect_err("not a rule file");
    assert!(error.contains("x.yaml:4:24: rule file `../secret.yaml`:"), "{error}");
    assert!(error.contains("not a rule file"), "{error}");
    for secret in ["hunter2", "password", "admin"] {
        assert!(!error.contains(secret), "the error quotes the file: {error}");
    }
    let error = repo.parse("/etc/passwd", true).expect_err("not a rule file");
    assert!(!error.contains("root:"), "the error quotes /etc/passwd: {error}");
}

#[test]
fn a_rule_file_read_error_says_why() {
    let repo = Repo::new("rules-missing");
    let error = repo.parse("rules/missing.yaml", false).expect_err("missing");
    assert!(error.contains("failed to read the rule file: No such file or directory"), "{error}");
}

/// One flow-style line with `n` steps, each aimed at a member the topology lacks.
fn one_long_line(n: usize) -> String {
    let steps: Vec<&str> = std::iter::repeat_n("{fault: kill, target: {member: pg-9}}", n).collect();
    format!("name: x\ntopology: {{kind: patroni}}\nsteps: [{}]\n", steps.join(", "))
}

#[test]
fn a_thousand_problems_on_one_line_print_a_screenful() {
    let error = parse_scenario("x.yaml", &one_long_line(1000)).expect_err("must be refused");
    assert_eq!(error.problems().len(), 1000);
    let plain = error.to_string();
    assert!(plain.lines().count() <= super::MAX_SHOWN_PROBLEMS + 2, "{plain}");
    assert!(plain.ends_with("… and 980 more problem(s), not shown; fix these first"), "{plain}");
    let mut rendered = String::new();
    miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::none())
        .render_report(&mut rendered, &error)
        .expect("renders");
    assert!(rendered.len() < 20_000, "{} bytes rendered", rendered.len());
    assert!(rendered.contains("… and 980 more problem(s)"), "{rendered}");
    assert!(rendered.contains("[x.yaml:3:"), "each problem keeps its location: {rendered}");
    assert!(rendered.contains("no such member"), "each problem keeps its label: {rendered}");
    let longest = rendered.lines().map(|l| l.chars().count()).max().unwrap_or(0);
    assert!(longest < 200, "snippet lines are cut around the column: {longest} characters");
}

#[test]
fn one_problem_on_a_long_line_is_shown_in_a_window() {
    let yaml = one_long_line(1).replace("steps: [", &format!("steps: [{}", "{sleep: 1s}, ".repeat(100)));
    let error = parse_scenario("x.yaml", &yaml).expect_err("must be refused");
    assert_eq!(error.problems().len(), 1, "{error}");
    let mut rendered = String::new();
    miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::none())
        .render_report(&mut rendered, &error)
        .expect("renders");
    let column = error.problems()[0].column;
    assert!(rendered.contains(&format!("[x.yaml:3:{column}]")), "{rendered}");
    assert!(rendered.contains("no such member") && rendered.contains("…}, {sleep: 1s}"), "{rendered}");
    assert!(rendered.lines().all(|line| line.chars().count() < 200), "{rendered}");
}

/// A valid scenario with a pooler whose clients are judged by `pooler_recovers`; `topology_line`
/// (line 4), `workload` (line 5) and `expectation` (line 10) replace their lines.
fn pooled(topology_line: &str, workload: &str, expectation: &str) -> String {
    formatdoc! {"
        name: x
        topology:
          kind: patroni
          {topology_line}
        {workload}
        steps:
          - fault: kill
            target: primary
          - expect:
              - {expectation}
        "
    }
}

const POOLER: &str = "pooler: {pool_mode: transaction}";
const WORKLOAD: &str = "workload: {writers: 2, rate: 100/s}";
const RECOVERS: &str = "pooler_recovers: {within: 30s}";

#[test]
fn a_pooled_scenario_is_valid() {
    parse_scenario("x.yaml", &pooled(POOLER, WORKLOAD, RECOVERS)).unwrap_or_else(|e| panic!("{e}"));
    let tuned = "pooler: {pool_mode: session, pool_size: 5, server_login_retry: 500ms, query_wait_timeout: 10s}";
    let yaml =
        pooled(tuned, "workload: {writers: 2, via: haproxy}", "pooler_recovers: {within: 30s, after_primary: 3s}");
    parse_scenario("x.yaml", &yaml).unwrap_or_else(|e| panic!("{e}"));
}

#[test_case("pooler: {pool_mode: statement}", "4:23", &["statement", "transaction", "session"] ; "statement pooling")]
#[test_case("pooler: {pool_mode: transaction, pool_size: 0}", "4:47", &["`pool_size: 0` is out of range: PgBouncer gets 1 to 90 server connections per pool", "max_connections"] ; "empty pool")]
#[test_case("pooler: {pool_mode: transaction, pool_size: 100000}", "4:47", &["for `pool_size`: expected a whole number from 1 to 90"] ; "pool beyond the integer type")]
#[test_case("pooler: {pool_mode: transaction, server_login_retry: 0s}", "4:56", &["`server_login_retry` must be longer than zero"] ; "zero login retry")]
#[test_case("pooler: {pool_mode: transaction, server_login_retries: 2s}", "4:36", &["server_login_retries", "server_login_retry"] ; "misspelt setting")]
#[test_case("pooler: {pool_mode: transaction, query_wait_timeout: \"2\"}", "4:56", &["invalid duration `2`"] ; "duration without a unit")]
fn pooler_settings(topology_line: &str, at: &str, phrases: &[&str]) {
    assert_refused(&pooled(topology_line, WORKLOAD, RECOVERS), at, phrases);
}

#[test]
fn pooler_things_without_a_pooler_or_a_plain_cluster_are_refused() {
    let no_pooler = pooled("members: 3", WORKLOAD, RECOVERS);
    assert_refused(
        &no_pooler,
        "10:9",
        &["`pooler_recovers` measures clients behind a pooler, but the topology has no `pooler`"],
    );
    let via = pooled("members: 3", "workload: {writers: 2, via: pooler}", "new_leader: {within: 30s}");
    assert_refused(&via, "5:29", &["`via: pooler` needs a `topology.pooler`", "via: haproxy"]);
    let citus = pooled(POOLER, WORKLOAD, "new_leader: {within: 30s}")
        .replace("kind: patroni", "kind: citus")
        .replace("target: primary", "target: {member: coord-1}");
    assert_refused(&citus, "4:3", &["a pooler is drilled only in front of a plain Patroni cluster", "kind: patroni"]);
    let no_workload = pooled(POOLER, "", RECOVERS);
    assert_refused(&no_workload, "10:9", &["`pooler_recovers` measures the workload's writes"]);
}
