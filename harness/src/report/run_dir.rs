//! A run's report directory: every sink's file, written together at the end of a run.
use std::io;
use std::path::{Path, PathBuf};

use super::html::{write_html, HTML_FILE};
use super::json::{write_json, REPORT_FILE};
use super::junit::{write_junit, JUNIT_FILE};
use super::model::RunReport;

/// Writes every file of a run's report directory: `report.json`, `junit.xml` and `report.html`
/// (the JSON first: it is the source the others can be re-rendered from with `pgdrill report`).
/// Each is tried even when one before it failed (a small file may still fit on a full disk);
/// the first failure is returned, naming its file. No `.partial` file is left.
pub fn write_all(report: &RunReport, dir: &Path) -> Result<(), WriteReportError> {
    let results = [
        (REPORT_FILE, write_json(report, dir)),
        (JUNIT_FILE, write_junit(report, dir)),
        (HTML_FILE, write_html(report, dir)),
    ];
    match results.into_iter().find_map(|(name, result)| result.err().map(|e| (name, e))) {
        Some((name, source)) => Err(WriteReportError { path: dir.join(name), source }),
        None => Ok(()),
    }
}

/// A report file could not be written.
#[derive(Debug, thiserror::Error)]
#[error("failed to write {}: {source}", path.display())]
pub struct WriteReportError {
    /// The file.
    pub path: PathBuf,
    /// Why (a full disk, a read-only directory, ...).
    #[source]
    pub source: io::Error,
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;
    use crate::report::terminal::tests::sample;

    #[test]
    fn write_all_writes_the_three_files() {
        let dir = std::env::temp_dir().join(format!("pgdrill-html-all-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        write_all(&sample(), &dir).unwrap();
        for name in ["report.json", "junit.xml", HTML_FILE] {
            assert!(dir.join(name).is_file(), "{name} missing");
        }
        assert!(!dir.join("report.html.partial").exists());
        fs::remove_dir_all(&dir).unwrap();
    }
}
