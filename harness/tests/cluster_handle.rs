//! `pgdrill::testing::Cluster` in a test of one's own application: a plain Rust client loop
//! writes through the DSN the handle gives while the scenario's steps kill the primary; the
//! test asserts on the application's own error window and the scenario's verdicts, and nothing
//! of the run is left in Docker; and the same steps given one call at a time (`fault`, `expect`).
//! Docker tests (nextest's `docker` group).
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use pgdrill::check::Status;
use pgdrill::testing::Cluster;
use pgdrill::timeline::EventKind;

const SCENARIO: &str = "
name: app-rides-through-kill-primary
topology:
  kind: patroni
  members: 2
  etcd: 1
  patroni: {ttl: 20, loop_wait: 2, retry_timeout: 5}
steps:
  - wait: healthy
    within: 90s
  - sleep: 3s
  - fault: kill
    target: primary
  - expect:
      - new_leader: {within: 45s}
  - sleep: 3s
invariants: [single_primary]
";

/// What the application saw: each write attempt's time and whether it was acknowledged.
async fn application(dsn: String, stop: Arc<AtomicBool>) -> Vec<(Instant, bool)> {
    let mut attempts = Vec::new();
    let mut client: Option<tokio_postgres::Client> = None;
    while !stop.load(Ordering::Relaxed) {
        if client.is_none() {
            let connect = tokio_postgres::connect(&dsn, tokio_postgres::NoTls);
            if let Ok(Ok((c, connection))) = tokio::time::timeout(Duration::from_secs(2), connect).await {
                tokio::spawn(connection);
                let create = "CREATE TABLE IF NOT EXISTS app_orders (id bigserial PRIMARY KEY)";
                if c.batch_execute(create).await.is_ok() {
                    client = Some(c);
                }
            }
        }
        let ok = match &client {
            Some(c) => {
                let insert = c.execute("INSERT INTO app_orders DEFAULT VALUES", &[]);
                matches!(tokio::time::timeout(Duration::from_secs(2), insert).await, Ok(Ok(1)))
            }
            None => false,
        };
        if !ok {
            client = None;
        }
        attempts.push((Instant::now(), ok));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    attempts
}

/// From the first failed write after the first acknowledged one to the next acknowledged one.
fn error_window(attempts: &[(Instant, bool)]) -> Option<Duration> {
    let first_ok = attempts.iter().position(|(_, ok)| *ok)?;
    let fail = first_ok + attempts[first_ok..].iter().position(|(_, ok)| !ok)?;
    let back = fail + attempts[fail..].iter().position(|(_, ok)| *ok)?;
    Some(attempts[back].0 - attempts[fail].0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_application_rides_through_a_killed_primary() {
    let mut cluster = Cluster::start(SCENARIO, &Default::default()).await.expect("the cluster starts");
    let stop = Arc::new(AtomicBool::new(false));
    let app = tokio::spawn(application(cluster.dsn(), stop.clone()));
    let steps = cluster.run_steps().await;
    stop.store(true, Ordering::Relaxed);
    let attempts = app.await.expect("the application loop");
    let verdicts = cluster.verdicts();
    let timeline_events = cluster.timeline().events.len();
    let left = cluster.teardown().await;
    steps.expect("the steps ran");
    assert!(left.is_empty(), "teardown left {left:?}");
    for v in &verdicts {
        println!("{} {:?}: {}", v.check, v.status, v.observed);
    }
    assert!(verdicts.iter().all(|v| v.status == Status::Pass), "{verdicts:#?}");
    let acked = attempts.iter().filter(|(_, ok)| *ok).count();
    let window = error_window(&attempts).expect("the application saw the failover and came back");
    println!(
        "application: {} attempts, {acked} acknowledged, error window {:.1}s; timeline: {timeline_events} events",
        attempts.len(),
        window.as_secs_f64()
    );
    assert!(window > Duration::ZERO && window < Duration::from_secs(60), "{window:?}");
    assert!(attempts.last().is_some_and(|(_, ok)| *ok), "the application writes again at the end");
}

/// Started without `steps:`: the test gives them one call at a time.
const STEPWISE: &str = "
name: app-steps-through-a-switchover
topology:
  kind: patroni
  members: 2
  etcd: 1
  patroni: {ttl: 20, loop_wait: 2, retry_timeout: 5}
workload: {writers: 1, rate: 20/s}
invariants: [single_primary, no_acked_write_lost]
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn steps_given_one_call_at_a_time_drive_a_switchover() {
    let mut cluster = Cluster::start(STEPWISE, &Default::default()).await.expect("the cluster starts");
    let refused = cluster.run_steps().await.expect_err("no steps of its own to run");
    cluster.wait_healthy(Duration::from_secs(90)).await.expect("healthy");
    let from_a_container = primary_from_a_container_on(&cluster.network(), &cluster.dsn_in_network());
    // Validated with the steps before it, as in a file: nothing to count from yet, nothing run.
    let early = cluster.expect("new_leader: {within: 30s}").await.expect_err("no fault before it");
    cluster.fault("switchover", "primary").await.expect("the switchover");
    let verdicts = cluster.expect("new_leader: {within: 30s}, timeline: {within: 30s}").await.expect("judged");
    cluster.finish().await.expect("the workload's audit");
    let all = cluster.verdicts();
    let steps = cluster.timeline().events.iter().filter(|e| matches!(e.kind, EventKind::StepStarted { .. })).count();
    let left = cluster.teardown().await;
    assert!(left.is_empty(), "teardown left {left:?}");
    assert!(refused.to_string().contains("started without `steps:`"), "{refused}");
    assert!(early.to_string().contains("no `fault` step comes before it"), "{early}");
    for v in &all {
        println!("{} {:?}: {}", v.check, v.status, v.observed);
    }
    let names: Vec<&str> = verdicts.iter().map(|v| v.check.as_str()).collect();
    assert_eq!(names, ["new_leader", "timeline"], "the verdicts of the expect step alone");
    assert!(verdicts.iter().all(|v| v.status == Status::Pass && v.step == Some(2)), "{verdicts:#?}");
    let invariants: Vec<&str> = all.iter().filter(|v| v.step.is_none()).map(|v| v.check.as_str()).collect();
    assert!(invariants.contains(&"no_acked_write_lost"), "the audit judged the writes: {invariants:?}");
    assert!(all.iter().all(|v| v.status == Status::Pass), "{all:#?}");
    assert_eq!(steps, 3, "wait, fault and expect ran; the refused expect did not");
    assert_eq!(from_a_container, "f", "a container on the cluster's network reaches the primary by name");
}

/// What `SELECT pg_is_in_recovery()` answers through `dsn` from a container of the test's own on
/// `network` (pgdrill's Patroni image, for its psql), as an application container would ask.
fn primary_from_a_container_on(network: &str, dsn: &str) -> String {
    let image = std::process::Command::new("docker")
        .args(["images", "--filter", "label=org.pgdrill.image=patroni", "--filter", "dangling=false"])
        // (Untagged: the layers a failed build of an image on top of it left behind.)
        .args(["--format", "{{.Repository}}:{{.Tag}}"])
        .output()
        .expect("docker images");
    let image = String::from_utf8_lossy(&image.stdout).lines().next().expect("a Patroni image").to_string();
    let out = std::process::Command::new("docker")
        .args(["run", "--rm", "--init", "--network", network, "--entrypoint", "psql", &image, dsn])
        .args(["-Atc", "SELECT pg_is_in_recovery()"])
        .output()
        .expect("docker run");
    assert!(out.status.success(), "psql in a container: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}
