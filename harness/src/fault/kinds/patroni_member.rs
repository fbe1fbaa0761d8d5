//! Faults that restart a member's PostgreSQL through Patroni's REST API (the `patroni` executor
//! operations, REST only, so they run on started and attached clusters alike):
//! - `patroni_restart`: `POST /restart` (`patronictl restart`). Patroni stops and starts PostgreSQL in place (a leader keeps its
//!   lock while it does) and answers 200 once PostgreSQL is up again, 503 when it failed or is
//!   still starting. Proven by Patroni reporting the member running with a new
//!   `postmaster_start_time`, and by PostgreSQL itself: a new `pg_postmaster_start_time()`, the
//!   same role (`pg_is_in_recovery()`) as before.
//! - `patroni_reinit`: `POST /reinitialize` on a replica (`patronictl reinit`). Patroni stops it, wipes its data directory and
//!   clones it again with pg_basebackup; 200 "reinitialize started" answers at once, 503 says why
//!   not (the leader, no leader, a task in progress). Done when the member runs as a replica again
//!   with a new postmaster start time on the leader's timeline; proven through Patroni (the states
//!   it went through, e.g. `creating replica`) and PostgreSQL (its `backup_label.old` names a new
//!   base backup).
//!
//! Neither lasts: when the proof is in, the member is back, and there is nothing to undo.
use std::time::Duration;

use async_trait::async_trait;
use futures_util::future::join_all;

use crate::fault::executor::Operation;
use crate::fault::rest::{MemberStatus, PatroniApi};
use crate::fault::{Applied, Fault, FaultCx, FaultError, FaultRequest};
use crate::pg::PgEndpoint;
use crate::register_fault;
use crate::scenario::{ActsOn, FaultSpec, OptionKind, OptionSpec, TargetRule};

/// How long a restarted member may take to report itself running with a new postmaster.
const RESTART_WITHIN: Duration = Duration::from_secs(60);
/// How long a reinitialized member may take to run as a replica again (a base backup of a drill
/// database takes seconds; a real one is bounded by the scenario's own waits after this).
const REINIT_WITHIN: Duration = Duration::from_secs(180);
/// Bound on one PostgreSQL read of a proof.
const PG_READ_WITHIN: Duration = Duration::from_secs(5);
/// Between two `GET /patroni` of a proof: fast enough to see `creating replica` go by.
const POLL_EVERY: Duration = Duration::from_millis(100);

struct Restart;
struct Reinit;

const RESTART: Restart = Restart;
const REINIT: Reinit = Reinit;
register_fault!(RESTART);
register_fault!(REINIT);

const TIMEOUT: OptionSpec = OptionSpec {
    key: "timeout",
    kind: OptionKind::Duration,
    required: false,
    doc: "Patroni's bound on the start (`timeout` of POST /restart, whole seconds): a leader that is not up by then gives its lock up",
};
const FROM_LEADER: OptionSpec = OptionSpec {
    key: "from_leader",
    kind: OptionKind::Bool,
    required: false,
    doc: "take the base backup from the leader rather than any member Patroni picks (`from_leader` of POST /reinitialize)",
};
const FORCE: OptionSpec = OptionSpec {
    key: "force",
    kind: OptionKind::Bool,
    required: false,
    doc: "cancel a task Patroni is running on the member first (`force` of POST /reinitialize)",
};

impl FaultSpec for Restart {
    fn name(&self) -> &'static str {
        "patroni_restart"
    }
    fn summary(&self) -> &'static str {
        "Restart PostgreSQL in place through Patroni's REST API (POST /restart); the leader keeps its lock."
    }
    fn options(&self) -> &'static [OptionSpec] {
        &[TIMEOUT]
    }
    fn target_rule(&self) -> TargetRule {
        TargetRule::DefaultsToLeader
    }
    fn acts_on(&self) -> ActsOn {
        ActsOn::PatroniMembers
    }
}

impl FaultSpec for Reinit {
    fn name(&self) -> &'static str {
        "patroni_reinit"
    }
    fn summary(&self) -> &'static str {
        "Reinitialize a replica through Patroni's REST API (POST /reinitialize): its data directory is cloned again."
    }
    fn options(&self) -> &'static [OptionSpec] {
        &[FROM_LEADER, FORCE]
    }
    fn acts_on(&self) -> ActsOn {
        ActsOn::PatroniMembers
    }
}

