//! The users' own Patroni configuration: a production-style file loads and merges as Patroni
//! would; every key pgdrill owns, cannot drill or Patroni would ignore is refused at its
//! file:line:col (in the user's patroni.yml when it comes from there).
use std::path::{Path, PathBuf};

use indoc::{formatdoc, indoc};
use test_case::test_case;

use super::{load_scenario, parse_scenario, ConfigValue, LoadedScenario, ScenarioError, Target};

/// A directory of its own with `scenario.yaml` (with `topology.patroni` = `patroni`) and
/// `patroni.yml` (= `file`).
fn write_pair(name: &str, patroni: &str, file: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pgdrill-patroniconf-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let scenario = formatdoc! {"
        name: x
        topology:
          kind: patroni
          members: 3
          patroni:
        {patroni}
        steps:
          - fault: switchover
          - expect:
              - new_leader: {{within: 30s}}
    "};
    std::fs::write(dir.join("scenario.yaml"), scenario).unwrap();
    std::fs::write(dir.join("patroni.yml"), file).unwrap();
    dir.join("scenario.yaml")
}

fn load(name: &str, patroni: &str, file: &str) -> Result<LoadedScenario, ScenarioError> {
    let path = write_pair(name, patroni, file);
    let loaded = load_scenario(&path);
    std::fs::remove_dir_all(path.parent().unwrap()).ok();
    loaded
}

const FILE_ONLY: &str = "    file: patroni.yml";

#[test]
fn the_shipped_production_file_loads_and_merges() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/user-config-switchover.yaml");
    let loaded = load_scenario(&path).unwrap_or_else(|e| panic!("{e}"));
    let patroni = &loaded.scenario.topology.patroni;
    // The scenario's short keys win over the file's ttl 30 / loop_wait 10 / retry_timeout 10 ...
    assert_eq!((patroni.ttl, patroni.loop_wait, patroni.retry_timeout), (20, 2, 5));
    // ... and the file's other settings are what runs.
    assert!(patroni.synchronous_mode && patroni.synchronous_mode_strict && patroni.failsafe_mode);
    let dcs = &patroni.user.dcs;
    assert_eq!(dcs.get("synchronous_node_count").and_then(ConfigValue::as_i64), Some(2));
    assert_eq!(dcs.get("check_timeline").and_then(ConfigValue::as_bool), Some(true));
    assert!(dcs.get("ttl").is_none(), "short keys live in the settings' fields");
    assert_eq!(dcs.at("postgresql.parameters.max_connections").and_then(ConfigValue::as_i64), Some(100));
    assert_eq!(patroni.user.parameters.get("shared_buffers").and_then(ConfigValue::as_str), Some("64MB"));
    assert_eq!(patroni.user.pg_hba.as_ref().map(Vec::len), Some(5));
    assert_eq!(patroni.user.tags.get("datacenter").and_then(ConfigValue::as_str), Some("dc1"));
    let topology = &loaded.scenario.topology;
    assert_eq!(topology.member_tags("pg-2").failover_priority, Some(2));
    assert_eq!(topology.member_tags("pg-2").nofailover, Some(false), "the file's tags apply to every member");
}

#[test]
fn unwritten_short_keys_take_the_files_values() {
    let file = "bootstrap:\n  dcs:\n    ttl: 30\n    loop_wait: 3\n    synchronous_mode: true\n";
    let loaded = load("short", FILE_ONLY, file).unwrap_or_else(|e| panic!("{e}"));
    let patroni = &loaded.scenario.topology.patroni;
    assert_eq!((patroni.ttl, patroni.loop_wait, patroni.retry_timeout), (30, 3, 5));
    assert!(patroni.synchronous_mode);
    let loaded = load("short-written", "    file: patroni.yml\n    ttl: 25", file).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(loaded.scenario.topology.patroni.ttl, 25, "a written short key wins");
}

