//! The built `pgdrill` binary with its standard output going nowhere: a reader that left
//! (`pgdrill schema | head -1`), a pipe closed before the first write, a full disk. No command
//! may panic (exit 101); each keeps its own exit code. Also the exit codes of `compare` when
//! there is nothing to compare. No Docker: reports are written by the library.
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use pgdrill::check::{Status, Verdict};
use pgdrill::report::{write_json, RunReport, SCHEMA_VERSION};

const PGDRILL: &str = env!("CARGO_BIN_EXE_pgdrill");

/// The repository root, so `scenarios/` resolves as in README's examples.
fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The write end of a pipe whose reader has already exited: every write to it fails with EPIPE.
fn closed_pipe() -> Stdio {
    let mut reader = Command::new("true").stdin(Stdio::piped()).spawn().expect("`true` runs");
    let writer = reader.stdin.take().expect("piped");
    reader.wait().expect("`true` exits");
    Stdio::from(writer)
}

/// Runs pgdrill in the repository with `stdout` as its standard output.
fn pgdrill(args: &[&str], stdout: Stdio) -> Output {
    Command::new(PGDRILL)
        .args(args)
        .current_dir(repo())
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::piped())
        .output()
        .expect("pgdrill runs")
}

/// Exit code and standard error, after checking that nothing panicked.
fn quiet_stop(output: &Output) -> (i32, String) {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains("Broken pipe"), "a closed pipe is said nowhere: {stderr}");
    let code = output.status.code().unwrap_or_else(|| panic!("killed by a signal: {:?}", output.status));
    assert_ne!(code, 101, "{stderr}");
    (code, stderr)
}

fn shipped_scenarios() -> Vec<String> {
    let mut files: Vec<String> = fs::read_dir(repo().join("scenarios"))
        .expect("scenarios/")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .map(|p| format!("scenarios/{}", p.file_name().unwrap().to_string_lossy()))
        .collect();
    files.sort();
    files
}

#[test]
fn schema_into_a_closed_pipe_exits_0() {
    let (code, stderr) = quiet_stop(&pgdrill(&["schema"], closed_pipe()));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stderr, "");
}

#[test]
fn list_into_a_closed_pipe_exits_0() {
    let (code, stderr) = quiet_stop(&pgdrill(&["list", "scenarios"], closed_pipe()));
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn validate_into_a_closed_pipe_keeps_its_exit_code() {
    let files = shipped_scenarios();
    let mut args = vec!["validate"];
    args.extend(files.iter().map(String::as_str));
    let (code, stderr) = quiet_stop(&pgdrill(&args, closed_pipe()));
    assert_eq!(code, 0, "every shipped scenario is valid: {stderr}");

    // An invalid file after the pipe closed is still found, and still decides the exit code.
    args.push("harness/tests/fixtures/invalid.yaml");
    let (code, stderr) = quiet_stop(&pgdrill(&args, closed_pipe()));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("invalid.yaml:8:12: unknown fault `kil`"), "{stderr}");
}

/// What users type: the reader exits after one line while pgdrill still writes.
#[test]
fn head_1_ends_output_quietly() {
    for command in ["schema", "list scenarios", "validate scenarios/*.yaml"] {
        let script = format!("\"$0\" {command} | head -1 >/dev/null; echo \"exit ${{PIPESTATUS[0]}}\" >&2");
        let output = Command::new("bash")
            .args(["-c", &script, PGDRILL])
            .current_dir(repo())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .expect("bash runs");
        let (_, stderr) = quiet_stop(&output);
        assert!(stderr.trim_end().ends_with("exit 0"), "{command}: {stderr}");
    }
}

#[test]
fn a_full_disk_is_an_error() {
    let full = fs::OpenOptions::new().write(true).open("/dev/full").expect("/dev/full");
    let (code, stderr) = quiet_stop(&pgdrill(&["schema"], Stdio::from(full)));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("error: failed to write to standard output"), "{stderr}");
    assert_eq!(stderr.matches("failed to write").count(), 1, "said once: {stderr}");
}

