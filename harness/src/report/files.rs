//! How a sink writes its file: beside its final name, then renamed into place, so a reader never
//! sees a half-written file; a write that fails (a full disk, a read-only directory) removes what
//! it began, so no `.partial` file is left behind.
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Writes `dir/name` through a `.partial` file renamed into place, creating `dir` if needed.
pub(super) fn write_atomically(dir: &Path, name: &str, contents: &[u8]) -> io::Result<PathBuf> {
    write_atomically_with(dir, name, |file| file.write_all(contents))
}

/// [`write_atomically`] for content produced by `write` (streamed, e.g. serialised JSON). The
/// file is synced before the rename: a crash never leaves a renamed but empty file.
pub(super) fn write_atomically_with(
    dir: &Path,
    name: &str,
    write: impl FnOnce(&mut io::BufWriter<fs::File>) -> io::Result<()>,
) -> io::Result<PathBuf> {
    fs::create_dir_all(dir)?;
    let path = dir.join(name);
    let partial = dir.join(format!("{name}.partial"));
    let written = (|| {
        let mut file = io::BufWriter::new(fs::File::create(&partial)?);
        write(&mut file)?;
        file.into_inner().map_err(io::IntoInnerError::into_error)?.sync_all()?;
        fs::rename(&partial, &path)
    })();
    if written.is_err() {
        // Best effort: on a read-only directory there is nothing to remove.
        let _ = fs::remove_file(&partial);
    }
    written.map(|()| path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("pgdrill-files-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_failed_write_leaves_no_partial_file() {
        let dir = scratch("failed-write");
        let error = write_atomically_with(&dir, "report.json", |file| {
            file.write_all(b"{\"half\":")?;
            file.flush()?;
            Err(io::Error::other("disk full"))
        })
        .unwrap_err();
        assert_eq!(error.to_string(), "disk full");
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 0, "nothing is left in {}", dir.display());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_failed_rename_leaves_no_partial_file() {
        let dir = scratch("failed-rename");
        // A non-empty directory where the file should go: the rename fails after the write.
        fs::create_dir_all(dir.join("junit.xml/inside")).unwrap();
        assert!(write_atomically(&dir, "junit.xml", b"<testsuites/>").is_err());
        assert!(!dir.join("junit.xml.partial").exists());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_written_file_replaces_the_old_one() {
        let dir = scratch("replace");
        write_atomically(&dir, "report.html", b"old").unwrap();
        let path = write_atomically(&dir, "report.html", b"new").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
        fs::remove_dir_all(&dir).unwrap();
    }
}
