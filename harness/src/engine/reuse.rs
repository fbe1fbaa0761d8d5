//! A healed cluster handed from one drill to the next (`pgdrill drill`, the cases of `pgdrill
//! chaos`). After a drill that ended
//! clean (no run error, every fault undone, nothing left down or behind), when the next drill has
//! the same topology and images, its cluster is parked: the workload table emptied and, for each
//! Patroni cluster one of whose members the next drill names, its bootstrapping member made its
//! leader again (as on a fresh start, so a drill naming `pg-2` drills the same member either
//! way). A cluster the next drill names no member of keeps the leader it has: that drill finds
//! its targets by role. The next drill runs on it only if the baseline check passes — recorded on
//! that drill's timeline before its first step; any other drill, a failed check, `--fresh` and
//! the end of the suite tear it down.
use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::Value;

use super::{Cluster, Progress, RunOptions};
use crate::check::{faults_undone, Status};
use crate::runtime::{sweep, Runtime, SweepScope, TeardownGuard};
use crate::scenario::LoadedScenario;
use crate::timeline::{BaselineCheck, ClusterOrigin, EventKind, TimelineWriter};
use crate::wait::{poll_until, Probe};
use crate::workload::{empty_table, read_cluster, table_rows, DcsView};

/// Bound on each wait of parking and of the baseline (a switchover back, the DCS settling).
const SETTLE_WITHIN: Duration = Duration::from_secs(30);
/// Bound on each single request or statement.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// At most one parked cluster, shared by the drills of one `pgdrill drill`.
#[derive(Debug, Default)]
pub struct ReuseSlot {
    parked: tokio::sync::Mutex<Option<Parked>>,
    /// The drill after the running one (`None`: none, or one that starts its own): a cluster is
    /// parked only for a drill that can take it.
    next: std::sync::Mutex<Option<NextDrill>>,
}

/// What parking needs to know of the drill after the running one.
#[derive(Debug, Clone)]
struct NextDrill {
    key: String,
    /// The words of its scenario file (see [`mentions`]).
    mentions: BTreeSet<String>,
}

/// A cluster between two drills.
#[derive(Debug)]
struct Parked {
    key: String,
    claimed: Claimed,
    /// The bootstrapping members made leader again (their clusters' members are named by the
    /// next drill); the baseline holds them to it.
    pinned: BTreeSet<String>,
}

/// A cluster a drill runs on that an earlier drill started.
#[derive(Debug)]
pub(super) struct Claimed {
    pub(super) runtime: Runtime,
    pub(super) cluster: Cluster,
    /// Armed for the run that started it: a panic still removes it.
    pub(super) guard: TeardownGuard,
    pub(super) origin: ClusterOrigin,
}

/// What must be equal for a drill to run on another's cluster: the topology (with the users'
/// Patroni configuration merged in at load) and the images. `None` when the drill always starts
/// its own: with monitoring (Prometheus's history and alert states would carry over), `--keep`,
/// or an attached cluster.
pub(super) fn reuse_key(loaded: &LoadedScenario, options: &RunOptions) -> Option<String> {
    let scenario = &loaded.scenario;
    if scenario.topology.monitoring.is_some() || options.keep || options.attach.is_some() {
        return None;
    }
    Some(format!("{:?}\n{:?}", scenario.topology, options.images))
}

/// The words of a scenario file (letters, digits, `-`, `_`): a member is named by a drill when
/// its name is one of them — as a target, a candidate, in an exec command, in per-member tags,
/// or only in a comment (a mention is enough: switching back when it was not needed costs a few
/// seconds; not switching back when it was would drill another member).
fn mentions(source: &str) -> BTreeSet<String> {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    source.split(|c: char| !word(c)).filter(|w| !w.is_empty()).map(str::to_string).collect()
}

/// Where a cluster parked after drill `run_id` of `scenario` came from: the claimed cluster's
/// origin one drill on, or a cluster this drill started itself (`started_by_run`).
pub(super) fn origin_after(
    from: Option<&ClusterOrigin>,
    started_by_run: &str,
    run_id: &str,
    scenario: &str,
) -> ClusterOrigin {
    match from {
        Some(from) => ClusterOrigin {
            previous_run: run_id.into(),
            previous_scenario: scenario.into(),
            drills_before: from.drills_before + 1,
            ..from.clone()
        },
        None => ClusterOrigin {
            started_by_run: started_by_run.into(),
            started_by_scenario: scenario.into(),
            previous_run: run_id.into(),
            previous_scenario: scenario.into(),
            drills_before: 1,
        },
    }
}

