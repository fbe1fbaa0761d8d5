//! The JSON sink: `reports/<run-id>/report.json`, and reading it back for later tools.
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use super::files::write_atomically_with;
use super::model::{RunReport, SCHEMA_VERSION};

/// The report's file name inside a run's report directory.
pub const REPORT_FILE: &str = "report.json";

/// Writes `dir/report.json` (pretty-printed), creating `dir` if needed, and returns its path.
/// The file is written beside its final name and renamed into place, so a reader never sees a
/// half-written report.
pub fn write_json(report: &RunReport, dir: &Path) -> io::Result<PathBuf> {
    write_atomically_with(dir, REPORT_FILE, |file| {
        serde_json::to_writer_pretty(&mut *file, report)?;
        file.write_all(b"\n")
    })
}

/// Reading a report failed.
#[derive(Debug, thiserror::Error)]
#[error("failed to read the report {}", path.display())]
pub struct ReadReportError {
    /// The file.
    pub path: PathBuf,
    /// What went wrong.
    #[source]
    pub kind: ReadReportErrorKind,
}

/// Why a report could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadReportErrorKind {
    /// The file could not be read.
    #[error("failed to read the file")]
    Io(#[source] io::Error),
    /// The file is not a report of a known shape.
    #[error("failed to parse the report")]
    Parse(#[source] serde_json::Error),
    /// The file is larger than `MAX_REPORT_BYTES`: not a report pgdrill wrote, or one no
    /// tool should load whole.
    #[error("the file is larger than {} MiB, the limit for reports", limit >> 20)]
    TooLarge {
        /// The limit, in bytes.
        limit: u64,
    },
    /// Written by a pgdrill with another report format.
    #[error("unsupported schema_version {found}: this pgdrill reads version {SCHEMA_VERSION}")]
    UnsupportedVersion {
        /// The version in the file (0 when absent).
        found: u64,
    },
}

/// The largest report read back. A long drill's report (every poll and write on the timeline)
/// is a few MiB; this leaves room for runs of hours while keeping a stray file from exhausting
/// memory (parsing holds the text and its value tree at once).
pub const MAX_REPORT_BYTES: u64 = 256 * 1024 * 1024;

/// Reads a report written by [`write_json`], refusing files over `MAX_REPORT_BYTES`. The
/// version is checked before the rest is parsed, so a report from another pgdrill says so
/// instead of failing on some field.
pub fn read_json(path: &Path) -> Result<RunReport, ReadReportError> {
    read_json_limited(path, MAX_REPORT_BYTES)
}

fn read_json_limited(path: &Path, limit: u64) -> Result<RunReport, ReadReportError> {
    let error = |kind| ReadReportError { path: path.to_path_buf(), kind };
    let file = fs::File::open(path).map_err(|e| error(ReadReportErrorKind::Io(e)))?;
    let mut text = String::new();
    // One byte past the limit tells "at the limit" from "over it" without trusting metadata
    // (the path may be a pipe, or the file may grow while it is read).
    file.take(limit + 1).read_to_string(&mut text).map_err(|e| error(ReadReportErrorKind::Io(e)))?;
    if text.len() as u64 > limit {
        return Err(error(ReadReportErrorKind::TooLarge { limit }));
    }
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| error(ReadReportErrorKind::Parse(e)))?;
    let found = value.get("schema_version").and_then(serde_json::Value::as_u64).unwrap_or(0);
    if found != u64::from(SCHEMA_VERSION) {
        return Err(error(ReadReportErrorKind::UnsupportedVersion { found }));
    }
    serde_json::from_value(value).map_err(|e| error(ReadReportErrorKind::Parse(e)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::terminal::tests::sample;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("pgdrill-report-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn round_trips_through_the_file() {
        let dir = temp_dir("roundtrip");
        let report = sample();
        let path = write_json(&report, &dir.join("run-1")).unwrap();
        assert_eq!(path, dir.join("run-1").join("report.json"));
        let back = read_json(&path).unwrap();
        assert_eq!(back, report);
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.contains("\"schema_version\": 1"), "{text}");
        assert!(!dir.join("run-1").join("report.json.partial").exists());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn refuses_another_schema_version() {
        let dir = temp_dir("version");
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("report.json");
        fs::write(&path, r#"{"schema_version": 7, "something": "else"}"#).unwrap();
        let err = read_json(&path).unwrap_err();
        assert!(matches!(err.kind, ReadReportErrorKind::UnsupportedVersion { found: 7 }), "{err:?}");
        assert_eq!(err.kind.to_string(), "unsupported schema_version 7: this pgdrill reads version 1");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn refuses_a_file_over_the_limit() {
        let dir = temp_dir("too-large");
        let path = write_json(&sample(), &dir).unwrap();
        let size = fs::metadata(&path).unwrap().len();
        assert!(read_json_limited(&path, size).is_ok(), "a file at the limit is read");
        let err = read_json_limited(&path, size - 1).unwrap_err();
        assert!(matches!(err.kind, ReadReportErrorKind::TooLarge { .. }), "{err:?}");
        assert_eq!(
            ReadReportErrorKind::TooLarge { limit: MAX_REPORT_BYTES }.to_string(),
            "the file is larger than 256 MiB, the limit for reports"
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_missing_file_is_an_io_error() {
        let err = read_json(Path::new("/nonexistent/pgdrill/report.json")).unwrap_err();
        assert!(matches!(err.kind, ReadReportErrorKind::Io(_)));
        assert!(err.to_string().starts_with("failed to read the report /nonexistent"));
    }
}
