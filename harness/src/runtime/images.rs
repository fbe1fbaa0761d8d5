//! The images a drill runs: Debian base images made on this machine (no registry needed), and
//! etcd, Patroni, HAProxy and the monitoring images (Prometheus, Alertmanager, postgres_exporter)
//! built on them from `images/<name>/`. The Patroni image (and the Citus images on it) is built on
//! the base of the suite that ships the run's PostgreSQL major (bookworm: 15, trixie: 17, see
//! [`ImageSet`]); every other image stays on bookworm.
//!
//! Tags are content hashes of each image's inputs (`pgdrill-<name>:<12 hex>`): the base's suite,
//! and for derived images their files, build arguments (Patroni version, PostgreSQL major) and
//! parent tag. An image is built once and reused until an input changes, images of different
//! sets coexist in the cache, and stale tags are simply never asked for again.
//!
//! This module builds and tags images; it does not start containers or know topologies.
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use bollard::query_parameters::{
    BuildImageOptionsBuilder, CreateImageOptions, CreateImageOptionsBuilder, TagImageOptionsBuilder,
};
use bollard::Docker;
use bytes::Bytes;
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use thiserror::Error;
use tokio::io::AsyncReadExt;
use tokio::process::Command;

pub use super::image_set::{DebianSuite, ImageChoice, ImageSet, ImageSetError, PgMajor, DEFAULT_PATRONI_VERSION};

/// Bump when the base recipe changes in a way its other inputs do not show.
const BASE_RECIPE_VERSION: u32 = 1;
/// The suite of every image but the Patroni image (and those built on it).
const COMMON_SUITE: DebianSuite = DebianSuite::Bookworm;
const BASE_VARIANT: &str = "minbase";
const BASE_MIRROR: &str = "http://deb.debian.org/debian";
/// Tried first (as `debian:<suite>-slim`): on machines with a registry it is quicker than
/// debootstrap.
const BASE_PULL_IMAGE: &str = "debian";
/// Where debootstrap keeps its per-suite scripts (Debian's package; `DEBOOTSTRAP_DIR` moves it).
const DEBOOTSTRAP_SCRIPTS: &str = "/usr/share/debootstrap/scripts";
const BASE_PULL_TIMEOUT: Duration = Duration::from_secs(15);
/// What `docker import` leaves unset but the official Debian images set.
const BASE_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/// Extra CA certificates of the host (e.g. of an HTTPS-intercepting proxy); pip in the Patroni
/// build needs them to reach PyPI through such a proxy.
const HOST_CA_DIR: &str = "/usr/local/share/ca-certificates";
/// Label every image built here carries, with the image's name as value.
const LABEL_IMAGE: &str = "org.pgdrill.image";
/// Lines of build output kept for an error message.
const TAIL_LINES: usize = 40;

/// One of the images pgdrill builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ImageName {
    /// Debian (minbase) of a suite: the parent of the others.
    Base,
    /// etcd 3.4 (the DCS).
    Etcd,
    /// PostgreSQL (Debian's postgresql-NN of the set's suite) + Patroni from PyPI.
    Patroni,
    /// HAProxy routing to the primary by Patroni health checks.
    Haproxy,
    /// Prometheus 2.42 with promtool (alert rules: checked, then evaluated during drills).
    Prometheus,
    /// Alertmanager 0.25, receiving the alerts Prometheus sends.
    Alertmanager,
    /// postgres_exporter 0.11, one per member, with the Citus custom queries.
    PostgresExporter,
    /// The Patroni image plus pgdrill's Citus **stand-in** extension (NOT Citus; hermetic tests).
    CitusStandin,
    /// The Patroni image plus the real Citus from the Citus package repository (needs internet).
    PatroniCitus,
}

impl ImageName {
    /// Every image, base first.
    pub const ALL: [ImageName; 8] = [
        ImageName::Base,
        ImageName::Etcd,
        ImageName::Patroni,
        ImageName::Haproxy,
        ImageName::Prometheus,
        ImageName::Alertmanager,
        ImageName::PostgresExporter,
        ImageName::CitusStandin,
    ];

    /// The monitoring images (started only by scenarios with `monitoring:`).
    pub const MONITORING: [ImageName; 3] =
        [ImageName::Prometheus, ImageName::Alertmanager, ImageName::PostgresExporter];

    /// The name used in tags (`pgdrill-<name>`), labels and the `images/<name>/` folder.
    pub fn as_str(self) -> &'static str {
        match self {
            ImageName::Base => "base",
            ImageName::Etcd => "etcd",
            ImageName::Patroni => "patroni",
            ImageName::Haproxy => "haproxy",
            ImageName::Prometheus => "prometheus",
            ImageName::Alertmanager => "alertmanager",
            ImageName::PostgresExporter => "postgres-exporter",
            ImageName::CitusStandin => "citus-standin",
            ImageName::PatroniCitus => "patroni-citus",
        }
    }

    /// Built on the Patroni image (build argument `PATRONI_IMAGE`) rather than on the base.
    fn on_patroni(self) -> bool {
        matches!(self, ImageName::CitusStandin | ImageName::PatroniCitus)
    }

    /// Holds PostgreSQL, so is built for the set's major (build argument `PG_MAJOR`).
    fn has_postgres(self) -> bool {
        self == ImageName::Patroni || self.on_patroni()
    }

    fn repository(self) -> String {
        format!("pgdrill-{}", self.as_str())
    }
}