/// The member's REST API, or why there is none (attached: off the allow-list).
fn api(cx: &FaultCx<'_>, fault: &str, member: &str) -> Result<PatroniApi, FaultError> {
    cx.executor
        .patroni(member)
        .ok_or_else(|| FaultError::failed(fault, member, "no Patroni REST API to call (or not on the allow-list)"))
}

/// What PostgreSQL says of itself: `pg_postmaster_start_time()`, `pg_is_in_recovery()`, and the
/// `START TIME` line of `backup_label.old` (left by the base backup the member was cloned from,
/// renamed at its first start; `None` on a member made by initdb).
#[derive(Debug, Clone, PartialEq, Eq)]
struct PgSelf {
    started: String,
    in_recovery: bool,
    backup_started: Option<String>,
}

async fn read_pg(endpoint: &PgEndpoint) -> Result<PgSelf, String> {
    let sql = "SELECT pg_postmaster_start_time()::text, pg_is_in_recovery(), \
               substring(pg_read_file('backup_label.old', 0, 4096, true) from 'START TIME: ([^\\n]*)')";
    let read = async {
        let client = endpoint.connect(PG_READ_WITHIN).await?;
        let row = client.query_one(sql, &[]).await.map_err(|e| crate::pg::short(&e))?;
        Ok::<_, String>(PgSelf { started: row.get(0), in_recovery: row.get(1), backup_started: row.get(2) })
    };
    tokio::time::timeout(PG_READ_WITHIN, read)
        .await
        .map_err(|_| format!("no answer from {}:{} within {}s", endpoint.host, endpoint.port, PG_READ_WITHIN.as_secs()))?
}

/// The member's PostgreSQL, read through the executor's endpoint for it.
async fn pg_of(cx: &FaultCx<'_>, fault: &str, member: &str) -> Result<PgSelf, FaultError> {
    let endpoint =
        cx.executor.postgres(member).ok_or_else(|| FaultError::failed(fault, member, "no PostgreSQL endpoint"))?;
    read_pg(&endpoint).await.map_err(|e| FaultError::failed(fault, member, format!("reading PostgreSQL: {e}")))
}

/// A member's state before the action: Patroni's view and PostgreSQL's, both required.
struct Before {
    member: String,
    api: PatroniApi,
    status: MemberStatus,
    pg: PgSelf,
}

async fn before(cx: &FaultCx<'_>, fault: &str, member: &str) -> Result<Before, FaultError> {
    let api = api(cx, fault, member)?;
    let status = api.status().await.map_err(|e| FaultError::failed(fault, member, e))?;
    if status.postmaster_start_time.is_none() {
        return Err(FaultError::failed(
            fault,
            member,
            format!("PostgreSQL is not running under Patroni (state {})", status.state_word()),
        ));
    }
    let pg = pg_of(cx, fault, member).await?;
    Ok(Before { member: member.to_string(), api, status, pg })
}

/// Whether Patroni reports PostgreSQL up (`running` for a primary, `running`/`streaming` for a
/// replica).
fn up(status: &MemberStatus) -> bool {
    matches!(status.state.as_deref(), Some("running" | "streaming"))
}

/// The states a member went through, each once in a row (`running → restarting → running`).
#[derive(Debug, Default)]
struct States(Vec<String>);

impl States {
    fn saw(&mut self, status: &MemberStatus) {
        let word = status.state_word();
        if self.0.last().is_none_or(|last| last != word) {
            self.0.push(word.to_string());
        }
    }
    fn went_down(&self) -> bool {
        self.0.iter().any(|s| s != "running" && s != "streaming")
    }
    fn text(&self) -> String {
        self.0.join(" → ")
    }
}

