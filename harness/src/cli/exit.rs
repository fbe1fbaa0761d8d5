//! Documented exit codes.

/// What `pgdrill` exits with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ExitCode {
    /// Every check passed (or the command succeeded).
    Success = 0,
    /// A run finished but a check failed, or the run hit an error while driving the cluster.
    ChecksFailed = 1,
    /// A scenario file is invalid (nothing was started).
    InvalidScenario = 2,
    /// The environment is not usable: Docker unreachable, an image failed to build, ...
    Environment = 3,
    /// Interrupted by Ctrl-C / SIGTERM (after cleaning up).
    Interrupted = 130,
}