impl fmt::Display for ImageName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which Citus a `kind: citus` topology runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum CitusFlavor {
    /// pgdrill's hermetic stand-in extension (images/citus-standin/): NOT Citus.
    #[default]
    Standin,
    /// The real Citus (images/patroni-citus/), installed from the Citus package repository.
    Real,
}

impl CitusFlavor {
    /// The image that provides this flavour.
    pub fn image(self) -> ImageName {
        match self {
            CitusFlavor::Standin => ImageName::CitusStandin,
            CitusFlavor::Real => ImageName::PatroniCitus,
        }
    }

    /// How reports name it.
    pub fn describe(self) -> &'static str {
        match self {
            CitusFlavor::Standin => "pgdrill Citus stand-in (NOT Citus)",
            CitusFlavor::Real => "Citus",
        }
    }
}

/// How to build.
#[derive(Debug, Clone)]
pub struct ImageOptions {
    /// Which Citus image `kind: citus` topologies run.
    pub citus: CitusFlavor,
    /// Patroni version and PostgreSQL major of the Patroni image (`--images`).
    pub set: ImageSet,
    /// The folder holding `etcd/`, `patroni/`, `haproxy/`, ... (default: [`default_images_dir`]).
    pub images_dir: PathBuf,
    /// Rebuild every image in the chain (base included) without the layer cache, even when a tag
    /// with the same inputs exists: picks up new Debian and PyPI packages.
    pub force_rebuild: bool,
}

impl Default for ImageOptions {
    fn default() -> Self {
        ImageOptions {
            citus: CitusFlavor::default(),
            set: ImageSet::default(),
            images_dir: default_images_dir(),
            force_rebuild: false,
        }
    }
}

/// The tags to run, and what had to be built to get them.
#[derive(Debug, Clone, Default)]
pub struct ResolvedImages {
    /// The image set these tags were built for.
    pub set: ImageSet,
    /// Base image tag of the common suite (bookworm): parent of etcd, HAProxy and monitoring.
    pub base: String,
    /// Base image tag of the set's suite: parent of the Patroni image (the same as `base` for
    /// PostgreSQL 15; empty unless the Patroni image was asked for).
    pub patroni_base: String,
    /// etcd image tag (empty unless asked for).
    pub etcd: String,
    /// Patroni image tag (empty unless asked for).
    pub patroni: String,
    /// HAProxy image tag (empty unless asked for).
    pub haproxy: String,
    /// Prometheus image tag (empty unless asked for).
    pub prometheus: String,
    /// Alertmanager image tag (empty unless asked for).
    pub alertmanager: String,
    /// postgres_exporter image tag (empty unless asked for).
    pub postgres_exporter: String,
    /// Patroni + Citus (stand-in or real) image tag (empty unless asked for).
    pub citus: String,
    /// Images built by this call (not reused), with how long each took.
    pub built: Vec<(ImageName, Duration)>,
    /// Wall time of the whole call.
    pub total: Duration,
}

impl ResolvedImages {
    /// The tags the containers run, by role (empty ones — images not asked for — left out).
    pub fn tags_by_role(&self) -> Vec<(&'static str, &str)> {
        let tags = [
            ("etcd", &self.etcd),
            ("patroni", &self.patroni),
            ("haproxy", &self.haproxy),
            ("citus", &self.citus),
            ("prometheus", &self.prometheus),
            ("alertmanager", &self.alertmanager),
            ("postgres_exporter", &self.postgres_exporter),
        ];
        tags.into_iter().filter(|(_, tag)| !tag.is_empty()).map(|(role, tag)| (role, tag.as_str())).collect()
    }
}

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
        "failed to read the image recipe {path}: {source}\n  pgdrill looks for `images/` above the current directory; \
         run it from the repository or pass the images folder explicitly."
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
}

