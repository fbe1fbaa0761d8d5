//! The path the scenario's writers take to the cluster (HAProxy's primary port, the pooler, an
//! attached cluster's client DSN) — which a client link fault sends through pgdrill's proxy.
//! Writers read it at every (re)connect and reconnect when it changes, as the clients of a
//! container link do when that link is routed (their connections are reset there; here they
//! are closed between two writes, so the change itself fails no write).
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use crate::pg::PgEndpoint;

#[derive(Debug, Default)]
struct State {
    /// Where the writers connect without a fault (set when the workload starts).
    direct: Option<PgEndpoint>,
    /// The proxy they connect through instead, while a client link fault lasts.
    through: Option<SocketAddr>,
    /// Bumped on every change: a writer whose connection is older reconnects.
    generation: u64,
}

/// The writers' path, shared by the writers and the run's link proxies (cloning shares it).
#[derive(Debug, Clone, Default)]
pub struct ClientPath(Arc<Mutex<State>>);

impl ClientPath {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The workload starts on `direct` (a reused cluster's next drill sets it again).
    pub fn start(&self, direct: PgEndpoint) {
        let mut state = self.lock();
        state.direct = Some(direct);
        state.through = None;
        state.generation += 1;
    }

    /// Where a writer connects now, and the generation of that path.
    pub fn current(&self) -> Option<(PgEndpoint, u64)> {
        let state = self.lock();
        let mut endpoint = state.direct.clone()?;
        if let Some(proxy) = state.through {
            endpoint.host = proxy.ip().to_string();
            endpoint.port = proxy.port();
        }
        Some((endpoint, state.generation))
    }

    /// The current path's generation (a connection made under another one is stale).
    pub fn generation(&self) -> u64 {
        self.lock().generation
    }

    /// Where the writers connect without a fault (`None`: no workload has started).
    pub fn direct(&self) -> Option<PgEndpoint> {
        self.lock().direct.clone()
    }

    /// Sends the writers through `proxy` (or, with `None`, back to the direct path); their open
    /// connections are replaced before their next write.
    pub fn route(&self, proxy: Option<SocketAddr>) {
        let mut state = self.lock();
        state.through = proxy;
        state.generation += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint() -> PgEndpoint {
        PgEndpoint {
            host: "127.0.0.1".into(),
            port: 5000,
            user: "postgres".into(),
            password: "pw".into(),
            dbname: "postgres".into(),
        }
    }

    #[test]
    fn a_routed_path_keeps_the_login_and_changes_the_address_and_generation() {
        let path = ClientPath::default();
        assert!(path.current().is_none(), "no workload yet");
        path.start(endpoint());
        let (direct, first) = path.current().expect("started");
        assert_eq!((direct.host.as_str(), direct.port), ("127.0.0.1", 5000));
        path.route(Some("127.0.0.1:41000".parse().unwrap()));
        let (routed, second) = path.current().expect("routed");
        assert_eq!((routed.port, routed.user.as_str(), routed.dbname.as_str()), (41000, "postgres", "postgres"));
        assert!(second > first);
        path.route(None);
        let (back, third) = path.current().expect("direct again");
        assert_eq!(back.port, 5000);
        assert!(third > second);
        assert_eq!(path.direct().map(|d| d.port), Some(5000));
    }
}