/// A fresh directory for one test's reports.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pgdrill-cli-test-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes `dir/<run_id>/report.json`: one `new_leader` verdict measured at `ms`.
fn write_run(dir: &Path, run_id: &str, scenario: &str, ms: u64) -> PathBuf {
    let verdict = Verdict {
        check: "new_leader".into(),
        step: Some(2),
        status: Status::Pass,
        observed: "pg-2 running primary on tl 2".into(),
        budget: "≤ 45s".into(),
        observed_ms: Some(ms),
        budget_ms: Some(45_000),
    };
    let report = RunReport {
        schema_version: SCHEMA_VERSION,
        run_id: run_id.into(),
        scenario: scenario.into(),
        scenario_file: format!("scenarios/{scenario}.yaml"),
        started_at: "2026-11-23T10:15:00Z".into(),
        passed: true,
        verdicts: vec![verdict],
        phases: Vec::new(),
        timings: Default::default(),
        harness: Default::default(),
        error: None,
        notes: Vec::new(),
        monitoring: None,
        images: Default::default(),
        configuration: Vec::new(),
        dynamic_configuration: None,
        cluster_from: None,
        timeline: Default::default(),
    };
    let run_dir = dir.join(run_id);
    write_json(&report, &run_dir).unwrap();
    run_dir
}

fn text(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn compare_into_a_closed_pipe_keeps_its_exit_code() {
    let dir = temp_dir("compare-pipe");
    let a = write_run(&dir.join("a"), "r1", "kill", 20_000);
    let b = write_run(&dir.join("b"), "r2", "kill", 21_000);
    let (code, stderr) = quiet_stop(&pgdrill(&["compare", text(&a), text(&b)], closed_pipe()));
    assert_eq!(code, 0, "no regression: {stderr}");
    assert!(b.join("compare.json").is_file(), "the comparison is still written");

    let slower = write_run(&dir.join("c"), "r3", "kill", 40_000);
    let (code, stderr) = quiet_stop(&pgdrill(&["compare", text(&a), text(&slower)], closed_pipe()));
    assert_eq!(code, 1, "a regression: {stderr}");
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn compare_with_nothing_readable_is_bad_input() {
    let dir = temp_dir("compare-nothing");
    let a = write_run(&dir.join("a"), "r1", "kill", 20_000);
    let b = dir.join("b");
    fs::create_dir_all(b.join("r2")).unwrap();
    fs::write(b.join("r2").join("report.json"), "{ damaged").unwrap();
    let output = pgdrill(&["compare", text(&a), text(&b)], Stdio::piped());
    let (code, stderr) = quiet_stop(&output);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("warning: skipped failed to read the report"), "{stderr}");
    assert!(
        stderr.contains(&format!("error: no readable report in B ({}): nothing to compare", b.display())),
        "{stderr}"
    );

    // Swapped: the baseline has nothing readable.
    let (code, stderr) = quiet_stop(&pgdrill(&["compare", text(&b), text(&a)], Stdio::piped()));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("no readable report in A"), "{stderr}");

    // Both readable, but no scenario on both sides.
    let other = write_run(&dir.join("c"), "r3", "partition", 20_000);
    let output = pgdrill(&["compare", text(&a), text(&other)], Stdio::piped());
    let (code, stderr) = quiet_stop(&output);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("error: no scenario has a run in both A and B"), "{stderr}");
    assert!(String::from_utf8_lossy(&output.stdout).contains("no scenario has a run on both sides"));
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn report_into_a_closed_pipe_still_renders() {
    let dir = temp_dir("report-pipe");
    let run = write_run(&dir, "r1", "kill", 20_000);
    let (code, stderr) = quiet_stop(&pgdrill(&["report", text(&run)], closed_pipe()));
    assert_eq!(code, 0, "{stderr}");
    assert!(run.join("report.html").is_file() && run.join("junit.xml").is_file());
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn run_ids_are_unique_sortable_docker_names() {
    let ids: Vec<String> = (0..2000).map(|_| pgdrill::engine::new_run_id()).collect();
    let unique: std::collections::BTreeSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "two ids in the same second collided");
    for id in &ids {
        let (stamp, suffix) = id.rsplit_once('-').unwrap();
        assert_eq!(stamp.len(), 15, "{id}");
        assert_eq!(suffix.len(), 8, "32 random bits: {id}");
        assert!(id.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c) || c == '-'), "{id}");
    }
    assert!(ids.windows(2).all(|pair| pair[0][..15] <= pair[1][..15]), "ids sort by start time");
}

