//! The search: proptest's `TestRunner` draws schedules from the scenario's `chaos:` section,
//! each schedule runs as a plain scenario through a [`CaseRunner`] (the real engine, or a fake
//! in unit tests), and the first failing schedule is shrunk by proptest's value tree, one run per
//! candidate. This file keeps the bookkeeping: every case run, its phase, and the outcome.
//!
//! Mapping to proptest: a passing run is `Ok`, a violated invariant is a failure, a run that
//! could not apply its schedule (e.g. a second kill of `primary` while none is running) is a
//! rejection (proptest draws another schedule; while shrinking, a rejected candidate counts as
//! "does not fail"), and an interruption ends the search.
use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::time::Instant;

use proptest::test_runner::{basic_result_cache, Config, RngAlgorithm, RngSeed, TestCaseError, TestError, TestRunner};
use serde::{Deserialize, Serialize};

use super::convert::{plan_case, CasePlan, Provenance};
use super::schedule::{schedule_strategy, Schedule};
use crate::scenario::LoadedScenario;

/// Whether a case was drawn fresh or tried while shrinking a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Drawn from the strategy.
    Explore,
    /// A simplification of the current failing schedule.
    Shrink,
}

/// What one case showed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum CaseOutcome {
    /// Every check passed.
    Passed,
    /// At least one check failed: the schedule breaks an invariant.
    Failed {
        /// `check: what was observed`, one per failed check.
        violations: Vec<String>,
    },
    /// The schedule could not be carried out (a fault without a target, the cluster not
    /// starting); it says nothing about the invariants.
    Inconclusive {
        /// Why.
        reason: String,
    },
    /// The search must stop (interrupted, Docker gone).
    Aborted {
        /// Why.
        reason: String,
    },
}

impl CaseOutcome {
    /// The names of the failed checks (`writable_again`), for "fails the same way".
    pub fn failed_checks(&self) -> Vec<String> {
        match self {
            CaseOutcome::Failed { violations } => {
                violations.iter().map(|v| v.split(':').next().unwrap_or_default().trim().to_owned()).collect()
            }
            _ => Vec::new(),
        }
    }
}

/// A case handed to a runner.
#[derive(Debug)]
pub struct Case<'a> {
    /// 1-based number of the run within the search.
    pub number: usize,
    /// Explore or shrink.
    pub phase: Phase,
    /// The schedule.
    pub schedule: &'a Schedule,
    /// The schedule as a plain scenario.
    pub plan: &'a CasePlan,
}

/// What a runner reports for a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseRun {
    /// The verdict on the schedule.
    pub outcome: CaseOutcome,
    /// The engine's run id (none for fakes or runs that never started).
    pub run_id: Option<String>,
    /// The run's report directory.
    pub report_dir: Option<String>,
}

/// Runs one case: starts a cluster, replays the plan, judges it. Implemented by the engine
/// runner and by fakes in tests.
pub trait CaseRunner {
    /// Runs `case` to the end (every wait bounded) and judges it.
    fn run_case(&mut self, case: &Case<'_>) -> CaseRun;
}

/// One case as recorded in the chaos report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseRecord {
    /// 1-based run number.
    pub number: usize,
    /// Explore or shrink.
    pub phase: Phase,
    /// The schedule.
    pub schedule: Schedule,
    /// One-line form of the schedule.
    pub summary: String,
    /// The verdict.
    pub outcome: CaseOutcome,
    /// The replay file of this case (relative to the chaos report directory).
    pub scenario_file: String,
    /// The engine's run id.
    #[serde(default)]
    pub run_id: Option<String>,
    /// The run's report directory.
    #[serde(default)]
    pub report_dir: Option<String>,
    /// Wall time of the case.
    pub duration_ms: u64,
}

/// How to search.
#[derive(Debug, Clone)]
pub struct ExploreOptions {
    /// Passing schedules needed to declare the scenario passed (proptest's `cases`).
    pub cases: u32,
    /// Seed of the schedule generator: the same seed draws the same schedules.
    pub seed: u64,
    /// At most this many shrink steps (proptest's `max_shrink_iters`): each step tries one
    /// candidate; a candidate that already ran is answered from the cache without a run.
    pub max_shrink_steps: u32,
    /// Give up after this many inconclusive schedules (proptest's `max_global_rejects`).
    pub max_inconclusive: u32,
    /// Where case replay files are written (`<dir>/cases/case-NNN.yaml`); `None` writes nothing.
    pub out_dir: Option<PathBuf>,
    /// The command line that started the search, for replay file headers.
    pub command: String,
}

