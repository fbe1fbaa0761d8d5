//! The bar of issue 14: a fresh cargo project outside the checkout, made by `pgdrill init` with
//! a path dependency on this checkout and a rule file of its own (a PrometheusRule manifest),
//! passes `cargo nextest run --profile ci` with its drills, and its JUnit names each drill.
//!
//! Docker test (nextest's `docker` group), ignored by default: after any change to pgdrill's
//! source it costs minutes more than the suite's budget for one test (docs/own-repository.md). `CARGO_TARGET_DIR` is the workspace's target, so
//! pgdrill's dependencies are not built again (pgdrill itself is: in the user's crate it is a
//! dependency, compiled at the `opt-level = 1` of the `profile.dev.package."*"` init writes).
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const PGDRILL: &str = env!("CARGO_BIN_EXE_pgdrill");

/// A user's own rule file, as a PrometheusRule manifest.
const RULES: &str = include_str!("fixtures/shop-prometheusrule.yaml");

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
}

fn run(command: &mut Command) -> String {
    let out = command.output().unwrap_or_else(|e| panic!("{command:?}: {e}"));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{command:?} failed ({}):\n{text}", out.status);
    text
}

#[test]
#[ignore = "after any change to pgdrill it builds pgdrill once more as the project's dependency (357 s in all here, \
            55 s warm): `cargo nextest run --test init_project --run-ignored only`"]
fn a_project_made_by_init_runs_its_drills_under_nextest() {
    let root = std::env::temp_dir().join(format!("pgdrill-init-project-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let shop = root.join("shop");
    std::fs::create_dir_all(shop.join("monitoring")).unwrap();
    std::fs::write(shop.join("monitoring/alerts.yaml"), RULES).unwrap();
    run(Command::new("git").args(["init", "-q"]).current_dir(&shop));
    let harness = Path::new(env!("CARGO_MANIFEST_DIR")).canonicalize().unwrap();
    let harness = harness.to_str().unwrap();
    println!(
        "{}",
        run(Command::new(PGDRILL)
            .args(["init", ".", "--pgdrill-path", harness, "--rules", "monitoring/alerts.yaml"])
            .current_dir(&shop))
    );

    let target = target_dir();
    // Nextest's store is under the project's own target/ (its workspace root), whatever
    // CARGO_TARGET_DIR says.
    let junit = shop.join("target/nextest/ci/junit.xml");
    let mut nextest = Command::new("cargo");
    nextest.args(["nextest", "run", "--profile", "ci", "--test", "drills"]).current_dir(&shop);
    // The outer nextest's and cargo's variables describe pgdrill's run, not this project's.
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy().into_owned();
        if key.starts_with("NEXTEST") || (key.starts_with("CARGO_") && key != "CARGO_HOME") {
            nextest.env_remove(&key);
        }
    }
    nextest.env("CARGO_TARGET_DIR", &target).env("CARGO_TERM_COLOR", "never");
    let started = Instant::now();
    let output = run(&mut nextest);
    println!("{output}\ncargo nextest run in the new project: {:.1} s", started.elapsed().as_secs_f64());

    let junit = std::fs::read_to_string(&junit).unwrap_or_else(|e| panic!("{}: {e}\n{output}", junit.display()));
    for drill in ["drill::kill-primary", "drill::switchover"] {
        assert!(junit.contains(&format!("name=\"{drill}\"")), "JUnit should name {drill}:\n{junit}");
    }
    assert!(!junit.contains("<failure"), "{junit}");
    assert!(output.contains("2 tests run: 2 passed"), "{output}");
    // The kill-primary drill evaluated the project's own rules.
    let reports = shop.join("target/pgdrill-reports");
    let any_report = std::fs::read_dir(&reports).unwrap().filter_map(Result::ok).any(|run| {
        std::fs::read_to_string(run.path().join("report.json")).is_ok_and(|r| r.contains("FailoverDetected"))
    });
    assert!(any_report, "a report in {} should name the project's FailoverDetected rule", reports.display());
    std::fs::remove_dir_all(&root).unwrap();
}
