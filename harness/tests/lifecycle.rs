//! Nothing leaks: the `pgdrill` binary is interrupted (SIGINT, SIGTERM, twice) or killed
//! (SIGKILL, then `pgdrill clean`) in the middle of a run, and afterwards Docker holds nothing of
//! that run. Nothing is touched that is not ours: `clean` during live runs and kept runs leaves
//! them alone, and two drills started at once both pass.
use std::collections::HashMap;
use std::io::BufRead;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
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
    resources_labelled(&format!("org.pgdrill.pid={pid}"))
}

/// Run ids and counts of containers/networks carrying `label` (`key=value`).
fn resources_labelled(label: &str) -> HashMap<String, (usize, usize)> {
    block_on(async {
        let docker = Runtime::connect().await.expect("docker");
        let filter = HashMap::from([("label".to_string(), vec![label.to_string()])]);
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

/// (containers, networks) of one run.
fn resources_of_run(run: &str) -> (usize, usize) {
    resources_labelled(&format!("{LABEL_RUN}={run}")).remove(run).unwrap_or_default()
}

/// A `pgdrill` process whose stderr (the progress lines) is echoed and kept for waiting on.
struct Harness {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Harness {
    fn start(args: &[&str], reports: &Path) -> Self {
        let mut child = Command::new(PGDRILL)
            .args(args)
            .arg("--reports-dir")
            .arg(reports)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start pgdrill");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take().expect("stderr");
        let pid = child.id();
        let kept = lines.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("[pgdrill {pid}] {line}");
                kept.lock().unwrap().push(line);
            }
        });
        Self { child, lines }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits (bounded) for a progress line containing `text`.
    fn wait_for_line(&self, text: &str, within: Duration) {
        let start = Instant::now();
        while start.elapsed() < within {
            if self.lines.lock().unwrap().iter().any(|l| l.contains(text)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("pgdrill (pid {}) printed no line containing {text:?} within {within:?}", self.pid());
    }
}

/// Polls (bounded) until the run has no container or network; returns how long that took.
fn time_until_gone(run: &str, within: Duration) -> Duration {
    let start = Instant::now();
    while start.elapsed() < within {
        if resources_of_run(run) == (0, 0) {
            return start.elapsed();
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    panic!("run {run} still has {:?} (containers, networks) {within:?} after the signal", resources_of_run(run));
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

#[test]
fn sigterm_mid_drill_removes_the_run_within_10s() {
    let reports = std::env::temp_dir().join("pgdrill-lifecycle-sigterm");
    let mut harness = Harness::start(&["run", &fixture("mid-drill.yaml")], &reports);
    let pid = harness.pid();
    // Step 4 is the sleep after the kill: the primary is down, the workload writes, the
    // observers poll.
    harness.wait_for_line("step 4:", Duration::from_secs(600));
    let run = wait_for_containers(pid, 3);
    signal(pid, "-TERM");
    let gone = time_until_gone(&run, Duration::from_secs(10));
    println!("run {run}: containers and networks gone {:.1} s after SIGTERM", gone.as_secs_f64());
    let status = wait_exit(&mut harness.child, Duration::from_secs(60));
    assert_eq!(status.code(), Some(130), "an interrupted run exits with 130");
    let report =
        std::fs::read_to_string(reports.join(&run).join("report.json")).expect("report of the interrupted run");
    assert!(report.contains("torn down first"), "the report says what was not collected");
}

#[test]
fn a_second_signal_still_tears_down() {
    let reports = std::env::temp_dir().join("pgdrill-lifecycle-twice");
    let mut child = start_long_run(&reports);
    let pid = child.id();
    let run = wait_for_containers(pid, 4);
    signal(pid, "-TERM");
    std::thread::sleep(Duration::from_millis(100));
    signal(pid, "-TERM");
    let status = wait_exit(&mut child, Duration::from_secs(15));
    assert_eq!(status.code(), Some(130), "a twice-interrupted run exits with 130");
    assert_eq!(resources_of_run(&run), (0, 0), "run {run} left resources after two signals");
}

/// Two drills started at the same moment (each kills its primary and starts it again on the same
/// host ports), and `pgdrill clean` while both run: both pass, and clean removed nothing of them.
#[test]
fn two_drills_at_once_pass_and_clean_leaves_them_alone() {
    let reports = std::env::temp_dir().join("pgdrill-lifecycle-parallel");
    let args = ["run", &fixture("small-kill-restart.yaml")];
    let mut drills = [Harness::start(&args, &reports), Harness::start(&args, &reports)];
    let runs: Vec<String> = drills.iter().map(|d| wait_for_containers(d.pid(), 4)).collect();
    assert_ne!(runs[0], runs[1]);
    let before: Vec<_> = runs.iter().map(|r| resources_of_run(r)).collect();
    let clean = Command::new(PGDRILL).arg("clean").output().expect("pgdrill clean");
    let said = String::from_utf8_lossy(&clean.stdout);
    println!("pgdrill clean: {said}{}", String::from_utf8_lossy(&clean.stderr));
    assert!(clean.status.success(), "pgdrill clean failed");
    assert!(said.contains("skipped"), "clean says it skipped live runs: {said}");
    for (run, before) in runs.iter().zip(&before) {
        assert_eq!(resources_of_run(run), *before, "pgdrill clean touched the live run {run}");
    }
    for (drill, run) in drills.iter_mut().zip(&runs) {
        let status = wait_exit(&mut drill.child, Duration::from_secs(300));
        assert_eq!(status.code(), Some(0), "drill {run} started alongside another did not pass");
        assert_eq!(resources_of_run(run), (0, 0), "drill {run} left resources");
    }
}

/// `up` keeps its cluster: `clean` leaves it, `down` lists it, `down RUN_ID` removes it.
#[test]
fn kept_runs_are_removed_only_by_down() {
    let up = Command::new(PGDRILL).args(["up", &fixture("long-sleep.yaml")]).output().expect("pgdrill up");
    let said = String::from_utf8_lossy(&up.stdout).to_string();
    assert!(up.status.success(), "pgdrill up failed: {said}{}", String::from_utf8_lossy(&up.stderr));
    let run = said
        .lines()
        .find_map(|l| l.strip_prefix("remove it with: pgdrill down "))
        .expect("up prints how to remove the run")
        .trim()
        .to_string();
    let kept = resources_of_run(&run);
    assert!(kept.0 >= 4 && kept.1 == 1, "up started its cluster: {kept:?}");
    let clean = Command::new(PGDRILL).arg("clean").output().expect("pgdrill clean");
    assert!(clean.status.success());
    assert_eq!(resources_of_run(&run), kept, "pgdrill clean removed the kept run {run}");
    let list = Command::new(PGDRILL).arg("down").output().expect("pgdrill down");
    let listed = String::from_utf8_lossy(&list.stdout);
    assert!(list.status.success() && listed.contains(&run), "pgdrill down lists {run}: {listed}");
    assert_eq!(resources_of_run(&run), kept, "pgdrill down without a run id removed {run}");
    let down = Command::new(PGDRILL).args(["down", &run]).output().expect("pgdrill down RUN_ID");
    assert!(down.status.success(), "{}", String::from_utf8_lossy(&down.stderr));
    assert_eq!(resources_of_run(&run), (0, 0), "pgdrill down {run} left resources");
}

/// A tmpfs mounted for one test (the test runs as root, as CI does), unmounted on drop.
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    fn mount(name: &str, options: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("mount point");
        let status = Command::new("mount").args(["-t", "tmpfs", "-o", options, "tmpfs"]).arg(&dir).status();
        assert!(
            status.is_ok_and(|s| s.success()),
            "this test mounts a small tmpfs at {} and needs root for it",
            dir.display()
        );
        Self(dir)
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
        let _ = std::fs::remove_dir(&self.0);
    }
}

fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// Verdicts are never lost to a failed write: with the reports dir on a full filesystem (a 16 KiB
/// tmpfs: the saved container logs fill it, report.json cannot be written), the run still tears
/// down, prints its verdicts, says which file could not be written and why, exits 1, and leaves
/// no `.partial` file.
#[test]
fn a_full_reports_filesystem_still_prints_the_verdicts() {
    let full = Tmpfs::mount("pgdrill-full-reports", "size=16k");
    let output = Command::new(PGDRILL)
        .args(["run", &fixture("short-writes.yaml"), "--reports-dir"])
        .arg(&full.0)
        .stdin(Stdio::null())
        .output()
        .expect("pgdrill run");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    for check in ["single_primary", "no_acked_write_lost"] {
        assert!(stdout.contains(check), "the verdict of {check} is printed: {stdout}");
    }
    let error = stderr.lines().find(|l| l.starts_with("error: failed to write")).expect("the failed write is said");
    assert!(error.contains(&full.0.display().to_string()), "it says where: {error}");
    assert!(error.contains("No space left on device"), "it says why: {error}");
    assert_eq!(output.status.code(), Some(1), "a report that could not be written fails the run");
    let partial: Vec<_> =
        files_under(&full.0).into_iter().filter(|p| p.to_string_lossy().ends_with(".partial")).collect();
    assert!(partial.is_empty(), "no .partial file is left: {partial:?}");
    let run = stdout
        .lines()
        .find_map(|l| l.strip_prefix("run ")?.split_whitespace().next())
        .expect("the summary names the run");
    assert_eq!(resources_of_run(run), (0, 0), "run {run} left resources");
}
