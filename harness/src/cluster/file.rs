//! The cluster file's model and parser.
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_saphyr::{Location, Spanned};

use super::executor::ExecutorSection;
use super::safety::Safety;

/// Cluster files are small and hand-written (or generated): anything bigger is refused.
const MAX_FILE_BYTES: usize = 256 * 1024;

/// A cluster pgdrill can attach to.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterFile {
    /// The environment's name (`staging-eu`): said before every attached run, so a drill never
    /// hits a cluster by mistake.
    pub environment: Spanned<String>,
    /// Every Patroni member.
    pub members: Vec<Spanned<Member>>,
    /// The path clients take (HAProxy, PgBouncer, a Kubernetes Service), without a password.
    pub client_dsn: Spanned<String>,
    /// etcd client URLs.
    pub etcd: Vec<Spanned<String>>,
    /// Prometheus's URL, when alert drills should read it.
    #[serde(default)]
    pub prometheus: Option<Spanned<String>>,
    /// Alertmanager's URL.
    #[serde(default)]
    pub alertmanager: Option<Spanned<String>>,
    /// The PostgreSQL superuser pgdrill connects as (the workload, the observers).
    pub superuser: Spanned<Credential>,
    /// The user Patroni's REST API asks of unsafe methods (`restapi.authentication`), for
    /// switchover, failover and maintenance mode.
    pub rest_api: Spanned<Credential>,
    /// How faults act on the members (absent: only Patroni REST faults can run).
    #[serde(default)]
    pub executor: Option<Spanned<ExecutorSection>>,
    /// Where the workload's table goes (absent: schema `pgdrill`).
    #[serde(default)]
    pub workload: Option<Spanned<WorkloadSection>>,
    /// Stop conditions and fault deadlines of attached runs (absent: the defaults).
    #[serde(default)]
    pub safety: Option<Spanned<Safety>>,
}

impl ClusterFile {
    /// The schema the workload's table goes in.
    pub fn workload_schema(&self) -> &str {
        self.workload.as_ref().map_or(crate::workload::DEFAULT_ATTACHED_SCHEMA, |w| w.value.schema.value.as_str())
    }

    /// The `safety:` section, or its defaults.
    pub fn safety(&self) -> Safety {
        self.safety.as_ref().map(|s| s.value.clone()).unwrap_or_default()
    }
}

/// The cluster file's `workload:` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkloadSection {
    /// The schema of pgdrill's table (`pgdrill_writes`): created for the run when missing and
    /// then dropped after it; pgdrill writes and reads no other table.
    pub schema: Spanned<String>,
}

/// One Patroni member.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Member {
    /// Patroni's member name (a plain identifier: it is substituted into commands).
    pub name: Spanned<String>,
    /// The name the scenarios give this member (`pg-1`, `worker1-2`), when it is not `name`:
    /// the shipped scenarios drill a cluster whose members are called otherwise.
    #[serde(default, rename = "as")]
    pub drilled_as: Option<Spanned<String>>,
    /// Patroni's REST API (`http://host:8008`).
    pub patroni: Spanned<String>,
    /// PostgreSQL, `host:port`.
    pub postgres: Spanned<String>,
    /// Citus group (0: coordinator); absent on every member of a plain Patroni cluster.
    #[serde(default)]
    pub group: Option<Spanned<u32>>,
    /// What `{host}` means in command templates (an ssh host, a node); default: the host part
    /// of `postgres`.
    #[serde(default)]
    pub host: Option<Spanned<String>>,
}

impl Member {
    /// The name scenarios and reports use for this member: `as`, else `name`.
    pub fn drilled_name(&self) -> &str {
        self.drilled_as.as_ref().map_or(&self.name.value, |a| &a.value)
    }

    /// The value of `{host}` in command templates.
    pub fn host(&self) -> &str {
        match &self.host {
            Some(host) => &host.value,
            None => self.postgres.value.rsplit_once(':').map_or(&self.postgres.value, |(h, _)| h),
        }
    }
}

/// A user and where its password is: an environment variable or a file, never the cluster file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credential {
    /// User name.
    pub user: Spanned<String>,
    /// Environment variable holding the password.
    #[serde(default)]
    pub password_env: Option<Spanned<String>>,
    /// File holding the password (relative to the cluster file), trailing newline ignored.
    #[serde(default)]
    pub password_file: Option<Spanned<String>>,
    /// Only so an inline password is refused with a clear message rather than "unknown field".
    #[serde(default)]
    pub password: Option<Spanned<String>>,
}

impl Credential {
    /// The password, from its variable or file (`base`: the cluster file's folder).
    pub fn password(&self, base: &Path) -> Result<String, String> {
        if let Some(var) = &self.password_env {
            return std::env::var(&var.value).map_err(|_| format!("environment variable {} is not set", var.value));
        }
        if let Some(file) = &self.password_file {
            let path = base.join(&file.value);
            let text = std::fs::read_to_string(&path).map_err(|e| format!("failed to read {}: {e}", path.display()))?;
            return Ok(text.strip_suffix('\n').unwrap_or(&text).to_string());
        }
        Err("no password_env or password_file".into())
    }
}

/// One thing wrong, at a place in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line (0: unknown).
    pub line: usize,
    /// 1-based column (0: unknown).
    pub column: usize,
    /// What is wrong, and what would be right.
    pub message: String,
}

impl Problem {
    pub(super) fn at(location: Location, message: impl Into<String>) -> Self {
        Problem { line: location.line() as usize, column: location.column() as usize, message: message.into() }
    }
}

/// A cluster file that cannot be used.
#[derive(Debug, Clone)]
pub struct ClusterFileError {
    /// The file.
    pub path: PathBuf,
    /// Everything wrong with it (one for a syntax error, each semantic problem otherwise).
    pub problems: Vec<Problem>,
}

impl fmt::Display for ClusterFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{}:{}:{}: {}", self.path.display(), p.line, p.column, p.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for ClusterFileError {}

/// Reads, parses and validates the cluster file at `path`.
pub fn load_cluster_file(path: &Path) -> Result<ClusterFile, ClusterFileError> {
    let fail = |message: String| ClusterFileError {
        path: path.to_path_buf(),
        problems: vec![Problem { line: 0, column: 0, message }],
    };
    let text = std::fs::read_to_string(path).map_err(|e| fail(format!("failed to read the cluster file: {e}")))?;
    if text.len() > MAX_FILE_BYTES {
        return Err(fail(format!(
            "the file is larger than {} KiB, the limit for cluster files",
            MAX_FILE_BYTES / 1024
        )));
    }
    parse_cluster_file(path, &text)
}

/// Parses and validates cluster file `text`; `path` names it in errors.
pub fn parse_cluster_file(path: &Path, text: &str) -> Result<ClusterFile, ClusterFileError> {
    let error = |problems| ClusterFileError { path: path.to_path_buf(), problems };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let file: ClusterFile = serde_saphyr::from_str(text).map_err(|e| {
        let location = e.location().unwrap_or(Location::UNKNOWN);
        error(vec![Problem::at(location, e.without_snippet().to_string())])
    })?;
    let problems = super::validate::problems(&file);
    if problems.is_empty() {
        Ok(file)
    } else {
        Err(error(problems))
    }
}
