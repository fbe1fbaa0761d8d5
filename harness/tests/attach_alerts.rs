//! Attach mode's alert stop condition against a real Prometheus: `pgdrill compose` writes the
//! alerts-kill-primary topology with its monitoring stack (Prometheus evaluating pgdrill's rule
//! file, Alertmanager, an exporter per member), Debian's docker-compose starts it under a project
//! of the test's own, and `pgdrill run --cluster` kills the primary with
//! `safety.stop_on_alerts: [PatroniUnreachable]` in the cluster file. The run must stop when
//! Prometheus fires that alert — after the rule's scaled `for:` (6 s), not at once — start the
//! killed member again, and say which alert stopped it; the cluster ends with both members
//! running. pgdrill creates no container; the project is removed at the end (from a guard).
mod common;

use std::process::Command;
use std::time::{Duration, SystemTime};

use common::{attached_drill, block_on, compose_scenario, ensure_named_images, repo, run, text, wait_leader, Composed};
use pgdrill::cluster::load_cluster_file;
use pgdrill::runtime::images::ImageName;
use pgdrill::wait::{poll_until, Probe};
use serde_json::Value;

/// Ports the alerts-kill-primary topology publishes: etcd, 2 members x 2, HAProxy x 2, two
/// exporters, Prometheus, Alertmanager (with room to spare).
const PORTS: u16 = 14;
/// The safety section `pgdrill compose` writes.
const GENERATED_SAFETY: &str = "safety: {failed_writes_for: \"30s\", max_members_down: 1, fault_deadline: \"120s\"}";
const STOPPING_ALERT: &str = "PatroniUnreachable";

fn at(rfc3339: &str) -> SystemTime {
    humantime::parse_rfc3339(rfc3339).unwrap_or_else(|e| panic!("{rfc3339}: {e}"))
}

/// The containers of the project that are running.
fn running(project: &str) -> Vec<String> {
    let out = run(Command::new("docker").args([
        "ps",
        "--filter",
        &format!("label=com.docker.compose.project={project}"),
        "--format",
        "{{.Label \"com.docker.compose.service\"}}",
    ]));
    let mut names: Vec<String> = text(&out.stdout).lines().map(str::to_string).collect();
    names.sort();
    names
}

/// Prometheus's alerts named `name` and their states.
async fn alert_states(prometheus: &str, name: &str) -> Result<Vec<String>, String> {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().expect("client");
    let answer = client.get(format!("{prometheus}/api/v1/alerts")).send().await.map_err(|e| e.to_string())?;
    let body: Value = answer.json().await.map_err(|e| e.to_string())?;
    let alerts = body["data"]["alerts"].as_array().cloned().unwrap_or_default();
    Ok(alerts
        .iter()
        .filter(|a| a["labels"]["alertname"] == name)
        .filter_map(|a| a["state"].as_str().map(str::to_string))
        .collect())
}

/// Waits until Prometheus holds no pending or firing alert `name` (every target scraped).
async fn alert_inactive(prometheus: &str, name: &str, within: Duration) {
    let what = format!("{name} to be inactive in Prometheus at {prometheus}");
    poll_until(&what, within, Duration::from_millis(500), || async {
        match alert_states(prometheus, name).await {
            Ok(states) if states.is_empty() => Probe::Done(()),
            Ok(states) => Probe::not_yet(format!("{name}: {states:?}")),
            Err(e) => Probe::not_yet(format!("no answer: {e}")),
        }
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn a_firing_alert_in_prometheus_stops_an_attached_drill_and_heals_it() {
    let mut images = vec![ImageName::Etcd, ImageName::Patroni, ImageName::Haproxy];
    images.extend(ImageName::MONITORING);
    ensure_named_images(&images);
    let composed = compose_scenario("scenarios/alerts-kill-primary.yaml", "attach-alerts-test", PORTS, 11);
    let generated = composed.cluster_file_text();
    assert!(generated.contains(GENERATED_SAFETY), "{generated}");
    let safety =
        format!("safety: {{failed_writes_for: \"30s\", fault_deadline: \"120s\", stop_on_alerts: [{STOPPING_ALERT}]}}");
    let mine = generated.replace(GENERATED_SAFETY, &safety);
    let Composed { dir, project, .. } = composed;
    let cluster_file = dir.join("cluster.yaml");
    std::fs::write(&cluster_file, &mine).expect("write cluster.yaml");

    run(project.compose().args(["up", "-d"]));
    let cluster = load_cluster_file(&cluster_file).unwrap_or_else(|e| panic!("{e}"));
    let prometheus = cluster.prometheus.as_ref().expect("the generated file names Prometheus").value.clone();
    let rest = cluster.members[0].value.patroni.value.clone();
    block_on(wait_leader(&rest, 2, Duration::from_secs(180)));
    let services_before = running(&project.name);
    assert!(services_before.contains(&"prometheus".to_string()), "{services_before:?}");
    // The control: nothing stops the run before the fault. Prometheus may have scraped a member
    // before its REST API answered (up == 0 for a scrape or two): wait until that has resolved.
    block_on(alert_inactive(&prometheus, STOPPING_ALERT, Duration::from_secs(60)));

    let reports = dir.join("reports");
    let fixture = repo().join("harness/tests/fixtures/attach-stop-on-alert.yaml");
    let stopped = attached_drill(&cluster_file, fixture.to_str().expect("UTF-8 path"), &reports);
    let (code, stdout, report, audit) = (stopped.code, &stopped.stdout, &stopped.report, &stopped.audit);
    assert_ne!(code, 0, "the run should have been stopped:\n{stdout}");
    let error = report["error"].as_str().unwrap_or_default();
    assert!(
        error.starts_with(&format!("stopped: alert {STOPPING_ALERT} is firing (Prometheus at {prometheus}")),
        "{error}"
    );
    let kills = stopped.actions("kill");
    assert_eq!(kills.len(), 1, "{audit:?}");
    let fired = stopped.actions("stop-condition");
    assert_eq!(fired.len(), 1, "{audit:?}");
    let started = stopped.actions("start");
    assert!(!started.is_empty(), "the killed member was not started again: {audit:?}");
    let kill_at = at(kills[0]["time"].as_str().expect("time"));
    let stop_after = at(fired[0]["time"].as_str().expect("time")).duration_since(kill_at).expect("stop after kill");
    let healed_after =
        at(started[0]["time"].as_str().expect("time")).duration_since(kill_at).expect("start after kill");
    eprintln!(
        "{STOPPING_ALERT} stopped the run {stop_after:?} after the kill; member started {healed_after:?} after it"
    );
    // Prometheus's `for:` (1m x 0.1) must have run out first: a stop at once would not be the alert.
    assert!(stop_after >= Duration::from_secs(6), "{stop_after:?}");
    assert!(stop_after < Duration::from_secs(40), "{stop_after:?}");
    assert!(healed_after >= stop_after, "{healed_after:?} before the stop {stop_after:?}");

    // Healed: both members run again, with a leader; no container of pgdrill's own appeared.
    block_on(wait_leader(&rest, 2, Duration::from_secs(120)));
    assert_eq!(running(&project.name), services_before);
    let run_id = report["run_id"].as_str().expect("run id");
    let ours =
        run(Command::new("docker").args(["ps", "-aq", "--filter"]).arg(format!("label=org.pgdrill.run={run_id}")));
    assert!(text(&ours.stdout).trim().is_empty(), "run {run_id} created containers");
    drop(project);
    let _ = std::fs::remove_dir_all(&dir);
}
