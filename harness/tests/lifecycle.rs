//! Nothing leaks: the `pgdrill` binary is interrupted (SIGINT) or killed (SIGKILL, then
//! `pgdrill clean`) in the middle of a run, and afterwards Docker holds nothing of that run.
use std::collections::HashMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bollard::query_parameters::{ListContainersOptions, ListNetworksOptions};
use pgdrill::runtime::{Runtime, LABEL_RUN};

const PGDRILL: &str = env!("CARGO_BIN_EXE_pgdrill");

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name).display().to_string()
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime").block_on(future)
}

/// Run ids and counts of containers/networks labelled with each, for runs whose harness is `pid`.
fn resources_of_pid(pid: u32) -> HashMap<String, (usize, usize)> {
    block_on(async {
        let docker = Runtime::connect().await.expect("docker");
        let filter = HashMap::from([("label".to_string(), vec![format!("org.pgdrill.pid={pid}")])]);
        let containers = docker
            .list_containers(Some(ListContainersOptions {
                all: true,
                filters: Some(filter.clone()),
                ..Default::default()
            }))
            .await
            .expect("list containers");
        let networks =
            docker.list_networks(Some(ListNetworksOptions { filters: Some(filter) })).await.expect("list networks");
        let mut runs: HashMap<String, (usize, usize)> = HashMap::new();
        for c in containers {
            if let Some(run) = c.labels.and_then(|l| l.get(LABEL_RUN).cloned()) {
                runs.entry(run).or_default().0 += 1;
            }
        }
        for n in networks {
            if let Some(run) = n.labels.and_then(|l| l.get(LABEL_RUN).cloned()) {
                runs.entry(run).or_default().1 += 1;
            }
        }
        runs
    })
}

fn start_long_run(reports: &Path) -> Child {
    Command::new(PGDRILL)
        .args(["run", &fixture("long-sleep.yaml"), "--reports-dir"])
        .arg(reports)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start pgdrill")
}

/// Waits (bounded) until the harness has started all of its containers.
fn wait_for_containers(pid: u32, count: usize) -> String {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(600) {
        if let Some((run, (containers, _))) = resources_of_pid(pid).into_iter().next() {
            if containers >= count {
                return run;
            }
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    panic!("pgdrill (pid {pid}) did not start {count} containers within 10 minutes");
}

fn wait_exit(child: &mut Child, within: Duration) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        assert!(start.elapsed() < within, "pgdrill did not exit within {within:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn signal(pid: u32, sig: &str) {
    let status = Command::new("kill").args([sig, &pid.to_string()]).status().expect("kill");
    assert!(status.success(), "kill {sig} {pid} failed");
}

#[test]
fn sigint_tears_the_run_down() {
    let reports = std::env::temp_dir().join("pgdrill-lifecycle-sigint");
    let mut child = start_long_run(&reports);
    let pid = child.id();
    // etcd + 2 members + haproxy.
    let run = wait_for_containers(pid, 4);
    std::thread::sleep(Duration::from_secs(3));
    signal(pid, "-INT");
    let status = wait_exit(&mut child, Duration::from_secs(90));
    assert_eq!(status.code(), Some(130), "an interrupted run exits with 130");
    assert!(resources_of_pid(pid).is_empty(), "run {run} left resources after SIGINT");
    // The interrupted run still wrote its report.
    assert!(reports.join(&run).join("report.json").exists(), "no report for the interrupted run {run}");
}

#[test]
fn sigkill_leftovers_are_removed_by_clean() {
    let reports = std::env::temp_dir().join("pgdrill-lifecycle-sigkill");
    let mut child = start_long_run(&reports);
    let pid = child.id();
    let run = wait_for_containers(pid, 4);
    signal(pid, "-KILL");
    wait_exit(&mut child, Duration::from_secs(30));
    let left = resources_of_pid(pid);
    assert!(
        left.get(&run).is_some_and(|(c, _)| *c >= 4),
        "a SIGKILLed harness cannot clean up: containers should remain"
    );
    let clean = Command::new(PGDRILL).arg("clean").output().expect("pgdrill clean");
    // `clean` also sweeps other dead runs; it may report resources it could not remove there
    // (someone else's containers on an old network). What matters here is this run.
    println!("pgdrill clean: {}{}", String::from_utf8_lossy(&clean.stdout), String::from_utf8_lossy(&clean.stderr));
    assert!(resources_of_pid(pid).is_empty(), "pgdrill clean left resources of run {run}");
}

#[test]
fn validate_points_at_the_error() {
    let output = Command::new(PGDRILL).args(["validate", &fixture("invalid.yaml")]).output().expect("pgdrill validate");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "invalid scenario exits with 2; stderr:\n{stderr}");
    assert!(stderr.contains("invalid.yaml"), "names the file:\n{stderr}");
    assert!(stderr.contains("kil") && stderr.contains("kill"), "names the bad value and the allowed ones:\n{stderr}");
    assert!(stderr.contains(":8:"), "points at line 8:\n{stderr}");
}
