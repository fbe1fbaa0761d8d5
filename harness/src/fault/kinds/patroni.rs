//! Faults through Patroni's REST API: a planned `switchover`, a manual `failover` to a
//! candidate, and maintenance mode (`maintenance_on` / `maintenance_off`, Patroni's `pause`).
//! A leader change is proven by the observers seeing it; maintenance mode by Patroni reporting it.
use std::time::Duration;

use async_trait::async_trait;

use crate::fault::rest::PatroniApi;
use crate::fault::{ActiveFault, Applied, Fault, FaultCx, FaultError, FaultRequest};
use crate::observe::LiveView;
use crate::fault::executor::Operation;
use crate::register_fault;
use crate::scenario::{ActsOn, Ends, FaultSpec, Lasting, OptionKind, OptionSpec, TargetRule};

/// How long a REST-driven leader change may take to show before it counts as having no effect.
const LEADER_CHANGE_WITHIN: Duration = Duration::from_secs(60);
/// How long Patroni may take to report maintenance mode.
const MAINTENANCE_WITHIN: Duration = Duration::from_secs(15);

/// Which REST action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Call {
    Switchover,
    Failover,
    MaintenanceOn,
    MaintenanceOff,
}

struct Rest(Call);

const SWITCHOVER: Rest = Rest(Call::Switchover);
const FAILOVER: Rest = Rest(Call::Failover);
const MAINTENANCE_ON: Rest = Rest(Call::MaintenanceOn);
const MAINTENANCE_OFF: Rest = Rest(Call::MaintenanceOff);
register_fault!(SWITCHOVER);
register_fault!(FAILOVER);
register_fault!(MAINTENANCE_ON);
register_fault!(MAINTENANCE_OFF);

const CANDIDATE: OptionSpec = OptionSpec {
    key: "candidate",
    kind: OptionKind::Target,
    required: false,
    doc: "the member that should become the leader, e.g. `candidate: {member: pg-2}`",
};
const CANDIDATE_REQUIRED: OptionSpec = OptionSpec { required: true, ..CANDIDATE };
const SCHEDULED_IN: OptionSpec = OptionSpec {
    key: "scheduled_in",
    kind: OptionKind::Duration,
    required: false,
    doc: "schedule the switchover this long after the step runs (Patroni's `scheduled_at`)",
};

impl FaultSpec for Rest {
    fn name(&self) -> &'static str {
        match self.0 {
            Call::Switchover => "switchover",
            Call::Failover => "failover",
            Call::MaintenanceOn => "maintenance_on",
            Call::MaintenanceOff => "maintenance_off",
        }
    }

    fn summary(&self) -> &'static str {
        match self.0 {
            Call::Switchover => "Planned switchover through Patroni's REST API (`candidate`, `scheduled_in` optional).",
            Call::Failover => "Manual failover to `candidate` through Patroni's REST API.",
            Call::MaintenanceOn => "Patroni maintenance mode on (`pause: true` in the dynamic configuration).",
            Call::MaintenanceOff => "Patroni maintenance mode off.",
        }
    }

    fn options(&self) -> &'static [OptionSpec] {
        match self.0 {
            Call::Switchover => &[CANDIDATE, SCHEDULED_IN],
            Call::Failover => &[CANDIDATE_REQUIRED],
            Call::MaintenanceOn | Call::MaintenanceOff => &[],
        }
    }

    fn target_rule(&self) -> TargetRule {
        TargetRule::DefaultsToLeader
    }

    fn acts_on(&self) -> ActsOn {
        ActsOn::PatroniMembers
    }

    fn lasting(&self) -> Option<Lasting> {
        (self.0 == Call::MaintenanceOn).then_some(Lasting { undo_at_end: true, leaves_down: false })
    }

    fn ends(&self) -> Ends {
        match self.0 {
            // Maintenance mode is cluster-wide, whichever member it was set through.
            Call::MaintenanceOff => Ends { faults: &["maintenance_on"], any_target: true },
            _ => Ends::NOTHING,
        }
    }

    fn chaos(&self) -> bool {
        matches!(self.0, Call::Switchover | Call::MaintenanceOn)
    }
}

impl Rest {
    fn api(&self, cx: &FaultCx<'_>, member: &str) -> Result<PatroniApi, FaultError> {
        cx.executor.patroni(member).ok_or_else(|| FaultError::failed(self.name(), member, "no Patroni REST API"))
    }