#[test]
fn inline_keys_merge_over_the_file() {
    let file = "postgresql:\n  parameters:\n    work_mem: 4MB\n    shared_buffers: 64MB\n";
    let inline = "    file: patroni.yml\n    postgresql: {parameters: {work_mem: 8MB}}\n    tags: {datacenter: dc2}";
    let loaded = load("inline", inline, file).unwrap_or_else(|e| panic!("{e}"));
    let user = &loaded.scenario.topology.patroni.user;
    assert_eq!(user.parameters.get("work_mem").and_then(ConfigValue::as_str), Some("8MB"));
    assert_eq!(user.parameters.get("shared_buffers").and_then(ConfigValue::as_str), Some("64MB"));
    assert_eq!(user.tags.get("datacenter").and_then(ConfigValue::as_str), Some("dc2"));
}

#[test_case("scope: prod\n", "2:1", "`scope` collides with a key pgdrill owns" ; "the cluster name")]
#[test_case("etcd3:\n  hosts: [10.0.0.1:2379]\n", "2:1", "`etcd3` collides with a key pgdrill owns: the DCS endpoints" ; "DCS endpoints")]
#[test_case("restapi:\n  listen: 0.0.0.0:8008\n", "2:1", "`restapi` collides" ; "the REST API")]
#[test_case("postgresql:\n  data_dir: /data/pg\n", "3:3", "`data_dir` collides with a key pgdrill owns: the data directory" ; "the data directory")]
#[test_case("postgresql:\n  authentication:\n    superuser: {username: admin}\n", "3:3", "`authentication` collides" ; "credentials")]
#[test_case("postgresql:\n  parameters:\n    port: 5433\n", "4:5", "`port` collides with a key pgdrill owns: Patroni sets it from `postgresql.listen`" ; "a parameter Patroni derives")]
#[test_case("bootstrap:\n  dcs:\n    postgresql:\n      parameters:\n        listen_addresses: '*'\n", "6:9", "`listen_addresses` collides" ; "a dcs parameter Patroni derives")]
#[test_case("postgresql:\n  parameters:\n    max_connections: 200\n", "4:5", "Patroni ignores `max_connections` in a local `postgresql.parameters`" ; "a parameter Patroni takes only from the DCS")]
#[test_case("bootstrap:\n  dcs:\n    synchronous_node_cnt: 2\n", "4:5", "`synchronous_node_cnt` is not a key pgdrill takes" ; "a misspelt dcs key")]
#[test_case("bootstrap:\n  dcs:\n    ttl: 10\n", "4:10", "expected a whole number of at least 20" ; "a ttl Patroni would not run")]
#[test_case("bootstrap:\n  dcs:\n    check_timeline: yes\n", "4:21", "invalid value for `check_timeline`: expected true or false" ; "a YAML 1.1 boolean")]
#[test_case("bootstrap:\n  dcs:\n    synchronous_mode: quorum\n", "4:23", "`synchronous_mode: quorum` is not drilled" ; "quorum commit")]
#[test_case("bootstrap:\n  dcs:\n    standby_cluster: {host: 10.0.0.9}\n", "4:5", "`standby_cluster` would make" ; "a standby cluster")]
#[test_case("bootstrap:\n  dcs:\n    postgresql:\n      pg_hba: [host all all 0.0.0.0/0 md5]\n", "5:7", "would never apply" ; "pg_hba in the DCS")]
#[test_case("bootstrap:\n  initdb: [data-checksums]\n", "3:3", "`initdb` is pgdrill's" ; "initdb")]
#[test_case("tags:\n  nofailovr: true\n", "3:3", "unknown tag `nofailovr`" ; "a misspelt tag")]
#[test_case("tags:\n  replicatefrom: pg-2\n", "3:3", "tag `replicatefrom` changes how members replicate" ; "a cascading tag")]
#[test_case("postgresql:\n  pg_hba:\n    - {host: all}\n", "4:7", "a pg_hba line is a string" ; "a pg_hba line that is no line")]
#[test_case("log:\n  dir: /var/log/patroni\n", "2:1", "`log` is not a key pgdrill takes" ; "a section pgdrill does not take")]
fn problems_in_the_users_file_point_into_it(file: &str, at: &str, phrase: &str) {
    let file = format!("# the operator's patroni.yml\n{file}");
    let error = load(&format!("bad-{}", at.replace(':', "-")), FILE_ONLY, &file).expect_err("must be refused");
    let text = error.to_string();
    assert!(error.path.ends_with("patroni.yml"), "the error names the user's file: {text}");
    assert!(text.contains(&format!("patroni.yml:{at}: ")), "expected patroni.yml:{at}: in {text}");
    assert!(text.contains(phrase), "expected `{phrase}` in {text}");
}

