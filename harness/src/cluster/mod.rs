//! Cluster files: what pgdrill needs to know about a cluster it did not start (members with their
//! Patroni REST URL and PostgreSQL address, the client DSN, etcd, monitoring, where credentials
//! are), parsed and validated with errors at `file:line:col`. `pgdrill compose` writes one beside
//! each Compose file. Attaching to a cluster (`run --cluster`) is not built yet: this module only
//! describes clusters, it never connects to one.
mod file;
mod validate;

pub use file::{load_cluster_file, parse_cluster_file, ClusterFile, ClusterFileError, Credential, Member, Problem};
