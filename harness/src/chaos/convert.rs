//! A schedule becomes a plain scenario: the scenario's fixed steps, then one sleep and one fault
//! step per scheduled fault, a final `heal` (the "last heal" the invariants count from) and an
//! `expect` step for the timed invariants. The scenario is written as YAML text first and then
//! parsed and validated like any file, so what a case runs is exactly what its replay file says.
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::schedule::Schedule;
use super::yaml::{block, flow, string};
use crate::scenario::{
    parse_scenario_with, variant_name, Chaos, ChaosInvariant, Invariant, LoadOptions, LoadedScenario, ScenarioError,
    WaitFor, MAX_NAME_CHARS,
};

/// Bound of the `wait: healthy` step added when the fixed steps have none.
const HEALTHY_WITHIN: &str = "90s";

/// Who found a schedule, for the replay file's header.
#[derive(Debug, Clone, Default)]
pub struct Provenance {
    /// Comment lines (without `# `), e.g. the command and seed that found the schedule.
    pub lines: Vec<String>,
}

/// A schedule as a runnable plain scenario.
#[derive(Debug, Clone)]
pub struct CasePlan {
    /// The scenario's text: write it out and `pgdrill run` replays the case.
    pub yaml: String,
    /// The same, parsed and validated.
    pub loaded: LoadedScenario,
    /// Index of the first step that belongs to the schedule (the fixed steps come before): an
    /// error before it is a failed set-up, not something the schedule did.
    pub first_schedule_step: usize,
}