    async fn leader_change(&self, cx: &FaultCx<'_>, request: &FaultRequest) -> Result<Applied, FaultError> {
        let name = self.name();
        let leader = request.leader.clone().ok_or_else(|| FaultError::failed(name, "cluster", "no leader observed"))?;
        let candidate = request.member(CANDIDATE.key);
        let via = if self.0 == Call::Switchover { leader.as_str() } else { candidate.unwrap_or(&leader) };
        let api = self.api(cx, via)?;
        let scheduled_in: Option<Duration> = request.option::<crate::scenario::Budget>(SCHEDULED_IN.key).map(|b| b.0);
        let answer = match (self.0, candidate) {
            (Call::Switchover, _) => {
                let at = scheduled_in
                    .map(|d| humantime::format_rfc3339_seconds(std::time::SystemTime::now() + d).to_string());
                api.switchover(&leader, candidate, at.as_deref()).await
            }
            (_, Some(candidate)) => api.failover(candidate).await,
            (_, None) => return Err(FaultError::failed(name, via, "failover needs a candidate")),
        }
        .map_err(|reason| FaultError::failed(name, via, reason))?;
        let mut detail = vec![leader.clone()];
        detail.extend(candidate.map(|c| format!("→ {c}")));
        cx.applied(self, &detail);
        let within = LEADER_CHANGE_WITHIN + scheduled_in.unwrap_or_default();
        let changed = wait_leader_change(cx.live, &leader, candidate, within).await;
        let changed = changed.map_err(|seen| FaultError::no_effect(name, &leader, seen))?;
        Ok(Applied { proofs: vec![format!("Patroni answered: {answer}"), changed], via: None })
    }

    async fn maintenance(&self, cx: &FaultCx<'_>, member: &str, on: bool) -> Result<String, FaultError> {
        let api = self.api(cx, member)?;
        api.set_paused(on).await.map_err(|reason| FaultError::failed(self.name(), member, reason))?;
        wait_maintenance(&api, on).await.map_err(|seen| FaultError::no_effect(self.name(), member, seen))
    }
}

#[async_trait]
impl Fault for Rest {
    fn needs(&self) -> &'static [Operation] {
        &[Operation::PatroniApi]
    }

    async fn act(&self, cx: &FaultCx<'_>, request: &FaultRequest) -> Result<Applied, FaultError> {
        if matches!(self.0, Call::Switchover | Call::Failover) {
            return self.leader_change(cx, request).await;
        }
        let via = request
            .leader
            .clone()
            .or_else(|| request.targets.first().cloned())
            .ok_or_else(|| FaultError::failed(self.name(), "cluster", "no member to ask"))?;
        let on = self.0 == Call::MaintenanceOn;
        let api = self.api(cx, &via)?;
        api.set_paused(on).await.map_err(|reason| FaultError::failed(self.name(), &via, reason))?;
        cx.applied(self, std::slice::from_ref(&via));
        let proof = wait_maintenance(&api, on).await.map_err(|seen| FaultError::no_effect(self.name(), &via, seen))?;
        Ok(Applied { proofs: vec![proof], via: Some(via) })
    }

    async fn undo(&self, cx: &FaultCx<'_>, active: &ActiveFault) -> Result<Vec<String>, FaultError> {
        let via = active.via.as_deref().or(active.targets.first().map(String::as_str)).unwrap_or_default();
        Ok(vec![self.maintenance(cx, via, false).await?])
    }
}

async fn wait_leader_change(
    live: &LiveView,
    old: &str,
    candidate: Option<&str>,
    within: Duration,
) -> Result<String, String> {
    let start = tokio::time::Instant::now();
    loop {
        // Citus: only the old leader's group changes leader.
        let group = crate::topology::member_group(old);
        let mut primaries = live.running_primaries();
        primaries.retain(|p| crate::topology::member_group(p) == group);
        let changed = match candidate {
            Some(c) => primaries.iter().any(|p| p == c),
            None => primaries.iter().any(|p| p != old),
        };
        if changed {
            return Ok(format!("leader changed from {old} to {}", primaries.join(", ")));
        }
        if start.elapsed() >= within {
            return Err(format!(
                "leader still not changed after {}s; last seen: {}",
                within.as_secs(),
                live.describe()
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn wait_maintenance(api: &PatroniApi, on: bool) -> Result<String, String> {
    let start = tokio::time::Instant::now();
    loop {
        match api.is_paused().await {
            Ok(p) if p == on => return Ok(format!("Patroni reports pause: {p}")),
            Ok(_) | Err(_) if start.elapsed() >= MAINTENANCE_WITHIN => {
                return Err(format!("Patroni did not report pause: {on} within {}s", MAINTENANCE_WITHIN.as_secs()))
            }
            _ => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}
