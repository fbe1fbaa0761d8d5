//! The passwords of one run: the PostgreSQL superuser's, the replication user's and the one
//! Patroni's REST API asks of unsafe methods (POST, PUT, PATCH, DELETE). Drawn from the OS's
//! random generator when the run's plan is made, carried by the plan, never a constant: a kept
//! cluster is not open to whoever read pgdrill's source, and a test can look for the run's
//! passwords in its report and find them only if something leaked them.
//!
//! `Debug` never prints a password, so a plan or an error that derives `Debug` cannot leak one
//! into a log or a report by accident; [`Secret::expose`] is the one way to read it.
use std::fmt;

/// User name Patroni's REST API asks for on unsafe methods (`restapi.authentication`).
pub const REST_API_USER: &str = "pgdrill";

/// Random bytes per password: 128 bits, written as 32 lowercase hex digits (nothing to quote in
/// YAML, a shell line, a connection URI or a Compose file).
const PASSWORD_BYTES: usize = 16;

/// A password. Its `Debug` says only that it is hidden, and it has no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// A fresh random password from the OS's generator.
    pub fn generate() -> Result<Self, getrandom::Error> {
        let mut bytes = [0u8; PASSWORD_BYTES];
        getrandom::fill(&mut bytes)?;
        Ok(Self(bytes.iter().map(|b| format!("{b:02x}")).collect()))
    }

    /// A password read from where a cluster file names it (an environment variable, a file).
    pub fn from_source(value: String) -> Self {
        Self(value)
    }

    /// The password itself, for the one place that must pass it on (a config, a DSN, a header).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(hidden)")
    }
}

/// Every password of one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Secrets {
    /// The `postgres` superuser's (the workload, the observers, postgres_exporter, `up`'s psql).
    pub superuser: Secret,
    /// The replication user's (members streaming from each other).
    pub replication: Secret,
    /// Patroni's REST API for unsafe methods, user [`REST_API_USER`] (pgdrill's faults,
    /// patronictl inside a member, members calling each other).
    pub rest_api: Secret,
}

impl Secrets {
    /// Fresh passwords for a run (or a Compose project).
    pub fn generate() -> Result<Self, getrandom::Error> {
        Ok(Self { superuser: Secret::generate()?, replication: Secret::generate()?, rest_api: Secret::generate()? })
    }

    /// Each password with the name a report or a Compose file may use for it.
    pub fn named(&self) -> [(&'static str, &Secret); 3] {
        [("superuser", &self.superuser), ("replication", &self.replication), ("rest_api", &self.rest_api)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_random_hex_and_debug_hides_them() {
        let a = Secrets::generate().unwrap();
        let b = Secrets::generate().unwrap();
        for (_, secret) in a.named() {
            assert_eq!(secret.expose().len(), 2 * PASSWORD_BYTES);
            assert!(secret.expose().bytes().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        }
        assert_ne!(a.superuser, a.replication);
        assert_ne!(a.superuser, b.superuser);
        let debug = format!("{a:?}");
        for (_, secret) in a.named() {
            assert!(!debug.contains(secret.expose()), "{debug}");
        }
        assert!(debug.contains("Secret(hidden)"), "{debug}");
    }
}
