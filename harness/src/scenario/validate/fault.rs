//! Semantic checks of a fault step, asked of the fault's own declaration
//! ([`FaultSpec`](crate::scenario::FaultSpec)): a known name, only the keys it takes with values
//! of their types and ranges, the keys it needs, a target it can act on.
use super::exec::regex_problem;
use super::{At, Checker, History};
use crate::scenario::fault_spec::TargetRule;
use crate::scenario::fault_spec::{fault_specs, option_regex, ActsOn, FaultName, FaultSpec, OptionKind, OptionSpec};
use crate::scenario::fault_spec::{COMMON_FAULT_KEYS, UNSUPPORTED_FAULTS};
use crate::scenario::model::{Topology, TopologyKind};
use crate::scenario::source::suggest;
use crate::scenario::step::{FaultOptions, Step};
use crate::scenario::target::Target;
use crate::scenario::values::Budget;

/// Keys of steps that are not fault steps (for "expected one of" lists).
const STEP_KEYS: [&str; 9] = ["wait", "fault", "target", "group", "expect", "duration", "sleep", "within", "exec"];
const TARGET_HELP: &str = "use `primary`, `replica`, `old_primary` or `{member: pg-N}`";

impl Checker<'_> {
    /// A step's keys that belong to no step: every key when the step has no fault, or a key the
    /// fault does not take (checked by [`Self::fault_step`]).
    pub(super) fn stray_options(&mut self, base: &str, n: usize, options: &FaultOptions) {
        for key in options.keys() {
            self.misplaced_option(base, n, key, None);
        }
    }

    /// A `fault:` step.
    pub(super) fn fault_step(
        &mut self,
        base: &str,
        n: usize,
        name: &FaultName,
        step: &Step,
        topology: &Topology,
        history: &History,
    ) {
        if name.is_heal() {
            self.stray_options(base, n, &step.options);
            self.no_duration(base, n, name, step);
            return;
        }
        let Some(spec) = name.spec() else {
            self.unknown_fault(&format!("{base}.fault"), name.as_str());
            return;
        };
        self.citus_role_target(base, n, spec, step, topology);
        let target = step.target.as_ref().map(|target| &target.value);
        self.options(base, n, spec, &step.options, target, topology, history);
        if spec.lasting().is_none() {
            self.no_duration(base, n, name, step);
        }
        if step.target.is_none() && spec.target_rule() == TargetRule::Required {
            self.report(
                &format!("{base}.fault"),
                At::Key,
                format!("fault `{name}` in step {n} needs a `target`"),
                "no target",
                Some(format!("add a `target`: {TARGET_HELP}")),
            );
        }
        if spec.target_rule() == TargetRule::Clients {
            self.clients_fault(base, n, name, step);
        } else if let Some(target) = &step.target {
            self.acts_on(&format!("{base}.target"), spec, &target.value, topology);
        }
        if let Some(duration) = &step.duration {
            self.budget(&format!("{base}.duration"), duration);
        }
    }

    /// A fault on the scenario's own clients: no `target`, and a workload whose path it acts on.
    fn clients_fault(&mut self, base: &str, n: usize, name: &FaultName, step: &Step) {
        if step.target.is_some() {
            self.report(
                &format!("{base}.target"),
                At::Key,
                format!("fault `{name}` in step {n} takes no `target`: it acts on the scenario's own clients"),
                "no target here",
                Some("remove `target`; the fault acts on the workload's path (HAProxy, or the pooler)".into()),
            );
        }
        if !self.workload {
            self.report(
                &format!("{base}.fault"),
                At::Value,
                format!("fault `{name}` in step {n} acts on the workload's connections, but the scenario has no `workload` section"),
                "no workload",
                Some("add `workload: {writers: 2, rate: 100/s}`".into()),
            );
        }
    }

    /// A fault name the registry does not know (or one this host cannot inject).
    pub(super) fn unknown_fault(&mut self, path: &str, name: &str) {
        let mut allowed: Vec<&str> = fault_specs().iter().map(|spec| spec.name()).collect();
        allowed.push(FaultName::HEAL);
        if let Some((_, why)) = UNSUPPORTED_FAULTS.iter().find(|(unsupported, _)| *unsupported == name) {
            self.report(
                path,
                At::Value,
                format!("fault `{name}` is not supported on this host: {why}"),
                "not supported on this host",
                Some(format!("supported faults: {}", allowed.join(", "))),
            );
            return;
        }
        self.report(
            path,
            At::Value,
            format!(
                "unknown fault `{}`, expected one of: {}",
                crate::scenario::snippet::shown(name),
                allowed.join(", ")
            ),
            "unknown fault",
            Some(suggest(name, &allowed).unwrap_or_else(|| "`pgdrill list --faults` describes each fault".into())),
        );
    }

    /// The options of a fault (step `n`'s, or a chaos entry's when `n` is 0): each known to the
    /// fault, of its type and range; the required ones present; target options that are not the
    /// step's `target` itself.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn options(
        &mut self,
        base: &str,
        n: usize,
        spec: &dyn FaultSpec,
        options: &FaultOptions,
        target: Option<&Target>,
        topology: &Topology,
        history: &History,
    ) {
        let place = if n > 0 { format!("step {n}") } else { "`chaos.faults`".to_string() };
        for (key, value) in options {
            match spec.options().iter().find(|option| option.key == key) {
                Some(option) => {
                    let path = format!("{base}.{key}");
                    self.option_value(&path, n, spec, option, value, topology, history);
                    self.not_the_target(&path, spec, option, value, target);
                }
                None => self.misplaced_option(base, n, key, Some(spec)),
            }
        }
        for option in spec.options().iter().filter(|option| option.required) {
            if !options.contains_key(option.key) {
                self.report(
                    &format!("{base}.fault"),
                    At::Key,
                    format!("fault `{}` in {place} needs `{}`", spec.name(), option.key),
                    format!("no {}", option.key),
                    Some(option.doc.into()),
                );
            }
        }
        for problem in spec.option_problems(options) {
            self.report(
                &format!("{base}.{}", problem.key),
                At::Key,
                problem.message,
                problem.label,
                Some(problem.help),
            );
        }
    }

    /// A key the fault (or, without a fault, the step) does not take.
    fn misplaced_option(&mut self, base: &str, n: usize, key: &str, spec: Option<&dyn FaultSpec>) {
        let takers: Vec<&'static str> = fault_specs()
            .into_iter()
            .filter(|other| other.options().iter().any(|option| option.key == key))
            .map(|other| other.name())
            .collect();
        let path = format!("{base}.{key}");
        let in_step = if n > 0 { format!(" in step {n}") } else { String::new() };
        match (spec, takers.as_slice()) {
            (_, []) => {
                let mut allowed: Vec<&str> = STEP_KEYS.to_vec();
                if let Some(spec) = spec {
                    allowed = COMMON_FAULT_KEYS.to_vec();
                    allowed.extend(spec.options().iter().map(|option| option.key));
                }
                let where_ = spec.map_or("in a step".to_string(), |spec| format!("for fault `{}`", spec.name()));
                self.report(
                    &path,
                    At::Key,
                    format!(
                        "unknown key `{}` {where_}, expected one of: {}",
                        crate::scenario::snippet::shown(key),
                        allowed.join(", ")
                    ),
                    "unknown key",
                    Some(suggest(key, &allowed).unwrap_or_else(|| {
                        "unknown keys are errors, so that a typo cannot silently skip part of a drill".into()
                    })),
                );
            }
            (spec, takers) => {
                let quoted: Vec<String> = takers.iter().map(|name| format!("`{name}`")).collect();
                let message = match spec {
                    Some(spec) => format!("`{key}` does not apply to fault `{}`{in_step}", spec.name()),
                    None => format!("`{key}` only applies to a `fault` step{in_step}"),
                };
                self.report(
                    &path,
                    At::Key,
                    message,
                    "not for this fault",
                    Some(format!("only {} take `{key}`", quoted.join(", "))),
                );
            }
        }
    }

    /// A target option equal to the step's target (`peers` of a partition, a switchover's
    /// `candidate`) makes the fault act between a member and itself.
    fn not_the_target(
        &mut self,
        path: &str,
        spec: &dyn FaultSpec,
        option: &OptionSpec,
        value: &serde_json::Value,
        target: Option<&Target>,
    ) {
        if option.kind != OptionKind::Target {
            return;
        }
        let Ok(option_target) = serde_json::from_value::<Target>(value.clone()) else { return };
        if target == Some(&option_target) {
            let key = option.key;
            self.report(
                path,
                At::Value,
                format!("`{key}` of fault `{}` is its `target` itself: the fault could never act", spec.name()),
                "same as `target`",
                Some(format!("name other containers in `{key}`, or leave it out: {}", option.doc)),
            );
        }
    }

    /// One option's value: its type, its range, and for targets what they name (only Patroni
    /// members for a fault acting on Patroni, e.g. a switchover's `candidate`).
    #[allow(clippy::too_many_arguments)]
    fn option_value(
        &mut self,
        path: &str,
        n: usize,
        spec: &dyn FaultSpec,
        option: &OptionSpec,
        value: &serde_json::Value,
        topology: &Topology,
        history: &History,
    ) {
        let key = option.key;
        let wrong_type = |checker: &mut Self| {
            checker.report(
                path,
                At::Value,
                format!("invalid value for `{key}`: expected {}", option.kind.describe()),
                format!("not {}", option.kind.describe()),
                Some(option.doc.into()),
            );
        };
        match option.kind {
            OptionKind::Target => match serde_json::from_value::<Target>(value.clone()) {
                Ok(target) => {
                    self.target(path, n, &target, topology, history);
                    if spec.acts_on() == ActsOn::PatroniMembers {
                        self.acts_on(path, spec, &target, topology);
                    }
                }
                Err(_) => wrong_type(self),
            },
            OptionKind::Bool if !value.is_boolean() => wrong_type(self),
            OptionKind::Bool => {}
            OptionKind::Duration => match serde_json::from_value::<Budget>(value.clone()) {
                Ok(budget) => self.budget(path, &budget),
                Err(_) => wrong_type(self),
            },
            OptionKind::Number { .. } => match value.as_f64() {
                Some(number) if !option.kind.in_range(number) => self.report(
                    path,
                    At::Value,
                    format!("{key} {number} is out of range"),
                    format!("not {}", option.kind.describe()),
                    Some(option.doc.into()),
                ),
                Some(_) => {}
                None => wrong_type(self),
            },
            OptionKind::Count { .. } => match value.as_u64() {
                Some(count) if !option.kind.in_range(count as f64) => self.report(
                    path,
                    At::Value,
                    format!("{key} {count} is out of range"),
                    format!("not {}", option.kind.describe()),
                    Some(option.doc.into()),
                ),
                Some(_) => {}
                None => wrong_type(self),
            },
            OptionKind::Choice(words) => match value.as_str() {
                Some(word) if words.contains(&word) => {}
                Some(word) => self.report(
                    path,
                    At::Value,
                    format!(
                        "invalid value `{}` for `{key}`, expected one of: {}",
                        crate::scenario::snippet::shown(word),
                        words.join(", ")
                    ),
                    format!("not {}", option.kind.describe()),
                    Some(suggest(word, words).unwrap_or_else(|| option.doc.into())),
                ),
                None => wrong_type(self),
            },
            OptionKind::Regex => match value.as_str().map(option_regex) {
                Some(Ok(_)) => {}
                Some(Err(error)) => self.report(
                    path,
                    At::Value,
                    format!(
                        "`{key}` of fault `{}` is not a valid regular expression: {}",
                        spec.name(),
                        regex_problem(&error)
                    ),
                    "invalid regular expression",
                    Some(
                        "Rust regex syntax (no look-around or back-references); escape `|`, `(` and `.` with `\\`"
                            .into(),
                    ),
                ),
                None => wrong_type(self),
            },
        }
    }

    /// `duration` on a fault that is over at once.
    fn no_duration(&mut self, base: &str, n: usize, name: &FaultName, step: &Step) {
        if step.duration.is_some() {
            self.report(
                &format!("{base}.duration"),
                At::Key,
                format!("`duration` does not apply to fault `{name}` in step {n}"),
                "not for this fault",
                Some("this fault is not undone by pgdrill, so it takes no duration".into()),
            );
        }
    }

    /// A target the fault can act on (a fault on Patroni or PostgreSQL needs a Patroni member).
    pub(super) fn acts_on(&mut self, path: &str, spec: &dyn FaultSpec, target: &Target, topology: &Topology) {
        if spec.acts_on() == ActsOn::AnyContainer {
            return;
        }
        let not_member = match target {
            Target::Etcd | Target::EtcdLeader => Some("etcd".to_string()),
            Target::Member(name) if !crate::topology::member_names(topology).contains(name) => {
                Some(format!("`{name}`"))
            }
            _ => None,
        };
        if let Some(what) = not_member {
            self.report(
                path,
                At::Value,
                format!("fault `{}` acts on Patroni members only, and {what} is not one", spec.name()),
                "not a Patroni member",
                Some("aim it at `primary`, `replica` or `{member: pg-N}`".into()),
            );
        }
    }

    /// In a Citus topology every group has a primary, so a role target (or a fault that defaults
    /// to the leader) must say which group it means.
    fn citus_role_target(&mut self, base: &str, n: usize, spec: &dyn FaultSpec, step: &Step, topology: &Topology) {
        if topology.kind != TopologyKind::Citus || step.group.is_some() {
            return;
        }
        let role = |t: &Target| matches!(t, Target::Primary | Target::Replica | Target::Replicas | Target::SyncStandby);
        let role_option = spec
            .options()
            .iter()
            .filter(|option| option.kind == OptionKind::Target)
            .filter_map(|option| step.option::<Target>(option.key))
            .any(|t| role(&t));
        let defaults_to_leader = step.target.is_none() && spec.target_rule() == TargetRule::DefaultsToLeader;
        if step.target.as_ref().is_some_and(|t| role(&t.value)) || role_option || defaults_to_leader {
            self.report(
                &format!("{base}.fault"),
                At::Value,
                format!(
                    "step {n} aims at a role, but in a Citus topology every group has its own primary and replicas"
                ),
                "which group?",
                Some("add `group: N` to the step (0 is the coordinator, 1.. the worker groups)".into()),
            );
        }
    }
}
