//! The files `pgdrill init` writes, from `harness/templates/init/`, and their few placeholders
//! (`@NAME@`-style, each replaced as a whole line or value).

/// The starter drill killing the primary (`@MONITORING@`, `@ALERTS@`: lines for a rule file).
pub(super) const KILL_PRIMARY: &str = include_str!("../../templates/init/drills/kill-primary.yaml");
/// The starter switchover drill.
pub(super) const SWITCHOVER: &str = include_str!("../../templates/init/drills/switchover.yaml");
/// The Citus starter drill (`--citus`).
pub(super) const CITUS_WORKER_KILL: &str = include_str!("../../templates/init/drills/citus-worker-kill.yaml");
/// `tests/drills.rs`.
pub(super) const TEST_MAIN: &str = include_str!("../../templates/init/tests/drills.rs");
/// `.config/nextest.toml`.
pub(super) const NEXTEST: &str = include_str!("../../templates/init/nextest.toml");
/// `.github/workflows/drills.yml` (`@NOTE@`: comment lines about the dependency).
pub(super) const WORKFLOW: &str = include_str!("../../templates/init/drills.yml");
/// A new crate's `Cargo.toml` (`@NAME@`, `@DEPENDENCY@`, `@TEST_TARGET@`).
pub(super) const CARGO_TOML: &str = include_str!("../../templates/init/Cargo.toml");
/// The `[[test]]` target appended to a manifest.
pub(super) const TEST_TARGET: &str = include_str!("../../templates/init/test-target.toml");
/// A new crate's `src/lib.rs`.
pub(super) const LIB_RS: &str = include_str!("../../templates/init/lib.rs");

/// `template` with the line holding only `marker` (after indentation) replaced by `lines`
/// (nothing when empty).
pub(super) fn replace_line(template: &str, marker: &str, lines: &[String]) -> String {
    let mut out = String::with_capacity(template.len());
    for line in template.lines() {
        if line.trim() == marker {
            for l in lines {
                out.push_str(l);
                out.push('\n');
            }
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}
