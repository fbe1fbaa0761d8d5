//! `pgdrill::testing::Cluster` in a test of one's own application: a plain Rust client loop
//! writes through the DSN the handle gives while the scenario's steps kill the primary; the
//! test asserts on the application's own error window and the scenario's verdicts, and nothing
//! of the run is left in Docker. Docker test (nextest's `docker` group).
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use pgdrill::check::Status;
use pgdrill::testing::Cluster;

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
