//! Semantic checks of the topology and the workload: sizes pgdrill can run, Patroni's own
//! timing rules, Citus groups that exist.
use super::{At, Checker, ETCD, GROUP_MEMBERS, MAX_RATE_PER_SECOND, MAX_WORKER_GROUPS, MAX_WRITERS, MEMBERS};
use super::{MIN_LOOP_WAIT, MIN_RETRY_TIMEOUT, MIN_TTL};
use crate::scenario::model::{Topology, TopologyKind, Transactions, Workload};

impl Checker<'_> {
    pub(super) fn topology(&mut self, topology: &Topology) {
        let counts =
            [("members", topology.members, MEMBERS, "Patroni members"), ("etcd", topology.etcd, ETCD, "etcd members")];
        for (key, count, range, what) in counts {
            if !range.contains(&count) {
                self.report(
                    &format!("topology.{key}"),
                    At::Value,
                    format!(
                        "`{key}: {count}` is out of range: pgdrill runs {} to {} {what}",
                        range.start(),
                        range.end()
                    ),
                    format!("{} to {}", range.start(), range.end()),
                    Some(if key == "etcd" {
                        "etcd needs a majority to elect; 1, 3 or 5 members are usual".into()
                    } else {
                        "3 members (a primary and two replicas) are enough for most drills".into()
                    }),
                );
            }
        }

        if ETCD.contains(&topology.etcd) && topology.etcd.is_multiple_of(2) {
            let count = topology.etcd;
            self.report(
                "topology.etcd",
                At::Value,
                format!(
                    "`etcd: {count}` is even: {count} members tolerate no more failures than {}, and elections need more votes",
                    count - 1
                ),
                "1, 3, 5 or 7",
                Some("etcd runs 1, 3, 5 or 7 members (an odd number)".into()),
            );
        }
        self.citus_groups(topology);
        self.member_tags(topology);
        self.patroni_inline(&topology.patroni);
        self.synchronous_node_count(topology);
        let patroni = &topology.patroni;
        let minimums = [
            ("ttl", patroni.ttl, MIN_TTL, "the leader key expires after ttl seconds; Patroni's default is 30"),
            ("loop_wait", patroni.loop_wait, MIN_LOOP_WAIT, "seconds between HA loop runs; Patroni's default is 10"),
            ("retry_timeout", patroni.retry_timeout, MIN_RETRY_TIMEOUT, "Patroni's default is 10"),
        ];
        let mut in_range = true;
        for (key, value, min, help) in minimums {
            if value < min {
                in_range = false;
                self.report(
                    &format!("topology.patroni.{key}"),
                    At::Value,
                    format!("`{key}: {value}` is too small: Patroni rejects {key} below {min} and would run with {min} instead"),
                    format!("at least {min}"),
                    Some(help.into()),
                );
            }
        }
        if patroni.synchronous_mode_strict && !patroni.synchronous_mode {
            self.report(
                "topology.patroni.synchronous_mode_strict",
                At::Key,
                "`synchronous_mode_strict` needs `synchronous_mode: true`: Patroni ignores it otherwise",
                "without synchronous_mode",
                Some("add `synchronous_mode: true`, or remove `synchronous_mode_strict`".into()),
            );
        }
        let needed = patroni.loop_wait.saturating_add(patroni.retry_timeout.saturating_mul(2));
        if in_range && needed > patroni.ttl {
            self.report(
                "topology.patroni.ttl",
                At::Value,
                format!(
                    "`ttl: {}` breaks Patroni's rule loop_wait + 2*retry_timeout <= ttl ({} + 2*{} = {needed})",
                    patroni.ttl, patroni.loop_wait, patroni.retry_timeout
                ),
                format!("at least {needed}"),
                Some(format!(
                    "Patroni would lower loop_wait or retry_timeout to fit, so the drill would not run the timings it \
                     states; raise ttl to {needed} or more, or lower loop_wait or retry_timeout"
                )),
            );
        }
    }

    /// `groups` belongs to `kind: citus`, with group sizes pgdrill can run.
    pub(super) fn citus_groups(&mut self, topology: &Topology) {
        let Some(groups) = &topology.groups else { return };
        if topology.kind != TopologyKind::Citus {
            self.report(
                "topology.groups",
                At::Key,
                "`groups` describes a Citus cluster, but this topology is `kind: patroni`",
                "not a Citus topology",
                Some("set `kind: citus`, or use `members: N` for a plain Patroni cluster".into()),
            );
            return;
        }
        if groups.workers.is_empty() || groups.workers.len() > MAX_WORKER_GROUPS {
            self.report(
                "topology.groups.workers",
                At::Value,
                format!("{} worker groups: pgdrill runs 1 to {MAX_WORKER_GROUPS}", groups.workers.len()),
                format!("1 to {MAX_WORKER_GROUPS} groups"),
                Some("e.g. `workers: [2, 2]`: two worker groups of two members each".into()),
            );
        }
        let sizes = std::iter::once(("topology.groups.coordinator".to_string(), groups.coordinator))
            .chain(groups.workers.iter().enumerate().map(|(i, n)| (format!("topology.groups.workers.{i}"), *n)));
        for (path, size) in sizes {
            if !GROUP_MEMBERS.contains(&size) {
                self.report(
                    &path,
                    At::Value,
                    format!(
                        "a group of {size} members is out of range: pgdrill runs {} to {} per group",
                        GROUP_MEMBERS.start(),
                        GROUP_MEMBERS.end()
                    ),
                    format!("{} to {}", GROUP_MEMBERS.start(), GROUP_MEMBERS.end()),
                    Some("2 members (a primary and a standby) are enough for switchover drills".into()),
                );
            }
        }
    }

    /// A Citus group number that the topology has (`path` points at it).
    pub(super) fn group_number(&mut self, path: &str, group: u32, topology: &Topology, worker_only: bool) {
        if topology.kind != TopologyKind::Citus {
            self.report(
                path,
                At::Key,
                "groups exist only in Citus topologies (`kind: citus`)",
                "not a Citus topology",
                Some("remove it, or make the topology `kind: citus`".into()),
            );
            return;
        }
        let workers = topology.groups.clone().unwrap_or_default().workers.len() as u32;
        let lowest = u32::from(worker_only);
        if group < lowest || group > workers {
            let what = if worker_only { "worker groups" } else { "groups" };
            self.report(
                path,
                At::Value,
                format!("group {group} does not exist"),
                "no such group",
                Some(format!(
                    "{what} of this topology are {lowest} to {workers} (0 is the coordinator; \
                     `topology.groups.workers` has {workers} entries)"
                )),
            );
        }
    }

    pub(super) fn workload(&mut self, workload: &Workload, topology: &Topology) {
        let worker_groups =
            crate::topology::citus_groups(topology).map_or(0, |g| g.iter().filter(|(g, _)| *g > 0).count());
        if workload.transactions == Transactions::MultiShard && worker_groups < 2 {
            self.report(
                "workload.transactions",
                At::Value,
                "`transactions: multi_shard` writes each transaction's rows to two Citus worker groups, and this topology has fewer",
                "a Citus topology with 2 or more worker groups",
                Some("use `topology: {kind: citus, groups: {coordinator: 2, workers: [2, 2]}}`, or drop `transactions`".into()),
            );
        }
        if workload.writers == 0 || workload.writers > MAX_WRITERS {
            self.report(
                "workload.writers",
                At::Value,
                format!("`writers: {}` is out of range: a workload has 1 to {MAX_WRITERS} writers", workload.writers),
                format!("1 to {MAX_WRITERS}"),
                Some("each writer holds one PostgreSQL connection; 2 to 8 are enough to catch lost writes".into()),
            );
        }
        if workload.rate.per_second > MAX_RATE_PER_SECOND {
            self.report(
                "workload.rate",
                At::Value,
                format!("rate {} is over the limit of {MAX_RATE_PER_SECOND}/s", workload.rate),
                format!("at most {MAX_RATE_PER_SECOND}/s"),
                Some(
                    "every acknowledged write is audited; beyond this the harness is measured, not the failover".into(),
                ),
            );
        }
    }
}
