//! What to start: one container of a plan, as data. The runtime starts it; this knows nothing of
//! Docker.

/// What to start. Its `Debug` names the environment's variables but not their values: some
/// carry the run's passwords.
#[derive(Clone, Default)]
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

impl std::fmt::Debug for ContainerSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let env: Vec<&str> = self.env.iter().map(|(key, _)| key.as_str()).collect();
        f.debug_struct("ContainerSpec")
            .field("name", &self.name)
            .field("image", &self.image)
            .field("cmd", &self.cmd)
            .field("env", &env)
            .field("ports", &self.ports)
            .field("net_admin", &self.net_admin)
            .field("component", &self.component)
            .finish()
    }
}
