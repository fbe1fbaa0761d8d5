//! The PostgreSQL major a cluster runs: where Patroni finds its binaries. Which image provides
//! it is the runtime's business.
use std::fmt;

/// A PostgreSQL major pgdrill can run: the one Debian ships in a suite (`postgresql-NN`), so no
/// third-party repository is needed (the runtime maps it to that suite: `PgMajor::suite`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PgMajor {
    /// PostgreSQL 15, from Debian bookworm.
    #[default]
    Pg15,
    /// PostgreSQL 17, from Debian trixie.
    Pg17,
}

impl PgMajor {
    /// Every supported major.
    pub const ALL: [PgMajor; 2] = [PgMajor::Pg15, PgMajor::Pg17];

    /// The major version number.
    pub fn number(self) -> u32 {
        match self {
            PgMajor::Pg15 => 15,
            PgMajor::Pg17 => 17,
        }
    }

    /// Where Debian installs this major's server binaries (Patroni's `postgresql.bin_dir`).
    pub fn bin_dir(self) -> String {
        format!("/usr/lib/postgresql/{}/bin", self.number())
    }

    /// The major written as its number (`15`, `17`), as `--images pg=` takes it.
    pub(crate) fn from_number(text: &str) -> Option<PgMajor> {
        PgMajor::ALL.into_iter().find(|m| m.number().to_string() == text)
    }
}

impl fmt::Display for PgMajor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.number())
    }
}
