//! Attach mode against a cluster pgdrill did not start: `pgdrill compose` writes a topology and
//! its cluster file, Debian's docker-compose starts it under a project of the test's own, and
//! `pgdrill run --cluster` drills it through the cluster file's `command` executor (templates
//! calling `docker`) — a dry run that must leave the cluster as it was, then switchover,
//! partition and kill-primary drills that must pass the same checks as when pgdrill starts the
//! containers, Patroni's restart and reinitialize through the REST API alone, then a kill whose failed-writes stop condition (2 s) must abort the run and start
//! the killed member again, and a partition interrupted by SIGINT that must heal before pgdrill
//! exits. pgdrill must create no container; the Compose project is removed at
//! the end (from a guard, also when the test fails).
mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{
    attached_drill, block_on, compose_scenario, ensure_patroni_images, output, repo, run, text, wait_leader, Composed,
    Drill,
};
use pgdrill::cluster::{load_cluster_file, ClusterFile};
use serde_json::Value;

const PGDRILL: &str = env!("CARGO_BIN_EXE_pgdrill");
/// Ports the partition-primary-replicas topology publishes: etcd, 3 members x 2, HAProxy x 2.
const PORTS: u16 = 9;

/// Every container of the project: id, status, start time, restart count, pid.
fn containers(project: &str) -> BTreeMap<String, String> {
    let ids = run(Command::new("docker")
        .args(["ps", "-aq", "--filter"])
        .arg(format!("label=com.docker.compose.project={project}")));
    let mut out = BTreeMap::new();
    for id in text(&ids.stdout).split_whitespace() {
        let inspect = run(Command::new("docker").args([
            "inspect",
            "--format",
            "{{.Name}} {{.State.Status}} {{.State.StartedAt}} {{.RestartCount}} {{.State.Pid}}",
            id,
        ]));
        out.insert(id.to_string(), text(&inspect.stdout).trim().to_string());
    }
    out
}

/// Patroni's `/cluster` (leader, each member's role, state and timeline) and the iptables rules
/// of every member: what a dry run must not change.
async fn cluster_state(rest: &str, project: &str) -> (String, BTreeMap<String, String>) {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(3)).build().expect("client");
    let body: Value =
        client.get(format!("{rest}/cluster")).send().await.expect("GET /cluster").json().await.expect("JSON");
    let mut members: Vec<String> = body["members"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|m| format!("{} {} {} tl {}", m["name"], m["role"], m["state"], m["timeline"]))
        .collect();
    members.sort();
    (members.join("; "), containers(project))
}

/// A client of the cluster's client DSN as the cluster file's superuser.
async fn connect(cluster: &ClusterFile, dir: &Path) -> tokio_postgres::Client {
    let password = cluster.superuser.value.password(dir).expect("the superuser password file");
    let mut config: tokio_postgres::Config = cluster.client_dsn.value.parse().expect("client_dsn");
    config.password(password).connect_timeout(Duration::from_secs(5));
    let (client, connection) = config.connect(tokio_postgres::NoTls).await.expect("connect through client_dsn");
    tokio::spawn(connection);
    client
}

/// The "user's" own table in `public`, made before the drills; pgdrill must never touch it.
async fn create_user_table(cluster: &ClusterFile, dir: &Path) {
    let client = connect(cluster, dir).await;
    client
        .batch_execute(
            "DROP TABLE IF EXISTS public.user_orders; \
             CREATE TABLE public.user_orders (id int PRIMARY KEY, item text NOT NULL); \
             INSERT INTO public.user_orders SELECT i, 'order ' || i FROM generate_series(1, 500) AS i",
        )
        .await
        .expect("create the user's table");
}