/// Turns `schedule` into a plain scenario based on `base` (which has a `chaos:` section),
/// named `path` (where its YAML is, or will be, written).
pub fn plan_case(
    base: &LoadedScenario,
    schedule: &Schedule,
    path: &Path,
    provenance: &Provenance,
) -> Result<CasePlan, ScenarioError> {
    let scenario = &base.scenario;
    let no_chaos = Chaos {
        faults: Vec::new(),
        count: Default::default(),
        spacing: crate::scenario::DurationRange { min: budget(0), max: budget(0) },
        duration: crate::scenario::DurationRange { min: budget(0), max: budget(0) },
        invariants: Vec::new(),
    };
    let chaos = scenario.chaos.as_ref().unwrap_or(&no_chaos);
    let mut out = String::new();
    for line in &provenance.lines {
        out.push_str(&format!("# {line}\n"));
    }
    out.push_str(&format!("# Schedule: {schedule}\n"));
    if scenario.topology.monitoring.is_some() {
        out.push_str("# Rule files are named by absolute path: replay with `--allow-outside-rules`.\n");
    }
    // The replay's name must be a valid name too, however long the base's is.
    let base_name: String = scenario.name.chars().take(MAX_NAME_CHARS - "-chaos".len()).collect();
    out.push_str(&format!("name: {}\n", string(&format!("{base_name}-chaos"))));
    let description = format!("Replay of a chaos schedule of {}: {schedule}", base.path.display());
    out.push_str(&format!("description: {}\n", string(&description)));
    block(&mut out, 0, "topology", &topology_value(base));
    if let Some(workload) = &scenario.workload {
        block(&mut out, 0, "workload", &to_value(workload));
    }

    out.push_str("steps:\n");
    let mut steps = 0;
    let has_healthy = scenario.steps.iter().any(|s| s.value.wait == Some(WaitFor::Healthy));
    if !has_healthy {
        out.push_str(&format!("  - {{wait: healthy, within: {HEALTHY_WITHIN}}}\n"));
        steps += 1;
    }
    for step in &scenario.steps {
        out.push_str(&format!("  - {}\n", flow(&to_value(&step.value))));
        steps += 1;
    }
    let first_schedule_step = steps;
    out.push_str("  # The schedule: each sleep is the time from one fault step to the next.\n");
    let mut clock = 0;
    // Budgets count from the most recent fault step, so an expectation placed right after the
    // first fault spans the whole schedule (judged again over the whole run at the end).
    let from_first_fault: Vec<String> = chaos
        .invariants
        .iter()
        .filter_map(|invariant| match invariant {
            ChaosInvariant::MaxWriteUnavailability { max } => Some(format!("max_write_unavailability: {{max: {max}}}")),
            _ => None,
        })
        .collect();
    for (i, fault) in schedule.faults.iter().enumerate() {
        if fault.at_s > clock {
            out.push_str(&format!("  - sleep: {}s\n", fault.at_s - clock));
            clock = fault.at_s;
        }
        out.push_str(&format!("  - fault: {}\n", fault.fault));
        out.push_str(&format!("    target: {}\n", flow(&to_value(&fault.target))));
        if let Some(duration) = fault.duration_s {
            out.push_str(&format!("    duration: {duration}s\n"));
        }
        for (key, value) in &fault.options {
            out.push_str(&format!("    {key}: {}\n", flow(value)));
        }
        if i == 0 && !from_first_fault.is_empty() {
            out.push_str("  - expect:\n");
            for expectation in &from_first_fault {
                out.push_str(&format!("      - {expectation}\n"));
            }
        }
    }
    let last_heal = schedule.last_heal_s();
    if last_heal > clock {
        out.push_str(&format!("  - sleep: {}s\n", last_heal - clock));
    }
    out.push_str("  # The last heal: undo whatever is still in effect; the budgets below count from here.\n");
    out.push_str("  - fault: heal\n");
    let timed: Vec<String> = chaos
        .invariants
        .iter()
        .filter_map(|invariant| match invariant {
            ChaosInvariant::WritableAgain { within } => Some(format!("writable_again: {{within: {within}}}")),
            ChaosInvariant::ReplicationStreaming { within } => {
                Some(format!("replication_streaming: {{within: {within}}}"))
            }
            // Consistency after settling, not a change: the heal may have named any group.
            ChaosInvariant::PgDistNodeConsistent { within } => {
                Some(format!("pg_dist_node: {{within: {within}, new_primary: false}}"))
            }
            ChaosInvariant::SinglePrimary
            | ChaosInvariant::NoAckedWriteLost
            | ChaosInvariant::MaxWriteUnavailability { .. } => None,
        })
        .collect();
    if !timed.is_empty() {
        out.push_str("  - expect:\n");
        for expectation in timed {
            out.push_str(&format!("      - {expectation}\n"));
        }
    }

    let mut invariants: Vec<Invariant> = scenario.invariants.clone();
    for invariant in &chaos.invariants {
        let plain = match invariant {
            ChaosInvariant::SinglePrimary => Invariant::SinglePrimary,
            ChaosInvariant::NoAckedWriteLost => Invariant::NoAckedWriteLost,
            _ => continue,
        };
        if !invariants.contains(&plain) {
            invariants.push(plain);
        }
    }
    if !invariants.is_empty() {
        let names: Vec<String> = invariants.iter().map(variant_name).collect();
        out.push_str(&format!("invariants: [{}]\n", names.join(", ")));
    }

    // The base scenario's rule files were checked where it is; the replay names them by
    // absolute path (it is written elsewhere), which a user's replay allows with
    // `--allow-outside-rules` (said in the file's header).
    let options = LoadOptions { allow_outside_rules: true };
    let loaded = parse_scenario_with(&path.display().to_string(), &out, options)?;
    Ok(CasePlan { yaml: out, loaded, first_schedule_step })
}

fn budget(secs: u64) -> crate::scenario::Budget {
    crate::scenario::Budget(std::time::Duration::from_secs(secs))
}

fn to_value<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).expect("scenario values serialise")
}