/// How the search ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "result")]
pub enum SearchOutcome {
    /// `cases` schedules passed, none failed.
    Passed,
    /// A schedule failed; `minimal` is where shrinking ended.
    Failed {
        /// The first failing case.
        first_failing_case: usize,
        /// The smallest failing schedule found.
        minimal: Schedule,
        /// The case that ran it.
        minimal_case: Option<usize>,
        /// Its failed checks.
        violations: Vec<String>,
    },
    /// Too many schedules could not be carried out.
    GaveUp {
        /// proptest's reason.
        reason: String,
    },
    /// Interrupted, or the environment failed.
    Aborted {
        /// Why.
        reason: String,
    },
}

/// Everything the search did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Exploration {
    /// How it ended.
    pub outcome: SearchOutcome,
    /// Every case run, in order (schedules proptest had already tried are not run again).
    pub cases: Vec<CaseRecord>,
}

struct State<'r> {
    runner: &'r mut dyn CaseRunner,
    on_case: &'r mut dyn FnMut(&CaseRecord),
    records: Vec<CaseRecord>,
    phase: Phase,
    aborted: Option<String>,
    error: Option<String>,
}

/// Searches `base`'s `chaos:` section for a failing schedule and shrinks the first one found.
pub fn explore(
    base: &LoadedScenario,
    options: &ExploreOptions,
    runner: &mut dyn CaseRunner,
    on_case: &mut dyn FnMut(&CaseRecord),
) -> Exploration {
    let Some(chaos) = &base.scenario.chaos else {
        return Exploration {
            outcome: SearchOutcome::Aborted { reason: format!("{} has no `chaos:` section", base.path.display()) },
            cases: Vec::new(),
        };
    };
    let strategy = schedule_strategy(chaos);
    let config = Config {
        cases: options.cases,
        max_shrink_iters: options.max_shrink_steps,
        max_global_rejects: options.max_inconclusive,
        max_local_rejects: options.max_inconclusive,
        // Each run starts a cluster: never run the same schedule twice.
        result_cache: basic_result_cache,
        failure_persistence: None,
        rng_algorithm: RngAlgorithm::ChaCha,
        rng_seed: RngSeed::Fixed(options.seed),
        verbose: 0,
        ..Config::default()
    };
    let mut test_runner = TestRunner::new(config);
    let state =
        RefCell::new(State { runner, on_case, records: Vec::new(), phase: Phase::Explore, aborted: None, error: None });

    let result = test_runner.run(&strategy, |schedule| {
        let mut state = state.borrow_mut();
        if let Some(reason) = &state.aborted {
            // Let proptest finish its shrink loop without running anything.
            return Err(TestCaseError::fail(format!("aborted: {reason}")));
        }
        let number = state.records.len() + 1;
        let phase = state.phase;
        let file = format!("cases/case-{number:03}.yaml");
        let path = options.out_dir.as_ref().map_or_else(|| PathBuf::from(&file), |dir| dir.join(&file));
        let provenance = Provenance {
            lines: vec![
                format!("Chaos case {number} ({}) of {}", phase_name(phase), base.path.display()),
                format!(
                    "Drawn by `{}` (seed {}); replay: pgdrill run {}",
                    options.command,
                    options.seed,
                    path.display()
                ),
            ],
        };
        let plan = match plan_case(base, &schedule, &path, &provenance) {
            Ok(plan) => plan,
            Err(e) => {
                let reason = format!("a schedule did not make a valid scenario (a pgdrill bug): {e}");
                state.error = Some(reason.clone());
                state.aborted = Some(reason.clone());
                return Err(TestCaseError::fail(reason));
            }
        };
        if let Err(e) = write_case(&path, &plan.yaml, options.out_dir.is_some()) {
            let reason = format!("failed to write {}: {e}", path.display());
            state.aborted = Some(reason.clone());
            return Err(TestCaseError::fail(reason));
        }
        let started = Instant::now();
        let run = state.runner.run_case(&Case { number, phase, schedule: &schedule, plan: &plan });
        let record = CaseRecord {
            number,
            phase,
            summary: schedule.to_string(),
            schedule,
            outcome: run.outcome.clone(),
            scenario_file: file,
            run_id: run.run_id,
            report_dir: run.report_dir,
            duration_ms: started.elapsed().as_millis() as u64,
        };
        (state.on_case)(&record);
        state.records.push(record);
        match run.outcome {
            CaseOutcome::Passed => Ok(()),
            CaseOutcome::Failed { violations } => {
                state.phase = Phase::Shrink;
                Err(TestCaseError::fail(violations.join("; ")))
            }
            CaseOutcome::Inconclusive { reason } => Err(TestCaseError::reject(reason)),
            CaseOutcome::Aborted { reason } => {
                state.aborted = Some(reason.clone());
                Err(TestCaseError::fail(format!("aborted: {reason}")))
            }
        }
    });

    let state = state.into_inner();
    let records = state.records;
    let outcome = if let Some(reason) = state.aborted {
        SearchOutcome::Aborted { reason }
    } else {
        match result {
            Ok(()) => SearchOutcome::Passed,
            Err(TestError::Abort(reason)) => SearchOutcome::GaveUp { reason: reason.to_string() },
            Err(TestError::Fail(_, minimal)) => {
                let first_failing_case =
                    records.iter().find(|r| matches!(r.outcome, CaseOutcome::Failed { .. })).map_or(0, |r| r.number);
                // The last failing run of this schedule is the one proptest ended on.
                let minimal_record = records
                    .iter()
                    .rev()
                    .find(|r| r.schedule == minimal && matches!(r.outcome, CaseOutcome::Failed { .. }));
                let violations = match minimal_record.map(|r| &r.outcome) {
                    Some(CaseOutcome::Failed { violations }) => violations.clone(),
                    _ => Vec::new(),
                };
                SearchOutcome::Failed {
                    first_failing_case,
                    minimal,
                    minimal_case: minimal_record.map(|r| r.number),
                    violations,
                }
            }
        }
    };
    Exploration { outcome, cases: records }
}

