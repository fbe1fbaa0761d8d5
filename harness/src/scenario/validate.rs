//! Semantic checks of a parsed scenario: what serde cannot see (exactly one action per step,
//! references to members and to earlier faults, Patroni's own limits). Every problem is
//! collected, not just the first, and points at the key or value it is about. Checks only;
//! nothing here changes the scenario or resolves targets against a running cluster.
use serde_saphyr::Location;

use super::error::{Problem, ScenarioError};
use super::expect::Invariant;
use super::load::LoadOptions;
use super::model::{Scenario, Topology, Transactions};
use super::source::{problem_at, LoadedScenario, SpanIndex};
use super::step::Step;
use super::target::Target;
use super::values::Budget;

mod chaos;
mod exec;
mod expectation;
mod fault;
mod limits;
mod patroni_config;
mod pooler;
mod rules;
mod tags;
mod topology;

pub(super) use limits::limit_of;
pub use limits::MAX_NAME_CHARS;
pub(super) use patroni_config::check_patroni_file;
pub use rules::{resolve_rule_path, rule_root};

/// Patroni members pgdrill will start: one host, one container each.
const MEMBERS: std::ops::RangeInclusive<u8> = 1..=9;
/// etcd members: a quorum beyond 7 only slows elections down.
const ETCD: std::ops::RangeInclusive<u8> = 1..=7;
/// Members per Citus group.
const GROUP_MEMBERS: std::ops::RangeInclusive<u8> = 1..=5;
/// Citus worker groups.
const MAX_WORKER_GROUPS: usize = 4;
/// Patroni replaces values below these with the minimum (logging a warning), so a scenario
/// asking for less would silently run other timings.
const MIN_TTL: u32 = 20;
const MIN_LOOP_WAIT: u32 = 1;
const MIN_RETRY_TIMEOUT: u32 = 3;
/// Above this the harness, not the failover, is measured (every acknowledged write is audited).
const MAX_RATE_PER_SECOND: f64 = 5000.0;
/// Each writer holds one PostgreSQL connection.
const MAX_WRITERS: u16 = 64;
/// The units the JSON Schema's duration pattern allows (humantime accepts more, e.g. `sec`).
const DURATION_UNITS: [&str; 4] = ["ms", "s", "m", "h"];
const ACTIONS: [&str; 5] = ["wait", "fault", "expect", "sleep", "exec"];

/// Checks `loaded` for problems serde cannot see; all of them are reported together.
pub fn validate(loaded: &LoadedScenario) -> Result<(), ScenarioError> {
    validate_with(loaded, LoadOptions::default())
}

/// [`validate`] with `options` (e.g. rule files allowed outside the repository).
pub fn validate_with(loaded: &LoadedScenario, options: LoadOptions) -> Result<(), ScenarioError> {
    let mut checker = Checker {
        text: &loaded.source,
        index: SpanIndex::build(&loaded.source),
        problems: Vec::new(),
        alerts: None,
        workload: loaded.scenario.workload.is_some(),
    };
    checker.rule_files(loaded, options.allow_outside_rules);
    checker.written_types();
    checker.check(&loaded.scenario);
    let mut problems = checker.problems;
    if problems.is_empty() {
        return Ok(());
    }
    problems.sort_by_key(|problem| (problem.line, problem.column));
    Err(ScenarioError::invalid(&loaded.path, &loaded.source, problems))
}

struct Checker<'a> {
    text: &'a str,
    /// `None` only if the text stopped being YAML, which a parsed scenario cannot; problems
    /// are then reported without a position.
    index: Option<SpanIndex>,
    problems: Vec<Problem>,
    /// Alert names the monitoring rule files define (`None` without monitoring).
    alerts: Option<std::collections::BTreeSet<String>>,
    /// The scenario has a workload, so write checks have writes to judge.
    workload: bool,
}

/// Which part of an entry a problem points at.
#[derive(Clone, Copy)]
enum At {
    /// The key: "this key does not belong here".
    Key,
    /// The value: "this value is wrong".
    Value,
}

/// What the steps so far make available to later ones.
#[derive(Default)]
struct History {
    /// A fault step ran, so expectations have something to measure from.
    fault: bool,
    /// A fault aimed at `primary` ran, so `old_primary` names a member.
    primary_fault: bool,
}

