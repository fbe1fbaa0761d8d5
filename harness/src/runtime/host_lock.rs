//! Host-wide locks: a file lock in the temp dir, seen by every pgdrill process on the host (two
//! nextest processes, a drill beside a test run). Released when the returned file is dropped,
//! also when the process dies.
use std::fs::File;
use std::path::PathBuf;
use std::time::Duration;

use thiserror::Error;

use crate::wait::{poll_until, Probe, WaitTimeout};

/// Why a host-wide lock could not be taken.
#[derive(Debug, Error)]
pub enum HostLockError {
    /// The lock file could not be opened.
    #[error("failed to open the lock file {path}: {source}\n  Check that the temp dir ({dir}) is writable.", dir = std::env::temp_dir().display())]
    Open {
        /// The lock file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Another process held it for the whole wait.
    #[error(transparent)]
    Timeout(#[from] WaitTimeout),
}

/// The path of the lock called `name` (a plain file name).
pub fn lock_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("pgdrill-{name}.lock"))
}

/// Takes the lock called `name`, polling every `every` for at most `within`; `what` names what
/// the holder is doing, for the timeout message.
pub async fn acquire(name: &str, what: &str, within: Duration, every: Duration) -> Result<File, HostLockError> {
    let path = lock_path(name);
    let file = open(&path).map_err(|source| HostLockError::Open { path: path.clone(), source })?;
    let what = format!("the host-wide lock {} ({what})", path.display());
    poll_until(&what, within, every, || {
        let outcome = file.try_lock();
        async move {
            match outcome {
                Ok(()) => Probe::Done(()),
                Err(e) => Probe::NotYet(format!("locked: {e}")),
            }
        }
    })
    .await?;
    Ok(file)
}

/// Whether the lock called `name` is held by another process right now (taken and released at
/// once when free).
pub fn is_held(name: &str) -> bool {
    open(&lock_path(name)).is_ok_and(|file| file.try_lock().is_err())
}

/// Opens (creating it if need be) the lock file at `path`, never truncating it.
fn open(path: &std::path::Path) -> std::io::Result<File> {
    File::options().create(true).truncate(false).write(true).open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_held_lock_is_waited_for_and_the_wait_is_bounded() {
        let name = format!("test-{}", std::process::id());
        let held = acquire(&name, "a test", Duration::from_secs(1), Duration::from_millis(10)).await.unwrap();
        // A second handle in the same process contends like another process would (flock is per
        // open file description).
        let second = acquire(&name, "a test", Duration::from_millis(100), Duration::from_millis(10)).await;
        let error = second.expect_err("taken twice").to_string();
        assert!(error.contains("a test") && error.contains("locked"), "{error}");
        assert!(is_held(&name));
        drop(held);
        assert!(!is_held(&name));
        acquire(&name, "a test", Duration::from_secs(1), Duration::from_millis(10)).await.unwrap();
        let _ = std::fs::remove_file(lock_path(&name));
    }
}
