//! The user's `Cargo.toml`: a new crate's, or an existing one with the drills' test target and
//! the dev-dependency on pgdrill added. Pure text in, text out: a manifest that already has
//! either, or has no `[package]`, is refused with the reason.
use super::templates::{replace_line, CARGO_TOML, TEST_TARGET};

/// Why an existing manifest cannot take the drills.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Refusal {
    /// A workspace's root manifest without a package of its own.
    Virtual,
    /// It declares a test target named `drills` already.
    HasTestTarget,
    /// It depends on pgdrill already (in any dependency table).
    HasPgdrill,
}

impl Refusal {
    /// Why, in words.
    pub(super) fn reason(&self) -> &'static str {
        match self {
            Self::Virtual => {
                "is a workspace manifest without [package]: run `pgdrill init` in a member's directory (or a new \
                 one, then add it to the workspace's members)"
            }
            Self::HasTestTarget => "declares a test target named `drills` already",
            Self::HasPgdrill => "depends on pgdrill already",
        }
    }
}

/// A new crate's manifest: package `name`, the dev-dependency line, the test target.
pub(super) fn new_manifest(name: &str, dependency: &str) -> String {
    let text = CARGO_TOML.replace("@NAME@", name);
    let text = replace_line(&text, "@DEPENDENCY@", &[dependency.to_string()]);
    let target: Vec<String> = TEST_TARGET.lines().map(str::to_string).collect();
    replace_line(&text, "@TEST_TARGET@", &target)
}

/// A table header of a manifest line (`[dev-dependencies]`, `[[test]]`), without comments.
fn header(line: &str) -> Option<&str> {
    let line = line.split('#').next().unwrap_or("").trim();
    (line.starts_with('[') && line.ends_with(']')).then_some(line)
}

/// `existing` with the dev-dependency line added to its `[dev-dependencies]` table (created at
/// the end when it has none) and the test target appended.
pub(super) fn extend_manifest(existing: &str, dependency: &str) -> Result<String, Refusal> {
    let mut table = "";
    let mut has_package = false;
    let mut in_test = false;
    for line in existing.lines() {
        if let Some(h) = header(line) {
            table = h;
            has_package |= h == "[package]";
            in_test = h == "[[test]]";
            continue;
        }
        let key = line.split('=').next().unwrap_or("").trim();
        if in_test && key == "name" && line.split('=').nth(1).is_some_and(|v| v.trim().trim_matches('"') == "drills") {
            return Err(Refusal::HasTestTarget);
        }
        let dependency_table = table.contains("dependencies");
        let dotted = key == "pgdrill" || key.starts_with("pgdrill.");
        if (dependency_table && dotted) || table.ends_with("dependencies.pgdrill]") {
            return Err(Refusal::HasPgdrill);
        }
    }
    if !has_package {
        return Err(Refusal::Virtual);
    }
    let mut out = String::with_capacity(existing.len() + 256);
    let mut added = false;
    for line in existing.lines() {
        out.push_str(line);
        out.push('\n');
        if !added && header(line) == Some("[dev-dependencies]") {
            out.push_str(dependency);
            out.push('\n');
            added = true;
        }
    }
    if !added {
        out.push_str(&format!("\n[dev-dependencies]\n{dependency}\n"));
    }
    out.push_str(TEST_TARGET);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use indoc::indoc;

    const DEP: &str = r#"pgdrill = { path = "../pgdrill/harness" }"#;

    #[test]
    fn adds_to_an_existing_dev_dependencies_table_and_appends_the_target() {
        let existing = indoc! {r#"
            [package]
            name = "app"

            [dev-dependencies]
            tokio = "1"

            [features]
            x = []
        "#};
        let out = extend_manifest(existing, DEP).unwrap();
        assert!(
            out.contains("[dev-dependencies]\npgdrill = { path = \"../pgdrill/harness\" }\ntokio = \"1\""),
            "{out}"
        );
        assert_eq!(out.matches("[dev-dependencies]").count(), 1, "{out}");
        assert!(out.ends_with("[[test]]\nname = \"drills\"\npath = \"tests/drills.rs\"\nharness = false\n"), "{out}");
    }

    #[test]
    fn creates_the_dev_dependencies_table_when_there_is_none() {
        let out = extend_manifest("[package]\nname = \"app\"\n", DEP).unwrap();
        assert!(out.contains(&format!("\n[dev-dependencies]\n{DEP}\n")), "{out}");
    }

    #[test]
    fn refuses_what_has_the_drills_already_or_no_package() {
        let test_target = "[package]\nname = \"a\"\n[[test]]\nname = \"drills\"\npath = \"x.rs\"\n";
        assert_eq!(extend_manifest(test_target, DEP), Err(Refusal::HasTestTarget));
        let dependency = "[package]\nname = \"a\"\n[dependencies]\npgdrill = \"0.1\"\n";
        assert_eq!(extend_manifest(dependency, DEP), Err(Refusal::HasPgdrill));
        let table = "[package]\nname = \"a\"\n[dev-dependencies.pgdrill]\npath = \"x\"\n";
        assert_eq!(extend_manifest(table, DEP), Err(Refusal::HasPgdrill));
        assert_eq!(extend_manifest("[workspace]\nmembers = [\"a\"]\n", DEP), Err(Refusal::Virtual));
        // Another package's name starting with pgdrill is no reason to refuse.
        assert!(extend_manifest("[package]\nname = \"a\"\n[dependencies]\npgdrill-extra = \"1\"\n", DEP).is_ok());
    }

    #[test]
    fn a_new_manifest_has_the_package_the_dependency_and_the_target() {
        let out = new_manifest("shop-drills", DEP);
        assert!(out.contains("name = \"shop-drills\""), "{out}");
        assert!(out.contains(&format!("[dev-dependencies]\n{DEP}\n")), "{out}");
        assert!(out.contains("[[test]]\nname = \"drills\"\npath = \"tests/drills.rs\"\nharness = false\n"), "{out}");
        assert!(!out.contains('@'), "a placeholder is left: {out}");
    }
}