impl Checker<'_> {
    fn check(&mut self, scenario: &Scenario) {
        self.names(scenario);
        self.topology(&scenario.topology);
        if let Some(workload) = &scenario.workload {
            self.workload(workload, &scenario.topology);
        }
        self.pooler(scenario);
        if scenario.steps.is_empty() && scenario.chaos.is_none() {
            self.report(
                "steps",
                At::Key,
                "the scenario has no steps",
                "empty",
                Some("start with `- wait: healthy` and `within: 90s`".into()),
            );
        }
        let mut history = History::default();
        for (i, step) in scenario.steps.iter().enumerate() {
            self.step(i, &step.value, &scenario.topology, &mut history);
        }
        if let Some(chaos) = &scenario.chaos {
            self.chaos(chaos, scenario);
        }
        for (i, invariant) in scenario.invariants.iter().enumerate() {
            let multi_shard = scenario.workload.as_ref().is_some_and(|w| w.transactions == Transactions::MultiShard);
            if *invariant == Invariant::NoPartialTransactions && !multi_shard {
                self.report(
                    &format!("invariants.{i}"),
                    At::Value,
                    "`no_partial_transactions` judges multi-shard transactions, but the workload writes none",
                    "no multi-shard workload",
                    Some("add `workload: {writers: 4, rate: 100/s, transactions: multi_shard}` (Citus)".into()),
                );
            }
            if *invariant == Invariant::NoAckedWriteLost && scenario.workload.is_none() {
                self.report(
                    &format!("invariants.{i}"),
                    At::Value,
                    "`no_acked_write_lost` needs a `workload` section: without writes there is nothing to lose",
                    "no workload",
                    Some("add `workload: {writers: 2, rate: 100/s}`".into()),
                );
            }
        }
    }

    fn step(&mut self, i: usize, step: &Step, topology: &Topology, history: &mut History) {
        let n = i + 1;
        let base = format!("steps.{i}");
        let actions = self.actions(&base, step);
        match actions.as_slice() {
            [] => {
                let first_key =
                    self.index.as_ref().and_then(|index| index.keys_of(&base).next().map(|e| e.path.clone()));
                self.report(
                    first_key.as_deref().unwrap_or(&base),
                    At::Key,
                    format!("step {n} does nothing: set one of wait, fault, expect, sleep or exec"),
                    "no action in this step",
                    Some(
                        "a step does one thing: `wait: healthy`, `fault: kill`, `expect: [...]`, `sleep: 5s` or \
                         `exec: {target: primary, command: [patronictl, list]}`"
                            .into(),
                    ),
                );
            }
            [_] => {}
            [first, rest @ ..] => {
                for action in rest {
                    self.report(
                        &format!("{base}.{action}"),
                        At::Key,
                        format!("step {n} sets both `{first}` and `{action}`: a step does exactly one of wait, fault, expect, sleep or exec"),
                        "second action",
                        Some("split it into two steps, in the order they should run".into()),
                    );
                }
            }
        }

        if let Some(group) = &step.group {
            self.group_number(&format!("{base}.group"), group.value, topology, false);
        }
        if step.wait.is_some() && step.within.is_none() {
            self.report(
                &format!("{base}.wait"),
                At::Key,
                format!("`wait` in step {n} needs `within`, the longest it may take"),
                "no `within`",
                Some("add e.g. `within: 90s` to the step".into()),
            );
        }
        if step.within.is_some() && step.wait.is_none() && !actions.is_empty() {
            let help = if step.expect.is_some() {
                "expectations carry their own budget, e.g. `- new_leader: {within: 45s}`"
            } else if step.sleep.is_some() {
                "`sleep` takes its duration directly, e.g. `sleep: 5s`"
            } else if step.exec.is_some() {
                "`exec` takes its bound inside, e.g. `exec: {target: primary, command: [patronictl, list], within: 30s}`"
            } else {
                "a fault acts at once; to bound what follows, add an `expect` step"
            };
            self.report(
                &format!("{base}.within"),
                At::Key,
                "`within` only bounds a `wait` step",
                "not a wait step",
                Some(help.into()),
            );
        }
        if let Some(fault) = &step.fault {
            self.fault_step(&base, n, fault, step, topology, history);
        } else {
            if step.target.is_some() && !actions.is_empty() {
                self.report(
                    &format!("{base}.target"),
                    At::Key,
                    "`target` only applies to a `fault` step",
                    "no fault in this step",
                    Some(
                        "expectations name their own target, e.g. `rejoins: {target: old_primary, within: 60s}`".into(),
                    ),
                );
            }
            self.stray_options(&base, n, &step.options);
        }
        if let Some(target) = &step.target {
            self.target(&format!("{base}.target"), n, &target.value, topology, history);
        }
        if let Some(exec) = &step.exec {
            self.exec_step(&base, n, exec, step.group.is_some(), topology, history);
        }
        if let Some(expectations) = &step.expect {
            if expectations.is_empty() {
                self.report(
                    &format!("{base}.expect"),
                    At::Value,
                    format!("`expect` in step {n} lists no expectations, so the step checks nothing"),
                    "empty",
                    Some("list what must happen, e.g. `expect: [new_leader: {within: 45s}]`".into()),
                );
            }
            if !history.fault {
                self.report(
                    &format!("{base}.expect"),
                    At::Key,
                    format!("expectations in step {n} have nothing to measure from: no `fault` step comes before it"),
                    "no earlier fault",
                    Some("budgets count from the most recent fault step; to wait for a state, use `wait: healthy` with `within`".into()),
                );
            }
            for (j, expectation) in expectations.iter().enumerate() {
                self.expectation(&format!("{base}.expect.{j}"), n, &expectation.value, topology, history);
            }
        }
        if let Some(within) = &step.within {
            self.budget(&format!("{base}.within"), within);
        }
        if let Some(sleep) = &step.sleep {
            self.budget(&format!("{base}.sleep"), sleep);
        }

        if step.fault.is_some() {
            history.fault = true;
            if step.target.as_ref().is_some_and(|target| target.value == Target::Primary) {
                history.primary_fault = true;
            }
        }
    }

    /// The actions a step sets, in file order (so "second action" points at the later one).
    fn actions(&self, base: &str, step: &Step) -> Vec<&'static str> {
        let set = [
            step.wait.is_some(),
            step.fault.is_some(),
            step.expect.is_some(),
            step.sleep.is_some(),
            step.exec.is_some(),
        ];
        let mut actions: Vec<&'static str> =
            ACTIONS.iter().zip(set).filter(|(_, set)| *set).map(|(action, _)| *action).collect();
        if let Some(index) = &self.index {
            let position =
                |action: &str| index.keys_of(base).position(|entry| entry.path.ends_with(&format!(".{action}")));
            actions.sort_by_key(|action| position(action));
        }
        actions
    }

    /// A budget must be positive and written in the units the JSON Schema allows.
    fn budget(&mut self, path: &str, budget: &Budget) {
        let written = self.index.as_ref().and_then(|index| index.get(path)).and_then(|entry| entry.scalar.clone());
        if let Some(unit) = written.as_deref().and_then(unsupported_unit) {
            self.report(
                path,
                At::Value,
                format!(
                    "invalid duration `{}`: unit `{unit}` is not one of {}",
                    written.as_deref().unwrap_or_default(),
                    DURATION_UNITS.join(", ")
                ),
                "unsupported unit",
                Some("write e.g. 500ms, 45s, 2m or 1m 30s".into()),
            );
        } else if budget.0.is_zero() {
            let key = path.rsplit('.').next().unwrap_or(path);
            self.report(
                path,
                At::Value,
                format!("`{key}` must be longer than zero"),
                "zero",
                Some("write a positive duration, e.g. 45s".into()),
            );
        } else if budget.0 > limits::MAX_BUDGET {
            let key = path.rsplit('.').next().unwrap_or(path);
            let written = written.as_deref().map_or_else(|| budget.to_string(), crate::scenario::snippet::shown);
            self.report(
                path,
                At::Value,
                format!("`{key}: {written}` is longer than 24h, the longest duration a scenario may have"),
                "at most 24h",
                Some("budgets of a failover drill are seconds to minutes, e.g. 45s or 2m".into()),
            );
        }
    }

    fn report(
        &mut self,
        path: &str,
        at: At,
        message: impl Into<String>,
        label: impl Into<String>,
        help: Option<String>,
    ) {
        let location = self.locate(path, at);
        self.problems.push(problem_at(self.text, location, message, label, help));
    }

    /// Where `path` is; an absent key (a default) points at the nearest ancestor that is
    /// written, e.g. `topology.patroni.ttl` at `patroni`.
    fn locate(&self, path: &str, at: At) -> Location {
        let Some(index) = &self.index else { return Location::UNKNOWN };
        let mut current = path;
        let mut at = at;
        loop {
            if let Some(entry) = index.get(current) {
                return match at {
                    At::Key => entry.key_or_value(),
                    At::Value => entry.value,
                };
            }
            match current.rsplit_once('.') {
                Some((parent, _)) => {
                    current = parent;
                    at = At::Key;
                }
                None => return Location::UNKNOWN,
            }
        }
    }
}