/// Polls `GET /patroni` until `done` holds (states seen on the way), or `within` passes.
async fn wait_status(
    api: &PatroniApi,
    within: Duration,
    states: &mut States,
    done: impl Fn(&MemberStatus, &States) -> bool,
) -> Result<MemberStatus, String> {
    let start = tokio::time::Instant::now();
    loop {
        let last = match api.status().await {
            Ok(status) => {
                states.saw(&status);
                if done(&status, states) {
                    return Ok(status);
                }
                format!("state {}, postmaster started {:?}", status.state_word(), status.postmaster_start_time)
            }
            Err(e) => e.to_string(),
        };
        if start.elapsed() >= within {
            return Err(format!("not done after {}s; states seen: {}; last: {last}", within.as_secs(), states.text()));
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
}

impl Restart {
    /// Proves one member's restart: Patroni, then PostgreSQL.
    async fn prove(&self, cx: &FaultCx<'_>, b: &Before) -> Result<Vec<String>, FaultError> {
        let name = self.name();
        let old = b.status.postmaster_start_time.clone();
        let mut states = States::default();
        let done = |s: &MemberStatus, _: &States| up(s) && s.postmaster_start_time.is_some() && s.postmaster_start_time != old;
        let now = wait_status(&b.api, RESTART_WITHIN, &mut states, done)
            .await
            .map_err(|seen| FaultError::no_effect(name, &b.member, seen))?;
        let pg = pg_of(cx, name, &b.member).await?;
        if pg.started == b.pg.started || pg.in_recovery != b.pg.in_recovery {
            return Err(FaultError::no_effect(
                name,
                &b.member,
                format!(
                    "PostgreSQL reports postmaster start {} (was {}), in recovery {} (was {})",
                    pg.started, b.pg.started, pg.in_recovery, b.pg.in_recovery
                ),
            ));
        }
        Ok(vec![
            format!(
                "Patroni on {}: postmaster_start_time {} → {}, state {}",
                b.member,
                old.unwrap_or_default(),
                now.postmaster_start_time.as_deref().unwrap_or_default(),
                now.state_word()
            ),
            format!(
                "PostgreSQL on {}: pg_postmaster_start_time() {} (was {}), pg_is_in_recovery() {} as before",
                b.member, pg.started, b.pg.started, pg.in_recovery
            ),
        ])
    }
}

#[async_trait]
impl Fault for Restart {
    fn needs(&self) -> &'static [Operation] {
        &[Operation::PatroniApi]
    }

    async fn act(&self, cx: &FaultCx<'_>, request: &FaultRequest) -> Result<Applied, FaultError> {
        let name = self.name();
        let mut befores = Vec::new();
        for target in &request.targets {
            befores.push(before(cx, name, target).await?);
        }
        let timeout = request.option::<crate::scenario::Budget>(TIMEOUT.key).map(|b| b.0.as_secs().max(1));
        // Every target at once: Patroni answers each POST only when its restart is done.
        let answers = join_all(befores.iter().map(|b| b.api.restart(timeout))).await;
        cx.applied(self, &request.targets);
        let mut proofs = Vec::new();
        for (b, answer) in befores.iter().zip(answers) {
            let answer = answer.map_err(|reason| FaultError::failed(name, &b.member, reason))?;
            proofs.push(format!("Patroni answered {}: {answer}", b.member));
            proofs.extend(self.prove(cx, b).await?);
        }
        Ok(Applied { proofs, via: None })
    }
}

impl Reinit {
    /// Proves one member's reinitialization: Patroni, then PostgreSQL.
    async fn prove(&self, cx: &FaultCx<'_>, b: &Before) -> Result<Vec<String>, FaultError> {
        let name = self.name();
        let old = b.status.postmaster_start_time.clone();
        let mut states = States::default();
        let done = |s: &MemberStatus, seen: &States| {
            up(s)
                && s.role.as_deref() == Some("replica")
                && s.postmaster_start_time.is_some()
                && s.postmaster_start_time != old
                && seen.went_down()
        };
        let now = wait_status(&b.api, REINIT_WITHIN, &mut states, done)
            .await
            .map_err(|seen| FaultError::no_effect(name, &b.member, seen))?;
        let pg = pg_of(cx, name, &b.member).await?;
        let new_copy = pg.backup_started.is_some() && pg.backup_started != b.pg.backup_started;
        if !new_copy || !pg.in_recovery {
            return Err(FaultError::no_effect(
                name,
                &b.member,
                format!(
                    "PostgreSQL's backup_label.old names a base backup started {:?} (before: {:?}), in recovery {}",
                    pg.backup_started, b.pg.backup_started, pg.in_recovery
                ),
            ));
        }
        // The leader's timeline as the observers last saw it: the copy must be on it.
        let leader_timeline = cx
            .live
            .running_primaries()
            .iter()
            .filter(|p| crate::topology::member_group(p) == crate::topology::member_group(&b.member))
            .find_map(|p| cx.live.snapshot().get(p).and_then(|(view, _)| view.timeline));
        if let (Some(leader), Some(mine)) = (leader_timeline, now.timeline) {
            if leader != mine {
                return Err(FaultError::no_effect(
                    name,
                    &b.member,
                    format!("running again on timeline {mine}, the leader is on {leader}"),
                ));
            }
        }
        Ok(vec![
            format!(
                "Patroni on {}: {} (postmaster_start_time {} → {}), timeline {}",
                b.member,
                states.text(),
                old.unwrap_or_default(),
                now.postmaster_start_time.unwrap_or_default(),
                now.timeline.map_or("?".into(), |t| t.to_string())
            ),
            format!(
                "PostgreSQL on {}: a new copy (backup_label.old: base backup started {}, before: {}), in recovery",
                b.member,
                pg.backup_started.unwrap_or_default(),
                b.pg.backup_started.clone().unwrap_or_else(|| "none".into())
            ),
        ])
    }
}

#[async_trait]
impl Fault for Reinit {
    fn needs(&self) -> &'static [Operation] {
        &[Operation::PatroniApi]
    }

    async fn act(&self, cx: &FaultCx<'_>, request: &FaultRequest) -> Result<Applied, FaultError> {
        let name = self.name();
        let force = request.option::<bool>(FORCE.key).unwrap_or(false);
        let from_leader = request.option::<bool>(FROM_LEADER.key).unwrap_or(false);
        let mut befores = Vec::new();
        for target in &request.targets {
            befores.push(before(cx, name, target).await?);
        }
        let mut proofs = Vec::new();
        for b in &befores {
            let answer = b.api.reinitialize(force, from_leader).await;
            proofs.push(format!(
                "Patroni answered {}: {}",
                b.member,
                answer.map_err(|reason| FaultError::failed(name, &b.member, reason))?
            ));
        }
        cx.applied(self, &request.targets);
        for b in &befores {
            proofs.extend(self.prove(cx, b).await?);
        }
        Ok(Applied { proofs, via: None })
    }
}

