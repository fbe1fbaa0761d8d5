//! Tags: content hashes of each image's inputs (`pgdrill-<name>:<12 hex>`), and whether the
//! engine has an image of a tag. The base's tag hashes its recipe, so the recipe lives here.
use std::collections::BTreeMap;

use bollard::Docker;
use sha2::{Digest, Sha256};

use super::context::ContextFile;
use super::error::ImageError;
use super::name::ImageName;
use crate::runtime::image_set::DebianSuite;

/// Bump when the base recipe changes in a way its other inputs do not show.
const BASE_RECIPE_VERSION: u32 = 1;

pub(super) const BASE_VARIANT: &str = "minbase";
pub(super) const BASE_MIRROR: &str = "http://deb.debian.org/debian";

/// What `docker import` leaves unset but the official Debian images set.
pub(super) const BASE_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The tag of the base image of `suite`: a hash of its recipe.
pub(super) fn base_tag(suite: DebianSuite) -> String {
    let mut hasher = Sha256::new();
    field(&mut hasher, b"pgdrill-base");
    field(&mut hasher, BASE_RECIPE_VERSION.to_string().as_bytes());
    field(&mut hasher, suite.as_str().as_bytes());
    field(&mut hasher, BASE_VARIANT.as_bytes());
    field(&mut hasher, BASE_MIRROR.as_bytes());
    field(&mut hasher, BASE_PATH.as_bytes());
    format!("{}:{}", ImageName::Base.repository(), short_hex(hasher))
}

/// The tag of a derived image: a hash of its build context (`files`, sorted by path here),
/// build arguments and parent tag.
pub(super) fn image_tag(
    name: ImageName,
    files: &[ContextFile],
    build_args: &BTreeMap<String, String>,
    parent: &str,
) -> String {
    let mut hasher = Sha256::new();
    field(&mut hasher, name.repository().as_bytes());
    field(&mut hasher, parent.as_bytes());
    for (key, value) in build_args {
        field(&mut hasher, key.as_bytes());
        field(&mut hasher, value.as_bytes());
    }
    let mut sorted: Vec<&ContextFile> = files.iter().collect();
    sorted.sort_by(|a, b| a.path.cmp(&b.path));
    for file in sorted {
        field(&mut hasher, file.path.as_bytes());
        field(&mut hasher, &file.mode.to_le_bytes());
        field(&mut hasher, &file.contents);
    }
    format!("{}:{}", name.repository(), short_hex(hasher))
}

/// Length-prefixed, so no two different inputs hash the same byte stream.
fn field(hasher: &mut Sha256, bytes: &[u8]) {
    hasher.update((bytes.len() as u64).to_le_bytes());
    hasher.update(bytes);
}

fn short_hex(hasher: Sha256) -> String {
    hasher.finalize().iter().take(6).map(|b| format!("{b:02x}")).collect()
}

pub(super) async fn image_exists(docker: &Docker, tag: &str) -> Result<bool, ImageError> {
    match docker.inspect_image(tag).await {
        Ok(_) => Ok(true),
        Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => Ok(false),
        Err(source) => Err(ImageError::Docker { action: format!("inspect image {tag}"), source }),
    }
}
