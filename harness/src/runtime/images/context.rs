//! Build contexts: the files of `images/<name>/` (plus the host's extra CA certificates for the
//! Patroni image), hashed into the tag and sent to the engine as a tar.
use std::path::Path;

use super::error::ImageError;
use super::options::Recipes;

/// Extra CA certificates of the host (e.g. of an HTTPS-intercepting proxy); pip in the Patroni
/// build needs them to reach PyPI through such a proxy.
const HOST_CA_DIR: &str = "/usr/local/share/ca-certificates";

/// One file of a build context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ContextFile {
    /// Path inside the context, `/`-separated.
    pub(super) path: String,
    /// Unix permission bits.
    pub(super) mode: u32,
    /// Contents.
    pub(super) contents: Vec<u8>,
}

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded_images.rs"));
}

/// The build context of image `name` from `recipes`.
pub(super) fn recipe_context(recipes: &Recipes, name: &str) -> Result<Vec<ContextFile>, ImageError> {
    match recipes {
        Recipes::Dir(dir) => read_context(&dir.join(name)),
        Recipes::Embedded => embedded_context(name),
    }
}

/// The embedded files of `images/<name>/`, as [`read_context`] would read them from the checkout.
pub(super) fn embedded_context(name: &str) -> Result<Vec<ContextFile>, ImageError> {
    let prefix = format!("{name}/");
    let mut files: Vec<ContextFile> = embedded::EMBEDDED_RECIPES
        .iter()
        .filter_map(|(path, mode, contents)| {
            let path = path.strip_prefix(&prefix)?;
            Some(ContextFile { path: path.to_string(), mode: *mode, contents: contents.to_vec() })
        })
        .collect();
    if !files.iter().any(|f| f.path == "Dockerfile") {
        let path = std::path::PathBuf::from(format!("(built into pgdrill) images/{name}/Dockerfile"));
        return Err(ImageError::Recipe { path, source: std::io::ErrorKind::NotFound.into() });
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

/// Every file under `dir`, with paths relative to it.
pub(super) fn read_context(dir: &Path) -> Result<Vec<ContextFile>, ImageError> {
    use std::os::unix::fs::PermissionsExt;

    let recipe_error = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ImageError::Recipe { path, source }
    };
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        for entry in std::fs::read_dir(&current).map_err(recipe_error(&current))? {
            let entry = entry.map_err(recipe_error(&current))?;
            let path = entry.path();
            let meta = std::fs::metadata(&path).map_err(recipe_error(&path))?;
            if meta.is_dir() {
                pending.push(path);
                continue;
            }
            let relative = path.strip_prefix(dir).expect("walked below dir");
            let relative = relative.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
            let contents = std::fs::read(&path).map_err(recipe_error(&path))?;
            // Only the executable bit matters (and git keeps only that).
            let mode = if meta.permissions().mode() & 0o111 != 0 { 0o755 } else { 0o644 };
            files.push(ContextFile { path: relative, mode, contents });
        }
    }
    if !files.iter().any(|f| f.path == "Dockerfile") {
        let path = dir.join("Dockerfile");
        return Err(ImageError::Recipe { path, source: std::io::ErrorKind::NotFound.into() });
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

/// The host's extra CA certificates, as `ca/<file>` context entries.
pub(super) fn host_ca_files(progress: &dyn Fn(&str)) -> Vec<ContextFile> {
    let Ok(entries) = std::fs::read_dir(HOST_CA_DIR) else { return Vec::new() };
    let mut files = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("crt") {
            continue;
        }
        match std::fs::read(&path) {
            Ok(contents) => {
                let name = entry.file_name().to_string_lossy().into_owned();
                files.push(ContextFile { path: format!("ca/{name}"), mode: 0o644, contents });
            }
            Err(e) => progress(&format!("warning: skipping CA certificate {}: {e}", path.display())),
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files
}

pub(super) fn context_tar(files: &[ContextFile]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for file in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(file.contents.len() as u64);
        header.set_mode(file.mode);
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        builder
            .append_data(&mut header, &file.path, file.contents.as_slice())
            .expect("writing a tar to memory cannot fail");
    }
    builder.into_inner().expect("writing a tar to memory cannot fail")
}
