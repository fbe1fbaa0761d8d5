//! Why images could not be provided; each message says what to do.
use std::path::PathBuf;

use thiserror::Error;

use super::name::ImageName;

/// Lines of build output kept for an error message.
pub(super) const TAIL_LINES: usize = 40;

/// Why images could not be provided.
#[derive(Debug, Error)]
pub enum ImageError {
    /// The engine did not answer.
    #[error(
        "failed to reach the Docker engine: {source}\n  pgdrill builds its images with the local Docker Engine. \
         Start it (e.g. `systemctl start docker`) and check DOCKER_HOST."
    )]
    DockerUnreachable {
        /// The connection error.
        #[source]
        source: bollard::errors::Error,
    },
    /// A Docker API call failed.
    #[error("failed to {action}: {source}")]
    Docker {
        /// What we tried.
        action: String,
        /// The API error.
        #[source]
        source: bollard::errors::Error,
    },
    /// The image recipes could not be read.
    #[error(
        "failed to read the image recipe {path}: {source}\n  pgdrill builds from the recipes built into it unless \
         PGDRILL_IMAGES_DIR names a folder of them (holding etcd/, patroni/, haproxy/, ...): check that folder, or \
         unset the variable."
    )]
    Recipe {
        /// The file or folder.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// debootstrap is needed and cannot be installed here.
    #[error(
        "failed to find debootstrap, needed to create the base image ({reason})\n  Install it with `{install_command}` \
         (or make `docker pull debian:<suite>-slim` work), then retry."
    )]
    DebootstrapMissing {
        /// Why it could not be installed automatically.
        reason: String,
        /// The command that installs it.
        install_command: String,
    },
    /// A command preparing the base image failed (apt-get, debootstrap, tar).
    #[error("failed to create the base image: `{command}` {status}; its last output lines:\n{output}\n  {hint}")]
    BaseCommand {
        /// The command line.
        command: String,
        /// How it ended (exit status, or the spawn error).
        status: String,
        /// Its last output lines.
        output: String,
        /// What to do.
        hint: &'static str,
    },
    /// `docker import` of the base root file system failed.
    #[error("failed to import the base root file system as {tag}: {source}{tar_output}")]
    ImportFailed {
        /// The tag.
        tag: String,
        /// The engine's error.
        #[source]
        source: bollard::errors::Error,
        /// What tar printed, if anything (prefixed with a newline).
        tar_output: String,
    },
    /// `docker build` printed nothing for too long, or ran past its whole limit.
    #[error(
        "failed to build image {image} ({tag}): {why} at `{step}`\n  last output of that step:\n{step_output}\n  \
         A step that hangs usually waits on the network (a package mirror, PyPI): check that they answer from \
         this host, then retry."
    )]
    BuildStalled {
        /// Which image.
        image: ImageName,
        /// The tag it would have had.
        tag: String,
        /// What ran out: the silence limit or the whole limit, with the figure.
        why: String,
        /// The step it was in.
        step: String,
        /// The last lines the step printed.
        step_output: String,
    },
    /// `docker build` failed at a step.
    #[error(
        "failed to build image {image} ({tag}) at `{step}`: {source}\n  last output of that step:\n{step_output}\n  \
         The step's own output above says why (package not found, network or TLS error, ...). Fix it in \
         images/{image}/Dockerfile or the network, then retry; `docker build --build-arg BASE={base} images/{image}` \
         reproduces it by hand."
    )]
    BuildFailed {
        /// Which image.
        image: ImageName,
        /// The tag it would have had.
        tag: String,
        /// The base image tag it was built on.
        base: String,
        /// The failing step (`Step 4/9 : RUN ...`).
        step: String,
        /// The last lines the step printed.
        step_output: String,
        /// The engine's error (boxed: it is large and this error is rare).
        #[source]
        source: Box<bollard::errors::Error>,
    },
    /// Another process's build of the same image held its lock too long, or the lock file could
    /// not be opened.
    #[error("{0}\n  Another pgdrill process may be stuck building that image: stop it (or wait for it), then retry.")]
    BuildLock(#[from] crate::runtime::host_lock::HostLockError),
}
