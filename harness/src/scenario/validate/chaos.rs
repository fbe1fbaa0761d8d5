//! Semantic checks of the `chaos:` section: faults a schedule can use, targets that exist,
//! ranges that are ranges, and invariants this build can check. Like the rest of validation,
//! every problem points at the user's text.
use super::{At, Checker, History};
use crate::scenario::chaos::{chaos_faults, Chaos, ChaosInvariant, DurationRange, MAX_CHAOS_FAULTS};
use crate::scenario::model::Scenario;
use crate::scenario::target::Target;
use crate::scenario::values::variant_name;

impl Checker<'_> {
    pub(super) fn chaos(&mut self, chaos: &Chaos, scenario: &Scenario) {
        if chaos.faults.is_empty() {
            self.report(
                "chaos.faults",
                At::Key,
                "`chaos.faults` is empty: a schedule needs at least one kind of fault",
                "no faults",
                Some("e.g. `- {fault: kill, targets: [primary]}`".into()),
            );
        }
        for (i, entry) in chaos.faults.iter().enumerate() {
            let base = format!("chaos.faults.{i}");
            let name = entry.fault.as_str();
            let spec = entry.fault.spec();
            match spec {
                None if !entry.fault.is_heal() => self.unknown_fault(&format!("{base}.fault"), name),
                Some(spec) if spec.chaos() => {
                    self.options(&base, 0, spec, &entry.options, None, &scenario.topology, &History::default());
                }
                _ => {
                    let required = spec.and_then(|spec| spec.options().iter().find(|option| option.required));
                    let why = match required {
                        _ if entry.fault.is_heal() => {
                            "pgdrill undoes every scheduled fault itself, after its `duration`".to_string()
                        }
                        Some(option) => format!("it needs a `{}`, which a generated schedule cannot know", option.key),
                        None => "it undoes another fault; pgdrill undoes every scheduled fault itself, after its \
                                 `duration`"
                            .to_string(),
                    };
                    let allowed: Vec<&str> = chaos_faults().iter().map(|spec| spec.name()).collect();
                    self.report(
                        &format!("{base}.fault"),
                        At::Value,
                        format!("fault `{name}` cannot be part of a chaos schedule: {why}"),
                        "not for chaos schedules",
                        Some(format!("chaos faults: {}", allowed.join(", "))),
                    );
                }
            }
            if entry.targets.is_empty() {
                self.report(
                    &format!("{base}.targets"),
                    At::Key,
                    format!("fault `{name}` in `chaos.faults` has no targets"),
                    "empty",
                    Some("e.g. `targets: [primary, replica]`".into()),
                );
            }
            for (j, target) in entry.targets.iter().enumerate() {
                let path = format!("{base}.targets.{j}");
                if *target == Target::OldPrimary {
                    self.report(
                        &path,
                        At::Value,
                        "`old_primary` cannot be a chaos target: it names what an earlier fault hit, and shrinking removes earlier faults",
                        "depends on earlier faults",
                        Some("use `primary`, `replica`, `sync_standby`, `etcd_leader` or `{member: pg-N}`".into()),
                    );
                } else {
                    self.target(&path, 0, target, &scenario.topology, &History::default());
                    if let Some(spec) = spec {
                        self.acts_on(&path, spec, target, &scenario.topology);
                    }
                }
            }
        }

        let count = chaos.count;
        if count.min == 0 || count.max > MAX_CHAOS_FAULTS {
            let (key, value) = if count.min == 0 { ("min", count.min) } else { ("max", count.max) };
            self.report(
                &format!("chaos.count.{key}"),
                At::Value,
                format!("`count.{key}: {value}` is out of range: a schedule has 1 to {MAX_CHAOS_FAULTS} faults"),
                format!("1 to {MAX_CHAOS_FAULTS}"),
                Some("every case starts a cluster; 1 to 4 faults find most problems and shrink quickly".into()),
            );
        } else if count.min > count.max {
            self.report(
                "chaos.count.min",
                At::Value,
                format!("`count.min: {}` is larger than `count.max: {}`", count.min, count.max),
                "larger than max",
                None,
            );
        }
        self.duration_range("spacing", chaos.spacing);
        self.duration_range("duration", chaos.duration);

        if chaos.invariants.is_empty() {
            self.report(
                "chaos.invariants",
                At::Key,
                "`chaos.invariants` is empty: a schedule that cannot fail proves nothing",
                "no invariants",
                Some("e.g. `[single_primary, no_acked_write_lost, writable_again: {within: 60s}]`".into()),
            );
        }
        for (i, invariant) in chaos.invariants.iter().enumerate() {
            let path = format!("chaos.invariants.{i}");
            let name = variant_name(invariant);
            let needs_writes = matches!(
                invariant,
                ChaosInvariant::NoAckedWriteLost
                    | ChaosInvariant::WritableAgain { .. }
                    | ChaosInvariant::MaxWriteUnavailability { .. }
            );
            if needs_writes && scenario.workload.is_none() {
                self.report(
                    &path,
                    At::Value,
                    format!("`{name}` needs a `workload` section: it is measured with the workload's writes"),
                    "no workload",
                    Some("add `workload: {writers: 2, rate: 100/s}`".into()),
                );
            }
            match invariant {
                ChaosInvariant::PgDistNodeConsistent { .. }
                    if scenario.topology.kind != crate::scenario::TopologyKind::Citus =>
                {
                    self.report(
                        &format!("{path}.{name}"),
                        At::Key,
                        "`pg_dist_node_consistent` needs a Citus topology (`kind: citus`): only Citus has pg_dist_node",
                        "not a Citus topology",
                        Some("remove this invariant, or make the topology `kind: citus`".into()),
                    )
                }
                ChaosInvariant::PgDistNodeConsistent { within } => {
                    self.budget(&format!("{path}.{name}.within"), within)
                }
                ChaosInvariant::WritableAgain { within } | ChaosInvariant::ReplicationStreaming { within } => {
                    self.budget(&format!("{path}.{name}.within"), within);
                }
                ChaosInvariant::MaxWriteUnavailability { max } => {
                    self.budget(&format!("{path}.{name}.max"), max);
                }
                ChaosInvariant::SinglePrimary | ChaosInvariant::NoAckedWriteLost => {}
            }
        }
    }

    /// `spacing` and `duration`: positive, whole seconds (shrinking steps one second at a time,
    /// and every step is a cluster run), and `min` no larger than `max`.
    fn duration_range(&mut self, key: &str, range: DurationRange) {
        for (end, value) in [("min", range.min), ("max", range.max)] {
            let path = format!("chaos.{key}.{end}");
            self.budget(&path, &value);
            if value.0.subsec_nanos() != 0 {
                self.report(
                    &path,
                    At::Value,
                    format!("`{key}.{end}: {value}` is not a whole number of seconds"),
                    "not whole seconds",
                    Some("schedules step in whole seconds, so that shrinking needs few cluster runs".into()),
                );
            }
        }
        if range.min > range.max {
            self.report(
                &format!("chaos.{key}.min"),
                At::Value,
                format!("`{key}.min: {}` is longer than `{key}.max: {}`", range.min, range.max),
                "longer than max",
                None,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use indoc::indoc;
    use test_case::test_case;

    use crate::scenario::parse_scenario;

    const BASE: &str = indoc! {"
        name: x
        topology: {kind: patroni, members: 2, etcd: 1}
        workload: {writers: 1, rate: 10/s}
    "};

    fn problems(chaos: &str) -> Vec<String> {
        let yaml = format!("{BASE}{chaos}");
        match parse_scenario("x.yaml", &yaml) {
            Ok(_) => Vec::new(),
            Err(error) => error.problems().iter().map(|p| format!("{}:{}: {}", p.line, p.column, p.message)).collect(),
        }
    }

    const GOOD: &str = indoc! {"
        chaos:
          faults:
            - {fault: pause, targets: [replica]}
            - {fault: kill, targets: [primary, {member: pg-2}]}
            - {fault: loss, targets: [primary], probability: 0.3}
          count: {min: 1, max: 3}
          spacing: {min: 1s, max: 5s}
          duration: {min: 1s, max: 10s}
          invariants: [single_primary, no_acked_write_lost, writable_again: {within: 30s}, max_write_unavailability: {max: 10s}]
    "};

    #[test]
    fn a_chaos_section_without_steps_is_valid() {
        assert_eq!(problems(GOOD), Vec::<String>::new());
    }

    #[test_case("{fault: pause, targets: [replica]}", "{fault: start, targets: [replica]}", 6, 15, "fault `start` cannot be part of a chaos schedule: it undoes another fault" ; "undo action")]
    #[test_case("{fault: pause, targets: [replica]}", "{fault: failover, targets: [replica]}", 6, 15, "fault `failover` cannot be part of a chaos schedule: it needs a `candidate`" ; "failover")]
    #[test_case("targets: [primary, {member: pg-2}]", "targets: [old_primary]", 7, 31, "`old_primary` cannot be a chaos target" ; "old primary")]
    #[test_case("targets: [primary, {member: pg-2}]", "targets: [{member: pg-5}]", 7, 40, "unknown member `pg-5`: this topology has 2 members" ; "unknown member")]
    #[test_case("targets: [primary, {member: pg-2}]", "targets: []", 7, 21, "fault `kill` in `chaos.faults` has no targets" ; "no targets")]
    #[test_case(", probability: 0.3}", "}", 8, 8, "fault `loss` in `chaos.faults` needs `probability`" ; "loss without probability")]
    #[test_case("probability: 0.3", "probability: 1.5", 8, 54, "probability 1.5 is out of range" ; "bad probability")]
    #[test_case("{min: 1, max: 3}", "{min: 4, max: 3}", 9, 16, "`count.min: 4` is larger than `count.max: 3`" ; "count inverted")]
    #[test_case("{min: 1, max: 3}", "{min: 0, max: 3}", 9, 16, "`count.min: 0` is out of range: a schedule has 1 to 12 faults" ; "count zero")]
    #[test_case("{min: 1s, max: 5s}", "{min: 6s, max: 5s}", 10, 18, "`spacing.min: 6s` is longer than `spacing.max: 5s`" ; "spacing inverted")]
    #[test_case("{min: 1s, max: 10s}", "{min: 500ms, max: 10s}", 11, 19, "`duration.min: 500ms` is not a whole number of seconds" ; "not whole seconds")]
    #[test_case("{min: 1s, max: 10s}", "{min: 0s, max: 10s}", 11, 19, "`min` must be longer than zero" ; "zero duration")]
    #[test_case("writable_again: {within: 30s},", "pg_dist_node_consistent: {within: 30s},", 12, 53, "`pg_dist_node_consistent` needs a Citus topology (`kind: citus`)" ; "citus hook")]
    #[test_case("invariants: [single_primary, no_acked_write_lost, writable_again: {within: 30s}, max_write_unavailability: {max: 10s}]", "invariants: []", 12, 3, "`chaos.invariants` is empty" ; "no invariants")]
    fn chaos_problems_point_at_the_text(from: &str, to: &str, line: usize, column: usize, phrase: &str) {
        let yaml = GOOD.replacen(from, to, 1);
        assert_ne!(yaml, GOOD, "the replacement must apply");
        let found = problems(&yaml);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].starts_with(&format!("{line}:{column}: ")), "expected {line}:{column}, got {found:?}");
        assert!(found[0].contains(phrase), "expected `{phrase}` in {found:?}");
    }

    #[test]
    fn writes_are_needed_for_write_invariants() {
        let yaml = format!("name: x\ntopology: {{kind: patroni, members: 2, etcd: 1}}\n{GOOD}");
        let error = parse_scenario("x.yaml", &yaml).unwrap_err();
        let messages: Vec<&str> = error.problems().iter().map(|p| p.message.as_str()).collect();
        assert_eq!(messages.len(), 3, "{messages:?}");
        assert!(messages.iter().all(|m| m.contains("needs a `workload` section")), "{messages:?}");
    }

    #[test]
    fn unknown_chaos_keys_and_names_are_parse_errors() {
        let yaml = format!("{BASE}{}", GOOD.replace("spacing:", "spaceing:"));
        let error = parse_scenario("x.yaml", &yaml).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("x.yaml:10:3: unknown key `spaceing` in `chaos`, expected one of: faults, count, spacing"),
            "{error}"
        );
        let yaml = format!("{BASE}{}", GOOD.replace("single_primary,", "single_primery,"));
        let error = parse_scenario("x.yaml", &yaml).unwrap_err();
        assert!(error.to_string().contains("unknown invariant `single_primery`"), "{error}");
        let yaml = format!("{BASE}{}", GOOD.replace("[replica]", "[replika]"));
        let error = parse_scenario("x.yaml", &yaml).unwrap_err();
        assert!(error.to_string().contains("unknown target `replika`"), "{error}");
    }
}