/// The first unit in a duration such as `1m 30s` outside [`DURATION_UNITS`].
fn unsupported_unit(text: &str) -> Option<&str> {
    let mut rest = text.trim();
    while !rest.is_empty() {
        let number_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        rest = rest[number_end..].trim_start();
        let unit_end = rest.find(|c: char| !c.is_alphabetic()).unwrap_or(rest.len());
        let unit = &rest[..unit_end];
        if !DURATION_UNITS.contains(&unit) {
            return Some(unit);
        }
        rest = rest[unit_end..].trim_start();
    }
    None
}

#[cfg(test)]
mod tests {
    use indoc::{formatdoc, indoc};
    use test_case::test_case;

    use super::super::error::ScenarioErrorKind;
    use super::super::load::parse_scenario;
    use super::*;

    /// A valid scenario around `steps` (3 members, no workload), so each case shows only what
    /// it is about. Steps start on line 6.
    fn scenario(steps: &str) -> String {
        formatdoc! {"
            name: x
            topology:
              kind: patroni
              members: 3
            steps:
            {steps}"
        }
    }

    fn problems(yaml: &str) -> Vec<String> {
        match parse_scenario("scenarios/x.yaml", yaml) {
            Ok(_) => Vec::new(),
            Err(error) => {
                assert!(
                    matches!(error.kind, ScenarioErrorKind::Invalid(_)),
                    "expected validation problems, got: {error}"
                );
                error.problems().iter().map(|p| format!("{}:{}: {}", p.line, p.column, p.message)).collect()
            }
        }
    }