#[test]
fn a_file_that_is_not_there_is_refused_at_its_key() {
    let path = write_pair("missing", "    file: nope.yml", "");
    let error = load_scenario(&path).expect_err("must be refused");
    std::fs::remove_dir_all(path.parent().unwrap()).ok();
    let text = error.to_string();
    assert!(text.contains("scenario.yaml:6:11: failed to read Patroni file `nope.yml`"), "{text}");
}

#[test]
fn too_many_synchronous_nodes_are_refused() {
    let file = "bootstrap:\n  dcs:\n    synchronous_mode: true\n    synchronous_node_count: 3\n";
    let error = load("sync-count", FILE_ONLY, file).expect_err("must be refused");
    let text = error.to_string();
    assert!(text.contains("scenario.yaml:6:11: `synchronous_node_count: 3` is more than the 2 replica(s)"), "{text}");
}

/// A valid scenario around inline `topology.patroni` lines (from line 5).
fn inline(patroni: &str) -> String {
    formatdoc! {"
        name: x
        topology:
          kind: patroni
          members: 3
        {patroni}
        steps:
          - fault: switchover
          - expect:
              - leader_is: {{target: highest_priority, within: 30s}}
    "}
}

fn problems(yaml: &str) -> Vec<String> {
    match parse_scenario("scenarios/x.yaml", yaml) {
        Ok(_) => Vec::new(),
        Err(error) => error.problems().iter().map(|p| format!("{}:{}: {}", p.line, p.column, p.message)).collect(),
    }
}

const PRIORITIES: &str = "  tags:\n    pg-1: {failover_priority: 3}\n    pg-2: {failover_priority: 2}";

#[test_case("  patroni:\n    postgresql: {listen: '0.0.0.0:5433'}\n" , "6:18: `listen` collides with a key pgdrill owns" ; "an inline collision")]
#[test_case("  patroni:\n    bootstrap: {dcs: {synchronous_node_count: 1}}\n", "6:47: `synchronous_node_count: 1` has no effect" ; "sync node count without sync mode")]
#[test_case("  patroni:\n    tags: {nosync: maybe}\n", "6:20: invalid value for `nosync`" ; "an inline tag of the wrong type")]
fn inline_problems_point_into_the_scenario(patroni: &str, expected: &str) {
    let found = problems(&inline(&format!("{patroni}{PRIORITIES}")));
    assert!(found.iter().any(|p| p.starts_with(expected)), "expected {expected:?} in {found:?}");
}

#[test]
fn highest_priority_needs_one_highest_whoever_leads() {
    assert_eq!(problems(&inline(PRIORITIES)), Vec::<String>::new());
    let tie = problems(&inline("  tags:\n    pg-1: {failover_priority: 3}"));
    assert!(
        tie.iter().any(|p| p.starts_with("10:29: `highest_priority` would name no member with pg-1 leading")
            && p.contains("pg-2: 1, pg-3: 1")),
        "{tie:?}"
    );
    let fault =
        problems(&inline(PRIORITIES).replace("  - fault: switchover", "  - fault: kill\n    target: highest_priority"));
    assert!(fault.iter().any(|p| p.contains("`highest_priority` in step 1 is for expectations")), "{fault:?}");
}

#[test]
fn highest_priority_leaves_out_the_leader_and_members_never_promoted() {
    let yaml = inline(
        "  tags:\n    pg-1: {failover_priority: 3}\n    pg-2: {nofailover: true}\n    pg-3: {failover_priority: 2}",
    );
    let topology = parse_scenario("x.yaml", &yaml).unwrap().scenario.topology;
    let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(topology.highest_priority(&names(&["pg-2", "pg-3"])), Some("pg-3".into()));
    assert_eq!(topology.highest_priority(&names(&["pg-1", "pg-3"])), Some("pg-1".into()));
    assert_eq!(topology.highest_priority(&names(&["pg-2"])), None, "nofailover is never a target");
    assert!(matches!(
        parse_scenario("x.yaml", &inline(PRIORITIES)).unwrap().scenario.steps[1].value.expect.as_ref().unwrap()[0]
            .value,
        super::Expectation::LeaderIs { target: Target::HighestPriority, .. }
    ));
}

#[test]
fn user_keys_render_into_every_members_file_without_secrets() {
    let file = indoc! {"
        bootstrap:
          dcs:
            synchronous_mode: true
            synchronous_node_count: 2
            postgresql:
              parameters: {max_connections: 50, wal_keep_size: 256MB}
        postgresql:
          parameters: {shared_buffers: 64MB, log_checkpoints: 'on'}
          pg_hba: [host all app 10.0.0.0/8 scram-sha-256, host all all 0.0.0.0/0 reject]
        tags: {datacenter: dc1, nosync: false}
    "};
    let path = write_pair("render", "    file: patroni.yml", file);
    let loaded = load_scenario(&path).unwrap_or_else(|e| panic!("{e}"));
    std::fs::remove_dir_all(path.parent().unwrap()).ok();
    let mut topology = loaded.scenario.topology.clone();
    topology
        .tags
        .insert("pg-2".into(), crate::scenario::MemberTags { failover_priority: Some(4), ..Default::default() });
    let images = crate::topology::PlanImages {
        etcd: "e".into(),
        patroni: "p".into(),
        haproxy: "h".into(),
        citus: "c".into(),
        pgbouncer: "b".into(),
        postgres: crate::topology::PgMajor::Pg17,
    };
    let secrets = crate::topology::Secrets::generate().unwrap();
    let plan = crate::topology::plan(&topology, &images, "run", secrets.clone());
    let yaml = &plan.members[1].env[0].1;
    assert!(!yaml.contains(secrets.superuser.expose()) && !yaml.contains("password:"), "{yaml}");
    let v: serde_json::Value = serde_saphyr::from_str(yaml).expect("valid YAML");
    let dcs = &v["bootstrap"]["dcs"];
    assert_eq!(dcs["synchronous_node_count"], 2);
    assert_eq!(dcs["synchronous_mode"], true);
    assert_eq!(dcs["ttl"], 20, "pgdrill's default, the file has none");
    assert_eq!(dcs["postgresql"]["parameters"]["max_connections"], 50);
    assert_eq!(dcs["postgresql"]["parameters"]["wal_keep_size"], "256MB");
    assert_eq!(dcs["postgresql"]["parameters"]["wal_log_hints"], "on", "pgdrill's defaults stay");
    let pg = &v["postgresql"];
    assert_eq!(pg["parameters"]["shared_buffers"], "64MB");
    assert_eq!(pg["parameters"]["unix_socket_directories"], "/tmp");
    assert_eq!(pg["data_dir"], crate::topology::configs::DATA_DIR);
    let hba: Vec<&str> = pg["pg_hba"].as_array().unwrap().iter().filter_map(|l| l.as_str()).collect();
    assert_eq!(
        hba,
        [
            "local all all trust",
            "local replication all trust",
            "host replication replicator 0.0.0.0/0 scram-sha-256",
            "host all postgres 0.0.0.0/0 scram-sha-256",
            "host all app 10.0.0.0/8 scram-sha-256",
            "host all all 0.0.0.0/0 reject",
        ],
        "pgdrill's lines first: pg_hba.conf is read first match first"
    );
    assert_eq!(v["tags"]["datacenter"], "dc1");
    assert_eq!(v["tags"]["nosync"], false);
    assert_eq!(v["tags"]["failover_priority"], 4, "the member's own tag");
    let other: serde_json::Value = serde_saphyr::from_str(&plan.members[0].env[0].1).unwrap();
    assert!(other["tags"].get("failover_priority").is_none(), "pg-1 has no priority of its own");
    let report = crate::report::member_configurations(&plan);
    assert_eq!(report.len(), 3);
    assert_eq!(report[1].patroni["tags"]["failover_priority"], 4);
    assert!(!serde_json::to_string(&report).unwrap().contains(secrets.replication.expose()));
}
