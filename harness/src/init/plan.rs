//! What `pgdrill init DIR` writes: every file's path and contents, decided before anything is
//! written, so a refusal (a file that exists, a manifest that has the drills already, a rule
//! file that does not parse) leaves the directory as it was.
use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::manifest::{extend_manifest, new_manifest};
use super::paths::{absolute, quoted, relative};
use super::templates::{
    replace_line, CITUS_WORKER_KILL, KILL_PRIMARY, LIB_RS, NEXTEST, SWITCHOVER, TEST_MAIN, WORKFLOW,
};

/// Where the user's crate gets pgdrill from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dependency {
    /// A checkout's `harness/` directory (`--pgdrill-path`).
    Path(PathBuf),
    /// A git repository (`--pgdrill-git`).
    Git(String),
}

impl Dependency {
    /// The source tree this binary was compiled from, when it is a checkout that is still there
    /// (`cargo install --path`, a build in a clone): not cargo's own cache of git checkouts or of
    /// the registry, which is no place for a user's manifest to point at.
    pub fn compiled_from() -> Option<Self> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
        // Cargo's caches: `$CARGO_HOME/git/checkouts/…` and `$CARGO_HOME/registry/src/…`.
        let in_cargo_cache =
            dir.components().any(|c| ["checkouts", "registry", ".cargo"].contains(&&*c.as_os_str().to_string_lossy()));
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).ok()?;
        (!in_cargo_cache && manifest.contains("name = \"pgdrill\"")).then(|| Self::Path(dir.to_path_buf()))
    }
}

/// What to scaffold.
#[derive(Debug, Clone)]
pub struct InitOptions {
    /// The user's repository (or the package in it); created when missing.
    pub dir: PathBuf,
    /// Also a Citus drill.
    pub citus: bool,
    /// The user's alert rules (a Prometheus rule file or PrometheusRule manifests), evaluated
    /// during the kill-primary drill.
    pub rules: Option<PathBuf>,
    /// Where pgdrill comes from.
    pub dependency: Dependency,
}

/// One file of the scaffold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A new file.
    Create {
        /// Its path.
        path: PathBuf,
        /// Its contents.
        contents: String,
    },
    /// An existing file's new contents (only the user's `Cargo.toml`: the test target and the
    /// dev-dependency added, nothing else changed).
    Extend {
        /// Its path.
        path: PathBuf,
        /// What it held when the scaffold was planned (it is refused if it changed since).
        before: String,
        /// Its new contents.
        contents: String,
    },
}

impl Change {
    /// The file's path.
    pub fn path(&self) -> &Path {
        match self {
            Self::Create { path, .. } | Self::Extend { path, .. } => path,
        }
    }
}

/// Every file `init` writes, and what it says about them.
#[derive(Debug, Clone)]
pub struct Scaffold {
    /// The files, in the order they are written.
    pub changes: Vec<Change>,
    /// What the user should know (a rule file copied, where the dependency points).
    pub notes: Vec<String>,
}

/// Why `init` wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// A file it would write exists.
    #[error("{} exists; pgdrill init never overwrites a file (move it away or scaffold into another directory)", path.display())]
    Exists {
        /// The file.
        path: PathBuf,
    },
    /// The user's manifest cannot take the drills.
    #[error("{} {reason}", path.display())]
    Manifest {
        /// The manifest.
        path: PathBuf,
        /// Why.
        reason: &'static str,
    },
    /// The rule file does not parse as one.
    #[error("--rules {}: not usable", path.display())]
    Rules {
        /// The file given.
        path: PathBuf,
        /// What the loader said.
        #[source]
        source: crate::monitoring::RuleFileError,
    },
    /// `--pgdrill-path` is not pgdrill's package.
    #[error("--pgdrill-path {}: {why}", path.display())]
    NotPgdrill {
        /// The path given.
        path: PathBuf,
        /// Why not.
        why: String,
    },
    /// A file could not be read or written.
    #[error("failed to {action} {}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
}

