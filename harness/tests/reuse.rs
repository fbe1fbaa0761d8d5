//! `pgdrill drill` hands a healed cluster on to the next drill with the same topology: the
//! fixtures in `tests/fixtures/reuse/` run as one suite — a clean switchover (starts the
//! cluster), a second one on the same cluster naming pg-2 (switched back to pg-1 first; its
//! baseline on the timeline, a relative timeline check), a drill naming no member that leaves an
//! iptables rule behind (on that cluster as it was left, pg-2 leading; the end-of-run audit finds
//! the rule, so the cluster is not handed on), and one more that must start a fresh cluster
//! because of that rule. Nothing
//! of any run is left in Docker. And a Citus pair: the distributed table emptied in between.
//! Docker tests (nextest's `docker` group).
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{output, repo, text};
use serde_json::Value;

const PGDRILL: &str = env!("CARGO_BIN_EXE_pgdrill");
const FIXTURES: [&str; 4] = ["1-switchover", "2-switchover-again", "3-leaves-a-rule", "4-after-a-leftover"];

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/reuse").join(format!("{name}.yaml"))
}

/// The run directories of `reports`, in the order they ran (run ids start with their time).
fn reports_in_order(reports: &Path) -> Vec<Value> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(reports)
        .expect("the reports directory")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.join("report.json").is_file())
        .collect();
    dirs.sort();
    dirs.iter()
        .map(|d| serde_json::from_str(&std::fs::read_to_string(d.join("report.json")).expect("read")).expect("JSON"))
        .collect()
}

/// The timeline's `cluster_baseline` events.
fn baselines(report: &Value) -> Vec<&Value> {
    let events = report["timeline"]["events"].as_array().expect("events");
    events.iter().filter(|e| e["type"] == "cluster_baseline").collect()
}

fn verdict<'a>(report: &'a Value, check: &str) -> &'a Value {
    let verdicts = report["verdicts"].as_array().expect("verdicts");
    verdicts.iter().find(|v| v["check"] == check).unwrap_or_else(|| panic!("no {check} verdict: {verdicts:?}"))
}

fn containers_labelled(run_id: &str) -> String {
    let out =
        output(Command::new("docker").args(["ps", "-aq", "--filter", &format!("label=org.pgdrill.run={run_id}")]));
    text(&out.stdout).trim().to_string()
}

fn run_id(report: &Value) -> String {
    report["run_id"].as_str().expect("run id").to_string()
}

/// `pgdrill drill` over `fixtures` (one list file, a reports directory of its own): every run's
/// report in the order they ran, once the suite passed; the directory is removed afterwards.
fn drill_suite(name: &str, fixtures: &[&str]) -> Vec<Value> {
    let dir = std::env::temp_dir().join(format!("pgdrill-reuse-{name}-{}", std::process::id()));
    let reports = dir.join("reports");
    std::fs::create_dir_all(&reports).expect("a temporary directory");
    let list = dir.join("suite.txt");
    let lines: Vec<String> = fixtures.iter().map(|f| fixture(f).display().to_string()).collect();
    std::fs::write(&list, lines.join("\n") + "\n").expect("write the suite list");
    let out =
        output(Command::new(PGDRILL).current_dir(repo()).arg("drill").arg(&list).arg("--reports-dir").arg(&reports));
    let stdout = text(&out.stdout);
    eprintln!("{stdout}\n{}", text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "the suite's exit code");
    let runs = reports_in_order(&reports);
    assert_eq!(runs.len(), fixtures.len(), "one run per drill");
    let _ = std::fs::remove_dir_all(&dir);
    runs
}

