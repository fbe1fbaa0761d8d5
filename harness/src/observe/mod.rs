//! Observers: poll the cluster and append what they see to the timeline. They never act on the
//! cluster and never call faults.
mod citus_log;
mod dist_node;
mod live;
mod patroni;
mod pooler;
mod prepared_xacts;
mod writable;

pub use citus_log::{citus_transactions, LoggedTransaction};
pub use dist_node::{DistNodeObserver, DIST_NODE_QUERY};
pub use live::LiveView;
pub(crate) use patroni::short_error;
pub use patroni::{parse_patroni_status, PatroniObserver};
pub use pooler::PoolerObserver;
pub use prepared_xacts::{PreparedXactsObserver, ORPHAN_AGE};
pub use writable::WritableProbe;
