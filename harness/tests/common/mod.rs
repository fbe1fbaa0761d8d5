//! What the Docker tests that start a Compose cluster share (`tests/compose.rs`,
//! `tests/attach.rs`, `tests/attach_alerts.rs`): the checkout, free loopback ports, commands
//! that must succeed, a scenario's Compose project (written by `pgdrill compose`, removed on
//! drop), the wait for Patroni's leader, and attached runs read back with their audit logs.
#![allow(dead_code)] // each test binary uses a part

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use pgdrill::runtime::images::{ensure_images, ImageName, ImageOptions, Recipes};
use pgdrill::runtime::Runtime;
use pgdrill::wait::{poll_until, Probe};

/// The repository's root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A base port with `ports` free loopback ports from it (another engineer's cluster may hold the
/// default ones); `salt` keeps two test binaries of one process id apart.
pub fn free_port_base(ports: u16, salt: u16) -> u16 {
    let seed = (std::process::id() as u16).wrapping_mul(salt);
    for attempt in 0..200u16 {
        let base = 20000 + (seed.wrapping_add(attempt.wrapping_mul(97)) % 40000);
        if (base..base + ports).all(|p| TcpListener::bind(("127.0.0.1", p)).is_ok()) {
            return base;
        }
    }
    panic!("found no {ports} consecutive free loopback ports in 200 tries");
}

/// Runs `command`; panics if it cannot start.
pub fn output(command: &mut Command) -> Output {
    command.output().unwrap_or_else(|e| panic!("failed to run {command:?}: {e}"))
}

/// Runs `command`; panics with its output unless it succeeds.
pub fn run(command: &mut Command) -> Output {
    let out = output(command);
    assert!(out.status.success(), "{command:?} failed ({}):\n{}\n{}", out.status, text(&out.stdout), text(&out.stderr));
    out
}

/// Bytes a command printed, as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs `future` on a runtime of its own.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime").block_on(future)
}

/// Builds (or finds) the images a Compose file of a Patroni scenario runs, from the checkout's
/// recipes.
pub fn ensure_patroni_images() {
    ensure_named_images(&[ImageName::Etcd, ImageName::Patroni, ImageName::Haproxy]);
}

/// Builds (or finds) the `wanted` images from the checkout's recipes.
pub fn ensure_named_images(wanted: &[ImageName]) {
    let docker = block_on(Runtime::connect()).expect("a Docker engine");
    block_on(ensure_images(
        &docker,
        wanted,
        &ImageOptions { recipes: Recipes::Dir(repo().join("images")), ..ImageOptions::default() },
        &|line| eprintln!("{line}"),
    ))
    .expect("images");
}

/// A Compose project: `docker-compose -p NAME -f FILE down -v` when dropped (unless
/// [`Project::down`] ran), so a failing test leaves nothing.
pub struct Project {
    /// The project name (`-p`).
    pub name: String,
    /// The Compose file (`-f`).
    pub file: PathBuf,
    /// Whether `down` already ran.
    pub down: bool,
}

impl Project {
    /// `docker-compose` for this project.
    pub fn compose(&self) -> Command {
        let mut command = Command::new("docker-compose");
        command.arg("-p").arg(&self.name).arg("-f").arg(&self.file);
        command
    }

    /// Removes the project's containers, networks and volumes now.
    pub fn down(&mut self) -> Output {
        self.down = true;
        run(self.compose().args(["down", "-v", "--remove-orphans", "-t", "5"]))
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        // A failing test's only chance to show what the containers said (an attached run keeps
        // no container logs of its own): the project's log tail, before `down` removes it.
        if std::thread::panicking() && !self.down {
            if let Ok(out) = self.compose().args(["logs", "--no-color", "--tail", "300"]).output() {
                eprintln!(
                    "--- docker-compose logs (last 300 lines per service)\n{}",
                    String::from_utf8_lossy(&out.stdout)
                );
            }
        }
        if !self.down {
            let _ = self.compose().args(["down", "-v", "--remove-orphans", "-t", "5"]).output();
        }
    }
}

