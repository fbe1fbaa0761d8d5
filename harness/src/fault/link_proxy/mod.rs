//! pgdrill's TCP fault proxy: a link (a source container's connections to one destination
//! port) is sent through a proxy inside pgdrill's process, which forwards through a toxic
//! (Toxiproxy's latency, bandwidth, timeout, reset_peer, slow_close), or through a filter that
//! reads the PostgreSQL messages the source sends (`filter.rs`, `pg_messages.rs`) and kills,
//! resets or holds the connection on a query matching a pattern. `route.rs` sends a
//! container's connections to it with an iptables DNAT rule and measures the link from inside
//! the container; `local_probe.rs` measures a link from pgdrill's own process (the writers'
//! path, which a client link fault sends through a proxy). Needs no kernel support beyond iptables' nat table (no `tc netem`).
mod filter;
pub mod local_probe;
pub mod pg_messages;
mod proxy;
pub mod route;
mod toxic;

pub use filter::{FilterAction, FilterRule, FilterStats, QueryFilter};
pub use proxy::{Direction, LinkProxies, LinkProxy};
pub use toxic::Toxic;
