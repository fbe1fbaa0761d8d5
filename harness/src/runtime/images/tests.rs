use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use bollard::Docker;

use super::base::{run_checked, suite_script};
use super::build::{next_bounded, StepOutput};
use super::context::{embedded_context, read_context, ContextFile};
use super::ensure::build_args;
use super::tags::{base_tag, image_exists, image_tag};
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
    out.push(" ---> Running in 4b93\n\u{1b}[91mE: it broke\n\u{1b}[0mRemoving intermediate container 4b93\npartial");
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

#[tokio::test]
async fn a_host_command_past_its_limit_is_killed_and_said() {
    let started = Instant::now();
    let mut sleep = tokio::process::Command::new("sleep");
    sleep.arg("30");
    let error = run_checked(&mut sleep, std::time::Duration::from_millis(300), "hint").await.unwrap_err();
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "the limit ended the wait");
    let text = error.to_string();
    assert!(text.contains("`sleep 30` did not finish within 0 s and was killed"), "{text}");
}

#[tokio::test(start_paused = true)]
async fn a_silent_build_stream_ends_at_the_silence_limit() {
    use std::time::Duration;
    let mut silent = futures_util::stream::pending::<u8>();
    let far = tokio::time::Instant::now() + Duration::from_secs(3600);
    let why = next_bounded(&mut silent, far, Duration::from_secs(600)).await.unwrap_err();
    assert_eq!(why, "the build printed nothing for 600 s");
    let soon = tokio::time::Instant::now() + Duration::from_secs(5);
    let why = next_bounded(&mut silent, soon, Duration::from_secs(600)).await.unwrap_err();
    assert_eq!(why, "the build ran out of its time limit");
    let mut one = futures_util::stream::iter([7u8]);
    assert_eq!(next_bounded(&mut one, far, Duration::from_secs(1)).await, Ok(Some(7)));
    assert_eq!(next_bounded(&mut one, far, Duration::from_secs(1)).await, Ok(None));
}

#[test]
fn the_embedded_recipes_are_the_checkouts_files() {
    let images = Path::new(env!("CARGO_MANIFEST_DIR")).join("../images");
    let mut names: Vec<String> =
        std::fs::read_dir(&images).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    assert!(names.len() >= 8, "{names:?}");
    for name in &names {
        let on_disk = read_context(&images.join(name)).unwrap();
        let embedded = embedded_context(name).unwrap();
        assert_eq!(embedded, on_disk, "images/{name}: the binary would build another context than the checkout");
    }
    assert!(embedded_context("no-such-image").is_err());
}
