//! Connecting to PostgreSQL with bounded waits.
use std::time::Duration;

use tokio_postgres::{Client, NoTls};

/// The table the workload writes.
pub const WORKLOAD_TABLE: &str = "pgdrill_writes";

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

/// Creates the workload table (idempotent) through `endpoint`, retrying until `deadline`.
pub async fn prepare_table(endpoint: &PgEndpoint, deadline: Duration) -> Result<(), String> {
    let start = tokio::time::Instant::now();
    let mut last_error = String::new();
    while start.elapsed() < deadline {
        match endpoint.connect(Duration::from_secs(2)).await {
            Ok(client) => {
                let sql = format!(
                    "CREATE TABLE IF NOT EXISTS {WORKLOAD_TABLE} (id bigint PRIMARY KEY, writer int NOT NULL, \
                     written_at timestamptz NOT NULL DEFAULT clock_timestamp())"
                );
                match client.batch_execute(&sql).await {
                    Ok(()) => return Ok(()),
                    Err(e) => last_error = short(&e),
                }
            }
            Err(e) => last_error = e,
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    Err(format!("could not create {WORKLOAD_TABLE} within {}s: {last_error}", deadline.as_secs()))
}
