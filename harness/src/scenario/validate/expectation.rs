//! Semantic checks of expectations and targets: budgets written in allowed units, targets that
//! name members of the topology, alerts the rule files define, Citus groups that exist.
use super::{At, Checker, History};
use crate::scenario::expect::Expectation;
use crate::scenario::model::{Topology, TopologyKind};
use crate::scenario::target::Target;

impl Checker<'_> {
    pub(super) fn expectation(
        &mut self,
        path: &str,
        n: usize,
        expectation: &Expectation,
        topology: &Topology,
        history: &History,
    ) {
        if let Some(variant) = expectation.needs_writes().filter(|_| !self.workload) {
            self.report(
                path,
                At::Value,
                format!("`{variant}` measures the workload's writes, but the scenario has no `workload` section"),
                "no workload",
                Some("add `workload: {writers: 2, rate: 100/s}`".into()),
            );
        }
        let (variant, within) = match expectation {
            Expectation::NewLeader { within } => ("new_leader", within),
            Expectation::Timeline { within, .. } => ("timeline", within),
            Expectation::Rejoins { target, within } => {
                let target_path = format!("{path}.rejoins.target");
                match target {
                    Target::Member(_) | Target::OldPrimary => {
                        self.target(&target_path, n, target, topology, history);
                        self.patroni_member(&target_path, "rejoins", target, topology);
                    }
                    _ => {
                        let why = if *target == Target::Primary {
                            "`primary` is the current leader, which does not rejoin"
                        } else {
                            "it may name more than one member, or none"
                        };
                        self.report(
                            &target_path,
                            At::Value,
                            format!("`rejoins` needs one member that was down, but {why}"),
                            "not a single member",
                            Some("use `old_primary` or `{member: pg-N}`".into()),
                        );
                    }
                }
                ("rejoins", within)
            }
            Expectation::LeaderIs { target, within } => {
                let target_path = format!("{path}.leader_is.target");
                if *target == Target::HighestPriority {
                    self.highest_priority_target(&target_path, topology);
                } else {
                    self.one_patroni_member(&target_path, "leader_is", n, target, topology, history);
                }
                ("leader_is", within)
            }
            Expectation::NeverLeader { target } => {
                self.one_patroni_member(
                    &format!("{path}.never_leader.target"),
                    "never_leader",
                    n,
                    target,
                    topology,
                    history,
                );
                return;
            }
            Expectation::Alert { name, within, .. } => {
                match &self.alerts {
                    None => self.report(
                        &format!("{path}.alert"),
                        At::Key,
                        "`alert` needs `topology.monitoring` with rule files",
                        "no monitoring",
                        Some(
                            "add `monitoring: {rules: [rules/pgdrill-alerts.yaml], for_scale: 0.1}` to the topology"
                                .into(),
                        ),
                    ),
                    Some(names) if !names.contains(name) => {
                        let listed = names.iter().cloned().collect::<Vec<_>>().join(", ");
                        self.report(
                            &format!("{path}.alert.name"),
                            At::Value,
                            format!("no rule file defines alert `{}`", crate::scenario::snippet::shown(name)),
                            "unknown alert",
                            Some(format!("the rule files define: {listed}")),
                        )
                    }
                    Some(_) => {}
                }
                ("alert", within)
            }
            Expectation::NoFailover { within } => ("no_failover", within),
            Expectation::PrimaryDemoted { within } => ("primary_demoted", within),
            Expectation::WritableAgain { within } => ("writable_again", within),
            Expectation::NoWriteAcked { within } => ("no_write_acked", within),
            Expectation::PoolerRecovers { within, after_primary } => {
                if topology.pooler.is_none() {
                    self.report(
                        &format!("{path}.pooler_recovers"),
                        At::Key,
                        "`pooler_recovers` measures clients behind a pooler, but the topology has no `pooler`",
                        "no pooler",
                        Some("add `pooler: {pool_mode: transaction}` to the topology".into()),
                    );
                }
                if let Some(after) = after_primary {
                    self.budget(&format!("{path}.pooler_recovers.after_primary"), after);
                }
                ("pooler_recovers", within)
            }
            Expectation::ReplicationStreaming { within } => ("replication_streaming", within),
            Expectation::MaxWriteUnavailability { max } => {
                self.budget(&format!("{path}.max_write_unavailability.max"), max);
                return;
            }
            Expectation::PgDistNode { group, within, .. } => {
                match group {
                    Some(g) => self.group_number(&format!("{path}.pg_dist_node.group"), *g, topology, false),
                    None if topology.kind != TopologyKind::Citus => {
                        self.group_number(&format!("{path}.pg_dist_node"), 0, topology, false)
                    }
                    None => {}
                }
                ("pg_dist_node", within)
            }
            Expectation::NoOrphanedPreparedTransactions { within } => {
                if topology.kind != TopologyKind::Citus {
                    self.report(
                        &format!("{path}.no_orphaned_prepared_transactions"),
                        At::Key,
                        "`no_orphaned_prepared_transactions` reads the Citus worker groups' prepared transactions, but the topology is not Citus",
                        "not a Citus topology",
                        Some("use `topology: {kind: citus, groups: {coordinator: 2, workers: [2, 2]}}`".into()),
                    );
                }
                ("no_orphaned_prepared_transactions", within)
            }
            Expectation::WritePause { group, max, resumes_within, others_max, .. } => {
                self.group_number(&format!("{path}.write_pause.group"), *group, topology, true);
                self.budget(&format!("{path}.write_pause.max"), max);
                for (key, budget) in [("resumes_within", resumes_within), ("others_max", others_max)] {
                    if let Some(budget) = budget {
                        self.budget(&format!("{path}.write_pause.{key}"), budget);
                    }
                }
                return;
            }
        };
        self.budget(&format!("{path}.{variant}.within"), within);
    }

    /// `highest_priority` names one member whichever member leads at the fault: the others'
    /// `failover_priority` tags (default 1) have one highest.
    fn highest_priority_target(&mut self, path: &str, topology: &Topology) {
        let clusters = crate::topology::citus_groups(topology)
            .map_or_else(|| vec![crate::topology::member_names(topology)], |g| g.into_iter().map(|(_, m)| m).collect());
        for members in clusters {
            let leaders = members.iter().filter(|m| !topology.member_tags(m).never_promoted());
            for leader in leaders {
                let others: Vec<&String> = members.iter().filter(|m| *m != leader).collect();
                if topology.highest_priority(others.iter().copied()).is_some() {
                    continue;
                }
                let ranks: Vec<String> = others
                    .iter()
                    .map(|m| {
                        let tags = topology.member_tags(m);
                        let priority = if tags.never_promoted() { 0 } else { tags.failover_priority.unwrap_or(1) };
                        format!("{m}: {priority}")
                    })
                    .collect();
                self.report(
                    path,
                    At::Value,
                    format!(
                        "`highest_priority` would name no member with {leader} leading: the others' failover_priority has no single highest ({})",
                        ranks.join(", ")
                    ),
                    "no single member",
                    Some(
                        "give the members distinct `failover_priority` tags in `topology.tags` (Patroni's default is 1), e.g. pg-1: 3, pg-2: 2, pg-3: 1"
                            .into(),
                    ),
                );
                return;
            }
        }
    }

    /// An expectation about a Patroni member (`rejoins`, `leader_is`) names one, not etcd or
    /// HAProxy, which have no role to rejoin with or lead.
    fn patroni_member(&mut self, path: &str, variant: &str, target: &Target, topology: &Topology) {
        let Target::Member(name) = target else { return };
        let members = crate::topology::member_names(topology);
        let other_container = name == "haproxy" || (1..=topology.etcd).any(|i| *name == format!("etcd-{i}"));
        if !members.contains(name) && other_container {
            self.report(
                &format!("{path}.member"),
                At::Value,
                format!("`{variant}` watches a Patroni member, and `{name}` is not one"),
                "not a Patroni member",
                Some(format!("Patroni members of this topology: {}", members.join(", "))),
            );
        }
    }

    /// `check`'s target names one Patroni member: `{member: pg-N}` or `old_primary`.
    fn one_patroni_member(
        &mut self,
        target_path: &str,
        check: &str,
        n: usize,
        target: &Target,
        topology: &Topology,
        history: &History,
    ) {
        match target {
            Target::Member(_) | Target::OldPrimary => {
                self.target(target_path, n, target, topology, history);
                self.patroni_member(target_path, check, target, topology);
            }
            _ => self.report(
                target_path,
                At::Value,
                format!("`{check}` needs one named member"),
                "not a single member",
                Some("use `{member: pg-N}` or `old_primary`".into()),
            ),
        }
    }

    pub(super) fn target(&mut self, path: &str, n: usize, target: &Target, topology: &Topology, history: &History) {
        match target {
            Target::SyncStandby if !topology.patroni.synchronous_mode => self.report(
                path,
                At::Value,
                format!(
                    "`sync_standby` in step {n} names no member: this topology runs without synchronous replication"
                ),
                "no synchronous standby",
                Some("set `topology.patroni.synchronous_mode: true`, or aim at `replica`".into()),
            ),
            Target::Member(name) => {
                let members = crate::topology::member_names(topology);
                let containers: Vec<String> = (1..=topology.etcd)
                    .map(|i| format!("etcd-{i}"))
                    .chain(std::iter::once("haproxy".to_string()))
                    .collect();
                if !members.contains(name) && !containers.contains(name) {
                    let has = match members.len() {
                        0 => "this topology has no members".to_owned(),
                        1 => "this topology has 1 member".to_owned(),
                        count => format!("this topology has {count} members"),
                    };
                    self.report(
                        &format!("{path}.member"),
                        At::Value,
                        format!("unknown member `{}`: {has}", crate::scenario::snippet::shown(name)),
                        "no such member",
                        Some(format!(
                            "members are {} ({}); other containers: {}",
                            members.join(", "),
                            match topology.kind {
                                TopologyKind::Patroni => format!("from `topology.members: {}`", topology.members),
                                TopologyKind::Citus => "from `topology.groups`".to_string(),
                            },
                            containers.join(", ")
                        )),
                    );
                }
            }
            Target::Group(group) => self.group_number(&format!("{path}.group"), *group, topology, false),
            Target::HighestPriority if !path.contains(".expect.") => self.report(
                path,
                At::Value,
                format!("`highest_priority` in step {n} is for expectations (`leader_is`): a fault aims at a member"),
                "expectations only",
                Some("name the member, e.g. `{member: pg-2}`, or aim at `replica`".into()),
            ),
            Target::OldPrimary if !history.primary_fault => self.report(
                path,
                At::Value,
                format!("`old_primary` in step {n} names no member: no earlier fault is aimed at `primary`"),
                "nothing to refer to yet",
                Some(
                    "`old_primary` is the member hit by the most recent fault with `target: primary`; \
                     add one before this step, or name a member, e.g. `{member: pg-1}`"
                        .into(),
                ),
            ),
            _ => {}
        }
    }
}