/// The scaffold for `options`: reads `DIR`, writes nothing.
pub fn plan(options: &InitOptions) -> Result<Scaffold, InitError> {
    let dir = absolute(&options.dir);
    let drills = dir.join("drills");
    let mut changes = Vec::new();
    let mut notes = Vec::new();

    let dependency = dependency_line(&options.dependency, &dir, &mut notes)?;
    let (monitoring, alerts) = match &options.rules {
        Some(rules) => rule_lines(rules, &dir, &mut changes, &mut notes)?,
        None => (Vec::new(), Vec::new()),
    };
    let kill = replace_line(&replace_line(KILL_PRIMARY, "@MONITORING@", &monitoring), "@ALERTS@", &alerts);
    changes.push(create(drills.join("kill-primary.yaml"), kill));
    changes.push(create(drills.join("switchover.yaml"), SWITCHOVER.to_string()));
    if options.citus {
        changes.push(create(drills.join("citus-worker-kill.yaml"), CITUS_WORKER_KILL.to_string()));
    }
    changes.push(create(dir.join("tests/drills.rs"), TEST_MAIN.to_string()));
    changes.push(create(dir.join(".config/nextest.toml"), NEXTEST.to_string()));
    let note = match &options.dependency {
        Dependency::Path(_) => vec![
            "# pgdrill is a path dependency of this crate (Cargo.toml): the runner needs that checkout".into(),
            "# too, e.g. a second actions/checkout step, or switch to `pgdrill = { git = \"...\" }`.".into(),
        ],
        Dependency::Git(_) => Vec::new(),
    };
    changes.push(create(dir.join(".github/workflows/drills.yml"), replace_line(WORKFLOW, "@NOTE@", &note)));
    changes.extend(manifest_changes(&dir, &dependency, &options.dependency)?);

    for change in &changes {
        if let Change::Create { path, .. } = change {
            if path.exists() {
                return Err(InitError::Exists { path: path.clone() });
            }
        }
    }
    Ok(Scaffold { changes, notes })
}

fn create(path: PathBuf, contents: String) -> Change {
    Change::Create { path, contents }
}

/// The dev-dependency line of the user's manifest.
fn dependency_line(dependency: &Dependency, dir: &Path, notes: &mut Vec<String>) -> Result<String, InitError> {
    match dependency {
        Dependency::Git(url) => Ok(format!("pgdrill = {{ git = {} }}", quoted(url))),
        Dependency::Path(path) => {
            let not = |why: String| InitError::NotPgdrill { path: path.clone(), why };
            let manifest = path.join("Cargo.toml");
            let text = std::fs::read_to_string(&manifest)
                .map_err(|e| not(format!("cannot read {}: {e} (give a checkout's harness/)", manifest.display())))?;
            if !text.contains("name = \"pgdrill\"") {
                return Err(not(format!(
                    "{} is not pgdrill's package (give a checkout's harness/)",
                    manifest.display()
                )));
            }
            // Written as given: relative to DIR when given relative, absolute when absolute.
            let canonical = absolute(path);
            let written = if path.is_absolute() { canonical } else { relative(dir, &canonical) };
            notes.push(format!("pgdrill comes from {} (a path dependency)", written.display()));
            Ok(format!("pgdrill = {{ path = {} }}", quoted(&written.to_string_lossy())))
        }
    }
}

/// The kill-primary drill's monitoring line and alert hint for the rule file at `rules`: named
/// where it is when that is inside the drills' repository (where a scenario may name it), else
/// copied into `drills/rules/`.
fn rule_lines(
    rules: &Path,
    dir: &Path,
    changes: &mut Vec<Change>,
    notes: &mut Vec<String>,
) -> Result<(Vec<String>, Vec<String>), InitError> {
    let file = crate::monitoring::load_rule_file(rules)
        .map_err(|source| InitError::Rules { path: rules.to_path_buf(), source })?;
    let drills = dir.join("drills");
    let rules_abs = absolute(rules);
    // As scenario validation decides (validate/rules.rs): the nearest directory holding `.git`.
    let root = dir.ancestors().find(|a| a.join(".git").exists()).map(Path::to_path_buf).unwrap_or(drills.clone());
    let written = if rules_abs.starts_with(&root) {
        relative(&drills, &rules_abs)
    } else {
        let name = rules.file_name().map(PathBuf::from).unwrap_or_else(|| PathBuf::from("rules.yaml"));
        let copy = drills.join("rules").join(&name);
        let contents = std::fs::read_to_string(rules).map_err(|source| InitError::Io {
            action: "read",
            path: rules.to_path_buf(),
            source,
        })?;
        notes.push(format!(
            "{} is outside the repository of drills/ ({}), where a scenario may not name it: copied to {} \
             (keep it in step, or move drills/ into the rules' repository and run init again)",
            rules.display(),
            root.display(),
            copy.display()
        ));
        changes.push(create(copy, contents));
        PathBuf::from("rules").join(name)
    };
    let monitoring = vec![
        "  # Your alert rules, evaluated by Prometheus during the drill (`for:` durations x for_scale);".into(),
        "  # the report says which fired, and which could not see the fault.".into(),
        format!("  monitoring: {{rules: [{}], for_scale: 0.1}}", quoted(&written.to_string_lossy())),
    ];
    let names: Vec<String> = file.alerts().into_iter().map(|a| a.name).collect();
    let alerts = match names.first() {
        None => Vec::new(),
        Some(first) => {
            let shown: Vec<&str> = names.iter().take(8).map(String::as_str).collect();
            let more = if names.len() > 8 { format!(" and {} more", names.len() - 8) } else { String::new() };
            vec![
                format!("      # Alerts of your rules: {}{more}.", shown.join(", ")),
                "      # Uncomment and name one that must fire on this fault:".to_string(),
                format!("      # - alert: {{name: {first}, state: firing, within: 90s}}"),
            ]
        }
    };
    Ok((monitoring, alerts))
}