    #[track_caller]
    fn assert_one(yaml: &str, line: usize, column: usize, phrase: &str) {
        let error = parse_scenario("scenarios/x.yaml", yaml).expect_err("must be invalid");
        let text = error.to_string();
        assert_eq!(error.problems().len(), 1, "expected one problem: {text}");
        let prefix = format!("scenarios/x.yaml:{line}:{column}: ");
        assert!(text.starts_with(&prefix), "expected {prefix}..., got: {text}");
        assert!(text.contains(phrase), "expected `{phrase}` in: {text}");
    }

    const KILL_PRIMARY: &str = "  - fault: kill\n    target: primary\n";

    #[test_case("  - wait: healthy\n    within: 45 sec\n", 7, 13, "invalid duration `45 sec`: unit `sec` is not one of ms, s, m, h" ; "duration in a unit the schema does not allow")]
    #[test_case(&format!("{KILL_PRIMARY}  - fault: kill\n    target: {{member: pg-7}}\n"), 9, 22, "unknown member `pg-7`: this topology has 3 members" ; "member the topology lacks")]
    #[test_case(&format!("{KILL_PRIMARY}  - fault: start\n    expect: [{{new_leader: {{within: 5s}}}}]\n    target: primary\n"), 9, 5, "step 2 sets both `fault` and `expect`" ; "fault and expect in one step")]
    #[test_case("  - fault: kil\n    target: primary\n", 6, 12, "unknown fault `kil`, expected one of: client_link_bandwidth, client_link_delay, client_link_reset_peer, client_link_slow_close, client_link_timeout, disconnect, failover, isolate, kill, kill_patroni, kill_postgres, link_bandwidth, link_delay, link_on_query, link_reset_peer, link_slow_close, link_timeout, loss, maintenance_off, maintenance_on, partition, patroni_reinit, patroni_restart, pause, reconnect, restart, start, stop, switchover, throttle, unpause, heal" ; "misspelled fault")]
    #[test_case("  - fault: delay\n    target: primary\n", 6, 12, "fault `delay` is not supported on this host: there is no host-wide `delay` (it would need tc netem); delay one link with `link_delay`" ; "netem fault")]
    #[test_case("  - wait: healthy\n    within: 1s\n    targte: primary\n", 8, 5, "unknown key `targte` in a step, expected one of: wait, fault, target, group, expect, duration, sleep, within" ; "misspelled step key")]
    #[test_case("  - fault: kill\n    target: primary\n    probability: 0.3\n", 8, 5, "`probability` does not apply to fault `kill` in step 1" ; "option of another fault")]
    #[test_case("  - fault: kill\n    target: primary\n    peerz: {member: pg-2}\n", 8, 5, "unknown key `peerz` for fault `kill`, expected one of: fault, target, group, duration" ; "unknown fault option")]
    #[test_case("  - fault: loss\n    target: primary\n", 6, 5, "fault `loss` in step 1 needs `probability`" ; "required option")]
    #[test_case("  - fault: loss\n    target: primary\n    probability: 1.5\n", 8, 18, "probability 1.5 is out of range" ; "option out of range")]
    #[test_case("  - fault: partition\n    target: primary\n    one_way: sometimes\n", 8, 14, "invalid value for `one_way`: expected true or false" ; "option of the wrong type")]
    #[test_case("  - fault: kill_postgres\n    target: {member: etcd-1}\n", 7, 13, "fault `kill_postgres` acts on Patroni members only, and `etcd-1` is not one" ; "process fault on etcd")]
    #[test_case("  - fault: restart\n    target: primary\n    duration: 5s\n", 8, 5, "`duration` does not apply to fault `restart` in step 1" ; "duration on an instant fault")]
    #[test_case("  - fault: kill\n", 6, 5, "fault `kill` in step 1 needs a `target`" ; "missing target")]
    #[test_case("  - wait: healthy\n", 6, 5, "`wait` in step 1 needs `within`" ; "wait without within")]
    #[test_case("  - sleep: 2s\n    within: 5s\n", 7, 5, "`within` only bounds a `wait` step" ; "within on a sleep")]
    #[test_case("  - sleep: 2s\n    target: primary\n", 7, 5, "`target` only applies to a `fault` step" ; "target without fault")]
    #[test_case("  - within: 5s\n", 6, 5, "step 1 does nothing" ; "no action")]
    #[test_case("  - fault: kill\n    target: replica\n  - fault: start\n    target: old_primary\n", 9, 13, "`old_primary` in step 2 names no member: no earlier fault is aimed at `primary`" ; "old_primary before a primary fault")]
    #[test_case("  - expect:\n      - new_leader: {within: 45s}\n", 6, 5, "no `fault` step comes before it" ; "expect without an anchor")]
    #[test_case(&format!("{KILL_PRIMARY}  - expect:\n      - rejoins: {{target: replica, within: 60s}}\n"), 9, 27, "`rejoins` needs one member that was down, but it may name more than one member, or none" ; "rejoins replica")]
    #[test_case(&format!("{KILL_PRIMARY}  - expect:\n      - new_leader: {{within: 0s}}\n"), 9, 30, "`within` must be longer than zero" ; "zero budget")]
    #[test_case("  - sleep: 0ms\n", 6, 12, "`sleep` must be longer than zero" ; "zero sleep")]
    fn step_problems(steps: &str, line: usize, column: usize, phrase: &str) {
        assert_one(&scenario(steps), line, column, phrase);
    }