/// Makes sure the `wanted` images (and the bases they need) exist, building what is missing:
/// the bases first (one after the other: debootstrap is heavy), then the others concurrently.
/// Progress lines go to `progress`.
pub async fn ensure_images(
    docker: &Docker,
    wanted: &[ImageName],
    opts: &ImageOptions,
    progress: &dyn Fn(&str),
) -> Result<ResolvedImages, ImageError> {
    let start = Instant::now();
    docker.ping().await.map_err(|source| ImageError::DockerUnreachable { source })?;
    let mut derived: Vec<ImageName> = wanted.iter().copied().filter(|n| *n != ImageName::Base).collect();
    if derived.iter().any(|n| n.on_patroni()) {
        derived.push(ImageName::Patroni);
    }
    derived.sort();
    derived.dedup();

    let patroni_suite = opts.set.pg.suite();
    let mut suites = vec![COMMON_SUITE];
    if derived.contains(&ImageName::Patroni) {
        suites.push(patroni_suite);
    }
    suites.dedup();
    let mut resolved = ResolvedImages { set: opts.set.clone(), ..ResolvedImages::default() };
    for suite in suites {
        let tag = base_tag(suite);
        if opts.force_rebuild || !image_exists(docker, &tag).await? {
            let t = Instant::now();
            build_base(docker, suite, &tag, progress).await?;
            resolved.built.push((ImageName::Base, t.elapsed()));
        }
        if suite == COMMON_SUITE {
            resolved.base.clone_from(&tag);
        }
        if suite == patroni_suite && derived.contains(&ImageName::Patroni) {
            resolved.patroni_base = tag;
        }
    }

    // Two stages: images on a base (concurrently), then those on the Patroni image.
    for stage in [false, true] {
        let names: Vec<ImageName> = derived.iter().copied().filter(|n| n.on_patroni() == stage).collect();
        let parent_of = |name: ImageName| match name {
            _ if name.on_patroni() => resolved.patroni.clone(),
            ImageName::Patroni => resolved.patroni_base.clone(),
            _ => resolved.base.clone(),
        };
        let parents: Vec<String> = names.iter().map(|&name| parent_of(name)).collect();
        let builds =
            names.iter().zip(&parents).map(|(&name, parent)| ensure_derived(docker, name, parent, opts, progress));
        let outcomes = futures_util::future::join_all(builds).await;
        for (name, outcome) in names.iter().zip(outcomes) {
            let (tag, built) = outcome?;
            if let Some(took) = built {
                resolved.built.push((*name, took));
            }
            match name {
                ImageName::Etcd => resolved.etcd = tag,
                ImageName::Patroni => resolved.patroni = tag,
                ImageName::Haproxy => resolved.haproxy = tag,
                ImageName::Prometheus => resolved.prometheus = tag,
                ImageName::Alertmanager => resolved.alertmanager = tag,
                ImageName::PostgresExporter => resolved.postgres_exporter = tag,
                ImageName::CitusStandin | ImageName::PatroniCitus => resolved.citus = tag,
                ImageName::Base => {}
            }
        }
    }
    resolved.total = start.elapsed();
    Ok(resolved)
}

/// The `images/` folder: the first `images/` holding `patroni/Dockerfile` found walking up from
/// the current directory, else the one next to this crate's sources.
pub fn default_images_dir() -> PathBuf {
    if let Ok(cwd) = std::env::current_dir() {
        for dir in cwd.ancestors() {
            let candidate = dir.join("images");
            if candidate.join("patroni").join("Dockerfile").is_file() {
                return candidate;
            }
        }
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("images")
}

/// One file of a build context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ContextFile {
    /// Path inside the context, `/`-separated.
    pub path: String,
    /// Unix permission bits.
    pub mode: u32,
    /// Contents.
    pub contents: Vec<u8>,
}

