//! Progress lines on stderr: one line per thing that happens, with the time since start, readable
//! in a terminal and in CI logs alike.
use std::time::Instant;

/// Prints progress lines.
#[derive(Debug, Clone)]
pub struct Progress {
    start: Instant,
    quiet: bool,
    prefix: String,
}

impl Progress {
    /// Progress for a run; `prefix` names the scenario in suites.
    pub fn new(prefix: &str, quiet: bool) -> Self {
        Self { start: Instant::now(), quiet, prefix: prefix.to_string() }
    }

    /// Prints a warning, also when quiet: something the user should read before trusting the run.
    pub fn warn(&self, message: &str) {
        eprintln!("[{:>6.1}s] {}warning: {}", self.start.elapsed().as_secs_f64(), self.prefix, message);
    }

    /// Prints one line.
    pub fn say(&self, message: &str) {
        if !self.quiet {
            eprintln!("[{:>6.1}s] {}{}", self.start.elapsed().as_secs_f64(), self.prefix, message);
        }
    }
}