    #[test_case("members: 3\n  patroni: {ttl: 10}", 5, 18, "`ttl: 10` is too small: Patroni rejects ttl below 20" ; "ttl below Patroni's minimum")]
    #[test_case("members: 3\n  patroni: {loop_wait: 0}", 5, 24, "Patroni rejects loop_wait below 1" ; "loop_wait zero")]
    #[test_case("members: 3\n  patroni:\n    retry_timeout: 2", 6, 20, "Patroni rejects retry_timeout below 3" ; "retry_timeout below minimum")]
    #[test_case("members: 3\n  patroni: {ttl: 20, loop_wait: 5, retry_timeout: 10}", 5, 18, "breaks Patroni's rule loop_wait + 2*retry_timeout <= ttl (5 + 2*10 = 25)" ; "timing rule")]
    #[test_case("members: 12", 4, 12, "`members: 12` is out of range: pgdrill runs 1 to 9 Patroni members" ; "too many members")]
    #[test_case("members: 0", 4, 12, "`members: 0` is out of range" ; "no members")]
    #[test_case("members: 3\n  etcd: 9", 5, 9, "`etcd: 9` is out of range: pgdrill runs 1 to 7 etcd members" ; "too many etcd")]
    fn topology_problems(topology: &str, line: usize, column: usize, phrase: &str) {
        let yaml = format!("name: x\ntopology:\n  kind: patroni\n  {topology}\nsteps:\n  - sleep: 1s\n");
        assert_one(&yaml, line, column, phrase);
    }