#[test]
fn a_healed_cluster_is_handed_on_and_one_left_with_a_fault_is_not() {
    let runs = drill_suite("patroni", &FIXTURES);
    let [first, second, third, fourth] = [&runs[0], &runs[1], &runs[2], &runs[3]];

    // 1: started its own cluster.
    assert_eq!(first["passed"], true, "{}", first["verdicts"]);
    assert!(first.get("cluster_from").is_none() && baselines(first).is_empty());

    // 2: ran on the first drill's cluster, after a baseline that passed every part.
    assert_eq!(second["passed"], true, "{}", second["verdicts"]);
    assert_eq!(second["cluster_from"]["started_by_run"], run_id(first).as_str());
    assert_eq!(second["cluster_from"]["drills_before"], 1);
    let baseline = baselines(second);
    assert_eq!(baseline.len(), 1, "one baseline on the timeline");
    assert_eq!(baseline[0]["reused"], true, "{}", baseline[0]);
    let checks = baseline[0]["checks"].as_array().expect("checks");
    assert!(checks.len() >= 6 && checks.iter().all(|c| c["ok"] == true), "{checks:?}");
    let wanted =
        ["same topology", "container", "streaming with no lag", "etcd", "dynamic configuration", "workload table"];
    for part in wanted {
        assert!(
            checks.iter().any(|c| c["what"].as_str().is_some_and(|w| w.contains(part))),
            "no '{part}' in {checks:?}"
        );
    }
    // The drill names pg-2, so the cluster was switched back to pg-1 (the first drill had moved
    // the leader to pg-2), as a fresh start leaves it.
    let leads = |checks: &[Value]| {
        let settled = checks.iter().find(|c| c["what"].as_str().is_some_and(|w| w.contains("streaming with no lag")));
        settled.and_then(|c| c["found"].as_str()).unwrap_or_default().to_string()
    };
    let found = leads(checks);
    assert!(found.starts_with("pg-1 leads 2 members (named by the drill"), "{found}");
    // A relative check on a cluster that did not start at timeline 1.
    assert!(verdict(second, "timeline")["observed"].as_str().is_some_and(|o| !o.contains("(from 1)")));

    // 3: also on that cluster, which names no member: left as the second drill left it (pg-2
    // leading, no switchover back); it leaves a rule, which the end-of-run audit finds…
    assert_eq!(third["cluster_from"]["started_by_run"], run_id(first).as_str());
    assert_eq!(third["cluster_from"]["drills_before"], 2);
    let third_checks = baselines(third)[0]["checks"].as_array().expect("checks").clone();
    let found = leads(&third_checks);
    assert!(found.starts_with("pg-2 leads 2 members (no member named"), "{found}");
    let notes = third["notes"].as_array().expect("notes");
    assert!(
        notes.iter().any(|n| n.as_str().is_some_and(|n| {
            n.starts_with("cluster not handed on to the next drill:") && n.contains("iptables rules left")
        })),
        "{notes:?}"
    );

    // 4: …and the next drill gets a fresh cluster: no baseline, no origin.
    assert_eq!(fourth["passed"], true, "{}", fourth["verdicts"]);
    assert!(fourth.get("cluster_from").is_none(), "{}", fourth["cluster_from"]);
    assert!(baselines(fourth).is_empty());

    for run in [first, fourth] {
        assert_eq!(containers_labelled(&run_id(run)), "", "containers of run {} left", run_id(run));
    }
}

/// Citus: the distributed table is emptied through the coordinator between the drills (on the
/// stand-in, a TRUNCATE on every worker group's primary), so the second drill's audit — which
/// reads every group's rows through the coordinator — finds none of the first drill's rows.
#[test]
fn a_citus_cluster_is_handed_on_with_its_distributed_table_emptied() {
    let runs = drill_suite("citus", &["citus-1-writes", "citus-2-writes-again"]);
    let [first, second] = [&runs[0], &runs[1]];
    assert_eq!(first["passed"], true, "{}", first["verdicts"]);
    assert_eq!(second["passed"], true, "{}", second["verdicts"]);
    assert_eq!(second["cluster_from"]["started_by_run"], run_id(first).as_str());
    let baseline = baselines(second);
    assert_eq!(baseline.len(), 1, "one baseline on the timeline");
    let checks = baseline[0]["checks"].as_array().expect("checks");
    assert!(checks.iter().all(|c| c["ok"] == true), "{checks:?}");
    let rows = |r: &Value| {
        let audit = verdict(r, "write_audit")["observed"].as_str().expect("observed").to_string();
        assert!(audit.contains("none unexpected"), "{audit}");
        audit
    };
    // The first drill wrote rows; the second one's audit holds only its own (no phantoms).
    let first_audit = rows(first);
    rows(second);
    assert!(!first_audit.contains(": 0 rows"), "{first_audit}");
    assert_eq!(verdict(second, "no_acked_write_lost")["status"], "pass");
    assert_eq!(containers_labelled(&run_id(first)), "", "containers of run {} left", run_id(first));
}
