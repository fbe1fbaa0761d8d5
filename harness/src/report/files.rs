//! How a sink writes its file: beside its final name, then renamed into place, so a reader never
//! sees a half-written file.
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// Writes `dir/name` through a `.partial` file renamed into place, creating `dir` if needed.
pub(super) fn write_atomically(dir: &Path, name: &str, contents: &[u8]) -> io::Result<PathBuf> {
    fs::create_dir_all(dir)?;
    let path = dir.join(name);
    let partial = dir.join(format!("{name}.partial"));
    fs::write(&partial, contents)?;
    fs::rename(&partial, &path)?;
    Ok(path)
}
