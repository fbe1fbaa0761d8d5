//! Topologies: which containers a scenario needs and how each is configured. Pure: no Docker.
pub mod configs;
mod plan;

pub use plan::{
    citus_groups, etcd_names, member_group, member_names, plan, Plan, PlanImages, CITUS_DATABASE, ETCD_CLIENT_PORT,
    HAPROXY_PRIMARY_PORT, HAPROXY_REPLICA_PORT, PATRONI_PORT, POSTGRES_PORT,
};
