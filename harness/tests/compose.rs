//! A generated Compose file runs: `pgdrill compose` writes the patroni-kill-primary topology,
//! Debian's docker-compose starts it under a project name of its own, Patroni's REST API reports
//! a leader with every member running, and `down -v` leaves no container, network or volume of
//! the project (the teardown also runs when the test fails, from a guard).
use std::collections::HashMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use bollard::query_parameters::{ListContainersOptions, ListNetworksOptions, ListVolumesOptions};
use pgdrill::cluster::load_cluster_file;
use pgdrill::runtime::images::{ensure_images, ImageName, ImageOptions, Recipes};
use pgdrill::runtime::Runtime;
use pgdrill::wait::{poll_until, Probe};

const PGDRILL: &str = env!("CARGO_BIN_EXE_pgdrill");
/// Ports the patroni-kill-primary topology publishes: 3 etcd, 3 members x 2, HAProxy x 2.
const PORTS: u16 = 11;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A base port with `PORTS` free loopback ports from it (another engineer's cluster may hold
/// the default ones).
fn free_port_base() -> u16 {
    let seed = std::process::id() as u16;
    for attempt in 0..200u16 {
        let base = 20000 + (seed.wrapping_add(attempt.wrapping_mul(97)) % 40000);
        if (base..base + PORTS).all(|p| TcpListener::bind(("127.0.0.1", p)).is_ok()) {
            return base;
        }
    }
    panic!("found no {PORTS} consecutive free loopback ports in 200 tries");
}

fn run(command: &mut Command) -> Output {
    let output = command.output().unwrap_or_else(|e| panic!("failed to run {command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// `docker-compose -p PROJECT -f FILE down -v` when dropped, so a failing test leaves nothing.
struct Project {
    name: String,
    file: PathBuf,
    down: bool,
}

impl Project {
    fn compose(&self) -> Command {
        let mut command = Command::new("docker-compose");
        command.arg("-p").arg(&self.name).arg("-f").arg(&self.file);
        command
    }

    fn down(&mut self) -> Output {
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

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime").block_on(future)
}

/// Containers, networks and volumes Docker holds of compose project `name`.
async fn project_resources(docker: &bollard::Docker, name: &str) -> (usize, usize, usize) {
    let filter = HashMap::from([("label".to_string(), vec![format!("com.docker.compose.project={name}")])]);
    let containers = docker
        .list_containers(Some(ListContainersOptions { all: true, filters: Some(filter.clone()), ..Default::default() }))
        .await
        .expect("list containers");
    let networks =
        docker.list_networks(Some(ListNetworksOptions { filters: Some(filter.clone()) })).await.expect("list networks");
    let volumes = docker.list_volumes(Some(ListVolumesOptions { filters: Some(filter) })).await.expect("list volumes");
    (containers.len(), networks.len(), volumes.volumes.unwrap_or_default().len())
}

/// The leader's name once Patroni's `/cluster` at `rest` lists one and every one of `members`
/// runs.
async fn wait_leader(rest: &str, members: usize) -> String {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(2)).build().expect("client");
    let url = format!("{rest}/cluster");
    let what = format!("a Patroni leader and {members} running members at {url}");
    poll_until(&what, Duration::from_secs(180), Duration::from_millis(500), || {
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

#[test]
fn a_generated_compose_file_starts_a_cluster_with_a_leader_and_leaves_nothing() {
    let docker = block_on(Runtime::connect()).expect("a Docker engine");
    block_on(ensure_images(
        &docker,
        &[ImageName::Etcd, ImageName::Patroni, ImageName::Haproxy],
        &ImageOptions { recipes: Recipes::Dir(repo().join("images")), ..ImageOptions::default() },
        &|line| eprintln!("{line}"),
    ))
    .expect("images");
    let dir = std::env::temp_dir().join(format!("pgdrill-compose-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let base = free_port_base();
    let output = run(Command::new(PGDRILL)
        .current_dir(repo())
        .args(["compose", "scenarios/patroni-kill-primary.yaml", "-o"])
        .arg(&dir)
        .args(["--port-base", &base.to_string()]));
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(said.contains("PGDRILL_IMAGE_PATRONI") && said.contains("present"), "{said}");
    assert!(!said.contains("MISSING"), "{said}");

    // Another directory as cwd: docker-compose must find .env beside the file, not in the cwd.
    let mut project = Project {
        name: format!("pgdrill-compose-test-{}", std::process::id()),
        file: dir.join("docker-compose.yml"),
        down: false,
    };
    run(project.compose().current_dir(std::env::temp_dir()).args(["up", "-d"]));
    // The cluster file written beside the Compose file describes the running cluster.
    let cluster = load_cluster_file(&dir.join("cluster.yaml")).unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<&str> = cluster.members.iter().map(|m| m.value.name.value.as_str()).collect();
    assert_eq!(names, ["pg-1", "pg-2", "pg-3"]);
    let leader = block_on(wait_leader(&cluster.members[0].value.patroni.value, 3));
    assert!(names.contains(&leader.as_str()), "{leader}");
    let password = cluster.superuser.value.password(&dir).expect("the password file");
    // Through HAProxy (the client DSN) with the password from the file the cluster file names.
    let in_recovery = block_on(async {
        let mut config: tokio_postgres::Config = cluster.client_dsn.value.parse().expect("a DSN");
        config.password(password).connect_timeout(Duration::from_secs(5));
        let (client, connection) = config.connect(tokio_postgres::NoTls).await.expect("connect through HAProxy");
        tokio::spawn(connection);
        let row = client.query_one("SELECT pg_is_in_recovery()", &[]).await.expect("query");
        row.get::<_, bool>(0)
    });
    assert!(!in_recovery, "the client DSN reaches the primary");
    let ps = run(project.compose().args(["ps", "-q"]));
    assert_eq!(String::from_utf8_lossy(&ps.stdout).lines().count(), 7, "3 etcd, 3 members, HAProxy");

    project.down();
    assert_eq!(block_on(project_resources(&docker, &project.name)), (0, 0, 0), "containers, networks, volumes left");
    let _ = std::fs::remove_dir_all(&dir);
}