/// The manifest (new, or the user's extended), a new crate's `src/lib.rs`, and its lock file
/// seeded from pgdrill's (the versions pgdrill is tested with, and what a shared target
/// directory has built already).
fn manifest_changes(dir: &Path, line: &str, dependency: &Dependency) -> Result<Vec<Change>, InitError> {
    let path = dir.join("Cargo.toml");
    if path.exists() {
        let before = std::fs::read_to_string(&path).map_err(|source| InitError::Io {
            action: "read",
            path: path.clone(),
            source,
        })?;
        let contents = extend_manifest(&before, line)
            .map_err(|refusal| InitError::Manifest { path: path.clone(), reason: refusal.reason() })?;
        return Ok(vec![Change::Extend { path, before, contents }]);
    }
    let name = package_name(dir);
    let mut changes = vec![create(path, new_manifest(&name, line))];
    if !dir.join("src/lib.rs").exists() && !dir.join("src/main.rs").exists() {
        changes.push(create(dir.join("src/lib.rs"), LIB_RS.to_string()));
    }
    if let Dependency::Path(harness) = dependency {
        let lock = absolute(harness).join("../Cargo.lock");
        if let (false, Ok(text)) = (dir.join("Cargo.lock").exists(), std::fs::read_to_string(&lock)) {
            changes.push(create(dir.join("Cargo.lock"), text));
        }
    }
    Ok(changes)
}

/// A package name from the directory's: lowercase letters, digits, `-` and `_`, `-drills` added.
fn package_name(dir: &Path) -> String {
    let base = dir.file_name().map(|n| n.to_string_lossy().to_lowercase()).unwrap_or_default();
    let clean: String = base.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '-' }).collect();
    let clean = clean.trim_matches('-');
    match clean.chars().next() {
        Some(c) if c.is_ascii_alphabetic() => format!("{clean}-drills"),
        _ => "drills".to_string(),
    }
}

impl Scaffold {
    /// Writes every file: new ones created (never replacing one that appeared since the plan),
    /// the manifest rewritten only if it still holds what was planned on.
    pub fn write(&self) -> Result<(), InitError> {
        for change in &self.changes {
            let io = |action, source| InitError::Io { action, path: change.path().to_path_buf(), source };
            if let Some(parent) = change.path().parent() {
                std::fs::create_dir_all(parent).map_err(|e| io("create the directory of", e))?;
            }
            match change {
                Change::Create { path, contents } => {
                    let mut file =
                        std::fs::OpenOptions::new().write(true).create_new(true).open(path).map_err(|e| {
                            match e.kind() {
                                std::io::ErrorKind::AlreadyExists => InitError::Exists { path: path.clone() },
                                _ => io("create", e),
                            }
                        })?;
                    file.write_all(contents.as_bytes()).map_err(|e| io("write", e))?;
                }
                Change::Extend { path, before, contents } => {
                    let now = std::fs::read_to_string(path).map_err(|e| io("read", e))?;
                    if &now != before {
                        return Err(InitError::Manifest {
                            path: path.clone(),
                            reason: "changed while pgdrill init ran",
                        });
                    }
                    std::fs::write(path, contents).map_err(|e| io("write", e))?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_names_are_valid_crate_names() {
        assert_eq!(package_name(Path::new("/x/My Shop")), "my-shop-drills");
        assert_eq!(package_name(Path::new("/x/1st")), "drills");
        assert_eq!(package_name(Path::new("/")), "drills");
    }

    #[test]
    fn the_alert_hint_and_monitoring_lines_fit_the_template() {
        let dir = std::env::temp_dir().join(format!("pgdrill-init-plan-{}", std::process::id()));
        std::fs::create_dir_all(dir.join(".git")).unwrap();
        std::fs::create_dir_all(dir.join("monitoring")).unwrap();
        let rules = dir.join("monitoring/rules.yaml");
        std::fs::write(
            &rules,
            "groups:\n- name: g\n  rules:\n  - alert: FailoverDetected\n    expr: up == 0\n    for: 1m\n",
        )
        .unwrap();
        let mut changes = Vec::new();
        let (monitoring, alerts) = rule_lines(&rules, &dir, &mut changes, &mut Vec::new()).unwrap();
        assert!(changes.is_empty(), "a rule file inside the repository is named, not copied");
        assert!(monitoring[2].contains(r#"rules: ["../monitoring/rules.yaml"]"#), "{monitoring:?}");
        assert!(alerts[2].contains("name: FailoverDetected"), "{alerts:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