/// One flow-style line of 1000 steps, each aimed at a member the topology lacks.
fn thousand_problems_on_one_line() -> String {
    let steps = vec!["{fault: kill, target: {member: pg-9}}"; 1000].join(", ");
    format!("name: x\ntopology: {{kind: patroni}}\nsteps: [{steps}]\n")
}

#[test]
fn a_thousand_problems_print_a_screenful() {
    let dir = temp_dir("validate-long-line");
    let file = dir.join("long.yaml");
    fs::write(&file, thousand_problems_on_one_line()).unwrap();
    let started = std::time::Instant::now();
    let (code, stderr) = quiet_stop(&pgdrill(&["validate", file.to_str().unwrap()], Stdio::null()));
    assert_eq!(code, 2, "{stderr}");
    assert!(started.elapsed() < std::time::Duration::from_secs(10), "took {:?}", started.elapsed());
    assert!(stderr.len() < 20_000, "{} bytes for one file", stderr.len());
    assert!(stderr.contains("long.yaml: 1000 problems"), "{stderr}");
    assert!(stderr.contains("… and 980 more problem(s)"), "{stderr}");
    let longest = stderr.lines().map(|line| line.chars().count()).max().unwrap_or(0);
    assert!(longest < 200, "snippet lines are cut around the column: {longest} characters");
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn validate_stops_at_the_first_signal() {
    let dir = temp_dir("validate-signal");
    let files: Vec<PathBuf> = (0..300).map(|i| dir.join(format!("long-{i}.yaml"))).collect();
    for file in &files {
        fs::write(file, thousand_problems_on_one_line()).unwrap();
    }
    let child = Command::new(PGDRILL)
        .arg("validate")
        .args(&files)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("pgdrill runs");
    std::thread::sleep(std::time::Duration::from_millis(500));
    let signalled = std::time::Instant::now();
    let kill = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill runs");
    assert!(kill.success());
    let output = child.wait_with_output().expect("pgdrill ends");
    assert!(signalled.elapsed() < std::time::Duration::from_secs(5), "took {:?} after the signal", signalled.elapsed());
    let (code, stderr) = quiet_stop(&output);
    assert_eq!(code, 130, "{}", &stderr[stderr.len().saturating_sub(2000)..]);
    let checked = stderr.matches(": 1000 problems").count();
    assert!(checked < files.len(), "stopped before the last file: {checked} of {} checked", files.len());
    let _ = fs::remove_dir_all(&dir);
}

/// `pgdrill run … 2>&1 | head`: the progress lines on standard error go into a closed pipe. The
/// run carries on to its own outcome (here: no Docker engine at DOCKER_HOST, exit 3) instead of
/// panicking on the first progress line.
#[test]
fn run_with_a_closed_stderr_keeps_its_exit_code() {
    let output = Command::new(PGDRILL)
        .args(["run", "scenarios/patroni-kill-primary.yaml"])
        .current_dir(repo())
        .env("DOCKER_HOST", "unix:///nonexistent/pgdrill-test/docker.sock")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(closed_pipe())
        .output()
        .expect("pgdrill runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(3), "no Docker engine is an environment problem (stdout: {stdout})");
}

/// An installed binary stands alone: run from `/` (no checkout above it), `pgdrill compose`
/// names the same image tags as with the checkout's own `images/` (PGDRILL_IMAGES_DIR), so
/// `images build` from anywhere reuses (or builds) exactly the images the checkout would.
#[test]
fn the_binary_needs_no_checkout_for_its_images() {
    let scenario = repo().join("scenarios/patroni-kill-primary.yaml").canonicalize().expect("scenario");
    let env_of = |cwd: &Path, images_dir: Option<PathBuf>, out: &Path| {
        let mut command = Command::new(PGDRILL);
        command.args(["compose"]).arg(&scenario).arg("-o").arg(out).current_dir(cwd).stdin(Stdio::null());
        match images_dir {
            Some(dir) => command.env("PGDRILL_IMAGES_DIR", dir),
            None => command.env_remove("PGDRILL_IMAGES_DIR"),
        };
        let output = command.output().expect("pgdrill compose");
        assert!(
            output.status.success(),
            "pgdrill compose from {}: {}",
            cwd.display(),
            String::from_utf8_lossy(&output.stderr)
        );
        let env = fs::read_to_string(out.join(".env")).expect(".env");
        // The image tags only: the file also holds per-project passwords.
        env.lines().filter(|l| l.starts_with("PGDRILL_IMAGE_")).collect::<Vec<_>>().join("\n")
    };
    let from_root = env_of(Path::new("/"), None, &temp_dir("standalone-root"));
    let from_checkout = env_of(&repo(), Some(repo().join("images")), &temp_dir("standalone-checkout"));
    assert!(from_root.contains("PGDRILL_IMAGE_PATRONI=pgdrill-patroni:"), "{from_root}");
    assert_eq!(from_root, from_checkout, "the embedded recipes give the checkout's tags");
}

/// A Citus release the flavour cannot give is a usage error before anything is built: the
/// stand-in imitates one release only, and Citus 12.x does not exist for PostgreSQL 17.
#[test]
fn a_citus_release_the_images_cannot_give_is_bad_input() {
    let cases: [(&[&str], &str); 3] = [
        (&["images", "build", "--images", "citus=13.2"], "citus=13.2 needs `--citus real`: the stand-in"),
        (
            &["images", "build", "--citus", "real", "--images", "pg=17,citus=12.1"],
            "Citus 12.1 does not support PostgreSQL 17",
        ),
        (&["images", "build", "--images", "citus=13"], "expected a release line major.minor"),
    ];
    for (args, message) in cases {
        let output = pgdrill(args, Stdio::null());
        let (code, stderr) = quiet_stop(&output);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
}

/// An attached run checks before it asks, and asks before it acts: a scenario whose fault has no
/// template is refused naming the template; otherwise, without `--yes`, anything but the
/// environment's name on stdin (here: none) does nothing and exits 2. No cluster exists at the
/// file's addresses: nothing may be contacted before the answer.
#[test]
fn an_attached_run_refuses_faults_without_templates_and_asks_first() {
    let dir = std::env::temp_dir().join(format!("pgdrill-cli-attach-{}", std::process::id()));
    fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("cluster.yaml");
    let members: String = (1..=3)
        .map(|i| format!("  - {{name: pg-{i}, patroni: 'http://127.0.0.1:9', postgres: '127.0.0.1:9'}}\n"))
        .collect();
    fs::write(
        &file,
        format!(
            "environment: staging\nmembers:\n{members}client_dsn: 'postgresql://postgres@127.0.0.1:9/postgres'\n\
             etcd: ['http://127.0.0.1:9']\nsuperuser: {{user: postgres, password_env: PATH}}\n\
             rest_api: {{user: pgdrill, password_env: PATH}}\n\
             executor:\n  kind: command\n  allow: [pg-1, pg-2, pg-3]\n  templates:\n    state: 'echo running'\n    start: 'true'\n"
        ),
    )
    .expect("cluster file");
    let path = file.to_str().expect("UTF-8 path");
    let out = pgdrill(&["run", "--cluster", path, "scenarios/patroni-kill-primary.yaml"], Stdio::piped());
    let (code, stderr) = quiet_stop(&out);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("step 3: fault `kill` needs the command executor's `kill` template"), "{stderr}");
    assert!(!stderr.contains("type the environment's name"), "refused before asking: {stderr}");

    let out = pgdrill(&["run", "--cluster", path, "scenarios/switchover-to-candidate.yaml"], Stdio::piped());
    let (code, stderr) = quiet_stop(&out);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("about to drill environment `staging`"), "{stderr}");
    assert!(stderr.contains("not confirmed: nothing was done"), "{stderr}");

    // A suite's dry run (nobody answers at the file's addresses: no leader is seen, nothing is
    // asked, every action is printed and logged).
    let list = dir.join("suite.txt");
    fs::write(&list, format!("{}\n", repo().join("scenarios/switchover-to-candidate.yaml").display())).expect("list");
    let reports = dir.join("reports");
    let args =
        ["drill", list.to_str().unwrap(), "--cluster", path, "--dry-run", "--reports-dir", reports.to_str().unwrap()];
    let out = pgdrill(&args, Stdio::piped());
    let (code, stderr) = quiet_stop(&out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(code, 0, "{stderr}\n{stdout}");
    assert!(stdout.contains("dry run on environment staging") && stdout.contains("nothing is changed"), "{stdout}");
    assert!(stdout.contains("step 2: fault switchover"), "{stdout}");
    assert!(!stderr.contains("type the environment's name"), "a dry run asks nothing: {stderr}");
    let _ = fs::remove_dir_all(dir);
}
