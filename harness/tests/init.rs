//! `pgdrill init` into temporary directories, no Docker: every file it writes, the drills
//! validating (`pgdrill validate`), the rule file named in place inside a repository and copied
//! from outside one, an existing manifest extended, and refusals that name the file and write
//! nothing.
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const PGDRILL: &str = env!("CARGO_BIN_EXE_pgdrill");

fn harness() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pgdrill-init-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn pgdrill(cwd: &Path, args: &[&str]) -> Output {
    Command::new(PGDRILL).args(args).current_dir(cwd).output().expect("pgdrill runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A user's own rule file, as a PrometheusRule manifest (the one tests/init_project.rs drills).
const PROMETHEUS_RULE: &str = include_str!("fixtures/shop-prometheusrule.yaml");

/// The value of `max-threads` in a nextest configuration's text.
fn max_threads(config: &str) -> String {
    let at = config.find("max-threads").expect("a test group with max-threads");
    config[at..].split(['}', '\n']).next().unwrap().to_string()
}

#[test]
fn init_writes_every_file_and_its_drills_validate() {
    let root = temp_dir("fresh");
    let rules = root.join("prometheusrule.yaml");
    fs::write(&rules, PROMETHEUS_RULE).unwrap();
    let dir = root.join("shop");
    let harness = harness();
    let out = pgdrill(
        &root,
        &["init", "shop", "--citus", "--rules", "prometheusrule.yaml", "--pgdrill-path", harness.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}{}", text(&out.stdout), text(&out.stderr));
    let stdout = text(&out.stdout);

    let kill = read(&dir.join("drills/kill-primary.yaml"));
    // No .git above shop/: the rule file is outside the drills' repository, so it is copied.
    assert!(kill.contains(r#"monitoring: {rules: ["rules/prometheusrule.yaml"], for_scale: 0.1}"#), "{kill}");
    assert_eq!(read(&dir.join("drills/rules/prometheusrule.yaml")), PROMETHEUS_RULE);
    assert!(stdout.contains("copied to"), "{stdout}");
    assert!(kill.contains("# Alerts of your rules: FailoverDetected, NoPrimaryInCluster."), "{kill}");
    assert!(read(&dir.join("drills/switchover.yaml")).contains("fault: switchover"));
    assert!(read(&dir.join("drills/citus-worker-kill.yaml")).contains("kind: citus"));

    let manifest = read(&dir.join("Cargo.toml"));
    assert!(manifest.contains("name = \"shop-drills\""), "{manifest}");
    assert!(manifest.contains(&format!("pgdrill = {{ path = {:?} }}", harness.canonicalize().unwrap())), "{manifest}");
    assert!(
        manifest.contains("[[test]]\nname = \"drills\"\npath = \"tests/drills.rs\"\nharness = false"),
        "{manifest}"
    );
    assert!(dir.join("src/lib.rs").exists(), "a package needs a target of its own");
    assert!(read(&dir.join("Cargo.lock")).contains("name = \"libtest-mimic\""), "seeded from pgdrill's lock");
    assert!(read(&dir.join("tests/drills.rs")).contains("pgdrill::testing::Drills::new("));

    let nextest = read(&dir.join(".config/nextest.toml"));
    assert_eq!(max_threads(&nextest), max_threads(&read(&harness.join("../.config/nextest.toml"))));
    for wanted in
        ["filter = \"binary(drills)\"", "test-group = \"pgdrill-docker\"", "[profile.ci.junit]", "leak-timeout"]
    {
        assert!(nextest.contains(wanted), "{wanted} missing:\n{nextest}");
    }
    let workflow = read(&dir.join(".github/workflows/drills.yml"));
    assert!(workflow.contains("cargo nextest run --profile ci --test drills"), "{workflow}");
    assert!(workflow.contains("PGDRILL_REQUIRE_DOCKER: \"1\""), "{workflow}");
    assert!(workflow.contains("path dependency"), "the workflow says the checkout must be there too");
    assert!(!stdout.contains('@') && !kill.contains('@') && !manifest.contains('@'), "a placeholder is left");

    let drills = ["drills/kill-primary.yaml", "drills/switchover.yaml", "drills/citus-worker-kill.yaml"];
    let out = pgdrill(&dir, &[&["validate"][..], &drills].concat());
    assert!(out.status.success(), "{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(text(&out.stdout).matches(": ok").count(), 3, "{}", text(&out.stdout));
    fs::remove_dir_all(&root).unwrap();
}

#[test]
fn inside_a_repository_the_rule_file_is_named_where_it_is_and_a_manifest_is_extended() {
    let repo = temp_dir("repo");
    fs::create_dir_all(repo.join(".git")).unwrap();
    fs::create_dir_all(repo.join("deploy")).unwrap();
    fs::write(repo.join("deploy/alerts.yaml"), PROMETHEUS_RULE).unwrap();
    let manifest = "[package]\nname = \"shop\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dev-dependencies]\n";
    fs::write(repo.join("Cargo.toml"), manifest).unwrap();
    let out =
        pgdrill(&repo, &["init", "--rules", "deploy/alerts.yaml", "--pgdrill-git", "https://example.org/pgdrill.git"]);
    assert!(out.status.success(), "{}{}", text(&out.stdout), text(&out.stderr));
    let kill = read(&repo.join("drills/kill-primary.yaml"));
    assert!(kill.contains(r#"rules: ["../deploy/alerts.yaml"]"#), "{kill}");
    assert!(!repo.join("drills/rules").exists(), "nothing copied");
    assert!(!repo.join("drills/citus-worker-kill.yaml").exists(), "no Citus drill without --citus");
    let extended = read(&repo.join("Cargo.toml"));
    assert!(extended.starts_with(manifest), "the user's lines are kept as they were:\n{extended}");
    assert!(extended.contains("[dev-dependencies]\npgdrill = { git = \"https://example.org/pgdrill.git\" }\n"));
    assert_eq!(extended.matches("[dev-dependencies]").count(), 1, "{extended}");
    assert!(!repo.join("src/lib.rs").exists() && !repo.join("Cargo.lock").exists(), "an existing crate is left alone");
    let out = pgdrill(&repo, &["validate", "drills/kill-primary.yaml", "drills/switchover.yaml"]);
    assert!(out.status.success(), "{}{}", text(&out.stdout), text(&out.stderr));

    // Twice: refused, naming the file, and the manifest is unchanged.
    let out = pgdrill(&repo, &["init", "--pgdrill-git", "https://example.org/pgdrill.git"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("Cargo.toml depends on pgdrill already"), "{}", text(&out.stderr));
    assert_eq!(read(&repo.join("Cargo.toml")), extended);
    fs::remove_dir_all(&repo).unwrap();
}

#[test]
fn an_existing_file_is_never_overwritten_and_nothing_is_written() {
    let dir = temp_dir("exists");
    fs::create_dir_all(dir.join(".config")).unwrap();
    fs::write(dir.join(".config/nextest.toml"), "# mine\n").unwrap();
    let out = pgdrill(&dir, &["init", "--pgdrill-git", "https://example.org/pgdrill.git"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!("{} exists", dir.canonicalize().unwrap().join(".config/nextest.toml").display())),
        "{stderr}"
    );
    assert!(stderr.contains("never overwrites"), "{stderr}");
    assert_eq!(read(&dir.join(".config/nextest.toml")), "# mine\n");
    assert!(!dir.join("drills").exists() && !dir.join("Cargo.toml").exists(), "nothing written");
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_rules_and_a_path_that_is_not_pgdrill_are_refused_by_name() {
    let dir = temp_dir("bad");
    fs::write(dir.join("rules.yaml"), "just: a map\n").unwrap();
    let out = pgdrill(&dir, &["init", "x", "--rules", "rules.yaml", "--pgdrill-git", "https://example.org/p.git"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("--rules rules.yaml") && stderr.contains("not a rule file"), "{stderr}");
    let out = pgdrill(&dir, &["init", "y", "--pgdrill-path", "."]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--pgdrill-path .: cannot read"), "{}", text(&out.stderr));
    assert!(!dir.join("x").exists() && !dir.join("y").exists(), "nothing written");
    fs::remove_dir_all(&dir).unwrap();
}
