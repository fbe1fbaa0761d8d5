//! The Debian base image of a suite, made on this machine: `docker pull debian:<suite>-slim` when
//! a registry answers, else debootstrap (installed with apt-get if needed) and `docker import`.
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use bollard::query_parameters::{CreateImageOptions, CreateImageOptionsBuilder, TagImageOptionsBuilder};
use bollard::Docker;
use bytes::Bytes;
use futures_util::StreamExt;
use tokio::io::AsyncReadExt;
use tokio::process::Command;

use super::error::{ImageError, TAIL_LINES};
use super::name::LABEL_IMAGE;
use super::tags::{image_exists, BASE_MIRROR, BASE_PATH, BASE_VARIANT};
use crate::runtime::image_set::DebianSuite;

/// Tried first (as `debian:<suite>-slim`): on machines with a registry it is quicker than
/// debootstrap.
const BASE_PULL_IMAGE: &str = "debian";
/// Where debootstrap keeps its per-suite scripts (Debian's package; `DEBOOTSTRAP_DIR` moves it).
const DEBOOTSTRAP_SCRIPTS: &str = "/usr/share/debootstrap/scripts";
const BASE_PULL_TIMEOUT: Duration = Duration::from_secs(15);
/// debootstrap of a minbase suite takes 30-90 s here; a mirror that stops answering must not
/// hang the run.
const DEBOOTSTRAP_LIMIT: Duration = Duration::from_secs(20 * 60);
/// `apt-get update` / `apt-get install debootstrap` on the host.
const APT_LIMIT: Duration = Duration::from_secs(10 * 60);
/// Streaming the debootstrapped tree (~100 MB) into `docker import`.
const IMPORT_LIMIT: Duration = Duration::from_secs(10 * 60);

/// Makes the base image of `suite`: a pull when a registry answers, else debootstrap + import.
pub(super) async fn build_base(
    docker: &Docker,
    suite: DebianSuite,
    tag: &str,
    progress: &dyn Fn(&str),
) -> Result<(), ImageError> {
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
pub(super) fn suite_script(
    scripts: &Path,
    suite: DebianSuite,
    progress: &dyn Fn(&str),
) -> Result<Option<PathBuf>, ImageError> {
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
        DEBOOTSTRAP_LIMIT,
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
    match tokio::time::timeout(IMPORT_LIMIT, import_root(docker, root, tag)).await {
        Ok(imported) => imported,
        // Dropping the import kills tar (kill_on_drop) and closes the engine's upload.
        Err(_) => Err(ImageError::BaseCommand {
            command: format!("tar -C {} -c . | docker import - {tag}", root.display()),
            status: format!("did not finish within {} min", IMPORT_LIMIT.as_secs() / 60),
            output: String::new(),
            hint: "Check free disk space and that the Docker engine is responsive (`docker info`).",
        }),
    }
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
    if run_checked(&mut install(), APT_LIMIT, hint).await.is_err() {
        progress("apt-get install failed; running `apt-get update` and trying again");
        run_checked(Command::new(&apt_get).arg("update"), APT_LIMIT, hint).await?;
        run_checked(&mut install(), APT_LIMIT, hint).await?;
    }
    find_program("debootstrap").ok_or_else(|| ImageError::DebootstrapMissing {
        reason: "apt-get installed it but it is not on PATH, /usr/sbin or /sbin".into(),
        install_command,
    })
}

/// Runs a command to completion within `limit` (killed after it); a failure carries its last
/// output lines.
pub(super) async fn run_checked(command: &mut Command, limit: Duration, hint: &'static str) -> Result<(), ImageError> {
    let std_command = command.as_std();
    let command_line = std::iter::once(std_command.get_program())
        .chain(std_command.get_args())
        .map(|s| s.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    let output = match tokio::time::timeout(limit, command.stdin(Stdio::null()).kill_on_drop(true).output()).await {
        Ok(output) => output,
        Err(_) => {
            return Err(ImageError::BaseCommand {
                command: command_line,
                status: format!("did not finish within {} s and was killed", limit.as_secs()),
                output: String::new(),
                hint,
            })
        }
    };
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
