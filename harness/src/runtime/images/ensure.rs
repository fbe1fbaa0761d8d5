//! Making sure a run's images exist: the bases first (one after the other: debootstrap is
//! heavy), then the images on them concurrently, then those on the Patroni image; each is built
//! only when no image with the same inputs (tag) exists.
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bollard::Docker;

use super::base::build_base;
use super::build::build;
use super::context::{host_ca_files, recipe_context, ContextFile};
use super::error::ImageError;
use super::name::ImageName;
use super::options::{ImageOptions, ResolvedImages};
use super::tags::{base_tag, image_exists, image_tag};
use crate::runtime::host_lock;
use crate::runtime::image_set::{DebianSuite, ImageSet};

/// How long a build waits for another process's build of the same image: beyond the longest
/// base build (debootstrap and import, bounded at 30 min together).
const BUILD_LOCK_WAIT: Duration = Duration::from_secs(35 * 60);

/// The suite of every image but the Patroni image (and those built on it).
const COMMON_SUITE: DebianSuite = DebianSuite::Bookworm;

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
            let _lock = build_lock(&tag, progress).await?;
            // Another process may have made it while this one waited for the lock.
            if opts.force_rebuild || !image_exists(docker, &tag).await? {
                let t = Instant::now();
                build_base(docker, suite, &tag, progress).await?;
                resolved.built.push((ImageName::Base, t.elapsed()));
            }
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
                ImageName::Pgbouncer => resolved.pgbouncer = tag,
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

/// Builds one derived image unless a tag with the same inputs exists. Returns the tag and, when it
/// was built, how long that took.
async fn ensure_derived(
    docker: &Docker,
    name: ImageName,
    parent: &str,
    opts: &ImageOptions,
    progress: &dyn Fn(&str),
) -> Result<(String, Option<Duration>), ImageError> {
    let (tag, files, build_args) = derived_inputs(name, parent, opts, progress)?;
    if !opts.force_rebuild && image_exists(docker, &tag).await? {
        progress(&format!("image {tag}: reused"));
        return Ok((tag, None));
    }
    let _lock = build_lock(&tag, progress).await?;
    if !opts.force_rebuild && image_exists(docker, &tag).await? {
        progress(&format!("image {tag}: built by another pgdrill process meanwhile"));
        return Ok((tag, None));
    }
    let start = Instant::now();
    progress(&format!("image {tag}: building from {}", opts.recipes.describe(name.as_str())));
    build(docker, name, &tag, &files, &build_args, opts.force_rebuild, progress).await?;
    let took = start.elapsed();
    progress(&format!("image {tag}: built in {:.1}s", took.as_secs_f64()));
    Ok((tag, Some(took)))
}

/// The host-wide lock for building `tag`: two processes missing the same image (the two Docker
/// slots of a test run, a drill beside it) build it once; the second waits, then finds it.
async fn build_lock(tag: &str, progress: &dyn Fn(&str)) -> Result<std::fs::File, ImageError> {
    let name: String =
        tag.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '.' { c } else { '_' }).collect();
    let name = format!("image-{name}");
    if host_lock::is_held(&name) {
        progress(&format!("image {tag}: another pgdrill process is building it; waiting"));
    }
    let what = format!("another pgdrill process building image {tag}");
    host_lock::acquire(&name, &what, BUILD_LOCK_WAIT, Duration::from_millis(500)).await.map_err(ImageError::from)
}

/// A derived image's tag, the build context and the build arguments it hashes.
type DerivedInputs = (String, Vec<ContextFile>, BTreeMap<String, String>);

/// The tag of a derived image on `parent`, with the build context and arguments it hashes.
fn derived_inputs(
    name: ImageName,
    parent: &str,
    opts: &ImageOptions,
    progress: &dyn Fn(&str),
) -> Result<DerivedInputs, ImageError> {
    let mut files = recipe_context(&opts.recipes, name.as_str())?;
    if name == ImageName::Patroni {
        files.extend(host_ca_files(progress));
    }
    let build_args = build_args(name, parent, &opts.set);
    let tag = image_tag(name, &files, &build_args, parent);
    Ok((tag, files, build_args))
}

/// The tags `ensure_images` would give the `wanted` images, computed from their inputs without
/// Docker and without building anything (`built` stays empty): what a Compose file names.
/// Whether the engine has them is [`image_present`]'s question.
pub fn planned_tags(
    wanted: &[ImageName],
    opts: &ImageOptions,
    progress: &dyn Fn(&str),
) -> Result<ResolvedImages, ImageError> {
    let patroni_base = base_tag(opts.set.pg.suite());
    let mut resolved = ResolvedImages { set: opts.set.clone(), base: base_tag(COMMON_SUITE), ..Default::default() };
    let needs_patroni = wanted.iter().any(|n| *n == ImageName::Patroni || n.on_patroni());
    if needs_patroni {
        resolved.patroni = derived_inputs(ImageName::Patroni, &patroni_base, opts, progress)?.0;
        resolved.patroni_base = patroni_base;
    }
    for &name in wanted {
        let parent = if name.on_patroni() { resolved.patroni.clone() } else { resolved.base.clone() };
        let slot = match name {
            ImageName::Base | ImageName::Patroni => continue,
            ImageName::Etcd => &mut resolved.etcd,
            ImageName::Haproxy => &mut resolved.haproxy,
            ImageName::Pgbouncer => &mut resolved.pgbouncer,
            ImageName::Prometheus => &mut resolved.prometheus,
            ImageName::Alertmanager => &mut resolved.alertmanager,
            ImageName::PostgresExporter => &mut resolved.postgres_exporter,
            ImageName::CitusStandin | ImageName::PatroniCitus => &mut resolved.citus,
        };
        *slot = derived_inputs(name, &parent, opts, progress)?.0;
    }
    Ok(resolved)
}

/// Whether the engine has an image of `tag`.
pub async fn image_present(docker: &Docker, tag: &str) -> Result<bool, ImageError> {
    image_exists(docker, tag).await
}

/// The build arguments of `name` on `parent` for `set`; all of them are hashed into the tag.
pub(super) fn build_args(name: ImageName, parent: &str, set: &ImageSet) -> BTreeMap<String, String> {
    let parent_arg = if name.on_patroni() { "PATRONI_IMAGE" } else { "BASE" };
    let mut args = BTreeMap::from([(parent_arg.to_string(), parent.to_string())]);
    if name == ImageName::Patroni {
        args.insert("PATRONI_VERSION".to_string(), set.patroni.clone());
    }
    if name.has_postgres() {
        args.insert("PG_MAJOR".to_string(), set.pg.to_string());
    }
    if name == ImageName::PatroniCitus {
        args.insert("CITUS_PACKAGE".to_string(), set.citus_version().package(set.pg));
    }
    args
}