fn phase_name(phase: Phase) -> &'static str {
    match phase {
        Phase::Explore => "explore",
        Phase::Shrink => "shrink",
    }
}

fn write_case(path: &Path, yaml: &str, enabled: bool) -> std::io::Result<()> {
    if !enabled {
        return Ok(());
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, yaml)
}

impl Exploration {
    /// The shrinking steps: every shrink run, and whether it became the new smallest failure.
    pub fn shrink_steps(&self) -> impl Iterator<Item = (&CaseRecord, bool)> {
        self.cases
            .iter()
            .filter(|r| r.phase == Phase::Shrink)
            .map(|r| (r, matches!(r.outcome, CaseOutcome::Failed { .. })))
    }
}

#[cfg(test)]
mod tests {
    use indoc::indoc;

    use super::*;
    use crate::scenario::{parse_scenario, FaultName, Target};

    /// The planted weakness in miniature: a kill of the primary breaks "writable again", pauses
    /// never do; a kill while another kill is in effect cannot resolve `primary`.
    struct Fake {
        runs: Vec<(Phase, String)>,
        abort_at: Option<usize>,
    }

    impl CaseRunner for Fake {
        fn run_case(&mut self, case: &Case<'_>) -> CaseRun {
            self.runs.push((case.phase, case.schedule.to_string()));
            assert!(case.plan.loaded.scenario.chaos.is_none(), "runners get plain scenarios");
            if self.abort_at == Some(case.number) {
                return CaseRun {
                    outcome: CaseOutcome::Aborted { reason: "interrupted".into() },
                    run_id: None,
                    report_dir: None,
                };
            }
            let kills: Vec<_> = case.schedule.faults.iter().filter(|f| f.fault == FaultName::from("kill")).collect();
            let overlapping = kills.windows(2).any(|w| w[1].at_s < w[0].at_s + w[0].duration_s.unwrap_or(0));
            let outcome = if overlapping {
                CaseOutcome::Inconclusive {
                    reason: "step 4: cannot resolve the fault's target: no running primary".into(),
                }
            } else if kills.is_empty() {
                CaseOutcome::Passed
            } else {
                CaseOutcome::Failed { violations: vec!["writable_again: no write acknowledged within 1s".into()] }
            };
            CaseRun { outcome, run_id: Some(format!("run-{}", case.number)), report_dir: None }
        }
    }

