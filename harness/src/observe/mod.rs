//! Observers: poll the cluster and append what they see to the timeline. They never act on the
//! cluster and never call faults.
mod live;
mod patroni;

pub use live::LiveView;
pub use patroni::{parse_patroni_status, PatroniObserver};
