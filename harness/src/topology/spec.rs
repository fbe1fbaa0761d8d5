//! What to start: one container of a plan, as data. The runtime starts it; this knows nothing of
//! Docker.

/// What to start.
#[derive(Debug, Clone, Default)]
pub struct ContainerSpec {
    /// Short name, also the DNS alias on the run network (e.g. `pg-1`).
    pub name: String,
    /// Image tag.
    pub image: String,
    /// Command (the image's default when `None`).
    pub cmd: Option<Vec<String>>,
    /// Environment variables.
    pub env: Vec<(String, String)>,
    /// Container ports to publish on 127.0.0.1.
    pub ports: Vec<u16>,
    /// Grant NET_ADMIN (iptables-based faults).
    pub net_admin: bool,
    /// Component kind for labels (etcd, patroni, haproxy).
    pub component: String,
}