/// The tag of the base image of `suite`: a hash of its recipe.
pub(crate) fn base_tag(suite: DebianSuite) -> String {
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
pub(crate) fn image_tag(
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

async fn image_exists(docker: &Docker, tag: &str) -> Result<bool, ImageError> {
    match docker.inspect_image(tag).await {
        Ok(_) => Ok(true),
        Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => Ok(false),
        Err(source) => Err(ImageError::Docker { action: format!("inspect image {tag}"), source }),
    }
}

/// Builds one derived image unless a tag with the same inputs exists. Returns the tag and, when it
/// was built, how long that took.
async fn ensure_derived(
    docker: &Docker,
    name: ImageName,
    parent: &str,
    opts: &ImageOptions,
    progress: &dyn Fn(&str),
) -> Result<(String, Option<Duration>), ImageError> {
    let dir = opts.images_dir.join(name.as_str());
    let mut files = read_context(&dir)?;
    if name == ImageName::Patroni {
        files.extend(host_ca_files(progress));
    }
    let build_args = build_args(name, parent, &opts.set);
    let tag = image_tag(name, &files, &build_args, parent);
    if !opts.force_rebuild && image_exists(docker, &tag).await? {
        progress(&format!("image {tag}: reused"));
        return Ok((tag, None));
    }
    let start = Instant::now();
    progress(&format!("image {tag}: building from {}", dir.display()));
    build(docker, name, &tag, &files, &build_args, opts.force_rebuild, progress).await?;
    let took = start.elapsed();
    progress(&format!("image {tag}: built in {:.1}s", took.as_secs_f64()));
    Ok((tag, Some(took)))
}

/// The build arguments of `name` on `parent` for `set`; all of them are hashed into the tag.
fn build_args(name: ImageName, parent: &str, set: &ImageSet) -> BTreeMap<String, String> {
    let parent_arg = if name.on_patroni() { "PATRONI_IMAGE" } else { "BASE" };
    let mut args = BTreeMap::from([(parent_arg.to_string(), parent.to_string())]);
    if name == ImageName::Patroni {
        args.insert("PATRONI_VERSION".to_string(), set.patroni.clone());
    }
    if name.has_postgres() {
        args.insert("PG_MAJOR".to_string(), set.pg.to_string());
    }
    args
}

/// Every file under `dir`, with paths relative to it.
fn read_context(dir: &Path) -> Result<Vec<ContextFile>, ImageError> {
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
fn host_ca_files(progress: &dyn Fn(&str)) -> Vec<ContextFile> {
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

fn context_tar(files: &[ContextFile]) -> Vec<u8> {
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

/// Runs the classic builder (Docker 20.10 has no BuildKit session for API clients).
async fn build(
    docker: &Docker,
    name: ImageName,
    tag: &str,
    files: &[ContextFile],
    build_args: &BTreeMap<String, String>,
    no_cache: bool,
    progress: &dyn Fn(&str),
) -> Result<(), ImageError> {
    let labels = BTreeMap::from([(LABEL_IMAGE, name.as_str())]).into_iter().collect();
    let args = build_args.clone().into_iter().collect();
    let options = BuildImageOptionsBuilder::default()
        .dockerfile("Dockerfile")
        .t(tag)
        .buildargs(&args)
        .labels(&labels)
        .rm(true)
        .forcerm(true)
        .nocache(no_cache)
        .build();
    let body = bollard::body_full(Bytes::from(context_tar(files)));
    let mut stream = docker.build_image(options, None, Some(body));
    let mut output = StepOutput::default();
    while let Some(item) = stream.next().await {
        match item {
            Ok(info) => {
                if let Some(text) = info.stream {
                    for step in output.push(&text) {
                        progress(&format!("image {tag}: {step}"));
                    }
                }
            }
            Err(source) => {
                return Err(ImageError::BuildFailed {
                    image: name,
                    tag: tag.to_string(),
                    base: build_args
                        .get("BASE")
                        .or_else(|| build_args.get("PATRONI_IMAGE"))
                        .cloned()
                        .unwrap_or_default(),
                    step: output.step.clone().unwrap_or_else(|| "(before the first step)".into()),
                    step_output: output.tail(),
                    source: Box::new(source),
                });
            }
        }
    }
    // An error the stream did not report as such still leaves no tag behind.
    if !image_exists(docker, tag).await? {
        return Err(ImageError::BuildFailed {
            image: name,
            tag: tag.to_string(),
            base: build_args.get("BASE").or_else(|| build_args.get("PATRONI_IMAGE")).cloned().unwrap_or_default(),
            step: output.step.clone().unwrap_or_default(),
            step_output: output.tail(),
            source: Box::new(bollard::errors::Error::DockerStreamError {
                error: "the build ended without producing the image".into(),
            }),
        });
    }
    Ok(())
}

/// Splits the builder's output into lines and keeps the current step's last lines.
#[derive(Debug, Default)]
struct StepOutput {
    partial: String,
    step: Option<String>,
    lines: std::collections::VecDeque<String>,
}

impl StepOutput {
    /// Adds a chunk; returns the step headers it completed (`Step 3/9 : RUN ...`).
    fn push(&mut self, chunk: &str) -> Vec<String> {
        self.partial.push_str(chunk);
        let mut steps = Vec::new();
        while let Some(end) = self.partial.find('\n') {
            let line: String = self.partial.drain(..=end).collect();
            // The classic builder colours a step's stderr with ANSI escapes.
            let line = line.replace("\u{1b}[91m", "").replace("\u{1b}[0m", "").trim_end().to_string();
            if line.starts_with(" ---> Running in ") || line.starts_with("Removing intermediate container") {
                continue;
            }
            if line.starts_with("Step ") {
                self.step = Some(line.clone());
                self.lines.clear();
                steps.push(line);
            } else if !line.is_empty() {
                if self.lines.len() == TAIL_LINES {
                    self.lines.pop_front();
                }
                self.lines.push_back(line);
            }
        }
        steps
    }

    fn tail(&self) -> String {
        let mut lines: Vec<&str> = self.lines.iter().map(String::as_str).collect();
        if !self.partial.trim().is_empty() {
            lines.push(self.partial.trim_end());
        }
        lines.iter().map(|l| format!("    {l}")).collect::<Vec<_>>().join("\n")
    }
}

/// Makes the base image of `suite`: a pull when a registry answers, else debootstrap + import.
async fn build_base(docker: &Docker, suite: DebianSuite, tag: &str, progress: &dyn Fn(&str)) -> Result<(), ImageError> {
    let pull_tag = format!("{suite}-slim");
    progress(&format!("image {tag}: trying `docker pull {BASE_PULL_IMAGE}:{pull_tag}`"));
    match pull_base(docker, &pull_tag, tag).await {
        Ok(()) => {
            progress(&format!("image {tag}: pulled {BASE_PULL_IMAGE}:{pull_tag}"));
            return Ok(());
        }
        Err(why) => {
            progress(&format!("image {tag}: no registry ({why}); creating Debian {suite} with debootstrap (~30-90 s)"))
        }
    }
    let debootstrap = find_or_install_debootstrap(progress).await?;
    let script = suite_script(Path::new(DEBOOTSTRAP_SCRIPTS), suite, progress)?;
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().subsec_nanos();
    let root = std::env::temp_dir().join(format!("pgdrill-base-{}-{nanos:08x}", std::process::id()));
    let outcome = debootstrap_and_import(docker, &debootstrap, script.as_deref(), suite, &root, tag, progress).await;
    remove_root(&root).await;
    outcome
}

/// The script debootstrap should run for `suite`: `None` when it has one of that name (Debian's
/// debootstrap ships every suite name as a symlink to `sid`). An older debootstrap that predates
/// the suite is given the `sid` script explicitly, which is exactly what Debian's symlink does;
/// with neither, the error says to install a newer debootstrap.
fn suite_script(scripts: &Path, suite: DebianSuite, progress: &dyn Fn(&str)) -> Result<Option<PathBuf>, ImageError> {
    if scripts.join(suite.as_str()).exists() || !scripts.is_dir() {
        // No scripts folder here (another layout, DEBOOTSTRAP_DIR): let debootstrap decide.
        return Ok(None);
    }
    let sid = scripts.join("sid");
    if sid.is_file() {
        progress(&format!(
            "debootstrap has no `{suite}` script; using {} as Debian's own symlink would",
            sid.display()
        ));
        return Ok(Some(sid));
    }
    Err(ImageError::BaseCommand {
        command: format!("debootstrap {suite}"),
        status: format!("cannot run: neither {}/{suite} nor {}/sid exists", scripts.display(), scripts.display()),
        output: String::new(),
        hint: "Install a newer debootstrap (e.g. from bookworm-backports: `apt-get install -t bookworm-backports debootstrap`).",
    })
}

async fn pull_base(docker: &Docker, pull_tag: &str, tag: &str) -> Result<(), String> {
    let options = CreateImageOptionsBuilder::default().from_image(BASE_PULL_IMAGE).tag(pull_tag).build();
    let pull = async {
        let mut stream = docker.create_image(Some(options), None, None);
        while let Some(item) = stream.next().await {
            item.map_err(|e| e.to_string())?;
        }
        Ok::<(), String>(())
    };
    tokio::time::timeout(BASE_PULL_TIMEOUT, pull)
        .await
        .map_err(|_| format!("no answer within {}s", BASE_PULL_TIMEOUT.as_secs()))??;
    let (repo, version) = tag.split_once(':').expect("tags have a version");
    let options = TagImageOptionsBuilder::default().repo(repo).tag(version).build();
    docker.tag_image(&format!("{BASE_PULL_IMAGE}:{pull_tag}"), Some(options)).await.map_err(|e| e.to_string())
}

async fn debootstrap_and_import(
    docker: &Docker,
    debootstrap: &Path,
    script: Option<&Path>,
    suite: DebianSuite,
    root: &Path,
    tag: &str,
    progress: &dyn Fn(&str),
) -> Result<(), ImageError> {
    let t = Instant::now();
    let mut command = Command::new(debootstrap);
    command.arg(format!("--variant={BASE_VARIANT}")).arg(suite.as_str()).arg(root).arg(BASE_MIRROR);
    if let Some(script) = script {
        command.arg(script);
    }
    run_checked(
        &mut command,
        "Check that the Debian mirror is reachable (http://deb.debian.org) and that there is free disk space in the \
         temp directory. \"Release signed by unknown key\" means the host's debian-archive-keyring predates the suite: \
         upgrade it (`apt-get install debian-archive-keyring`; 2023.3+deb12u2 has the trixie keys).",
    )
    .await?;
    progress(&format!("image {tag}: debootstrap done in {:.1}s; importing", t.elapsed().as_secs_f64()));
    // Package caches only make the image bigger; every Dockerfile runs `apt-get update` anyway.
    for dir in ["var/cache/apt/archives", "var/lib/apt/lists"] {
        if let Ok(entries) = std::fs::read_dir(root.join(dir)) {
            for entry in entries.flatten() {
                if entry.file_type().map(|t| t.is_file()).unwrap_or(false) {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
    }
    import_root(docker, root, tag).await
}

/// `tar -C root -c . | docker import - tag`, streamed.
async fn import_root(docker: &Docker, root: &Path, tag: &str) -> Result<(), ImageError> {
    let command_line = format!("tar --numeric-owner -C {} -c .", root.display());
    let mut tar = Command::new("tar")
        .arg("--numeric-owner")
        .arg("-C")
        .arg(root)
        .args(["-c", "."])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| ImageError::BaseCommand {
            command: command_line.clone(),
            status: format!("could not start: {e}"),
            output: String::new(),
            hint: "Install GNU tar.",
        })?;
    let stdout = tar.stdout.take().expect("piped");
    let mut stderr = tar.stderr.take().expect("piped");
    // Drained concurrently so a chatty tar can never block on a full pipe.
    let stderr_task = tokio::spawn(async move {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text).await;
        text
    });
    let body = futures_util::stream::unfold(Some(stdout), |state| async move {
        let mut out = state?;
        let mut buf = vec![0u8; 256 * 1024];
        match out.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(Bytes::from(buf)), Some(out)))
            }
            Err(e) => Some((Err(e), None)),
        }
    });
    let (repo, version) = tag.split_once(':').expect("tags have a version");
    let options = CreateImageOptions {
        from_src: Some("-".into()),
        repo: Some(repo.into()),
        tag: Some(version.into()),
        changes: vec![
            format!("ENV PATH={BASE_PATH}"),
            format!("LABEL {LABEL_IMAGE}=base"),
            r#"CMD ["bash"]"#.to_string(),
        ],
        ..CreateImageOptions::default()
    };
    let mut stream = docker.create_image(Some(options), Some(bollard::body_try_stream(body)), None);
    let mut failure = None;
    while let Some(item) = stream.next().await {
        if let Err(source) = item {
            failure = Some(source);
            break;
        }
    }
    drop(stream);
    let status = tar.wait().await;
    let tar_output = stderr_task.await.unwrap_or_default();
    let tar_failed = !matches!(&status, Ok(s) if s.success());
    if let Some(source) = failure {
        let tar_output =
            if tar_output.trim().is_empty() { String::new() } else { format!("\n  tar: {}", tar_output.trim()) };
        return Err(ImageError::ImportFailed { tag: tag.to_string(), source, tar_output });
    }
    if tar_failed {
        return Err(ImageError::BaseCommand {
            command: command_line,
            status: describe_status(&status),
            output: tail_lines(&tar_output),
            hint: "The debootstrapped tree could not be archived; check free disk space.",
        });
    }
    if !image_exists(docker, tag).await? {
        let source =
            bollard::errors::Error::DockerStreamError { error: "the import ended without producing the image".into() };
        return Err(ImageError::ImportFailed { tag: tag.to_string(), source, tar_output: String::new() });
    }
    Ok(())
}

/// Finds debootstrap; installs it with apt-get when running as root on a Debian-like host.
async fn find_or_install_debootstrap(progress: &dyn Fn(&str)) -> Result<PathBuf, ImageError> {
    if let Some(path) = find_program("debootstrap") {
        return Ok(path);
    }
    let install_command = "apt-get install -y debootstrap".to_string();
    let Some(apt_get) = find_program("apt-get") else {
        return Err(ImageError::DebootstrapMissing {
            reason: "it is not installed and there is no apt-get".into(),
            install_command: "your package manager's equivalent of `apt-get install debootstrap`".into(),
        });
    };
    if !running_as_root() {
        return Err(ImageError::DebootstrapMissing {
            reason: "it is not installed and pgdrill is not running as root".into(),
            install_command: format!("sudo {install_command}"),
        });
    }
    let hint = "Install debootstrap by hand, or make `docker pull debian:<suite>-slim` work.";
    progress(&format!("debootstrap not found; running `{install_command}`"));
    let install = || {
        let mut cmd = Command::new(&apt_get);
        cmd.args(["install", "-y", "debootstrap"]).env("DEBIAN_FRONTEND", "noninteractive");
        cmd
    };
    if run_checked(&mut install(), hint).await.is_err() {
        progress("apt-get install failed; running `apt-get update` and trying again");
        run_checked(Command::new(&apt_get).arg("update"), hint).await?;
        run_checked(&mut install(), hint).await?;
    }
    find_program("debootstrap").ok_or_else(|| ImageError::DebootstrapMissing {
        reason: "apt-get installed it but it is not on PATH, /usr/sbin or /sbin".into(),
        install_command,
    })
}

/// Runs a command to completion; a failure carries its last output lines.
async fn run_checked(command: &mut Command, hint: &'static str) -> Result<(), ImageError> {
    let std_command = command.as_std();
    let command_line = std::iter::once(std_command.get_program())
        .chain(std_command.get_args())
        .map(|s| s.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    let output = command.stdin(Stdio::null()).kill_on_drop(true).output().await;
    match output {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => {
            let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
            Err(ImageError::BaseCommand {
                command: command_line,
                status: describe_status(&Ok(out.status)),
                output: tail_lines(&text),
                hint,
            })
        }
        Err(e) => Err(ImageError::BaseCommand {
            command: command_line,
            status: format!("could not start: {e}"),
            output: String::new(),
            hint,
        }),
    }
}

fn describe_status(status: &std::io::Result<std::process::ExitStatus>) -> String {
    match status {
        Ok(s) => format!("failed ({s})"),
        Err(e) => format!("failed: {e}"),
    }
}

fn tail_lines(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(TAIL_LINES);
    lines[start..].iter().map(|l| format!("    {l}")).collect::<Vec<_>>().join("\n")
}

/// Looks on PATH and in the sbin folders (often missing from a non-login root PATH).
fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/local/sbin", "/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    // /proc/self belongs to the process's effective user.
    std::fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false)
}

/// Removes the debootstrap tree, first unmounting anything a failed debootstrap left mounted in
/// it (its /proc, /sys): deleting through a live mount would be a disaster.
async fn remove_root(root: &Path) {
    if let Ok(mounts) = std::fs::read_to_string("/proc/self/mounts") {
        let prefix = root.to_string_lossy().into_owned();
        let mut inside: Vec<&str> = mounts
            .lines()
            .filter_map(|line| line.split_whitespace().nth(1))
            .filter(|point| point.starts_with(&prefix))
            .collect();
        inside.sort_by_key(|point| std::cmp::Reverse(point.len()));
        for point in &inside {
            let _ = Command::new("umount").arg("-l").arg(point).status().await;
        }
        let still_mounted = std::fs::read_to_string("/proc/self/mounts")
            .map(|m| m.lines().any(|l| l.split_whitespace().nth(1).is_some_and(|p| p.starts_with(&prefix))))
            .unwrap_or(true);
        if still_mounted {
            return;
        }
    }
    let root = root.to_path_buf();
    let _ = tokio::task::spawn_blocking(move || std::fs::remove_dir_all(root)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, contents: &str) -> ContextFile {
        ContextFile { path: path.into(), mode: 0o644, contents: contents.as_bytes().to_vec() }
    }

    fn args(version: &str) -> BTreeMap<String, String> {
        BTreeMap::from([("BASE".into(), "pgdrill-base:0".into()), ("PATRONI_VERSION".into(), version.into())])
    }

    #[test]
    fn tag_is_stable_and_independent_of_file_order() {
        let a = [file("Dockerfile", "FROM x"), file("entrypoint.sh", "exec y")];
        let b = [file("entrypoint.sh", "exec y"), file("Dockerfile", "FROM x")];
        let tag = image_tag(ImageName::Patroni, &a, &args("4.1.5"), "pgdrill-base:0");
        assert_eq!(tag, image_tag(ImageName::Patroni, &b, &args("4.1.5"), "pgdrill-base:0"));
        assert!(tag.starts_with("pgdrill-patroni:"));
        assert_eq!(tag.len(), "pgdrill-patroni:".len() + 12);
        assert!(tag.rsplit(':').next().unwrap().chars().all(|c| c.is_ascii_hexdigit()));
    }

    #[test]
    fn tag_changes_with_every_input() {
        let files = [file("Dockerfile", "FROM x"), file("entrypoint.sh", "exec y")];
        let base = image_tag(ImageName::Patroni, &files, &args("4.1.5"), "pgdrill-base:0");
        let edited = [file("Dockerfile", "FROM x"), file("entrypoint.sh", "exec z")];
        let mut executable = files.clone();
        executable[1].mode = 0o755;
        let added = [files[0].clone(), files[1].clone(), file("ca/extra.crt", "cert")];
        let renamed = [file("Dockerfile", "FROM x"), file("entry.sh", "exec y")];
        let variants = [
            image_tag(ImageName::Patroni, &edited, &args("4.1.5"), "pgdrill-base:0"),
            image_tag(ImageName::Patroni, &executable, &args("4.1.5"), "pgdrill-base:0"),
            image_tag(ImageName::Patroni, &added, &args("4.1.5"), "pgdrill-base:0"),
            image_tag(ImageName::Patroni, &renamed, &args("4.1.5"), "pgdrill-base:0"),
            image_tag(ImageName::Patroni, &files, &args("4.1.4"), "pgdrill-base:0"),
            image_tag(ImageName::Patroni, &files, &args("4.1.5"), "pgdrill-base:1"),
        ];
        for variant in &variants {
            assert_ne!(&base, variant);
        }
        // The name is part of the tag, and of the hash.
        let etcd = image_tag(ImageName::Etcd, &files, &args("4.1.5"), "pgdrill-base:0");
        assert_ne!(etcd.split(':').nth(1), base.split(':').nth(1));
    }

    #[test]
    fn field_boundaries_matter() {
        let a = [file("ab", "c")];
        let b = [file("a", "bc")];
        let none = BTreeMap::new();
        assert_ne!(image_tag(ImageName::Etcd, &a, &none, "p"), image_tag(ImageName::Etcd, &b, &none, "p"));
    }

    #[test]
    fn base_tags_are_stable_and_differ_by_suite() {
        // Pinned: the bookworm base predates image sets, and its cached image must stay valid.
        assert_eq!(base_tag(DebianSuite::Bookworm), "pgdrill-base:45d0bb9352d8");
        assert_ne!(base_tag(DebianSuite::Trixie), base_tag(DebianSuite::Bookworm));
        assert!(base_tag(DebianSuite::Trixie).starts_with("pgdrill-base:"));
    }

    #[test]
    fn every_input_of_a_set_changes_the_postgres_images_tags() {
        let files = [file("Dockerfile", "FROM x")];
        let set = |text: &str| {
            let choices: Vec<ImageChoice> = text.split(',').map(|c| c.parse().unwrap()).collect();
            ImageSet::from_choices(&choices).unwrap()
        };
        let tag = |name, parent: &str, s: &ImageSet| image_tag(name, &files, &build_args(name, parent, s), parent);
        let sets = [set("patroni=4.1.5,pg=15"), set("patroni=3.3.2,pg=15"), set("patroni=4.1.5,pg=17")];
        // Same parent on purpose: PG_MAJOR alone must change the tag (the base differs as well).
        let patroni: Vec<String> = sets.iter().map(|s| tag(ImageName::Patroni, "pgdrill-base:0", s)).collect();
        assert_ne!(patroni[0], patroni[1]);
        assert_ne!(patroni[0], patroni[2]);
        assert_ne!(patroni[1], patroni[2]);
        assert_eq!(build_args(ImageName::Patroni, "b", &sets[2])["PG_MAJOR"], "17");
        // The Citus images get the major too; images without PostgreSQL do not depend on the set.
        assert_ne!(tag(ImageName::CitusStandin, "p", &sets[0]), tag(ImageName::CitusStandin, "p", &sets[2]));
        assert_eq!(tag(ImageName::Etcd, "b", &sets[0]), tag(ImageName::Etcd, "b", &sets[2]));
    }

    #[test]
    fn a_debootstrap_without_the_suites_script_is_given_sid() {
        let dir = std::env::temp_dir().join(format!("pgdrill-scripts-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("sid"), "# sid").unwrap();
        std::fs::write(dir.join("bookworm"), "# sid").unwrap();
        let quiet = |_: &str| {};
        assert_eq!(suite_script(&dir, DebianSuite::Bookworm, &quiet).unwrap(), None);
        assert_eq!(suite_script(&dir, DebianSuite::Trixie, &quiet).unwrap(), Some(dir.join("sid")));
        std::fs::remove_file(dir.join("sid")).unwrap();
        let error = suite_script(&dir, DebianSuite::Trixie, &quiet).unwrap_err().to_string();
        assert!(error.contains("bookworm-backports"), "{error}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn every_image_has_a_recipe_with_its_name() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../images");
        for name in ImageName::ALL.into_iter().filter(|n| *n != ImageName::Base) {
            let files = read_context(&dir.join(name.as_str())).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(files.iter().any(|f| f.path == "Dockerfile"), "{name}");
            if let Some(entrypoint) = files.iter().find(|f| f.path == "entrypoint.sh") {
                assert_eq!(entrypoint.mode, 0o755, "{name}/entrypoint.sh is executable");
            }
        }
        assert_eq!(ImageName::PostgresExporter.repository(), "pgdrill-postgres-exporter");
    }

    #[test]
    fn shipped_recipes_are_read_with_their_modes() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../images/patroni");
        let files = read_context(&dir).expect("images/patroni is readable");
        let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
        assert!(paths.contains(&"Dockerfile"));
        assert!(paths.contains(&"ca/.keep"));
        let entrypoint = files.iter().find(|f| f.path == "entrypoint.sh").expect("entrypoint");
        assert_eq!(entrypoint.mode, 0o755);
    }

    #[test]
    fn step_output_keeps_the_current_steps_tail() {
        let mut out = StepOutput::default();
        assert_eq!(out.push("Step 1/2 : FROM x\n ---> abc\nStep 2/2 : RUN f"), vec!["Step 1/2 : FROM x".to_string()]);
        assert_eq!(out.push("alse\n"), vec!["Step 2/2 : RUN false".to_string()]);
        out.push(
            " ---> Running in 4b93\n\u{1b}[91mE: it broke\n\u{1b}[0mRemoving intermediate container 4b93\npartial",
        );
        assert_eq!(out.step.as_deref(), Some("Step 2/2 : RUN false"));
        assert_eq!(out.tail(), "    E: it broke\n    partial");
    }

    /// Builds every image for real (needs Docker; minutes when cold):
    /// `cargo test -p pgdrill --lib ensure_images_builds_everything -- --ignored --nocapture`.
    #[tokio::test]
    #[ignore = "needs a Docker engine; builds images"]
    async fn ensure_images_builds_everything() {
        let docker = Docker::connect_with_local_defaults().unwrap().negotiate_version().await.unwrap();
        let start = Instant::now();
        let print = |line: &str| println!("[{:6.1}s] {line}", start.elapsed().as_secs_f64());
        let wanted = &ImageName::ALL[1..];
        let images =
            ensure_images(&docker, wanted, &ImageOptions::default(), &print).await.unwrap_or_else(|e| panic!("{e}"));
        println!("{images:#?}");
        let tags = [
            &images.base,
            &images.etcd,
            &images.patroni,
            &images.haproxy,
            &images.prometheus,
            &images.alertmanager,
            &images.postgres_exporter,
        ];
        for tag in tags {
            assert!(image_exists(&docker, tag).await.unwrap(), "{tag} exists");
        }
        // A second call reuses everything.
        let again = ensure_images(&docker, wanted, &ImageOptions::default(), &print).await.unwrap();
        assert!(again.built.is_empty());
        assert_eq!(again.patroni, images.patroni);
    }
}
