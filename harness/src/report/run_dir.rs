//! A run's report directory: every sink's file, written together at the end of a run.
use std::io;
use std::path::Path;

use super::html::write_html;
use super::json::write_json;
use super::junit::write_junit;
use super::model::RunReport;

/// Writes every file of a run's report directory: `report.json`, `junit.xml` and `report.html`
/// (the JSON first: it is the source the others can be re-rendered from with `pgdrill report`).
pub fn write_all(report: &RunReport, dir: &Path) -> io::Result<()> {
    write_json(report, dir)?;
    write_junit(report, dir)?;
    write_html(report, dir)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;
    use crate::report::terminal::tests::sample;
    use crate::report::HTML_FILE;

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