/// The user's table (row count and a digest of every row), and what is left of pgdrill's: its
/// drill schema and any `pgdrill_writes` table.
async fn user_and_drill_state(cluster: &ClusterFile, dir: &Path) -> (String, i64, i64) {
    let client = connect(cluster, dir).await;
    let user = client
        .query_one(
            "SELECT count(*)::text || ' rows, md5 ' || md5(string_agg(id || ':' || item, ',' ORDER BY id)) \
             FROM public.user_orders",
            &[],
        )
        .await
        .expect("read the user's table");
    let schemas = client
        .query_one("SELECT count(*) FROM pg_namespace WHERE nspname = 'pgdrill_drills'", &[])
        .await
        .expect("pg_namespace");
    let tables = client
        .query_one("SELECT count(*) FROM pg_class WHERE relname = 'pgdrill_writes'", &[])
        .await
        .expect("pg_class");
    (user.get(0), schemas.get(0), tables.get(0))
}

/// The run folders in `reports` (each holds report.json and audit-log.jsonl).
fn run_dirs(reports: &Path) -> BTreeSet<PathBuf> {
    std::fs::read_dir(reports)
        .map(|entries| entries.map(|e| e.expect("entry").path()).filter(|p| p.join("report.json").is_file()).collect())
        .unwrap_or_default()
}

/// `pgdrill drill LIST --cluster FILE --yes`: the suite's exit code and stdout, and each of its
/// runs in the order they ran.
fn drill_suite(cluster: &Path, scenarios: &[&Path], reports: &Path) -> (i32, String, Vec<Drill>) {
    let list = reports.with_file_name("attached-suite.txt");
    let lines: Vec<String> = scenarios.iter().map(|s| s.display().to_string()).collect();
    std::fs::write(&list, lines.join("\n") + "\n").expect("write the suite list");
    let before = run_dirs(reports);
    let out = output(
        Command::new(PGDRILL)
            .current_dir(repo())
            .args(["drill"])
            .arg(&list)
            .args(["--yes", "--cluster"])
            .arg(cluster)
            .arg("--reports-dir")
            .arg(reports),
    );
    let stdout = text(&out.stdout);
    eprintln!("--- suite {lines:?}\n{stdout}\n{}", text(&out.stderr));
    let code = out.status.code().unwrap_or(-1);
    // Run ids start with their start time: sorted, they are in the order the suite ran them.
    let runs = run_dirs(reports).difference(&before).map(|dir| Drill::read(dir, code, &stdout)).collect();
    (code, stdout, runs)
}

fn assert_passed(d: &Drill, scenario: &str) {
    assert_eq!(d.code, 0, "{scenario} failed:\n{}", d.stdout);
    assert_eq!(d.report["passed"], true, "{scenario}: {}", d.report["verdicts"]);
    let verdicts = d.report["verdicts"].as_array().expect("verdicts");
    assert!(verdicts.len() >= 3, "{scenario}: {verdicts:?}");
    assert!(verdicts.iter().all(|v| v["status"] == "pass"), "{scenario}: {verdicts:?}");
}

/// Sets Patroni's `synchronous_mode` through the REST API with the cluster file's credential.
async fn set_synchronous(rest: &str, password: &str, on: bool) {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().expect("client");
    let response = client
        .patch(format!("{rest}/config"))
        .basic_auth("pgdrill", Some(password))
        .json(&serde_json::json!({ "synchronous_mode": on }))
        .send()
        .await
        .expect("PATCH /config");
    assert!(response.status().is_success(), "PATCH /config: {}", response.status());
}

/// Moves the leadership from pg-3 to `to` when pg-3 has it: the switchover drill names pg-3 as
/// its candidate, and in a Compose cluster any member may have bootstrapped.
async fn lead_with(rest: &str, password: &str, to: &str) {
    let leader = wait_leader(rest, 3, Duration::from_secs(60)).await;
    if leader != to {
        let client = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().expect("client");
        let response = client
            .post(format!("{rest}/switchover"))
            .basic_auth("pgdrill", Some(password))
            .json(&serde_json::json!({ "leader": leader, "candidate": to }))
            .send()
            .await
            .expect("POST /switchover");
        assert!(response.status().is_success(), "POST /switchover: {}", response.status());
        // Patroni answers once the switchover is done; then the old leader rejoins.
        assert_eq!(wait_leader(rest, 3, Duration::from_secs(90)).await, to);
    }
}