    const PLANTED: &str = indoc! {"
        name: planted
        topology: {kind: patroni, members: 2, etcd: 1}
        workload: {writers: 2, rate: 50/s}
        chaos:
          faults:
            - {fault: pause, targets: [replica]}
            - {fault: kill, targets: [primary]}
          count: {min: 1, max: 4}
          spacing: {min: 1s, max: 4s}
          duration: {min: 1s, max: 5s}
          invariants: [single_primary, writable_again: {within: 1s}]
    "};

    fn options(seed: u64) -> ExploreOptions {
        ExploreOptions {
            cases: 20,
            seed,
            max_shrink_steps: 64,
            max_inconclusive: 20,
            out_dir: None,
            command: "pgdrill chaos planted.yaml".into(),
        }
    }

    fn search(seed: u64, fake: &mut Fake) -> Exploration {
        let base = parse_scenario("planted.yaml", PLANTED).unwrap();
        let mut seen = 0;
        let exploration = explore(&base, &options(seed), fake, &mut |_| seen += 1);
        assert_eq!(seen, exploration.cases.len(), "every case is reported as it finishes");
        exploration
    }

    #[test]
    fn a_planted_weakness_is_found_and_shrunk_to_one_kill() {
        for seed in 0..20 {
            let mut fake = Fake { runs: Vec::new(), abort_at: None };
            let exploration = search(seed, &mut fake);
            let SearchOutcome::Failed { minimal, minimal_case, first_failing_case, violations } = &exploration.outcome
            else {
                panic!("seed {seed}: expected a failure, got {:?}", exploration.outcome);
            };
            assert_eq!(minimal.faults.len(), 1, "seed {seed}: {minimal}");
            let only = &minimal.faults[0];
            assert_eq!((only.fault.clone(), &only.target), (FaultName::from("kill"), &Target::Primary));
            assert_eq!((only.at_s, only.duration_s), (1, Some(1)), "shortest timings: {minimal}");
            assert_eq!(violations, &["writable_again: no write acknowledged within 1s"]);
            // The minimal schedule was really run, and failed, and nothing ran twice.
            let case = &exploration.cases[minimal_case.expect("minimal was run") - 1];
            assert_eq!(case.outcome.failed_checks(), ["writable_again"]);
            let mut summaries: Vec<&String> = fake.runs.iter().map(|(_, s)| s).collect();
            summaries.sort();
            summaries.dedup();
            assert_eq!(summaries.len(), fake.runs.len(), "a schedule ran twice: {:?}", fake.runs);
            // Exploration stops at the first failure; everything after is shrinking.
            let first = &exploration.cases[first_failing_case - 1];
            assert_eq!(first.phase, Phase::Explore);
            assert!(exploration.cases[*first_failing_case..].iter().all(|c| c.phase == Phase::Shrink));
            assert!(exploration.shrink_steps().any(|(_, accepted)| accepted) || first.schedule == *minimal);
        }
    }

    #[test]
    fn shrinking_stops_at_the_run_budget() {
        let mut fake = Fake { runs: Vec::new(), abort_at: None };
        let base = parse_scenario("planted.yaml", PLANTED).unwrap();
        let options = ExploreOptions { max_shrink_steps: 2, ..options(5) };
        let exploration = explore(&base, &options, &mut fake, &mut |_| {});
        assert!(matches!(exploration.outcome, SearchOutcome::Failed { .. }), "{:?}", exploration.outcome);
        assert!(exploration.shrink_steps().count() <= 2, "{:#?}", exploration.cases);
    }

    #[test]
    fn no_kill_no_failure() {
        let only_pauses = PLANTED.replace("    - {fault: kill, targets: [primary]}\n", "");
        let base = parse_scenario("planted.yaml", &only_pauses).unwrap();
        let mut fake = Fake { runs: Vec::new(), abort_at: None };
        let exploration = explore(&base, &options(1), &mut fake, &mut |_| {});
        assert_eq!(exploration.outcome, SearchOutcome::Passed);
        assert_eq!(exploration.cases.len(), 20, "20 passing cases were asked for");
        assert!(exploration.cases.iter().all(|c| c.phase == Phase::Explore));
    }

    #[test]
    fn an_abort_ends_the_search_without_more_runs() {
        let mut fake = Fake { runs: Vec::new(), abort_at: Some(2) };
        let exploration = search(3, &mut fake);
        assert_eq!(exploration.outcome, SearchOutcome::Aborted { reason: "interrupted".into() });
        assert_eq!(fake.runs.len(), 2);
    }

    #[test]
    fn too_many_inconclusive_schedules_give_up() {
        struct Never;
        impl CaseRunner for Never {
            fn run_case(&mut self, _: &Case<'_>) -> CaseRun {
                CaseRun {
                    outcome: CaseOutcome::Inconclusive { reason: "no primary".into() },
                    run_id: None,
                    report_dir: None,
                }
            }
        }
        let base = parse_scenario("planted.yaml", PLANTED).unwrap();
        let options = ExploreOptions { max_inconclusive: 3, ..options(9) };
        let exploration = explore(&base, &options, &mut Never, &mut |_| {});
        assert!(matches!(exploration.outcome, SearchOutcome::GaveUp { .. }), "{:?}", exploration.outcome);
        assert!(exploration.cases.len() <= 4, "{}", exploration.cases.len());
    }

    #[test]
    fn case_files_are_written_when_asked() {
        let dir = std::env::temp_dir().join(format!("pgdrill-chaos-explore-{}", std::process::id()));
        let base = parse_scenario("planted.yaml", PLANTED).unwrap();
        let options = ExploreOptions { out_dir: Some(dir.clone()), cases: 2, ..options(2) };
        let mut fake = Fake { runs: Vec::new(), abort_at: None };
        let exploration = explore(&base, &options, &mut fake, &mut |_| {});
        for case in &exploration.cases {
            let written = crate::scenario::load_scenario(&dir.join(&case.scenario_file)).expect("a valid replay file");
            assert!(written.scenario.chaos.is_none());
        }
        std::fs::remove_dir_all(&dir).ok();
    }
}
