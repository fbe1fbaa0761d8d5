//! What the Docker tests that start a Compose cluster share (`tests/compose.rs`,
//! `tests/attach.rs`, `tests/attach_alerts.rs`): the checkout, free loopback ports, commands
//! that must succeed, a Compose project removed on drop, and the wait for Patroni's leader.
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