/// Waits until Patroni's `/cluster` at `rest` lists a leader and `members` running members;
/// the leader's name.
pub async fn wait_leader(rest: &str, members: usize, within: Duration) -> String {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(2)).build().expect("client");
    let url = format!("{rest}/cluster");
    let what = format!("a Patroni leader and {members} running members at {url}");
    poll_until(&what, within, Duration::from_millis(500), || {
        let request = client.get(&url).send();
        async move {
            let body: serde_json::Value = match request.await {
                Ok(response) => match response.json().await {
                    Ok(body) => body,
                    Err(e) => return Probe::not_yet(format!("an unreadable answer: {e}")),
                },
                Err(e) => return Probe::not_yet(format!("no answer: {e}")),
            };
            let list = body["members"].as_array().cloned().unwrap_or_default();
            let running = list.iter().filter(|m| matches!(m["state"].as_str(), Some("running" | "streaming"))).count();
            match list.iter().find(|m| m["role"] == "leader") {
                Some(leader) if running == members => Probe::Done(leader["name"].as_str().unwrap_or("").to_string()),
                _ => Probe::not_yet(body),
            }
        }
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"))
}

/// A Compose project `pgdrill compose` wrote for a test: its folder, the project under a name
/// of the test's own (removed on drop), and what the command printed.
pub struct Composed {
    /// The folder holding docker-compose.yml, cluster.yaml and the files they mount.
    pub dir: PathBuf,
    /// The project, named `pgdrill-<test>-<pid>` (another run may hold the generated name).
    pub project: Project,
    /// `pgdrill compose`'s standard output.
    pub said: String,
    /// The project label `pgdrill compose` wrote into the cluster file's templates.
    generated_label: String,
}

/// `pgdrill compose SCENARIO -o DIR` (`scenario` relative to the checkout) with `ports` free
/// loopback ports from a base of its own (`salt` as for [`free_port_base`]).
pub fn compose_scenario(scenario: &str, test: &str, ports: u16, salt: u16) -> Composed {
    let dir = std::env::temp_dir().join(format!("pgdrill-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let base = free_port_base(ports, salt);
    let out = run(Command::new(env!("CARGO_BIN_EXE_pgdrill"))
        .current_dir(repo())
        .args(["compose", scenario, "-o"])
        .arg(&dir)
        .args(["--port-base", &base.to_string()]));
    let stem = Path::new(scenario).file_stem().and_then(|s| s.to_str()).expect("a scenario file name");
    let project = Project {
        name: format!("pgdrill-{test}-{}", std::process::id()),
        file: dir.join("docker-compose.yml"),
        down: false,
    };
    Composed {
        dir,
        project,
        said: text(&out.stdout),
        generated_label: format!("com.docker.compose.project=pgdrill-{stem}"),
    }
}

impl Composed {
    /// The generated cluster file's text with its templates pointed at the test's project.
    pub fn cluster_file_text(&self) -> String {
        let generated = std::fs::read_to_string(self.dir.join("cluster.yaml")).expect("cluster.yaml");
        assert!(generated.contains(&self.generated_label), "{generated}");
        generated.replace(&self.generated_label, &format!("com.docker.compose.project={}", self.project.name))
    }
}

/// One attached run: its exit code, stdout, report and audit log lines.
pub struct Drill {
    pub code: i32,
    pub stdout: String,
    pub report: serde_json::Value,
    pub audit: Vec<serde_json::Value>,
}

impl Drill {
    /// A finished run read back from its folder (report.json, audit-log.jsonl).
    pub fn read(dir: &Path, code: i32, stdout: &str) -> Self {
        let report = std::fs::read_to_string(dir.join("report.json")).expect("report.json");
        let audit = std::fs::read_to_string(dir.join("audit-log.jsonl"))
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .lines()
            .map(|l| serde_json::from_str(l).expect("an audit line is JSON"))
            .collect();
        Self { code, stdout: stdout.to_string(), report: serde_json::from_str(&report).expect("JSON"), audit }
    }

    /// The audit log's lines of `action`.
    pub fn actions(&self, action: &str) -> Vec<&serde_json::Value> {
        self.audit.iter().filter(|a| a["action"] == action).collect()
    }
}

/// `pgdrill run --yes --cluster CLUSTER --reports-dir REPORTS SCENARIO`, read back.
pub fn attached_drill(cluster: &Path, scenario: &str, reports: &Path) -> Drill {
    let out = output(
        Command::new(env!("CARGO_BIN_EXE_pgdrill"))
            .current_dir(repo())
            .args(["run", "--yes", "--cluster"])
            .arg(cluster)
            .arg("--reports-dir")
            .arg(reports)
            .arg(scenario),
    );
    let stdout = text(&out.stdout);
    eprintln!("--- {scenario}\n{stdout}\n{}", text(&out.stderr));
    let report_line = stdout.lines().find_map(|l| l.strip_prefix("report: ")).expect("a report line");
    let report_dir = PathBuf::from(report_line.trim()).parent().expect("the run's folder").to_path_buf();
    Drill::read(&report_dir, out.status.code().unwrap_or(-1), &stdout)
}