#[cfg(test)]
mod tests {
    use super::{MemberStatus, States};
    use crate::scenario::parse_scenario;

    fn scenario(step: &str) -> Result<(), String> {
        let text = format!(
            "name: t\ndescription: d\ntopology: {{kind: patroni, members: 3, etcd: 1}}\nsteps:\n  - wait: healthy\n    within: 60s\n{step}"
        );
        parse_scenario("s.yaml", &text).map(drop).map_err(|e| e.to_string())
    }

    #[test]
    fn restart_defaults_to_the_leader_and_takes_a_timeout() {
        scenario("  - fault: patroni_restart\n").expect("no target: the leader");
        scenario("  - fault: patroni_restart\n    target: replicas\n    timeout: 30s\n").expect("replicas, with a timeout");
        let error = scenario("  - fault: patroni_restart\n    timeout: soon\n").expect_err("not a duration");
        assert!(error.contains("timeout"), "{error}");
    }

    #[test]
    fn reinit_needs_a_target_and_takes_booleans() {
        scenario("  - fault: patroni_reinit\n    target: replica\n    from_leader: true\n    force: false\n").expect("valid");
        let error = scenario("  - fault: patroni_reinit\n").expect_err("no target");
        assert!(error.contains("target"), "{error}");
        let error = scenario("  - fault: patroni_reinit\n    target: replica\n    from_leader: 3\n").expect_err("not a bool");
        assert!(error.contains("from_leader"), "{error}");
        let error = scenario("  - fault: patroni_reinit\n    target: replica\n    timeout: 3s\n").expect_err("restart's key");
        assert!(error.contains("timeout"), "{error}");
    }

    #[test]
    fn states_are_kept_once_in_a_row_and_a_reinit_must_go_down() {
        let at = |state: &str| MemberStatus { state: Some(state.into()), ..MemberStatus::default() };
        let mut states = States::default();
        for s in ["streaming", "streaming", "stopped", "creating replica", "creating replica", "starting", "streaming"] {
            states.saw(&at(s));
        }
        assert_eq!(states.text(), "streaming → stopped → creating replica → starting → streaming");
        assert!(states.went_down());
        let mut quiet = States::default();
        quiet.saw(&at("running"));
        quiet.saw(&at("streaming"));
        assert!(!quiet.went_down());
    }
}