impl ReuseSlot {
    /// Says which drill comes after the one about to run (`None` after the last), so that a
    /// cluster is put back into shape and kept only when that drill can run on it.
    pub fn next_drill(&self, next: Option<&LoadedScenario>, options: &RunOptions) {
        let drill = next.and_then(|loaded| {
            Some(NextDrill { key: reuse_key(loaded, options)?, mentions: mentions(&loaded.source) })
        });
        *self.next.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = drill;
    }

    /// Says that the drill after the one about to run is one like it, whose file is not known
    /// yet (the next case of a chaos search): same topology, and every member counted as named,
    /// so each cluster is switched back to its bootstrapping member as on a fresh start.
    pub fn next_drill_like(&self, drill: &LoadedScenario, options: &RunOptions) {
        let like = reuse_key(drill, options).map(|key| NextDrill {
            key,
            mentions: crate::topology::member_names(&drill.scenario.topology).into_iter().collect(),
        });
        *self.next.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = like;
    }

    fn next(&self) -> Option<NextDrill> {
        self.next.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// Whether the next drill could run on a cluster of `key`.
    pub(super) fn next_takes(&self, key: &str) -> bool {
        self.next().is_some_and(|next| next.key == key)
    }

    /// The parked cluster for a drill with `key`, if its baseline check passes (recorded on
    /// `timeline` either way); a parked cluster that does not fit is torn down.
    pub(super) async fn claim(&self, key: &str, timeline: &TimelineWriter, progress: &Progress) -> Option<Claimed> {
        let Parked { key: parked_key, claimed, pinned } = self.parked.lock().await.take()?;
        let mut checks = vec![BaselineCheck {
            what: "same topology, Patroni configuration and images".into(),
            ok: parked_key == key,
            found: if parked_key == key { "the same".into() } else { "they differ".into() },
        }];
        if parked_key == key {
            checks.extend(baseline(&claimed.cluster, &pinned).await);
        }
        let reused = checks.iter().all(|c| c.ok);
        timeline.record(EventKind::ClusterBaseline { origin: claimed.origin.clone(), checks: checks.clone(), reused });
        if reused {
            progress.say(&format!(
                "reusing the cluster of run {} (left by {}): baseline passed",
                claimed.origin.started_by_run, claimed.origin.previous_scenario
            ));
            return Some(claimed);
        }
        let failed: Vec<String> = checks.iter().filter(|c| !c.ok).map(|c| format!("{}: {}", c.what, c.found)).collect();
        progress.say(&format!(
            "not reusing the cluster of run {}: {}",
            claimed.origin.started_by_run,
            failed.join("; ")
        ));
        remove(claimed, progress).await;
        None
    }

    /// Parks the cluster of a drill that just ended clean, for the next drill with `key`;
    /// tears it down instead (and says why) when it cannot be put back into shape.
    pub(super) async fn park(&self, key: String, claimed: Claimed, progress: &Progress) -> Result<(), String> {
        self.release(progress).await;
        let mentions = self.next().map(|next| next.mentions).unwrap_or_default();
        match put_back(&claimed.cluster, &mentions).await {
            Ok((rows, pinned)) => {
                progress.say(&format!(
                    "cluster of run {} parked for the next drill ({rows} rows emptied{})",
                    claimed.runtime.run_id(),
                    if pinned.is_empty() {
                        String::new()
                    } else {
                        format!("; {} leading again", pinned.iter().cloned().collect::<Vec<_>>().join(", "))
                    }
                ));
                *self.parked.lock().await = Some(Parked { key, claimed, pinned });
                Ok(())
            }
            Err(e) => {
                remove(claimed, progress).await;
                Err(format!("cluster not parked for the next drill: {e}; torn down"))
            }
        }
    }

    /// Tears down the parked cluster, if any (the end of a suite, a drill that starts its own).
    /// At the end of a suite nothing follows: a later run with these options parks nothing.
    pub async fn end(&self, progress: &Progress) {
        *self.next.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = None;
        self.release(progress).await;
    }

    /// Tears down the parked cluster, if any (a drill that starts its own).
    pub async fn release(&self, progress: &Progress) {
        if let Some(parked) = self.parked.lock().await.take() {
            remove(parked.claimed, progress).await;
        }
    }
}

/// Removes a parked cluster's containers and network (its run's labels).
async fn remove(mut claimed: Claimed, progress: &Progress) {
    match sweep(claimed.runtime.docker(), SweepScope::Run(claimed.runtime.run_id())).await {
        Ok(report) => {
            progress.say(&format!(
                "teardown of run {}: removed {} containers, {} networks",
                claimed.runtime.run_id(),
                report.containers.len(),
                report.networks.len()
            ));
            if report.failed.is_empty() {
                claimed.guard.disarm();
            }
        }
        Err(e) => {
            progress.say(&format!("teardown of run {} failed: {e}; run `pgdrill clean`", claimed.runtime.run_id()))
        }
    }
}

/// Each Patroni cluster (every Citus group, or all members): its bootstrapping member and every
/// member with its REST API. A cluster no member may bootstrap (all `nofailover`) is left out.
fn patroni_clusters(cluster: &Cluster) -> Vec<(String, Vec<(String, String)>)> {
    let endpoints = cluster.patroni_endpoints();
    cluster
        .patroni_clusters()
        .into_iter()
        .filter_map(|members| {
            let bootstrapper = cluster.plan.bootstrap.iter().find(|b| members.contains(&b.member))?.member.clone();
            let apis = endpoints.iter().filter(|(m, _)| members.contains(m)).cloned().collect();
            Some((bootstrapper, apis))
        })
        .collect()
}

/// `GET`s (or `POST`s `{}` to) `url` and reads the JSON answer; errors say `what`.
async fn json_of(client: &reqwest::Client, url: String, post: bool, what: &str) -> Result<Value, String> {
    let request = if post { client.post(&url).json(&serde_json::json!({})) } else { client.get(&url) };
    let response = request.send().await.map_err(|e| format!("{what}: {e}"))?;
    response.json().await.map_err(|e| format!("{what}: {e}"))
}

fn http() -> reqwest::Client {
    reqwest::Client::builder().timeout(REQUEST_TIMEOUT).no_proxy().build().unwrap_or_default()
}

/// Empties the workload table and makes the bootstrapping member of each Patroni cluster with a
/// member in `mentions` leader again (a switchover where another member leads), then waits until
/// every Patroni cluster has settled. The rows emptied and the bootstrappers so pinned.
async fn put_back(cluster: &Cluster, mentions: &BTreeSet<String>) -> Result<(u64, BTreeSet<String>), String> {
    let rows = empty_table(&cluster.primary_endpoint(), &cluster.workload_table(), REQUEST_TIMEOUT)
        .await
        .map_err(|e| format!("emptying the workload table: {e}"))?;
    let client = http();
    let executor = cluster.executor();
    for (_, members) in patroni_clusters(cluster) {
        // Maintenance mode left on would only run out the waits below.
        let view = read_cluster(&client, &members).await?;
        if view.paused {
            return Err(format!("maintenance mode is on ({})", view.describe(&names(&members))));
        }
    }
    let named = |members: &[(String, String)]| members.iter().any(|(m, _)| mentions.contains(m));
    let pinned: BTreeSet<String> =
        patroni_clusters(cluster).into_iter().filter(|(_, members)| named(members)).map(|(b, _)| b).collect();
    for (bootstrapper, members) in patroni_clusters(cluster).into_iter().filter(|(b, _)| pinned.contains(b)) {
        // In synchronous mode Patroni accepts only the sync standby as the candidate (HTTP 412
        // otherwise), and a member that just rejoined is named one a loop or two later: ask
        // again until it takes the request.
        let what = format!("Patroni to accept a switchover back to {bootstrapper}");
        poll_until(&what, SETTLE_WITHIN, Duration::from_millis(500), || async {
            let view = match read_cluster(&client, &members).await {
                Ok(view) => view,
                Err(e) => return Probe::NotYet(e),
            };
            let Some(leader) = view.leader().map(str::to_string) else {
                return Probe::NotYet(format!("no running leader: {}", view.describe(&names(&members))));
            };
            if leader == bootstrapper {
                return Probe::Done(());
            }
            let Some(api) = executor.patroni(&leader) else {
                return Probe::NotYet(format!("no REST API for {leader}"));
            };
            match api.switchover(&leader, Some(&bootstrapper), None).await {
                Ok(_) => Probe::Done(()),
                Err(e) => Probe::NotYet(format!("switchover {leader} → {bootstrapper}: {e}")),
            }
        })
        .await
        .map_err(|e| e.to_string())?;
    }
    wait_settled(cluster, &pinned).await?;
    Ok((rows, pinned))
}

fn names(members: &[(String, String)]) -> Vec<String> {
    members.iter().map(|(m, _)| m.clone()).collect()
}

/// One Patroni cluster settled: one running leader (`leader` when given), every other member
/// streaming with no lag, not in maintenance mode. The leader's name.
async fn settled(
    client: &reqwest::Client,
    leader: Option<&str>,
    members: &[(String, String)],
) -> Result<String, String> {
    let view = read_cluster(client, members).await?;
    settled_view(&view, leader, &names(members))
}

/// [`settled`] on one `GET /cluster` answer (pure).
fn settled_view(view: &DcsView, leader: Option<&str>, expected: &[String]) -> Result<String, String> {
    if view.paused {
        return Err(format!("maintenance mode is on ({})", view.describe(expected)));
    }
    let Some(leads) = view.leader().filter(|l| leader.is_none_or(|wanted| wanted == *l)) else {
        return Err(view.describe(expected));
    };
    if !view.converged(expected) {
        return Err(view.describe(expected));
    }
    let lagging: Vec<String> = view
        .members
        .iter()
        .filter(|m| m.name != leads && m.lag != Some(0))
        .map(|m| format!("{} lag {}", m.name, m.lag.map_or("unknown".into(), |l| format!("{l} bytes"))))
        .collect();
    if lagging.is_empty() {
        Ok(leads.to_string())
    } else {
        Err(lagging.join(", "))
    }
}

/// The baseline a parked cluster must pass before a drill runs on it (everything but the key);
/// the clusters of the `pinned` bootstrapping members must be led by them.
async fn baseline(cluster: &Cluster, pinned: &BTreeSet<String>) -> Vec<BaselineCheck> {
    let check = |what: &str, result: Result<String, String>| BaselineCheck {
        what: what.into(),
        ok: result.is_ok(),
        found: result.unwrap_or_else(|e| e),
    };
    vec![
        check(
            "every container running; none paused, off the network, or with a fault's leftover",
            containers(cluster).await,
        ),
        check(
            "each Patroni cluster led by one member (by its bootstrapping member when the drill names one of its \
             members), every replica streaming with no lag, no maintenance mode",
            wait_settled(cluster, pinned).await,
        ),
        check("etcd: every member healthy and listed", etcd(cluster).await),
        check("Patroni's dynamic configuration as bootstrapped", dynamic_configuration(cluster).await),
        check("the workload table empty", workload_table(cluster).await),
    ]
}

async fn containers(cluster: &Cluster) -> Result<String, String> {
    cluster.ensure_running("the baseline check", &[]).await.map_err(|e| e.to_string())?;
    // The same audit and judgement as every drill's `faults_undone`, on a scratch timeline.
    let scratch = TimelineWriter::start_now();
    cluster.audit_containers(&scratch).await;
    let verdict = faults_undone(&scratch.snapshot());
    if verdict.status == Status::Pass {
        Ok(verdict.observed)
    } else {
        Err(verdict.observed)
    }
}

/// Waits (bounded) until every Patroni cluster is [`settled`], those of the `pinned`
/// bootstrapping members led by them.
async fn wait_settled(cluster: &Cluster, pinned: &BTreeSet<String>) -> Result<String, String> {
    let client = http();
    let mut found = Vec::new();
    for (bootstrapper, members) in patroni_clusters(cluster) {
        let pin = pinned.contains(&bootstrapper).then_some(bootstrapper.as_str());
        let what = match pin {
            Some(b) => format!("{b} to lead its cluster, every replica streaming with no lag"),
            None => format!("{bootstrapper}'s cluster to have one leader, every replica streaming with no lag"),
        };
        let leads = poll_until(&what, SETTLE_WITHIN, Duration::from_millis(250), || async {
            match settled(&client, pin, &members).await {
                Ok(leads) => Probe::Done(leads),
                Err(e) => Probe::NotYet(e),
            }
        })
        .await
        .map_err(|e| e.to_string())?;
        let why =
            if pin.is_some() { "named by the drill: as on a fresh start" } else { "no member named by the drill" };
        found.push(format!("{leads} leads {} members ({why})", members.len()));
    }
    Ok(found.join("; "))
}

async fn etcd(cluster: &Cluster) -> Result<String, String> {
    let client = http();
    let urls = cluster.etcd_urls();
    for (name, url) in &urls {
        let health = json_of(&client, format!("{url}/health"), false, &format!("{name}: GET /health")).await?;
        if health.get("health").and_then(Value::as_str) != Some("true") {
            return Err(format!("{name}: GET /health answered {health}"));
        }
    }
    let (name, url) = urls.first().ok_or("no etcd member to ask")?;
    let list = json_of(&client, format!("{url}/v3/cluster/member/list"), true, &format!("{name}: member list")).await?;
    let listed = list.get("members").and_then(Value::as_array).map_or(0, Vec::len);
    if listed != urls.len() {
        return Err(format!("{name} lists {listed} etcd members, the topology has {}", urls.len()));
    }
    Ok(format!("{listed} members healthy"))
}

/// Every key pgdrill wrote into each bootstrapping member's `bootstrap.dcs` still has its value
/// in `GET /config` (Patroni adds its defaults; a drill's `PATCH /config` would show here).
async fn dynamic_configuration(cluster: &Cluster) -> Result<String, String> {
    let client = http();
    let written = crate::report::member_configurations(&cluster.plan);
    let endpoints = cluster.patroni_endpoints();
    for (bootstrapper, _) in patroni_clusters(cluster) {
        let dcs = written
            .iter()
            .find(|c| c.member == bootstrapper)
            .map(|c| c.patroni["bootstrap"]["dcs"].clone())
            .ok_or_else(|| format!("no configuration written for {bootstrapper}"))?;
        let base = endpoints.iter().find(|(m, _)| *m == bootstrapper).map(|(_, u)| u.clone()).unwrap_or_default();
        let live = json_of(&client, format!("{base}/config"), false, &format!("{bootstrapper}: GET /config")).await?;
        if let Some(path) = first_difference(&dcs, &live, String::new()) {
            return Err(format!("{bootstrapper}: {path}"));
        }
        if live.get("pause").and_then(Value::as_bool) == Some(true) {
            return Err(format!("{bootstrapper}: pause is set"));
        }
    }
    Ok("every key pgdrill wrote as written".into())
}

/// The first key of `wanted` whose value `live` does not have (objects compared key by key).
fn first_difference(wanted: &Value, live: &Value, path: String) -> Option<String> {
    match (wanted, live) {
        (Value::Object(w), Value::Object(l)) => w.iter().find_map(|(key, value)| {
            let path = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
            match l.get(key) {
                Some(found) => first_difference(value, found, path),
                None => Some(format!("{path} is gone")),
            }
        }),
        _ if wanted == live => None,
        _ => Some(format!("{path} is {live}, bootstrapped as {wanted}")),
    }
}

async fn workload_table(cluster: &Cluster) -> Result<String, String> {
    let table = cluster.workload_table();
    match table_rows(&cluster.primary_endpoint(), &table, REQUEST_TIMEOUT).await? {
        0 => Ok(format!("{table}: no rows")),
        n => Err(format!("{table} holds {n} rows")),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn view(body: Value) -> DcsView {
        DcsView::parse("pg-1", &body)
    }

    fn expected() -> Vec<String> {
        vec!["pg-1".into(), "pg-2".into()]
    }

    #[test]
    fn a_fresh_shape_is_settled() {
        let v = view(json!({"members": [
            {"name": "pg-1", "role": "leader", "state": "running"},
            {"name": "pg-2", "role": "replica", "state": "streaming", "lag": 0},
        ]}));
        assert_eq!(settled_view(&v, Some("pg-1"), &expected()), Ok("pg-1".into()));
        assert_eq!(settled_view(&v, None, &expected()), Ok("pg-1".into()));
    }

    #[test]
    fn another_leader_lag_or_maintenance_is_not_settled() {
        let other_leader = view(json!({"members": [
            {"name": "pg-1", "role": "replica", "state": "streaming", "lag": 0},
            {"name": "pg-2", "role": "leader", "state": "running"},
        ]}));
        assert!(settled_view(&other_leader, Some("pg-1"), &expected()).is_err());
        // Not pinned: any one leader will do.
        assert_eq!(settled_view(&other_leader, None, &expected()), Ok("pg-2".into()));
        let lagging = view(json!({"members": [
            {"name": "pg-1", "role": "leader", "state": "running"},
            {"name": "pg-2", "role": "replica", "state": "streaming", "lag": "unknown"},
        ]}));
        assert_eq!(settled_view(&lagging, Some("pg-1"), &expected()), Err("pg-2 lag unknown".into()));
        assert_eq!(settled_view(&lagging, None, &expected()), Err("pg-2 lag unknown".into()));
        let paused = view(json!({"pause": true, "members": [
            {"name": "pg-1", "role": "leader", "state": "running"},
            {"name": "pg-2", "role": "replica", "state": "streaming", "lag": 0},
        ]}));
        assert!(settled_view(&paused, None, &expected()).unwrap_err().starts_with("maintenance mode is on"));
        let two_leaders = view(json!({"members": [
            {"name": "pg-1", "role": "leader", "state": "running"},
            {"name": "pg-2", "role": "leader", "state": "running"},
        ]}));
        assert!(settled_view(&two_leaders, None, &expected()).is_err());
    }

    #[test]
    fn a_member_is_named_by_any_word_of_the_scenario_file() {
        let words = mentions("steps:\n  - fault: switchover\n    candidate: {member: pg-3}  # not pg-10\n");
        assert!(words.contains("pg-3") && words.contains("pg-10"));
        assert!(!words.contains("pg-1") && !words.contains("pg"));
        let words = mentions("target: {group: 1}\ncommand: [patronictl, switchover, --candidate, worker1-2]");
        assert!(words.contains("worker1-2") && !words.contains("worker1-1"));
    }

    #[tokio::test]
    async fn a_chaos_case_pins_every_member_and_the_end_of_a_search_parks_nothing() {
        let text = include_str!("../../../scenarios/citus-worker-switchover.yaml");
        let loaded = crate::scenario::parse_scenario("citus-worker-switchover.yaml", text).expect("a shipped scenario");
        let options = RunOptions {
            reports_dir: "reports".into(),
            keep: false,
            images: Default::default(),
            cancel: Default::default(),
            quiet: true,
            monitoring: false,
            citus: true,
            pooler: false,
            attach: None,
            reuse: None,
        };
        let slot = ReuseSlot::default();
        slot.next_drill_like(&loaded, &options);
        let next = slot.next().expect("a case like this one follows");
        assert_eq!(next.key, reuse_key(&loaded, &options).expect("reusable"));
        let members = crate::topology::member_names(&loaded.scenario.topology);
        assert!(members.len() >= 6 && members.iter().all(|m| next.mentions.contains(m)), "{members:?}");
        assert!(slot.next_takes(&next.key));
        slot.end(&Progress::new("", true)).await;
        assert!(!slot.next_takes(&next.key), "nothing follows the end of a search");
    }

    #[test]
    fn the_configuration_must_keep_every_key_written() {
        let wanted = json!({"ttl": 20, "postgresql": {"parameters": {"work_mem": "8MB"}}});
        let same_and_more =
            json!({"ttl": 20, "loop_wait": 10, "postgresql": {"parameters": {"work_mem": "8MB", "x": 1}}});
        assert_eq!(first_difference(&wanted, &same_and_more, String::new()), None);
        let changed = json!({"ttl": 30, "postgresql": {"parameters": {"work_mem": "8MB"}}});
        assert_eq!(first_difference(&wanted, &changed, String::new()), Some("ttl is 30, bootstrapped as 20".into()));
        let gone = json!({"ttl": 20, "postgresql": {}});
        assert_eq!(first_difference(&wanted, &gone, String::new()), Some("postgresql.parameters is gone".into()));
    }
}
