//! The folder of scenario files as a list of trials, and the `main` of a test target.
use std::path::{Path, PathBuf};
use std::sync::Arc;

use libtest_mimic::{Arguments, Completion, Failed, Trial};

use super::docker;
use super::drill::{expect_pass, load, run_loaded, DrillOptions};
use crate::engine::RunOutcome;
use crate::runtime::images::ImageOptions;

/// An extra check of a passed drill (scenario path, outcome); its error fails the trial.
pub type Check = Arc<dyn Fn(&Path, &RunOutcome) -> Result<(), Failed> + Send + Sync>;

/// Why the folder of drills gave no trials.
#[derive(Debug, thiserror::Error)]
pub enum DrillsError {
    /// The folder could not be read.
    #[error("failed to read the drills folder {}", path.display())]
    Read {
        /// The folder.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// The folder holds no scenario file: a suite of nothing would pass.
    #[error("no scenario files (*.yaml, *.yml) in {}", path.display())]
    Empty {
        /// The folder.
        path: PathBuf,
    },
}

/// Every scenario file (`*.yaml`, `*.yml`) of one folder as one trial, named prefix + file stem.
/// See the [module documentation](super) for what each trial checks.
///
/// A test target's `main`, with a trial of its own beside the drills:
///
/// ```no_run
/// use pgdrill::testing::{expect_pass, run_drill, Drills};
///
/// Drills::new(concat!(env!("CARGO_MANIFEST_DIR"), "/drills"))
///     .reports_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/target/pgdrill-reports"))
///     .allow_outside_rules(true)
///     .run_with(|drills, args| {
///         vec![drills.docker_trial(args, "slow::kill-primary-pg17", |options| {
///             expect_pass(&run_drill("slow/kill-primary-pg17.yaml".as_ref(), options)?)
///         })]
///     });
/// ```
#[derive(Clone)]
pub struct Drills {
    /// The folder of scenario files.
    dir: PathBuf,
    /// How each drill runs.
    options: DrillOptions,
    /// Put before each file stem in the trial's name.
    prefix: String,
    /// Run after a drill passed, in order.
    checks: Vec<Check>,
}

impl std::fmt::Debug for Drills {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Drills")
            .field("dir", &self.dir)
            .field("options", &self.options)
            .field("prefix", &self.prefix)
            .field("checks", &self.checks.len())
            .finish()
    }
}

