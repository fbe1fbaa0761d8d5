//! Where every command prints: standard output and standard error, each through one checked
//! writer. `println!` panics when the reader has gone away (`pgdrill list | head -1`: exit 101,
//! and a `drill` loses its remaining runs); here a closed pipe only ends that stream's output,
//! quietly, and the command carries on (a run still tears down and writes its report) and exits
//! with its own code. Any other failure to write standard output (a full disk behind `>`) is said
//! once on standard error and turns a success into exit 1, so a truncated file is never
//! reported as done. Nothing else in the crate prints to standard output.
use std::fmt;
use std::io::{self, Write};
use std::sync::{Mutex, MutexGuard, PoisonError};

/// Prints to standard output through the checked writer, like `print!`.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::cli::output::stdout(format_args!($($arg)*))
    };
}

/// Prints a line to standard output through the checked writer, like `println!`.
macro_rules! outln {
    () => {
        $crate::cli::output::stdout(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::cli::output::stdout(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// Prints a line to standard error through the checked writer, like `eprintln!`.
macro_rules! errln {
    ($($arg:tt)*) => {
        $crate::cli::output::stderr(format_args!("{}\n", format_args!($($arg)*)))
    };
}

pub(super) use {errln, out, outln};

/// What became of a stream so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    /// Everything written so far was accepted.
    Open,
    /// The reader went away (EPIPE): later output is dropped, which is not an error.
    Closed,
    /// Writing failed otherwise; later output is dropped and the command must not claim success.
    Failed,
}

/// A writer that never panics: the first failure decides its [`State`], and later writes are
/// dropped without touching the stream again.
#[derive(Debug)]
pub(crate) struct Checked<W> {
    inner: W,
    state: State,
    /// The failure that is not a closed pipe, for the one message about it.
    error: Option<io::Error>,
}

impl<W: Write> Checked<W> {
    /// Wraps `inner`, open.
    pub(crate) const fn new(inner: W) -> Self {
        Self { inner, state: State::Open, error: None }
    }

    /// Writes `args` unless the stream is already closed or failed. Returns the failure that
    /// is not a closed pipe the first time it happens, so the caller can say it once.
    pub(crate) fn write(&mut self, args: fmt::Arguments<'_>) -> Option<&io::Error> {
        if self.state != State::Open {
            return None;
        }
        let written = self.inner.write_fmt(args);
        self.settle(written)
    }

    /// Flushes what is buffered (the end of a command), with the same rules as [`Self::write`].
    pub(crate) fn flush(&mut self) -> Option<&io::Error> {
        if self.state != State::Open {
            return None;
        }
        let flushed = self.inner.flush();
        self.settle(flushed)
    }

    /// The stream's state.
    pub(crate) fn state(&self) -> State {
        self.state
    }

    fn settle(&mut self, result: io::Result<()>) -> Option<&io::Error> {
        match result {
            Ok(()) => None,
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                self.state = State::Closed;
                None
            }
            Err(e) => {
                self.state = State::Failed;
                Some(&*self.error.insert(e))
            }
        }
    }
}

static STDOUT: Mutex<Checked<Stdout>> = Mutex::new(Checked::new(Stdout));
static STDERR: Mutex<Checked<Stderr>> = Mutex::new(Checked::new(Stderr));

/// `io::stdout()` looked up at each write, so the statics need no lazy initialisation.
#[derive(Debug)]
struct Stdout;

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        io::stdout().write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        io::stdout().flush()
    }
}

/// `io::stderr()`, like [`Stdout`].
#[derive(Debug)]
struct Stderr;

impl Write for Stderr {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        io::stderr().write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}

/// A panic elsewhere while printing must not silence the rest of the command.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Writes to standard output (use [`out!`] / [`outln!`]).
pub(crate) fn stdout(args: fmt::Arguments<'_>) {
    let mut out = lock(&STDOUT);
    if let Some(error) = out.write(args) {
        stderr(format_args!("error: failed to write to standard output: {error}; output stops here\n"));
    }
}

/// Writes to standard error (use [`errln!`]). A closed or failing standard error leaves nowhere
/// to complain, so its failures only end its output.
pub(crate) fn stderr(args: fmt::Arguments<'_>) {
    lock(&STDERR).write(args);
}

/// Flushes standard output at the end of a command and tells whether everything it printed
/// reached its destination or its reader left early ([`State::Closed`] is fine), or not.
pub(crate) fn finish() -> State {
    let mut out = lock(&STDOUT);
    if let Some(error) = out.flush() {
        stderr(format_args!("error: failed to write to standard output: {error}\n"));
    }
    out.state()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Accepts `room` bytes, then fails every write with `kind`.
    struct Failing {
        room: usize,
        kind: io::ErrorKind,
        written: Vec<u8>,
        attempts: usize,
    }

    impl Write for Failing {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.attempts += 1;
            if self.room == 0 {
                return Err(self.kind.into());
            }
            let n = buf.len().min(self.room);
            self.room -= n;
            self.written.extend_from_slice(&buf[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn failing(room: usize, kind: io::ErrorKind) -> Checked<Failing> {
        Checked::new(Failing { room, kind, written: Vec::new(), attempts: 0 })
    }

    #[test]
    fn a_closed_pipe_stops_output_quietly() {
        let mut out = failing(6, io::ErrorKind::BrokenPipe);
        assert!(out.write(format_args!("first\n")).is_none());
        assert!(out.write(format_args!("second\n")).is_none(), "a closed pipe is not an error");
        assert_eq!(out.state(), State::Closed);
        let attempts = out.inner.attempts;
        assert!(out.write(format_args!("third\n")).is_none());
        assert!(out.flush().is_none());
        assert_eq!(out.inner.attempts, attempts, "nothing is written after the reader left");
        assert_eq!(out.inner.written, b"first\n");
    }

    #[test]
    fn other_failures_are_reported_once() {
        let mut out = failing(0, io::ErrorKind::StorageFull);
        let error = out.write(format_args!("x\n")).map(io::Error::kind);
        assert_eq!(error, Some(io::ErrorKind::StorageFull));
        assert_eq!(out.state(), State::Failed);
        assert!(out.write(format_args!("y\n")).is_none(), "said once");
        assert_eq!(out.inner.attempts, 1);
    }

    #[test]
    fn an_open_stream_writes_everything() {
        let mut out = Checked::new(Vec::new());
        out.write(format_args!("a {}\n", 1));
        out.write(format_args!("b\n"));
        assert!(out.flush().is_none());
        assert_eq!(out.state(), State::Open);
        assert_eq!(out.inner, b"a 1\nb\n");
    }
}
