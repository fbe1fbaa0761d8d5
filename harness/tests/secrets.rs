//! No password of a run ends up in what the run leaves behind. A short drill that uses every one
//! of them (postgres_exporter's DSN, the workload, replication, a REST switchover, patronictl
//! pause/resume) runs with `--keep`; the test then reads the run's passwords from the kept
//! containers' configuration (`docker inspect`: where they must be), checks Patroni's REST API
//! refuses an unsafe call without them and still answers GETs, removes the run with `pgdrill
//! down`, and finds none of the passwords in any file of the reports folder (report.json,
//! report.html, junit.xml, the saved container logs, anything else) nor in pgdrill's output.
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use bollard::query_parameters::{InspectContainerOptions, ListContainersOptions};
use pgdrill::runtime::{Runtime, LABEL_RUN};

const PGDRILL: &str = env!("CARGO_BIN_EXE_pgdrill");

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime").block_on(future)
}

/// `pgdrill down RUN` when dropped, so a failing test leaves no kept cluster.
struct KeptRun(Option<String>);

impl KeptRun {
    fn down(&mut self) {
        if let Some(run) = self.0.take() {
            let output = Command::new(PGDRILL).args(["down", &run]).output().expect("run pgdrill down");
            assert!(output.status.success(), "pgdrill down {run}: {}", String::from_utf8_lossy(&output.stderr));
        }
    }
}

impl Drop for KeptRun {
    fn drop(&mut self) {
        if let Some(run) = self.0.take() {
            let _ = Command::new(PGDRILL).args(["down", &run]).output();
        }
    }
}

/// One kept container as `docker inspect` shows it.
struct Inspected {
    component: String,
    env: BTreeMap<String, String>,
    /// Container port ("8008/tcp") to its host port on loopback.
    ports: HashMap<String, u16>,
}

/// Every container of `run`, by short name (the component label says what it is).
fn inspect_run(run: &str) -> BTreeMap<String, Inspected> {
    block_on(async {
        let docker = Runtime::connect().await.expect("docker");
        let filters = HashMap::from([("label".to_string(), vec![format!("{LABEL_RUN}={run}")])]);
        let list = ListContainersOptions { all: true, filters: Some(filters), ..Default::default() };
        let mut out = BTreeMap::new();
        for summary in docker.list_containers(Some(list)).await.expect("list containers") {
            let id = summary.id.expect("a container id");
            let info = docker.inspect_container(&id, None::<InspectContainerOptions>).await.expect("inspect");
            let config = info.config.expect("a container config");
            let labels = config.labels.unwrap_or_default();
            let env = config
                .env
                .unwrap_or_default()
                .into_iter()
                .filter_map(|kv| kv.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())))
                .collect();
            let ports = info
                .network_settings
                .and_then(|n| n.ports)
                .unwrap_or_default()
                .into_iter()
                .filter_map(|(port, bindings)| {
                    let host = bindings?.into_iter().find_map(|b| b.host_port?.parse().ok())?;
                    Some((port, host))
                })
                .collect();
            let name = info.name.unwrap_or_default().trim_start_matches('/').to_string();
            let component = labels.get("org.pgdrill.component").cloned().unwrap_or_default();
            out.insert(name, Inspected { component, env, ports });
        }
        out
    })
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display())).flatten() {
        let path = entry.path();
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// Whether `needle` occurs in `haystack` (bytes: a report file need not be UTF-8).
fn holds(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// Basic auth's header value for `user:password`, as a leaked request would show it.
fn basic_header(user: &str, password: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = format!("{user}:{password}").into_bytes();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            out.push(if i <= chunk.len() { ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char } else { '=' });
        }
    }
    out
}

/// Status of `method path` on a member's REST port, with `auth` (user, password) or none.
fn rest_status(port: u16, method: reqwest::Method, path: &str, auth: Option<(&str, &str)>) -> u16 {
    block_on(async {
        let client = reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(10)).build().unwrap();
        let mut request = client.request(method, format!("http://127.0.0.1:{port}{path}"));
        if let Some((user, password)) = auth {
            request = request.basic_auth(user, Some(password));
        }
        request.body(r#"{"pause": false}"#).send().await.expect("Patroni answers").status().as_u16()
    })
}