impl Drills {
    /// The drills of folder `dir` (not its subfolders), with [`DrillOptions::default`] and the
    /// trial name prefix `drill::`. A relative `dir` is taken from the current directory, which
    /// cargo and nextest set to the package's root.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into(), options: DrillOptions::default(), prefix: "drill::".into(), checks: Vec::new() }
    }

    /// Where each run's `<run-id>/` report directory goes.
    pub fn reports_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.options.reports_dir = dir.into();
        self
    }

    /// Image set, Citus flavour and rebuild, as `--images`, `--citus` and `--rebuild` give them.
    pub fn images(mut self, images: ImageOptions) -> Self {
        self.options.images = images;
        self
    }

    /// Let scenarios name rule files by absolute path or outside their repository
    /// (`--allow-outside-rules`).
    pub fn allow_outside_rules(mut self, allow: bool) -> Self {
        self.options.load.allow_outside_rules = allow;
        self
    }

    /// No progress lines in the tests' output.
    pub fn quiet(mut self, quiet: bool) -> Self {
        self.options.quiet = quiet;
        self
    }

    /// The trial names' prefix (default `drill::`).
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Adds a check run after each drill passed (e.g. on the report's monitoring section).
    pub fn check(mut self, check: impl Fn(&Path, &RunOutcome) -> Result<(), Failed> + Send + Sync + 'static) -> Self {
        self.checks.push(Arc::new(check));
        self
    }

    /// How each drill runs.
    pub fn options(&self) -> &DrillOptions {
        &self.options
    }

    /// The scenario files, sorted by name.
    pub fn files(&self) -> Result<Vec<PathBuf>, DrillsError> {
        let read = |source| DrillsError::Read { path: self.dir.clone(), source };
        let mut files = Vec::new();
        for entry in std::fs::read_dir(&self.dir).map_err(read)? {
            let path = entry.map_err(read)?.path();
            if path.is_file() && path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                files.push(path);
            }
        }
        files.sort();
        if files.is_empty() {
            return Err(DrillsError::Empty { path: self.dir.clone() });
        }
        Ok(files)
    }

    /// One trial per scenario file. `args` says whether tests are being listed: only then is a
    /// drill flagged ignored for want of Docker (see [`docker`]).
    pub fn trials(&self, args: &Arguments) -> Result<Vec<Trial>, DrillsError> {
        let files = self.files()?;
        let trials = files
            .into_iter()
            .map(|path| {
                let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
                let drills = self.clone();
                self.trial_with(args, format!("{}{name}", self.prefix), path.clone(), move || drills.expect_pass(&path))
            })
            .collect();
        Ok(trials)
    }

    /// A trial of your own that needs Docker, with the same rule as the drills: flagged ignored
    /// when listed without an engine, ignored with the reason (or failed, see [`docker`]) when
    /// run without one. `test` gets the drills' options.
    pub fn docker_trial(
        &self,
        args: &Arguments,
        name: impl Into<String>,
        test: impl FnOnce(&DrillOptions) -> Result<(), Failed> + Send + 'static,
    ) -> Trial {
        let unavailable = docker::unavailable();
        let options = self.options.clone();
        Trial::ignorable_test(name, move || match &unavailable {
            Some(reason) => docker::outcome_without_docker(reason),
            None => test(&options).map(|()| Completion::Completed),
        })
        .with_ignored_flag(docker::flag_ignored(docker::unavailable().as_deref(), args))
    }

    /// A drill trial: the scenario loads (or the trial fails with its diagnostics, Docker or
    /// not), then it runs when Docker answers.
    fn trial_with(
        &self,
        args: &Arguments,
        name: String,
        path: PathBuf,
        run: impl FnOnce() -> Result<(), Failed> + Send + 'static,
    ) -> Trial {
        let load_options = self.options.load;
        let invalid = load(&path, load_options).err();
        if let Some(error) = invalid {
            return Trial::test(name, move || Err(error));
        }
        self.docker_trial(args, name, move |_| run())
    }

    /// Runs the drill at `path` and requires it to pass, then the added checks.
    fn expect_pass(&self, path: &Path) -> Result<(), Failed> {
        let loaded = load(path, self.options.load)?;
        let outcome = run_loaded(&loaded, &self.options)?;
        expect_pass(&outcome)?;
        self.checks.iter().try_for_each(|check| check(path, &outcome))
    }

    /// The test target's `main`: parses libtest's arguments, runs the drills and `extra` trials,
    /// exits with libtest's status (101 when one failed). A folder without scenario files exits
    /// with status 2 and says why.
    pub fn run_with(self, extra: impl FnOnce(&Self, &Arguments) -> Vec<Trial>) -> ! {
        let args = Arguments::from_args();
        let mut trials = match self.trials(&args) {
            Ok(trials) => trials,
            Err(e) => {
                let cause = std::error::Error::source(&e).map(|c| format!(": {c}")).unwrap_or_default();
                eprintln!("error: {e}{cause}");
                std::process::exit(2);
            }
        };
        trials.extend(extra(&self, &args));
        if let Some(reason) = docker::unavailable().filter(|_| !docker::required()) {
            if args.list {
                let skipped = trials.iter().filter(|t| t.has_ignored_flag()).count();
                eprintln!("pgdrill::testing: {skipped} drills listed as ignored (skipped): {reason}");
            }
            // Nextest prints no ignore reasons and swallows the listing's stderr: a skipped trial
            // named by the reason is how its output says why the drills were skipped.
            trials.push(self.docker_trial(&args, docker::reason_trial_name(&reason), |_| Ok(())));
        }
        libtest_mimic::run(&args, trials).exit()
    }

    /// [`Drills::run_with`] without extra trials: `fn main() { Drills::new("drills").run() }`.
    pub fn run(self) -> ! {
        self.run_with(|_, _| Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(name: &str, files: &[(&str, &str)]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("pgdrill-testing-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        for (file, text) in files {
            std::fs::write(dir.join(file), text).unwrap();
        }
        dir
    }

    #[test]
    fn finds_yaml_and_yml_files_sorted_and_nothing_else() {
        let dir = folder("files", &[("b.yml", ""), ("a.yaml", ""), ("notes.txt", ""), ("sub/c.yaml", "")]);
        let names: Vec<String> = Drills::new(&dir)
            .files()
            .unwrap()
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into())
            .collect();
        assert_eq!(names, ["a.yaml", "b.yml"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_folder_without_scenarios_is_an_error_not_an_empty_pass() {
        let dir = folder("empty", &[("README.md", "")]);
        assert!(matches!(Drills::new(&dir).files(), Err(DrillsError::Empty { .. })));
        assert!(matches!(Drills::new(dir.join("missing")).files(), Err(DrillsError::Read { .. })));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_invalid_scenario_is_a_failed_trial_named_by_its_file_docker_or_not() {
        let dir = folder("invalid", &[("typo.yaml", "name: typo\ntopology: {kind: patroni, membrs: 3}\nsteps: []\n")]);
        let args = Arguments::from_iter(["t", "--list"]);
        let drills = Drills::new(&dir).prefix("mine::");
        let trials = drills.trials(&args).unwrap();
        assert_eq!(trials.len(), 1);
        assert_eq!(trials[0].name(), "mine::typo");
        assert!(!trials[0].has_ignored_flag(), "an invalid file is never skipped");
        let run = Arguments::from_iter(["t", "--exact", "mine::typo", "--quiet"]);
        let conclusion = libtest_mimic::run(&run, drills.trials(&run).unwrap());
        assert_eq!(conclusion.num_failed, 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