    #[test_case("workload: {rate: 6000/s}\n", 7, 18, "rate 6000/s is over the limit of 5000/s" ; "rate too high")]
    #[test_case("workload: {rate: 360000/m}\n", 7, 18, "rate 6000/s is over the limit" ; "rate per minute too high")]
    #[test_case("workload: {writers: 100}\n", 7, 21, "`writers: 100` is out of range: a workload has 1 to 64 writers" ; "too many writers")]
    #[test_case("invariants: [single_primary, no_acked_write_lost]\n", 7, 30, "`no_acked_write_lost` needs a `workload` section" ; "lost writes without a workload")]
    #[test_case("workload: {transactions: multi_shard}\n", 7, 26, "`transactions: multi_shard` writes each transaction's rows to two Citus worker groups" ; "multi-shard writes without Citus")]
    #[test_case("invariants: [single_primary, no_partial_transactions]\n", 7, 30, "`no_partial_transactions` judges multi-shard transactions, but the workload writes none" ; "partial transactions without a multi-shard workload")]
    fn workload_problems(tail: &str, line: usize, column: usize, phrase: &str) {
        assert_one(&format!("{}{tail}", scenario("  - sleep: 1s\n")), line, column, phrase);
    }

    #[test]
    fn all_problems_are_reported_in_file_order() {
        let yaml = indoc! {"
            name: x
            topology:
              kind: patroni
              members: 2
              patroni: {ttl: 10}
            steps:
              - fault: start
                target: old_primary
              - fault: kill
                target: {member: pg-3}
                sleep: 1s
            invariants: [no_acked_write_lost]
        "};
        assert_eq!(
            problems(yaml),
            [
                "5:18: `ttl: 10` is too small: Patroni rejects ttl below 20 and would run with 20 instead",
                "8:13: `old_primary` in step 1 names no member: no earlier fault is aimed at `primary`",
                "10:22: unknown member `pg-3`: this topology has 2 members",
                "11:5: step 2 sets both `fault` and `sleep`: a step does exactly one of wait, fault, expect, sleep or exec",
                "12:14: `no_acked_write_lost` needs a `workload` section: without writes there is nothing to lose",
            ]
        );
        let error = parse_scenario("scenarios/x.yaml", yaml).unwrap_err();
        assert!(error.to_string().starts_with("scenarios/x.yaml: 5 problems\nscenarios/x.yaml:5:18: "), "{error}");
    }

    #[test]
    fn members_are_listed_in_the_help() {
        let yaml = scenario(&format!("{KILL_PRIMARY}  - fault: kill\n    target: {{member: pg-7}}\n"));
        let error = parse_scenario("x.yaml", &yaml).unwrap_err();
        assert_eq!(
            error.problems()[0].help.as_deref(),
            Some("members are pg-1, pg-2, pg-3 (from `topology.members: 3`); other containers: etcd-1, etcd-2, etcd-3, haproxy")
        );
    }

    #[test]
    fn old_primary_is_fine_after_a_primary_fault() {
        let steps = format!("{KILL_PRIMARY}  - fault: start\n    target: old_primary\n  - expect:\n      - rejoins: {{target: old_primary, within: 60s}}\n");
        assert_eq!(problems(&scenario(&steps)), Vec::<String>::new());
    }

    #[test]
    fn aliases_point_where_the_value_is_used() {
        let yaml = indoc! {"
            name: x
            topology: {kind: patroni, members: 3}
            steps:
              - fault: kill
                target: primary
              - fault: kill
                target: &far {member: pg-9}
              - fault: kill
                target: *far
        "};
        let found = problems(yaml);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[1].starts_with("9:13: unknown member `pg-9`"), "{found:?}");
    }

    #[test_case("45s", None)]
    #[test_case("1m 30s", None)]
    #[test_case("500ms", None)]
    #[test_case("45 sec", Some("sec"))]
    #[test_case("2min", Some("min"))]
    #[test_case("1d", Some("d"))]
    fn duration_units(text: &str, unsupported: Option<&str>) {
        assert_eq!(unsupported_unit(text), unsupported);
    }
}

#[cfg(test)]
mod citus_tests {
    use indoc::formatdoc;

