//! Cluster files: what pgdrill needs to know about a cluster it did not start (members with their
//! Patroni REST URL and PostgreSQL address, the client DSN, etcd, monitoring, where credentials
//! are), parsed and validated with errors at `file:line:col`. `pgdrill compose` writes one beside
//! each Compose file. `run --cluster` attaches to one (`engine/attach.rs`); this module only describes
//! clusters, it never connects to one.
mod executor;
mod file;
mod safety;
mod validate;

pub use executor::{unknown_placeholders, ExecutorSection, Templates, PLACEHOLDERS};
pub use file::{
    load_cluster_file, parse_cluster_file, ClusterFile, ClusterFileError, Credential, Member, Problem, WorkloadSection,
};
pub use safety::{ByteSize, Safety};
pub use validate::plain_identifier;
