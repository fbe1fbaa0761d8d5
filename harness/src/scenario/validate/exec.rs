//! Semantic checks of an `exec` step: a command to run, a pattern that compiles, one container
//! the topology has, a positive bound.
use super::{At, Checker, History};
use crate::scenario::exec::ExecStep;
use crate::scenario::model::{Topology, TopologyKind};
use crate::scenario::target::Target;

const ONE_CONTAINER_HELP: &str =
    "use `primary`, `replica`, `old_primary`, `sync_standby`, `etcd_leader` or `{member: NAME}` (a member or etcd-N)";

impl Checker<'_> {
    /// An `exec:` step (`grouped`: the step names a Citus group).
    pub(super) fn exec_step(
        &mut self,
        base: &str,
        n: usize,
        exec: &ExecStep,
        grouped: bool,
        topology: &Topology,
        history: &History,
    ) {
        let path = format!("{base}.exec");
        if exec.command.first().is_none_or(|program| program.trim().is_empty()) {
            self.report(
                &format!("{path}.command"),
                At::Value,
                format!("`command` in step {n} names no program"),
                "nothing to run",
                Some("give the program and its arguments, e.g. `command: [patronictl, list]`".into()),
            );
        }
        if let Some(Err(error)) = exec.output_pattern() {
            self.report(
                &format!("{path}.expect_output"),
                At::Value,
                format!("`expect_output` in step {n} is not a valid regular expression: {}", regex_problem(&error)),
                "invalid regular expression",
                Some("Rust regex syntax (no look-around or back-references); escape `|`, `(` and `.` with `\\`".into()),
            );
        }
        let target_path = format!("{path}.target");
        match &exec.target {
            Target::Replicas | Target::Members | Target::Etcd | Target::Group(_) => self.report(
                &target_path,
                At::Value,
                format!("`exec` in step {n} runs in one container, and this target may name several"),
                "not a single container",
                Some(ONE_CONTAINER_HELP.into()),
            ),
            Target::Primary | Target::Replica | Target::SyncStandby
                if topology.kind == TopologyKind::Citus && !grouped =>
            {
                self.report(
                    &target_path,
                    At::Value,
                    format!(
                        "step {n} aims at a role, but in a Citus topology every group has its own primary and replicas"
                    ),
                    "which group?",
                    Some("add `group: N` to the step (0 is the coordinator, 1.. the worker groups)".into()),
                )
            }
            target => self.target(&target_path, n, target, topology, history),
        }
        self.budget(&format!("{path}.within"), &exec.within);
    }
}

/// The one-line reason of a regex error (its Display draws the pattern with a caret over lines).
pub(super) fn regex_problem(error: &regex::Error) -> String {
    let text = error.to_string();
    let reason = text.lines().rev().find_map(|line| line.trim().strip_prefix("error: ")).map(str::to_string);
    reason.unwrap_or_else(|| text.lines().last().unwrap_or_default().trim().to_string())
}

#[cfg(test)]
mod tests {
    use indoc::formatdoc;
    use test_case::test_case;

    use crate::scenario::load::parse_scenario;

    fn scenario(kind: &str, steps: &str) -> String {
        formatdoc! {"
            name: x
            topology:
              {kind}
            steps:
              - wait: healthy
                within: 90s
            {steps}"
        }
    }

    #[track_caller]
    fn assert_one(kind: &str, steps: &str, line: usize, column: usize, phrase: &str) {
        let error = parse_scenario("scenarios/x.yaml", &scenario(kind, steps)).expect_err("must be invalid");
        let text = error.to_string();
        assert_eq!(error.problems().len(), 1, "expected one problem: {text}");
        let prefix = format!("scenarios/x.yaml:{line}:{column}: ");
        assert!(text.starts_with(&prefix), "expected {prefix}..., got: {text}");
        assert!(text.contains(phrase), "expected `{phrase}` in: {text}");
    }

    const PATRONI: &str = "kind: patroni";
    const CITUS: &str = "kind: citus";

    #[test_case(PATRONI, "  - exec: {target: primary, command: [patronictl, list], expect_output: 'Leader (|'}\n", 7, 73, "`expect_output` in step 2 is not a valid regular expression: unclosed group" ; "bad regex")]
    #[test_case(PATRONI, "  - exec: {target: primary, command: []}\n", 7, 38, "`command` in step 2 names no program" ; "empty command")]
    #[test_case(PATRONI, "  - exec:\n      target: primary\n      command: ['']\n", 9, 16, "`command` in step 2 names no program" ; "empty program")]
    #[test_case(PATRONI, "  - exec: {target: {member: pg-7}, command: [patronictl, list]}\n", 7, 29, "unknown member `pg-7`: this topology has 3 members" ; "unknown member")]
    #[test_case(PATRONI, "  - exec: {target: etcd, command: [etcdctl, endpoint, health]}\n", 7, 20, "`exec` in step 2 runs in one container" ; "several containers")]
    #[test_case(PATRONI, "  - exec: {target: old_primary, command: [patronictl, list]}\n", 7, 20, "`old_primary` in step 2 names no member" ; "old primary before a primary fault")]
    #[test_case(PATRONI, "  - exec: {target: primary, command: [patronictl, list], within: 0s}\n", 7, 66, "`within` must be longer than zero" ; "zero bound")]
    #[test_case(PATRONI, "  - exec: {target: primary, command: [patronictl, list], expect: 0}\n", 7, 58, "unknown key `expect` in `exec`, expected one of: target, command, expect_exit, expect_output, within" ; "unknown exec key")]
    #[test_case(PATRONI, "  - exec: {target: primary, command: [patronictl, list]}\n    within: 5s\n", 8, 5, "`within` only bounds a `wait` step" ; "step-level within")]
    #[test_case(PATRONI, "  - exec: {target: primary, command: [patronictl, list]}\n    sleep: 5s\n", 8, 5, "step 2 sets both `exec` and `sleep`: a step does exactly one of wait, fault, expect, sleep or exec" ; "two actions")]
    #[test_case(CITUS, "  - exec: {target: primary, command: [patronictl, list]}\n", 7, 20, "step 2 aims at a role, but in a Citus topology" ; "citus role without a group")]
    fn exec_problems(kind: &str, steps: &str, line: usize, column: usize, phrase: &str) {
        assert_one(kind, steps, line, column, phrase);
    }

    #[test]
    fn runbook_steps_are_accepted() {
        let steps = "  - exec:\n      target: {member: etcd-1}\n      command: [etcdctl, endpoint, health]\n      \
                     expect_output: 'is healthy'\n  - exec: {target: primary, command: [patronictl, failover, --candidate, \
                     pg-2, --force], expect_exit: 0, within: 45s}\n";
        parse_scenario("scenarios/x.yaml", &scenario(PATRONI, steps)).unwrap_or_else(|e| panic!("{e}"));
        let citus = "  - exec: {target: primary, command: [patronictl, list]}\n    group: 1\n";
        parse_scenario("scenarios/x.yaml", &scenario(CITUS, citus)).unwrap_or_else(|e| panic!("{e}"));
    }
}
