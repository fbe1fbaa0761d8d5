//! Runtime errors: each says what happened and what to do.
use thiserror::Error;

use crate::wait::WaitTimeout;

/// Failures talking to Docker or running containers.
#[derive(Debug, Error)]
pub enum RuntimeError {
    /// The Docker engine could not be reached.
    #[error(
        "failed to reach the Docker engine: {source}\n  pgdrill starts real containers and needs a running Docker Engine. \
         Start it (e.g. `systemctl start docker`), check that DOCKER_HOST (if set) points at it and that you may use its socket."
    )]
    DockerUnreachable {
        /// The connection error.
        #[source]
        source: bollard::errors::Error,
    },
    /// A Docker API call failed.
    #[error("failed to {action}: {source}")]
    Docker {
        /// What we tried, e.g. "create container pgdrill-x-pg-1".
        action: String,
        /// The API error.
        #[source]
        source: bollard::errors::Error,
    },
    /// A host port for publishing could not be allocated.
    #[error("failed to allocate a free loopback port: {source}")]
    Port {
        /// The bind error.
        #[source]
        source: std::io::Error,
    },
    /// A container stopped running when it should be up.
    #[error(
        "container {container} exited during {phase} (exit code {exit_code}); its last log lines:\n{log_tail}\n  \
         Fix the cause shown above; run with --keep to inspect the containers afterwards."
    )]
    ContainerExited {
        /// Container name.
        container: String,
        /// What the run was doing.
        phase: String,
        /// Exit code reported by Docker.
        exit_code: i64,
        /// The last lines it printed.
        log_tail: String,
    },
    /// A command run inside a container failed.
    #[error("command `{command}` in {container} failed (exit code {exit_code}): {output}")]
    Exec {
        /// Container name.
        container: String,
        /// The command line.
        command: String,
        /// Exit code.
        exit_code: i64,
        /// What it printed.
        output: String,
    },
    /// A command in a container, or a read of its output, did not finish in time.
    #[error(transparent)]
    TimedOut(#[from] WaitTimeout),
}