fn said(output: &Output) -> String {
    format!("{}\n{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

#[test]
fn no_password_of_a_run_is_in_its_reports_or_output() {
    let reports = std::env::temp_dir().join(format!("pgdrill-secrets-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&reports);
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/secrets-monitoring.yaml");
    let output = Command::new(PGDRILL)
        .arg("run")
        .arg(&fixture)
        .arg("--keep")
        .arg("--reports-dir")
        .arg(&reports)
        .output()
        .expect("run pgdrill");
    let text = said(&output);
    let run = std::fs::read_dir(&reports)
        .ok()
        .and_then(|mut dirs| dirs.find_map(|d| d.ok().filter(|d| d.path().is_dir())))
        .map(|d| d.file_name().to_string_lossy().to_string());
    let mut kept = KeptRun(run.clone());
    assert!(output.status.success(), "the drill failed:\n{text}");
    let run = run.expect("a report folder named by the run id");

    // The passwords, where they must be: the kept containers' configuration.
    let containers = inspect_run(&run);
    let members: Vec<&Inspected> = containers.values().filter(|c| c.component == "patroni").collect();
    assert_eq!(members.len(), 2, "two members in {:?}", containers.keys().collect::<Vec<_>>());
    let var = |c: &Inspected, name: &str| c.env.get(name).cloned().unwrap_or_else(|| panic!("{name} is set"));
    let superuser = var(members[0], "PATRONI_SUPERUSER_PASSWORD");
    let replication = var(members[0], "PATRONI_REPLICATION_PASSWORD");
    let rest = var(members[0], "PATRONI_RESTAPI_PASSWORD");
    let passwords = [("superuser", superuser.as_str()), ("replication", replication.as_str()), ("rest", rest.as_str())];
    for (name, password) in passwords {
        assert_eq!(password.len(), 32, "the {name} password is 128 random bits in hex");
    }
    assert!(superuser != replication && replication != rest && superuser != rest, "three passwords");
    for member in &members {
        assert_eq!(var(member, "PATRONI_RESTAPI_PASSWORD"), rest, "every member shares the REST password");
        assert!(!holds(var(member, "PATRONI_CONFIG_YAML").as_bytes(), &superuser), "no password in patroni.yml");
    }
    let exporters: Vec<&Inspected> = containers.values().filter(|c| c.component == "postgres-exporter").collect();
    assert_eq!(exporters.len(), 2, "an exporter per member");
    for exporter in &exporters {
        // The search below finds the password where it is: it is not blind.
        assert!(holds(var(exporter, "DATA_SOURCE_NAME").as_bytes(), &superuser), "the exporter connects with it");
    }

    // Unsafe REST methods need the password; GETs (health checks, observers) do not.
    let port = members[0].ports["8008/tcp"];
    assert_eq!(rest_status(port, reqwest::Method::GET, "/patroni", None), 200);
    assert_eq!(rest_status(port, reqwest::Method::POST, "/switchover", None), 401);
    assert_eq!(rest_status(port, reqwest::Method::PATCH, "/config", Some(("pgdrill", "wrong"))), 401);
    assert_eq!(rest_status(port, reqwest::Method::PATCH, "/config", Some(("pgdrill", &rest))), 200);

    kept.down();
    assert!(inspect_run(&run).is_empty(), "pgdrill down removed the run");

    // Nothing the run wrote holds a password, in clear or as a Basic auth header.
    let mut files = Vec::new();
    files_under(&reports, &mut files);
    let names: Vec<String> =
        files.iter().map(|f| f.strip_prefix(&reports).unwrap().display().to_string().replace('\\', "/")).collect();
    for expected in ["report.json", "report.html", "junit.xml", "logs/pg-1.log", "logs/pg-1-exporter.log"] {
        assert!(names.contains(&format!("{run}/{expected}")), "{expected} written: {names:?}");
    }
    let header = basic_header("pgdrill", &rest);
    for (file, name) in files.iter().zip(&names) {
        let bytes = std::fs::read(file).expect("read a report file");
        for (what, password) in passwords.iter().copied().chain([("rest (Basic auth)", header.as_str())]) {
            assert!(!holds(&bytes, password), "{name} holds the {what} password");
        }
    }
    for (what, password) in passwords {
        assert!(!holds(text.as_bytes(), password), "pgdrill run printed the {what} password");
    }
    println!("{text}\nsearched {} files for the run's passwords: {}", names.len(), names.join(", "));
    let _ = std::fs::remove_dir_all(&reports);
}

#[test]
fn basic_header_encodes_as_base64() {
    assert_eq!(basic_header("Aladdin", "open sesame"), "QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
    assert_eq!(basic_header("a", "b"), "YTpi");
}
