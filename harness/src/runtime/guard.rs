//! The last line of defence: if a run's owner drops it without an explicit teardown (a panic, an
//! early return), the guard removes the run's resources from its own thread and runtime.
use std::io::Write;

use super::sweep::{sweep, SweepScope};
use super::Runtime;

/// Removes the run's labelled resources on drop unless disarmed.
#[derive(Debug)]
pub struct TeardownGuard {
    run_id: String,
    armed: bool,
}

impl TeardownGuard {
    /// Arms a guard for `run_id`.
    pub fn new(run_id: &str) -> Self {
        Self { run_id: run_id.to_string(), armed: true }
    }

    /// The run was torn down explicitly (or is kept on purpose): do nothing on drop.
    pub fn disarm(&mut self) {
        self.armed = false;
    }
}

impl Drop for TeardownGuard {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let run_id = self.run_id.clone();
        // A fresh thread and runtime: Drop may run inside (or after) the run's runtime, where we
        // can neither block nor await.
        let handle = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            rt.block_on(async {
                let docker = Runtime::connect().await.ok()?;
                sweep(&docker, SweepScope::Run(&run_id)).await.ok()
            })
        });
        if let Ok(Some(report)) = handle.join() {
            // Not eprintln!: a closed stderr must not panic inside Drop.
            let _ = writeln!(
                std::io::stderr(),
                "pgdrill: cleaned up run {} after an abnormal exit ({} containers, {} networks)",
                self.run_id,
                report.containers.len(),
                report.networks.len()
            );
        }
    }
}
