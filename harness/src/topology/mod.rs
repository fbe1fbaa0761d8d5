//! Topologies: which containers a scenario needs and how each is configured. Pure: no Docker.
pub mod configs;
mod pg_major;
mod plan;
mod secrets;
mod spec;

pub use configs::CITUS_DATABASE;
pub use pg_major::PgMajor;
pub use plan::{
    citus_groups, etcd_names, member_group, member_names, plan, Bootstrapper, Plan, PlanImages, ETCD_CLIENT_PORT,
    HAPROXY_PRIMARY_PORT, HAPROXY_REPLICA_PORT, PATRONI_PORT, PGBOUNCER_PORT, POOLER_NAME, POSTGRES_PORT,
};
pub use secrets::{Secret, Secrets, REST_API_USER};
pub use spec::ContainerSpec;
