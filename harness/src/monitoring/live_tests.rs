//! The monitoring pieces against a real cluster (needs Docker; run by hand):
//!
//! ```sh
//! cargo test -p pgdrill --lib monitoring::live_tests -- --ignored --nocapture
//! ```
//!
//! Starts the topology of scenarios/patroni-kill-primary.yaml (owned by the test process, so a
//! concurrent `pgdrill clean` leaves it alone), then postgres_exporter ×N, Alertmanager and
//! Prometheus (rules scaled 0.1) on the run's network; checks the rules with promtool, waits for
//! every target, SIGKILLs the primary and follows FailoverDetected through pending, firing
//! (Prometheus and Alertmanager) and resolved, printing the timings; then prints coverage and
//! removes everything of the run. `PGDRILL_SEED_RULES=<file>` also runs promtool on that file.
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::api::{AlertmanagerApi, PrometheusApi};
use super::config::*;
use super::*;
use crate::engine::Cluster;
use crate::runtime::images::{ensure_images, ImageName, ImageOptions};
use crate::runtime::{sweep, Runtime, SweepScope, TeardownGuard};
use crate::scenario::load_scenario;
use crate::topology::configs::SUPERUSER;
use crate::topology::{plan, Secrets};

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Docker; starts a cluster (about 2 minutes)"]
async fn failover_alert_end_to_end() {
    let t0 = Instant::now();
    let log = move |text: &str| println!("[{:7.2}s] {text}", t0.elapsed().as_secs_f64());
    let docker = Runtime::connect().await.unwrap();
    let run_id = format!("mon-{}", std::process::id());
    let runtime = Runtime::new(docker.clone(), &run_id);
    let mut guard = TeardownGuard::new(&run_id);

    // Images and cluster.
    let images = ensure_images(&docker, &ImageName::ALL[1..], &ImageOptions::default(), &|l| log(l)).await.unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let scenario = load_scenario(&root.join("scenarios/patroni-kill-primary.yaml")).unwrap();
    let plan_images = images.plan_images();
    let secrets = Secrets::generate().unwrap();
    let planned = plan(&scenario.scenario.topology, &plan_images, &run_id, secrets.clone());
    let cluster = Cluster::start(runtime.clone(), planned).await.unwrap();
    let members = cluster.patroni_endpoints();
    let client = reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(1)).build().unwrap();
    let views = || async {
        let mut views = Vec::new();
        for (member, port) in &members {
            let view = match client.get(format!("http://127.0.0.1:{port}/patroni")).send().await {
                Ok(r) => r.json::<serde_json::Value>().await.map(|b| crate::observe::parse_patroni_status(&b)).ok(),
                Err(_) => None,
            };
            views.push((member.clone(), view));
        }
        views
    };
    let healthy_by = Instant::now() + Duration::from_secs(120);
    loop {
        let v = views().await;
        let primaries = v.iter().filter(|(_, v)| v.as_ref().is_some_and(|v| v.is_running_primary())).count();
        let replicas = v.iter().filter(|(_, v)| v.as_ref().is_some_and(|v| v.is_healthy_replica())).count();
        if primaries == 1 && replicas == members.len() - 1 {
            break;
        }
        assert!(Instant::now() < healthy_by, "cluster not healthy: {v:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    log(&format!("cluster {run_id} healthy"));

    // Rules: ours (accepted) and the users' guide as written (rejected, with its line).
    let ours = load_rule_file(&root.join("scenarios/rules/pgdrill-alerts.yaml")).unwrap();
    let scale = ScaleOptions::new(0.1, DEFAULT_SCRAPE_INTERVAL).unwrap();
    let (rendered, scaled) = render_rule_files(std::slice::from_ref(&ours), Some(&scale));
    for change in &scaled {
        log(&format!(
            "scaled {}:{} {:?} {} -> {}{}",
            change.rule.as_deref().unwrap_or("(group)"),
            change.line,
            change.what,
            change.from,
            change.to,
            if change.floored { " (floor)" } else { "" }
        ));
    }
    let report =
        check_rules(&docker, &images.prometheus, &run_id, std::slice::from_ref(&ours), &rendered).await.unwrap();
    log(&format!(
        "promtool accepted ours in {:.2}s: {}",
        report.took.as_secs_f64(),
        report.output.trim().replace('\n', " | ")
    ));
    if let Ok(seed) = std::env::var("PGDRILL_SEED_RULES") {
        let users = load_rule_file(Path::new(&seed)).unwrap();
        let (users_rendered, _) = render_rule_files(std::slice::from_ref(&users), Some(&scale));
        let start = Instant::now();
        match check_rules(&docker, &images.prometheus, &run_id, std::slice::from_ref(&users), &users_rendered).await {
            Ok(r) => log(&format!("promtool accepted the users' file?! {}", r.output)),
            Err(e) => log(&format!("promtool on the users' file ({:.2}s): {e}", start.elapsed().as_secs_f64())),
        }
    }

    // Start exporters, Alertmanager, Prometheus.
    let queries = exporter_queries();
    let start = Instant::now();
    for (member, _) in &members {
        let dsn = exporter_dsn(member, 5432, SUPERUSER, secrets.superuser.expose(), "postgres");
        runtime.start(&exporter_spec(&images.postgres_exporter, member, &dsn, &queries)).await.unwrap();
    }
    let am = runtime
        .start(&alertmanager_spec(&images.alertmanager, &alertmanager_yml(&AlertmanagerConfigInput::default())))
        .await
        .unwrap();
    let monitored: Vec<MonitoredMember> =
        members.iter().map(|(m, _)| MonitoredMember { member: m.clone(), citus_group: 0, exporter: true }).collect();
    let config = prometheus_yml(&PrometheusConfigInput {
        cluster_name: "pgdrill",
        citus: false,
        members: &monitored,
        scrape_interval: DEFAULT_SCRAPE_INTERVAL,
        alertmanager: true,
    });
    let prom = runtime.start(&prometheus_spec(&images.prometheus, &config, &rendered).unwrap()).await.unwrap();
    log(&format!(
        "started {} exporters, alertmanager, prometheus in {:.2}s",
        members.len(),
        start.elapsed().as_secs_f64()
    ));
    let prom_port = prom.host_port(PROMETHEUS_PORT).unwrap();
    let am_port = am.host_port(ALERTMANAGER_PORT).unwrap();
    let papi = PrometheusApi::new(prom_port, Duration::from_secs(1));
    let aapi = AlertmanagerApi::new(am_port, Duration::from_secs(1));
    let ready = wait_prometheus_ready(&papi, Duration::from_secs(60)).await.unwrap();
    log(&format!("prometheus ready {:.2}s after its start", ready.as_secs_f64() + 0.0));
    let am_ready = wait_alertmanager_ready(&aapi, Duration::from_secs(60)).await.unwrap();
    log(&format!("alertmanager ready (+{:.2}s)", am_ready.as_secs_f64()));
    let (up_after, targets) = wait_targets_up(&papi, members.len() * 2, Duration::from_secs(60)).await.unwrap();
    log(&format!("all {} targets up after {:.2}s more", targets.len(), up_after.as_secs_f64()));
    let up = papi.query("up").await.unwrap();
    for (labels, value) in &up {
        log(&format!(
            "  up{{job={}, pod={}, cluster_name={}, citus_group={}}} = {value}",
            labels["job"], labels["pod"], labels["cluster_name"], labels["citus_group"]
        ));
    }
    assert!(up.iter().all(|(_, v)| *v == 1.0));
    for metric in [
        "patroni_primary",
        "patroni_postgres_timeline",
        "pg_up",
        "citus_replication_lag_lag_seconds",
        "pg_exporter_last_scrape_error",
    ] {
        let values = papi.query(metric).await.unwrap();
        let text: Vec<String> = values.iter().map(|(l, v)| format!("{}={v}", l["pod"])).collect();
        log(&format!("  {metric}: {}", text.join(" ")));
    }
    let window_start = now_ms() as f64 / 1000.0 - 60.0;

    // Observe alerts.
    let events: Arc<Mutex<Vec<(u64, AlertChange)>>> = Arc::default();
    let sink_events = events.clone();
    let sink: AlertSink = Arc::new(move |change: AlertChange| {
        let seen = now_ms();
        let delay = change.active_at.map(|a| seen as i64 - a as i64);
        println!(
            "[{:7.2}s] ALERT {:?} {} {:?}->{:?} {:?} active_at+{}ms",
            t0.elapsed().as_secs_f64(),
            change.source,
            change.alert,
            change.from,
            change.state,
            change.labels.iter().filter(|(k, _)| *k != "severity" && *k != "component").collect::<Vec<_>>(),
            delay.map_or("?".into(), |d| d.to_string())
        );
        sink_events.lock().unwrap().push((seen, change));
    });
    let cancel = CancellationToken::new();
    let mut tasks = JoinSet::new();
    AlertObserver::new(Some(prom_port), Some(am_port)).spawn(&mut tasks, sink, cancel.clone());
    tokio::time::sleep(Duration::from_secs(3)).await;

    // Kill the primary.
    let primary = views()
        .await
        .into_iter()
        .find(|(_, v)| v.as_ref().is_some_and(|v| v.is_running_primary()))
        .map(|(m, _)| m)
        .expect("a running primary");
    let killed_at = now_ms();
    runtime.kill(&primary, "SIGKILL").await.unwrap();
    log(&format!("SIGKILL {primary}"));

    // Wait for FailoverDetected to fire in Alertmanager, then to resolve in Prometheus.
    let deadline = Instant::now() + Duration::from_secs(150);
    let seen = |source: AlertSource, state: AlertState| {
        events
            .lock()
            .unwrap()
            .iter()
            .find(|(_, c)| c.alert == "FailoverDetected" && c.source == source && c.state == state)
            .cloned()
    };
    while Instant::now() < deadline && seen(AlertSource::Prometheus, AlertState::Resolved).is_none() {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let pending = seen(AlertSource::Prometheus, AlertState::Pending).expect("pending seen");
    let firing = seen(AlertSource::Prometheus, AlertState::Firing).expect("firing seen");
    let received = seen(AlertSource::Alertmanager, AlertState::Firing).expect("alertmanager received it");
    let active_at = pending.1.active_at.unwrap();
    let fired_at = received.1.active_at.unwrap();
    log(&format!(
        "FailoverDetected: kill→activeAt {:.2}s; activeAt→poller saw pending {}ms; fired (AM startsAt) {:.2}s after activeAt; \
         fired→poller saw firing in Prometheus {}ms, in Alertmanager {}ms",
        (active_at as f64 - killed_at as f64) / 1000.0,
        pending.0 as i64 - active_at as i64,
        (fired_at as f64 - active_at as f64) / 1000.0,
        firing.0 as i64 - fired_at as i64,
        received.0 as i64 - fired_at as i64,
    ));
    if let Some(resolved) = seen(AlertSource::Prometheus, AlertState::Resolved) {
        log(&format!("resolved in Prometheus {:.2}s after firing", (resolved.0 as f64 - firing.0 as f64) / 1000.0));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    cancel.cancel();
    while tasks.join_next().await.is_some() {}

    for (labels, value) in papi.query("up").await.unwrap() {
        log(&format!("  after the kill: up{{job={}, pod={}}} = {value}", labels["job"], labels["pod"]));
    }
    for (labels, value) in papi.query("pg_up").await.unwrap() {
        log(&format!("  after the kill: pg_up{{pod={}}} = {value}", labels["pod"]));
    }
    let targets = papi.targets().await.unwrap();
    for target in targets.iter().filter(|t| t.health != "up") {
        log(&format!("  target {} {}: {}", target.scrape_url, target.health, target.last_error));
    }

    // Coverage.
    let end = now_ms() as f64 / 1000.0;
    let start = Instant::now();
    let covered = coverage(&papi, &ours.alerts(), window_start, end).await.unwrap();
    log(&format!("coverage in {:.2}s:", start.elapsed().as_secs_f64()));
    for c in &covered {
        log(&format!("  {:<24} {}:{} {:?}", c.alert, c.file.display(), c.line, c.outcome));
    }
    let removed = sweep(&docker, SweepScope::Run(&run_id)).await.unwrap();
    guard.disarm();
    log(&format!("removed {} containers, {} networks", removed.containers.len(), removed.networks.len()));
    assert!(covered.iter().any(|c| c.alert == "FailoverDetected" && c.outcome == AlertOutcome::Fired));
}
