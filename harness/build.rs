//! Build script: keeps the crate in step with files it does not name in Rust.
//!
//! - Every file in `src/fault/kinds/` is a fault family module (declared by `automod::dir!`), so
//!   adding one must rebuild the crate even though no other file changed.
//! - The image recipes of `../images/` are embedded in the binary (`embedded_images.rs` in
//!   OUT_DIR: path, mode, contents of every file), so an installed `pgdrill` builds its images
//!   from any directory, with the same content-hash tags as the checkout. A generated table
//!   rather than a crate such as include_dir: the executable bit is part of a context (and of its
//!   tag), and those crates do not keep it.
use std::fmt::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

fn main() {
    println!("cargo:rerun-if-changed=src/fault/kinds");
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let images = manifest.join("../images");
    println!("cargo:rerun-if-changed={}", images.display());
    let mut files = Vec::new();
    walk(&images, &images, &mut files);
    files.sort();
    let mut table = String::from(
        "/// Every file of the checkout's `images/` at build time: (path under images/, mode, contents).\n\
         pub(super) static EMBEDDED_RECIPES: &[(&str, u32, &[u8])] = &[\n",
    );
    for (relative, mode, absolute) in &files {
        writeln!(table, "    ({relative:?}, 0o{mode:o}, include_bytes!({absolute:?})),").expect("writing to a String");
    }
    table.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("embedded_images.rs");
    std::fs::write(&out, table).expect("write embedded_images.rs");
}

/// Collects (path relative to `root`, 0o755 or 0o644, absolute path) of every file under `dir`.
fn walk(root: &Path, dir: &Path, files: &mut Vec<(String, u32, String)>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("directory entry").path();
        let meta = std::fs::metadata(&path).unwrap_or_else(|e| panic!("stat {}: {e}", path.display()));
        if meta.is_dir() {
            walk(root, &path, files);
            continue;
        }
        let relative = path.strip_prefix(root).expect("below root");
        let relative = relative.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
        // Only the executable bit matters (git keeps only that), as in runtime/images/context.rs.
        let mode = if meta.permissions().mode() & 0o111 != 0 { 0o755 } else { 0o644 };
        let absolute = path.canonicalize().unwrap_or(path).display().to_string();
        files.push((relative, mode, absolute));
    }
}
