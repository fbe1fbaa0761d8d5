//! Connecting to PostgreSQL: where and as whom ([`PgEndpoint`]), with a bounded wait, and compact
//! error texts. Shared by the observers and the workload; knows nothing of either.
use std::time::Duration;

use tokio_postgres::{Client, NoTls};

/// Where and as whom to connect.
#[derive(Debug, Clone)]
pub struct PgEndpoint {
    /// Host (always loopback here).
    pub host: String,
    /// Port.
    pub port: u16,
    /// User.
    pub user: String,
    /// Password.
    pub password: String,
    /// Database.
    pub dbname: String,
}

impl PgEndpoint {
    /// Connects within `timeout`; the connection task is spawned and ends with the client.
    pub async fn connect(&self, timeout: Duration) -> Result<Client, String> {
        let mut config = tokio_postgres::Config::new();
        config
            .host(&self.host)
            .port(self.port)
            .user(&self.user)
            .password(&self.password)
            .dbname(&self.dbname)
            .application_name("pgdrill")
            .connect_timeout(timeout);
        let (client, connection) = tokio::time::timeout(timeout, config.connect(NoTls))
            .await
            .map_err(|_| format!("connect timed out after {}ms", timeout.as_millis()))?
            .map_err(|e| short(&e))?;
        tokio::spawn(async move {
            // Errors surface on the client's next call; nothing to do here.
            let _ = connection.await;
        });
        Ok(client)
    }
}

/// A compact error text (first line of the server message, if any).
pub fn short(error: &tokio_postgres::Error) -> String {
    let text = match error.as_db_error() {
        Some(db) => format!("{}: {}", db.code().code(), db.message()),
        None => error.to_string(),
    };
    text.lines().next().unwrap_or_default().chars().take(160).collect()
}
