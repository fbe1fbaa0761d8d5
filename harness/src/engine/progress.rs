//! Progress lines on stderr: one line per thing that happens, with the time since start, readable
//! in a terminal and in CI logs alike. A closed or failing stderr (`pgdrill run … 2>&1 | head`)
//! only drops the lines: `eprintln!` would panic there and lose the run's teardown and report.
use std::io::Write;
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
        self.line(format_args!("warning: {message}"));
    }

    /// Prints one line.
    pub fn say(&self, message: &str) {
        if !self.quiet {
            self.line(format_args!("{message}"));
        }
    }

    fn line(&self, text: std::fmt::Arguments<'_>) {
        let elapsed = self.start.elapsed().as_secs_f64();
        let _ = writeln!(std::io::stderr().lock(), "[{elapsed:>6.1}s] {}{text}", self.prefix);
    }
}
