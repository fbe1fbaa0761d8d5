//! Resolving a scenario target to container names at the moment a fault runs.
use std::time::Duration;

use serde_json::Value;

use crate::observe::LiveView;
use crate::scenario::Target;

/// What earlier faults resolved, for targets that refer back (`old_primary`).
#[derive(Debug, Clone, Default)]
pub struct TargetMemory {
    /// The member hit by the most recent fault aimed at `primary`.
    pub old_primary: Option<String>,
}

/// What a target is resolved against.
pub struct Resolver<'a> {
    /// Latest Patroni observations.
    pub live: &'a LiveView,
    /// Earlier resolutions.
    pub memory: &'a TargetMemory,
    /// Patroni member names: every member, or one Citus group's when the step names a group
    /// (role targets then pick among them only).
    pub members: &'a [String],
    /// etcd member names.
    pub etcd: &'a [String],
    /// Every name a `member:` target may name (the run's containers, or the attached members).
    pub names: &'a [String],
    /// (etcd member, client URL), for the etcd-leader target.
    pub etcd_urls: &'a [(String, String)],
}

impl Resolver<'_> {
    /// Resolves `target` against the latest observations. Errors say what was seen instead.
    pub async fn resolve(&self, target: &Target) -> Result<Vec<String>, String> {
        let live = self.live;
        let views = || live.snapshot().into_iter().filter(|(m, _)| self.members.contains(m));
        let healthy_replicas =
            || -> Vec<String> { views().filter(|(_, (v, _))| v.is_healthy_replica()).map(|(m, _)| m).collect() };
        let primaries: Vec<String> = views().filter(|(_, (v, _))| v.is_running_primary()).map(|(m, _)| m).collect();
        match target {
            Target::Primary => match primaries.as_slice() {
                [one] => Ok(vec![one.clone()]),
                [] => Err(format!("no running primary to target; last seen: {}", live.describe())),
                many => Err(format!("more than one running primary ({}); refusing to guess", many.join(", "))),
            },
            Target::Replica => healthy_replicas()
                .into_iter()
                .next()
                .map(|m| vec![m])
                .ok_or_else(|| format!("no healthy replica to target; last seen: {}", live.describe())),
            Target::Replicas => {
                let all = healthy_replicas();
                if all.is_empty() {
                    Err(format!("no healthy replica to target; last seen: {}", live.describe()))
                } else {
                    Ok(all)
                }
            }
            Target::SyncStandby => views()
                .find(|(_, (v, _))| v.is_healthy_replica() && v.sync_standby)
                .map(|(m, _)| vec![m])
                .ok_or_else(|| format!("no sync standby to target; last seen: {}", live.describe())),
            Target::OldPrimary => self
                .memory
                .old_primary
                .clone()
                .map(|m| vec![m])
                .ok_or_else(|| "no earlier fault hit the primary, so `old_primary` means nothing yet".to_string()),
            Target::Members => Ok(self.members.to_vec()),
            Target::Etcd => Ok(self.etcd.to_vec()),
            Target::EtcdLeader => self.etcd_leader().await.map(|m| vec![m]),
            Target::Member(name) if self.names.contains(name) => Ok(vec![name.clone()]),
            Target::Group(group) => {
                let members: Vec<String> = self
                    .names
                    .iter()
                    .filter(|name| crate::topology::member_group(name) == Some(*group))
                    .cloned()
                    .collect();
                if members.is_empty() {
                    Err(format!("no member of Citus group {group} in this run"))
                } else {
                    Ok(members)
                }
            }
            Target::HighestPriority => {
                Err("`highest_priority` names a member for expectations only; aim a fault at a member by name".into())
            }
            Target::Member(name) => Err(format!("no container named {name}; this run has {}", self.names.join(", "))),
        }
    }

    /// Asks each etcd member (`/v3/maintenance/status`) and returns the one that is the leader.
    async fn etcd_leader(&self) -> Result<String, String> {
        let client =
            reqwest::Client::builder().timeout(Duration::from_secs(2)).no_proxy().build().map_err(|e| e.to_string())?;
        let mut seen = Vec::new();
        for name in self.etcd {
            let Some((_, base)) = self.etcd_urls.iter().find(|(n, _)| n == name) else { continue };
            let url = format!("{}/v3/maintenance/status", base.trim_end_matches('/'));
            let status: Value = match client.post(&url).body("{}").send().await {
                Ok(r) => r.json().await.map_err(|e| e.to_string())?,
                Err(e) => {
                    seen.push(format!("{name}: {e}"));
                    continue;
                }
            };
            let id = status.pointer("/header/member_id").and_then(Value::as_str);
            let leader = status.get("leader").and_then(Value::as_str);
            if id.is_some() && id == leader {
                return Ok(name.clone());
            }
            seen.push(format!("{name}: follower"));
        }
        Err(format!("no etcd member says it is the leader ({})", seen.join(", ")))
    }
}
