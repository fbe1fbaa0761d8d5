//! A generated Compose file runs: `pgdrill compose` writes the patroni-kill-primary topology,
//! Debian's docker-compose starts it under a project name of its own, Patroni's REST API reports
//! a leader with every member running, and `down -v` leaves no container, network or volume of
//! the project (the teardown also runs when the test fails, from a guard).
mod common;

use std::collections::HashMap;
use std::time::Duration;

use bollard::query_parameters::{ListContainersOptions, ListNetworksOptions, ListVolumesOptions};
use common::{block_on, compose_scenario, ensure_patroni_images, run, wait_leader, Composed};
use pgdrill::cluster::load_cluster_file;
use pgdrill::runtime::Runtime;

/// Ports the patroni-kill-primary topology publishes: 3 etcd, 3 members x 2, HAProxy x 2.
const PORTS: u16 = 11;

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

#[test]
fn a_generated_compose_file_starts_a_cluster_with_a_leader_and_leaves_nothing() {
    ensure_patroni_images();
    let docker = block_on(Runtime::connect()).expect("a Docker engine");
    let composed = compose_scenario("scenarios/patroni-kill-primary.yaml", "compose-test", PORTS, 1);
    let said = &composed.said;
    assert!(said.contains("PGDRILL_IMAGE_PATRONI") && said.contains("present"), "{said}");
    assert!(!said.contains("MISSING"), "{said}");

    // Another directory as cwd: docker-compose must find .env beside the file, not in the cwd.
    let Composed { dir, mut project, .. } = composed;
    run(project.compose().current_dir(std::env::temp_dir()).args(["up", "-d"]));
    // The cluster file written beside the Compose file describes the running cluster.
    let cluster = load_cluster_file(&dir.join("cluster.yaml")).unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<&str> = cluster.members.iter().map(|m| m.value.name.value.as_str()).collect();
    assert_eq!(names, ["pg-1", "pg-2", "pg-3"]);
    let leader = block_on(wait_leader(&cluster.members[0].value.patroni.value, 3, Duration::from_secs(180)));
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