    use super::super::load::parse_scenario;

    fn citus(steps: &str) -> String {
        formatdoc! {"
            name: x
            topology:
              kind: citus
              groups: {{coordinator: 2, workers: [2, 2]}}
            steps:
            {steps}"
        }
    }

    #[track_caller]
    fn assert_problem(yaml: &str, line: usize, column: usize, phrase: &str) {
        let error = parse_scenario("scenarios/x.yaml", yaml).expect_err("must be invalid");
        let problem = error
            .problems()
            .iter()
            .find(|p| (p.line, p.column) == (line, column))
            .unwrap_or_else(|| panic!("no problem at {line}:{column}: {error}"));
        let text = format!("{}: {}", problem.message, problem.help.as_deref().unwrap_or_default());
        assert!(text.contains(phrase), "expected {phrase:?} in: {text}");
    }

    #[test]
    fn group_qualified_steps_and_citus_expectations_are_accepted() {
        let yaml = citus(
            "  - fault: partition\n    target: {group: 1}\n    peers: {group: 0}\n    duration: 5s\n  - fault: switchover\n    group: 1\n  - expect:\n      - pg_dist_node: {group: 1, within: 30s}\n      \
             - write_pause: {group: 2, max: 5s, errors: 0}\n  - fault: kill\n    target: {member: worker2-1}\n",
        );
        let yaml = yaml.replace("steps:\n", "workload: {writers: 2}\nsteps:\n");
        parse_scenario("scenarios/x.yaml", &yaml).unwrap_or_else(|e| panic!("{e}"));
    }

    #[test]
    fn a_role_target_needs_a_group() {
        assert_problem(&citus("  - fault: kill\n    target: primary\n"), 6, 12, "add `group: N` to the step");
        assert_problem(&citus("  - fault: switchover\n"), 6, 12, "every group has its own primary");
    }

    #[test]
    fn groups_must_exist() {
        assert_problem(&citus("  - fault: switchover\n    group: 3\n"), 7, 12, "group 3 does not exist");
        assert_problem(
            &citus("  - expect:\n      - write_pause: {group: 0, max: 5s}\n"),
            7,
            30,
            "worker groups of this topology are 1 to 2",
        );
        assert_problem(
            &citus("  - fault: kill\n    target: {member: worker3-1}\n"),
            7,
            22,
            "unknown member `worker3-1`",
        );
    }

    #[test]
    fn citus_things_in_a_patroni_topology_are_refused() {
        let yaml = "name: x\ntopology:\n  kind: patroni\n  groups: {workers: [2]}\nsteps:\n  - fault: kill\n    \
                    group: 1\n";
        let text = parse_scenario("scenarios/x.yaml", yaml).expect_err("must be invalid").to_string();
        assert!(text.contains("scenarios/x.yaml:4:3: "), "{text}");
        assert!(text.contains("`groups` describes a Citus cluster"), "{text}");
        assert!(text.contains("groups exist only in Citus topologies"), "{text}");
    }
}