/// The generated cluster file for members whose Patroni names are `db1`…`db3`: each drilled
/// `as` the scenarios' `pg-N`, its container found by `{host}` (its Compose service), and the
/// allow-list in the file's own names.
fn drilled_under_other_names(text: &str) -> String {
    let mut out = text.replace("$(c {member})", "$(c {host})");
    assert_ne!(out, text, "the generated templates find containers by {{member}}");
    for i in 1..=3 {
        let (from, to) =
            (format!("{{name: \"pg-{i}\", "), format!("{{name: \"db{i}\", as: \"pg-{i}\", host: \"pg-{i}\", "));
        assert!(out.contains(&from), "{from} in:\n{out}");
        out = out.replacen(&from, &to, 1);
    }
    let allow = "allow: [\"pg-1\", \"pg-2\", \"pg-3\"]";
    assert!(out.contains(allow), "{out}");
    out.replace(allow, "allow: [\"db1\", \"db2\", \"db3\"]")
}

/// Names the Compose project's Patroni members `db1`…`db3` (`name:` of each patroni.yml; the
/// services, hosts and addresses stay `pg-N`).
fn rename_patroni_members(dir: &Path) {
    for i in 1..=3 {
        let path = dir.join(format!("config/pg-{i}/patroni.yml"));
        let yaml = std::fs::read_to_string(&path).expect("patroni.yml");
        let renamed = yaml.replacen(&format!("\nname: 'pg-{i}'\n"), &format!("\nname: 'db{i}'\n"), 1);
        assert_ne!(renamed, yaml, "{}", path.display());
        std::fs::write(&path, renamed).expect("write patroni.yml");
    }
}

