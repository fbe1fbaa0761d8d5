//! The command line: parse arguments, call the library, render results and errors, map them to
//! exit codes. The only place that prints reports and renders diagnostics, always through
//! `output`'s checked writers.
mod attach_cmd;
mod chaos_cmd;
mod commands;
mod compose_cmd;
mod exit;
mod init_cmd;
mod load;
mod output;
mod report_cmds;

pub use commands::{dispatch, Cli};
pub use exit::ExitCode;
