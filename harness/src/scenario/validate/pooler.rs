//! Semantic checks of `topology.pooler` and of `workload.via`: a pooler pgdrill can start, with
//! settings PgBouncer takes, and a workload routed through a pooler that exists.
use super::{At, Checker};
use crate::scenario::model::{Scenario, TopologyKind, Via};

/// Server connections per pool: PgBouncer has no limit, but the members' `max_connections`
/// (100, Patroni's default) does.
pub(super) const POOL_SIZE: std::ops::RangeInclusive<u16> = 1..=90;

impl Checker<'_> {
    pub(super) fn pooler(&mut self, scenario: &Scenario) {
        let topology = &scenario.topology;
        if let Some(pooler) = &topology.pooler {
            if topology.kind == TopologyKind::Citus {
                self.report(
                    "topology.pooler",
                    At::Key,
                    "a pooler is drilled only in front of a plain Patroni cluster (`kind: patroni`)",
                    "not with kind: citus",
                    Some(
                        "the Citus workload routes each writer to a worker group's shards through the coordinator; \
                         drill PgBouncer on `kind: patroni`"
                            .into(),
                    ),
                );
            }
            if !POOL_SIZE.contains(&pooler.pool_size) {
                self.report(
                    "topology.pooler.pool_size",
                    At::Value,
                    format!(
                        "`pool_size: {}` is out of range: PgBouncer gets {} to {} server connections per pool",
                        pooler.pool_size,
                        POOL_SIZE.start(),
                        POOL_SIZE.end()
                    ),
                    format!("{} to {}", POOL_SIZE.start(), POOL_SIZE.end()),
                    Some("each one is a PostgreSQL connection; the members allow 100 (max_connections)".into()),
                );
            }
            for (key, budget) in pooler.durations() {
                self.budget(&format!("topology.pooler.{key}"), &budget);
            }
        }
        let Some(workload) = &scenario.workload else { return };
        if workload.via == Some(Via::Pooler) && topology.pooler.is_none() {
            self.report(
                "workload.via",
                At::Value,
                "`via: pooler` needs a `topology.pooler` to connect to",
                "no pooler in the topology",
                Some("add `pooler: {pool_mode: transaction}` to the topology, or write `via: haproxy`".into()),
            );
        }
    }
}