/// Waits until Patroni's `/cluster` lists a leader and every other member streaming: a member
/// started again after a kill runs before it streams, and a switchover to it fails until then.
async fn wait_streaming(rest: &str, within: Duration) {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(2)).build().expect("client");
    let start = std::time::Instant::now();
    loop {
        let body: Value = match client.get(format!("{rest}/cluster")).send().await {
            Ok(response) => response.json().await.unwrap_or_default(),
            Err(_) => Value::Null,
        };
        let list = body["members"].as_array().cloned().unwrap_or_default();
        let leader = list.iter().filter(|m| m["role"] == "leader" && m["state"] == "running").count();
        let streaming = list.iter().filter(|m| m["role"] != "leader" && m["state"] == "streaming").count();
        if leader == 1 && leader + streaming == 3 {
            return;
        }
        assert!(start.elapsed() < within, "not every replica streaming within {within:?}: {body}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Runs partition-primary-replicas, sends SIGINT once the cut is installed, and checks that the
/// run stopped, healed the cut (proven by no pgdrill rule left in the member) and said why.
/// With `twice`, a second SIGINT follows as soon as the stop is in the audit log: the heal must
/// then stop, say what it left in effect, and leave the cut in place (the caller flushes it).
fn interrupt_a_partition(cluster: &Path, reports: &Path, project: &str, twice: bool) -> Drill {
    let before: BTreeSet<PathBuf> =
        std::fs::read_dir(reports).expect("reports").map(|e| e.expect("entry").path()).collect();
    let mut child = Command::new(PGDRILL)
        .current_dir(repo())
        .args(["run", "--yes", "--cluster"])
        .arg(cluster)
        .arg("--reports-dir")
        .arg(reports)
        .arg("scenarios/partition-primary-replicas.yaml")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("pgdrill runs");
    // The progress lines (what the heal left is said there) go to stderr.
    let mut stdout_pipe = child.stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut stdout_pipe, &mut text);
        text
    });
    let cut_in = |dir: &Path| {
        std::fs::read_to_string(dir.join("audit-log.jsonl")).is_ok_and(|log| log.contains("PGDRILL_OUT -d"))
    };
    let mut run_dir = None;
    for _ in 0..240 {
        let new = std::fs::read_dir(reports)
            .expect("reports")
            .map(|e| e.expect("entry").path())
            .find(|p| !before.contains(p));
        if let Some(dir) = new.filter(|d| cut_in(d)) {
            run_dir = Some(dir);
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    let run_dir = run_dir.expect("the cut installed within 60 s");
    run(Command::new("kill").args(["-INT", &child.id().to_string()]));
    if twice {
        let stopped = |dir: &Path| {
            std::fs::read_to_string(dir.join("audit-log.jsonl")).is_ok_and(|log| log.contains("\"stop-condition\""))
        };
        for _ in 0..500 {
            if stopped(&run_dir) {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        run(Command::new("kill").args(["-INT", &child.id().to_string()]));
    }
    let mut status = None;
    for _ in 0..240 {
        status = child.try_wait().expect("wait");
        if status.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    let status = status.unwrap_or_else(|| {
        let _ = child.kill();
        panic!("pgdrill did not exit within 60 s of SIGINT")
    });
    assert!(!status.success());
    let stdout = reader.join().expect("stdout reader");
    let d = Drill::read(&run_dir, status.code().unwrap_or(-1), &stdout);
    let error = d.report["error"].as_str().unwrap_or_default();
    assert!(error.starts_with("stopped: a signal"), "{error}");
    let audit = &d.audit;
    let install = audit.iter().find(|a| a["command"].as_str().unwrap_or("").contains("PGDRILL_OUT -d")).expect("cut");
    let member = install["target"].as_str().expect("target").to_string();
    let stop_at = audit.iter().position(|a| a["action"] == "stop-condition").expect("the stop recorded");
    let healed = audit[stop_at..].iter().any(|a| {
        a["target"] == member
            && a["result"].as_str().unwrap_or("").starts_with("ok")
            && a["command"].as_str().unwrap_or("").contains("-F PGDRILL_IN")
    });
    let said = format!("partition on {member} from step 2");
    if twice {
        assert!(!healed, "healed after a second signal: {audit:?}");
        let abandoned =
            audit.iter().find(|a| a["action"] == "heal-abandoned").expect("heal-abandoned in the audit log");
        assert!(abandoned["result"].as_str().unwrap_or("").contains(&said), "{abandoned}");
        assert!(
            stdout.contains("second signal: the heal stopped; still in effect: ") && stdout.contains(&said),
            "{stdout}"
        );
        let notes = d.report["notes"].to_string();
        assert!(notes.contains("undo by hand") && notes.contains(&said), "{notes}");
    } else {
        assert!(healed, "no heal of {member} after the signal: {audit:?}");
    }
    let id = text(
        &run(Command::new("docker")
            .args(["ps", "-aq", "--filter"])
            .arg(format!("label=com.docker.compose.project={project}"))
            .args(["--filter"])
            .arg(format!("label=com.docker.compose.service={member}")))
        .stdout,
    );
    let script = "IPT=iptables; $IPT -w 10 -L -n >/dev/null 2>&1 || IPT=iptables-legacy; \
                  ( $IPT -S PGDRILL_IN 2>/dev/null; $IPT -S PGDRILL_OUT 2>/dev/null ) | grep -c -- '^-A' || true";
    let rules = run(Command::new("docker").args(["exec", "--user", "root", id.trim(), "sh", "-c", script]));
    if twice {
        assert_ne!(text(&rules.stdout).trim(), "0", "the cut in {member} should still be in");
        // Undo by hand what pgdrill said it left (as its heal would: flush both chains).
        let flush = "IPT=iptables; $IPT -w 10 -L -n >/dev/null 2>&1 || IPT=iptables-legacy; \
                     $IPT -w 10 -F PGDRILL_IN; $IPT -w 10 -F PGDRILL_OUT";
        run(Command::new("docker").args(["exec", "--user", "root", id.trim(), "sh", "-c", flush]));
    } else {
        assert_eq!(text(&rules.stdout).trim(), "0", "pgdrill rules left in {member}");
    }
    d
}

#[test]
fn attach_mode_drills_a_compose_cluster_through_command_templates() {
    ensure_patroni_images();
    let composed = compose_scenario("scenarios/partition-primary-replicas.yaml", "attach-test", PORTS, 7);
    // The test's own project name (another run of the test may hold the generated one), and
    // members Patroni knows by other names than the scenarios' (as users' members are).
    let mut mine = drilled_under_other_names(&composed.cluster_file_text());
    let Composed { dir, project, .. } = composed;
    rename_patroni_members(&dir);
    let cluster_file = dir.join("cluster.yaml");
    // The workload's table in a schema of pgdrill's own.
    mine.push_str("workload: {schema: pgdrill_drills}\n");
    std::fs::write(&cluster_file, &mine).expect("write cluster.yaml");
    let stop_file = dir.join("cluster-stop.yaml");
    let stop_text = mine.replace("failed_writes_for: \"30s\"", "failed_writes_for: \"2s\"");
    assert_ne!(stop_text, mine, "the generated safety section");
    std::fs::write(&stop_file, stop_text).expect("write cluster-stop.yaml");
    let deadline_file = dir.join("cluster-deadline.yaml");
    std::fs::write(&deadline_file, mine.replace("fault_deadline: \"120s\"", "fault_deadline: \"3s\"")).expect("write");
    let lag_file = dir.join("cluster-lag.yaml");
    let lag_text = mine.replace("fault_deadline: \"120s\"}", "fault_deadline: \"120s\", max_replication_lag: 4MB}");
    assert_ne!(lag_text, mine, "the generated safety section");
    std::fs::write(&lag_file, lag_text).expect("write cluster-lag.yaml");

    run(project.compose().args(["up", "-d"]));
    let cluster = load_cluster_file(&cluster_file).unwrap_or_else(|e| panic!("{e}"));
    let rest = cluster.members[0].value.patroni.value.clone();
    let rest_password = cluster.rest_api.value.password(&dir).expect("the REST password file");
    block_on(wait_leader(&rest, 3, Duration::from_secs(180)));
    block_on(create_user_table(&cluster, &dir));
    let user_before = block_on(user_and_drill_state(&cluster, &dir));
    eprintln!("the user's table before the drills: {user_before:?}");
    let reports = dir.join("reports");
    let before_runs = containers(&project.name).len();
    assert_eq!(before_runs, 5, "etcd, 3 members, HAProxy");

    // A dry run prints what it would do and changes nothing.
    let before = block_on(cluster_state(&rest, &project.name));
    let dry = run(Command::new(PGDRILL)
        .current_dir(repo())
        .args(["run", "--dry-run", "--cluster"])
        .arg(&cluster_file)
        .arg("--reports-dir")
        .arg(&reports)
        .arg("scenarios/patroni-kill-primary.yaml"));
    let said = text(&dry.stdout);
    eprintln!("{said}");
    assert!(said.contains("nothing is changed") && said.contains("docker kill --signal KILL"), "{said}");
    std::thread::sleep(Duration::from_secs(3));
    let after = block_on(cluster_state(&rest, &project.name));
    assert_eq!(before, after, "the dry run changed the cluster");

    // The same drills as pgdrill-started ones, same checks.
    block_on(lead_with(&rest, &rest_password, "db1"));
    let switchover = attached_drill(&cluster_file, "scenarios/switchover-to-candidate.yaml", &reports);
    assert_passed(&switchover, "switchover");
    assert!(!switchover.actions("POST /switchover").is_empty(), "{:?}", switchover.audit);

    let partition = attached_drill(&cluster_file, "scenarios/partition-primary-replicas.yaml", &reports);
    assert_passed(&partition, "partition");
    let execs = partition.actions("exec");
    assert!(execs.iter().any(|a| a["command"].as_str().unwrap_or("").contains("PGDRILL_OUT")), "{execs:?}");

    block_on(set_synchronous(&rest, &rest_password, true));
    let kill = attached_drill(&cluster_file, "scenarios/patroni-kill-primary.yaml", &reports);
    assert_passed(&kill, "kill-primary");
    assert_eq!(kill.actions("kill").len(), 1, "{:?}", kill.audit);
    assert!(!kill.actions("start").is_empty());
    block_on(set_synchronous(&rest, &rest_password, false));

    // Patroni's member operations, REST only: restart the primary, reinitialize a replica.
    let member_ops = attached_drill(&cluster_file, "scenarios/patroni-restart-reinit.yaml", &reports);
    assert_passed(&member_ops, "restart-reinit");
    for call in ["POST /restart", "POST /reinitialize"] {
        let calls = member_ops.actions(call);
        assert_eq!(calls.len(), 1, "{call}: {:?}", member_ops.audit);
        assert!(calls[0]["result"].as_str().unwrap_or("").starts_with("HTTP 200"), "{call}: {:?}", calls[0]);
    }
    let proofs: Vec<&str> = member_ops.report["timeline"]["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["type"] == "fault_verified" && e["ok"] == true)
        .filter_map(|e| e["proof"].as_str())
        .collect();
    eprintln!("restart/reinit proofs: {proofs:#?}");
    assert!(proofs.iter().any(|p| p.contains("pg_postmaster_start_time()")), "{proofs:?}");
    assert!(proofs.iter().any(|p| p.contains("backup_label.old")), "{proofs:?}");

    // The stop condition: 2 s of failed writes during a kill aborts the run and starts the member.
    let fixture = repo().join("harness/tests/fixtures/attach-stop-on-failed-writes.yaml");
    let stopped = attached_drill(&stop_file, fixture.to_str().expect("UTF-8 path"), &reports);
    assert_ne!(stopped.code, 0);
    let error = stopped.report["error"].as_str().unwrap_or_default();
    assert!(error.starts_with("stopped: writes have failed for"), "{error}");
    let kill_at = stopped.actions("kill")[0]["time"].as_str().expect("time").to_string();
    let fired = stopped.actions("stop-condition");
    assert_eq!(fired.len(), 1, "{:?}", stopped.audit);
    let start = stopped.actions("start");
    let start = start.iter().find(|a| a["result"].as_str().unwrap_or("").starts_with("ok")).expect("the kill undone");
    let at = |t: &str| humantime::parse_rfc3339(t).expect("RFC 3339");
    let stop_after = at(fired[0]["time"].as_str().unwrap()).duration_since(at(&kill_at)).expect("order");
    let healed_after = at(start["time"].as_str().unwrap()).duration_since(at(&kill_at)).expect("order");
    eprintln!("stop condition {stop_after:?} after the kill, member started {healed_after:?} after it");
    assert!(stop_after < Duration::from_secs(15), "{stop_after:?}");
    assert!(healed_after < Duration::from_secs(30), "healed within the deadline: {healed_after:?}");
    block_on(wait_leader(&rest, 3, Duration::from_secs(120)));

    // `drill SUITE --cluster`, run for real: a switchover, then the fault deadline (a cut without
    // duration is undone 3 s after it was applied), on the cluster file with a 3 s deadline.
    block_on(wait_streaming(&rest, Duration::from_secs(120)));
    block_on(lead_with(&rest, &rest_password, "db1"));
    block_on(wait_streaming(&rest, Duration::from_secs(120)));
    let fixture = repo().join("harness/tests/fixtures/attach-fault-deadline.yaml");
    let switchover_path = repo().join("scenarios/switchover-to-candidate.yaml");
    let (suite_code, suite_out, suite) = drill_suite(&deadline_file, &[&switchover_path, &fixture], &reports);
    assert_eq!(suite_code, 0, "{suite_out}");
    assert!(suite_out.contains("== drill 2/2"), "{suite_out}");
    assert_eq!(suite.len(), 2, "two runs");
    assert_eq!(suite[0].report["scenario"], "switchover-to-candidate");
    assert_passed(&suite[0], "suite: switchover");
    assert!(!suite[0].actions("POST /switchover").is_empty(), "{:?}", suite[0].audit);
    let deadline = &suite[1];
    assert_eq!(deadline.report["scenario"], "attach-fault-deadline");
    assert_passed(deadline, "suite: fault deadline");
    let exec_at = |needle: &str| {
        let line = deadline.audit.iter().find(|a| a["command"].as_str().unwrap_or("").contains(needle)).expect(needle);
        at(line["time"].as_str().expect("time"))
    };
    let cut_for = exec_at("-F PGDRILL_IN").duration_since(exec_at("PGDRILL_OUT -d")).expect("order");
    eprintln!("the cut was undone {cut_for:?} after it was installed (deadline 3 s)");
    assert!(cut_for >= Duration::from_secs(3) && cut_for < Duration::from_secs(7), "{cut_for:?}");

    // The lag stop condition: a replica cut off while the primary's WAL jumps 16 MB.
    let fixture = repo().join("harness/tests/fixtures/attach-stop-on-lag.yaml");
    let lagged = attached_drill(&lag_file, fixture.to_str().expect("UTF-8 path"), &reports);
    assert_ne!(lagged.code, 0);
    let error = lagged.report["error"].as_str().unwrap_or_default();
    assert!(error.starts_with("stopped: ") && error.contains("safety.max_replication_lag: 4MB"), "{error}");
    // The lagging member under the name the run drills it as, not Patroni's (`db2`).
    assert!(error.starts_with("stopped: pg-"), "{error}");
    let cut_at = |needle: &str| {
        let line = lagged.audit.iter().find(|a| a["command"].as_str().unwrap_or("").contains(needle)).expect(needle);
        at(line["time"].as_str().expect("time"))
    };
    let fired = lagged.actions("stop-condition");
    assert_eq!(fired.len(), 1, "{:?}", lagged.audit);
    let stop_after = at(fired[0]["time"].as_str().unwrap()).duration_since(cut_at("PGDRILL_OUT -d")).expect("order");
    let healed_after = cut_at("-F PGDRILL_IN").duration_since(at(fired[0]["time"].as_str().unwrap())).expect("order");
    eprintln!("lag stop condition {stop_after:?} after the cut, healed {healed_after:?} after the stop");
    assert!(stop_after < Duration::from_secs(30), "stopped before the 40 s sleep ended: {stop_after:?}");
    block_on(wait_leader(&rest, 3, Duration::from_secs(120)));

    // Ctrl-C heals before exiting: interrupt a partition drill once its cut is in.
    let interrupted = interrupt_a_partition(&cluster_file, &reports, &project.name, false);
    block_on(wait_leader(&rest, 3, Duration::from_secs(120)));
    // A second Ctrl-C during the heal: no more healing, what is left is said (and then undone here).
    let abandoned = interrupt_a_partition(&cluster_file, &reports, &project.name, true);
    block_on(wait_leader(&rest, 3, Duration::from_secs(120)));

    // Data safety: the user's table is as it was, pgdrill's table and schema are gone, and every
    // drill with a workload wrote into pgdrill_drills.pgdrill_writes and dropped it and its schema.
    let user_after = block_on(user_and_drill_state(&cluster, &dir));
    assert_eq!(user_after.0, user_before.0, "the user's table changed");
    assert_eq!((user_after.1, user_after.2), (0, 0), "pgdrill's schema or table left behind");
    for d in [&switchover, &partition, &member_ops, &kill] {
        let drops = d.actions("drop-table");
        assert_eq!(drops.len(), 1, "{:?}", d.audit);
        assert_eq!(drops[0]["command"], "pgdrill_drills.pgdrill_writes");
        let result = drops[0]["result"].as_str().unwrap_or_default();
        assert!(result.contains("and schema pgdrill_drills (pgdrill created it)"), "{result}");
    }

    // pgdrill created no container: the project's five are all there are of it, and none carries
    // pgdrill's run label.
    assert_eq!(containers(&project.name).len(), 5);
    for d in
        [&switchover, &partition, &member_ops, &kill, &stopped, &suite[0], deadline, &lagged, &interrupted, &abandoned]
    {
        let run_id = d.report["run_id"].as_str().expect("run id");
        let mine =
            run(Command::new("docker").args(["ps", "-aq", "--filter"]).arg(format!("label=org.pgdrill.run={run_id}")));
        assert!(text(&mine.stdout).trim().is_empty(), "run {run_id} created containers");
    }
    drop(project);
    let _ = std::fs::remove_dir_all(&dir);
}