/// The topology, with monitoring rule files and the user's Patroni file made absolute: the
/// replay file is written elsewhere than the scenario it came from.
fn topology_value(base: &LoadedScenario) -> Value {
    let mut value = to_value(&base.scenario.topology);
    let dir = base.path.parent().map(Path::to_path_buf).unwrap_or_default();
    let absolute = |path: &mut Value| {
        if let Some(text) = path.as_str() {
            let joined = dir.join(text);
            let absolute: PathBuf = std::fs::canonicalize(&joined).unwrap_or(joined);
            *path = Value::String(absolute.display().to_string());
        }
    };
    if let Some(rules) = value.pointer_mut("/monitoring/rules").and_then(Value::as_array_mut) {
        rules.iter_mut().for_each(&absolute);
    }
    if let Some(file) = value.pointer_mut("/patroni/file") {
        absolute(file);
    }
    value
}

#[cfg(test)]
mod tests {
    use indoc::indoc;

    use super::*;
    use crate::chaos::schedule::ScheduledFault;
    use crate::scenario::parse_scenario;
    use crate::scenario::{FaultName, Target};

    const BASE: &str = indoc! {"
        name: planted
        topology: {kind: patroni, members: 2, etcd: 1, patroni: {ttl: 20, loop_wait: 2, retry_timeout: 5}}
        workload: {writers: 2, rate: 50/s}
        invariants: [single_primary]
        chaos:
          faults:
            - {fault: pause, targets: [replica]}
            - {fault: kill, targets: [primary]}
            - {fault: restart, targets: [{member: pg-2}]}
          count: {min: 1, max: 3}
          spacing: {min: 1s, max: 3s}
          duration: {min: 1s, max: 3s}
          invariants: [single_primary, no_acked_write_lost, writable_again: {within: 1s}, max_write_unavailability: {max: 2s}]
    "};

    fn fault(fault: FaultName, target: Target, at_s: u64, duration_s: Option<u64>) -> ScheduledFault {
        ScheduledFault { fault, target, at_s, duration_s, options: Default::default() }
    }

    fn schedule() -> Schedule {
        Schedule {
            faults: vec![
                fault(FaultName::from("pause"), Target::Replica, 2, Some(3)),
                fault(FaultName::from("kill"), Target::Primary, 3, Some(1)),
                fault(FaultName::from("restart"), Target::Member("pg-2".into()), 3, None),
            ],
        }
    }

    #[test]
    fn a_schedule_becomes_plain_steps() {
        let base = parse_scenario("scenarios/planted.yaml", BASE).unwrap();
        let provenance = Provenance { lines: vec!["found by pgdrill chaos --seed 7".into()] };
        let plan = plan_case(&base, &schedule(), Path::new("out/case-1.yaml"), &provenance).unwrap();
        let expected_steps = indoc! {"
            steps:
              - {wait: healthy, within: 90s}
              # The schedule: each sleep is the time from one fault step to the next.
              - sleep: 2s
              - fault: pause
                target: replica
                duration: 3s
              - expect:
                  - max_write_unavailability: {max: 2s}
              - sleep: 1s
              - fault: kill
                target: primary
                duration: 1s
              - fault: restart
                target: {member: pg-2}
              - sleep: 2s
              # The last heal: undo whatever is still in effect; the budgets below count from here.
              - fault: heal
              - expect:
                  - writable_again: {within: 1s}
            invariants: [single_primary, no_acked_write_lost]
        "};
        assert!(plan.yaml.ends_with(expected_steps), "{}", plan.yaml);
        assert!(plan.yaml.starts_with("# found by pgdrill chaos --seed 7\n# Schedule: pause replica at +2s for 3s;"));
        assert_eq!(plan.first_schedule_step, 1);
        let scenario = &plan.loaded.scenario;
        assert!(scenario.chaos.is_none(), "a replay is a plain scenario");
        assert_eq!(scenario.steps.len(), 10);
        assert_eq!(scenario.steps[1].value.sleep.map(|s| s.0.as_secs()), Some(2));
        assert_eq!(plan.loaded.path, Path::new("out/case-1.yaml"));
    }

    #[test]
    fn topology_and_workload_survive_the_round_trip() {
        let base = parse_scenario("scenarios/planted.yaml", BASE).unwrap();
        let plan = plan_case(&base, &schedule(), Path::new("x.yaml"), &Provenance::default()).unwrap();
        let replay = &plan.loaded.scenario;
        assert_eq!(to_value(&replay.topology), to_value(&base.scenario.topology));
        assert_eq!(to_value(&replay.workload), to_value(&base.scenario.workload));
        // Parsing the written text again gives the same scenario (the replay is deterministic).
        let again = parse_scenario("x.yaml", &plan.yaml).unwrap();
        assert_eq!(to_value(&again.scenario), to_value(replay));
    }

    #[test]
    fn fixed_steps_run_first_and_are_kept_as_written() {
        let with_steps = BASE.replace(
            "invariants: [single_primary]\n",
            "steps:\n  - wait: healthy\n    within: 1m 30s\n  - fault: switchover\n  - expect:\n      - new_leader: {within: 30s}\n",
        );
        let base = parse_scenario("scenarios/planted.yaml", &with_steps).unwrap();
        let plan = plan_case(&base, &schedule(), Path::new("x.yaml"), &Provenance::default()).unwrap();
        assert_eq!(plan.first_schedule_step, 3, "{}", plan.yaml);
        let steps = &plan.loaded.scenario.steps;
        assert_eq!(steps[0].value.within.map(|w| w.0.as_secs()), Some(90));
        assert_eq!(steps[1].value.fault, Some(FaultName::from("switchover")));
        assert!(plan.yaml.contains("  - {expect: [{new_leader: {within: 30s}}]}\n"), "{}", plan.yaml);
    }

    #[test]
    fn an_empty_schedule_still_heals_and_checks() {
        let base = parse_scenario("scenarios/planted.yaml", BASE).unwrap();
        let plan = plan_case(&base, &Schedule::default(), Path::new("x.yaml"), &Provenance::default()).unwrap();
        let steps = &plan.loaded.scenario.steps;
        assert_eq!(steps.len(), 3, "{}", plan.yaml);
        assert_eq!(steps[1].value.fault, Some(FaultName::from("heal")));
    }

    #[test]
    fn rule_files_become_absolute() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
        let monitored = BASE.replace(
            "retry_timeout: 5}}",
            "retry_timeout: 5}, monitoring: {rules: [rules/pgdrill-alerts.yaml], for_scale: 0.1}}",
        );
        let base = parse_scenario(&dir.join("planted.yaml").display().to_string(), &monitored).unwrap();
        let plan = plan_case(&base, &schedule(), Path::new("/tmp/elsewhere/x.yaml"), &Provenance::default()).unwrap();
        let rules = &plan.loaded.scenario.topology.monitoring.as_ref().unwrap().rules;
        assert!(Path::new(&rules[0].value).is_absolute(), "{:?}", rules[0].value);
        assert!(Path::new(&rules[0].value).exists());
    }

    #[test]
    fn the_shipped_chaos_scenarios_plan_their_schedules() {
        use proptest::strategy::{Strategy, ValueTree};
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/chaos");
        let mut planned = 0;
        for entry in std::fs::read_dir(&dir).expect("scenarios/chaos exists").flatten() {
            let base = crate::scenario::load_scenario(&entry.path()).unwrap_or_else(|e| panic!("{e}"));
            let strategy = crate::chaos::schedule_strategy(base.scenario.chaos.as_ref().expect("a chaos section"));
            let mut runner = proptest::test_runner::TestRunner::deterministic();
            for _ in 0..20 {
                let schedule = strategy.new_tree(&mut runner).unwrap().current();
                plan_case(&base, &schedule, Path::new("x.yaml"), &Provenance::default())
                    .unwrap_or_else(|e| panic!("{}: {schedule}: {e}", entry.path().display()));
                planned += 1;
            }
        }
        assert!(planned > 0, "no chaos scenarios in {}", dir.display());
    }
}
