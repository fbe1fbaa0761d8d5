//! `topology.pooler`: PgBouncer in the clients' path, in front of HAProxy's primary port, with
//! the settings that decide what clients see across a failover. Every setting a scenario leaves
//! out is PgBouncer's own default, so a drill without them measures PgBouncer as shipped.
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::values::Budget;

/// When PgBouncer gives a server connection back to the pool (`pool_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PoolMode {
    /// After each transaction: many clients share few server connections; a client between
    /// transactions holds none, so a server connection that dies between them costs it nothing.
    Transaction,
    /// When the client disconnects: each client keeps its server connection, and loses it (and
    /// its session) when the server goes.
    Session,
}

impl PoolMode {
    /// As `pgbouncer.ini` spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            PoolMode::Transaction => "transaction",
            PoolMode::Session => "session",
        }
    }
}

/// PgBouncer in front of HAProxy's primary port. The workload connects to it (unless
/// `workload.via: haproxy` says otherwise), as the users' applications do.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Pooler {
    /// `transaction` or `session`.
    pub pool_mode: PoolMode,
    /// Server connections per (database, user) pool (`default_pool_size`; PgBouncer's default 20).
    #[serde(default = "default_pool_size")]
    pub pool_size: u16,
    /// After a failed server login, how long PgBouncer fails new clients at once instead of trying
    /// the server again (`server_login_retry`; PgBouncer's default 15s). Across a failover this is
    /// what keeps clients getting errors after the new primary is up.
    #[serde(default = "default_server_login_retry")]
    pub server_login_retry: Budget,
    /// Bound on connecting and logging in to the server (`server_connect_timeout`; default 15s).
    #[serde(default = "default_server_connect_timeout")]
    pub server_connect_timeout: Budget,
    /// How long a query may wait for a server connection before its client is disconnected
    /// (`query_wait_timeout`; default 120s).
    #[serde(default = "default_query_wait_timeout")]
    pub query_wait_timeout: Budget,
    /// A server connection idle longer than this is tested with `server_check_query` before it is
    /// reused (`server_check_delay`; default 30s).
    #[serde(default = "default_server_check_delay")]
    pub server_check_delay: Budget,
}

fn seconds(s: u64) -> Budget {
    Budget(std::time::Duration::from_secs(s))
}
fn default_pool_size() -> u16 {
    20
}
fn default_server_login_retry() -> Budget {
    seconds(15)
}
fn default_server_connect_timeout() -> Budget {
    seconds(15)
}
fn default_query_wait_timeout() -> Budget {
    seconds(120)
}
fn default_server_check_delay() -> Budget {
    seconds(30)
}

impl Pooler {
    /// PgBouncer's defaults with `pool_mode`.
    pub fn with_defaults(pool_mode: PoolMode) -> Self {
        Self {
            pool_mode,
            pool_size: default_pool_size(),
            server_login_retry: default_server_login_retry(),
            server_connect_timeout: default_server_connect_timeout(),
            query_wait_timeout: default_query_wait_timeout(),
            server_check_delay: default_server_check_delay(),
        }
    }

    /// The duration settings with their keys (validation checks each of them).
    pub fn durations(&self) -> [(&'static str, Budget); 4] {
        [
            ("server_login_retry", self.server_login_retry),
            ("server_connect_timeout", self.server_connect_timeout),
            ("query_wait_timeout", self.query_wait_timeout),
            ("server_check_delay", self.server_check_delay),
        ]
    }
}
