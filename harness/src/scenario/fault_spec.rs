//! What a fault declares about itself for scenario files: its name, the step keys it takes and
//! their types, what it may aim at, whether it lasts (and so is undone), which faults it ends,
//! and whether a chaos schedule may pick it. The scenario layer asks these declarations — the
//! validator, the JSON Schema, the chaos section — without knowing how a fault acts; each fault
//! family in `crate::fault::kinds` implements [`FaultSpec`] next to its action and registers
//! itself, so nothing else enumerates faults.
use std::borrow::Cow;
use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::step::FaultOptions;

/// The scenario-file side of one fault.
pub trait FaultSpec: Sync + 'static {
    /// The name scenario files use (`kill_postgres`).
    fn name(&self) -> &'static str;
    /// One line for `pgdrill list --faults` and the JSON Schema.
    fn summary(&self) -> &'static str;
    /// Keys a step with this fault may set besides `target`, `group` and `duration`.
    fn options(&self) -> &'static [OptionSpec] {
        &[]
    }
    /// Whether `target` is required or defaults to the leader.
    fn target_rule(&self) -> TargetRule {
        TargetRule::Required
    }
    /// Which containers it can act on.
    fn acts_on(&self) -> ActsOn {
        ActsOn::AnyContainer
    }
    /// Whether the fault stays in effect until pgdrill undoes it (`None`: over at once).
    fn lasting(&self) -> Option<Lasting> {
        None
    }
    /// Lasting faults an explicit step of this fault ends (`start` ends `kill` and `stop`).
    fn ends(&self) -> Ends {
        Ends::NOTHING
    }
    /// Whether a chaos schedule may pick it (lasting or over at once, needs no option a
    /// generated schedule cannot know).
    fn chaos(&self) -> bool {
        false
    }
    /// Problems between its options that no single option's type shows (`delay` only with
    /// `action: delay`); each option's own type and range are checked before.
    fn option_problems(&self, _options: &FaultOptions) -> Vec<OptionProblem> {
        Vec::new()
    }
}

/// A problem between a step's fault options, for [`FaultSpec::option_problems`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionProblem {
    /// The key the error points at (`fault` when an option is missing).
    pub key: &'static str,
    /// What is wrong, in a sentence.
    pub message: String,
    /// The short label on the span.
    pub label: &'static str,
    /// How to fix it.
    pub help: String,
}

/// How a lasting fault is undone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lasting {
    /// The end of the run must undo it (network rules, frozen containers, maintenance mode
    /// would skew the audit and survive `--keep`); a stopped container need not be started just
    /// to be removed.
    pub undo_at_end: bool,
    /// The fault leaves its targets not running on purpose (not an error for `wait: healthy`).
    pub leaves_down: bool,
}

/// Lasting faults that an explicit step ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ends {
    /// Their names.
    pub faults: &'static [&'static str],
    /// Whether it ends them whatever they targeted (maintenance mode is cluster-wide).
    pub any_target: bool,
}

impl Ends {
    /// Ends nothing.
    pub const NOTHING: Ends = Ends { faults: &[], any_target: false };
}

/// An on/off pair of faults declared as one (`pause`/`unpause`, `disconnect`/`reconnect`): the
/// "on" fault lasts until undone (at the end of the run at the latest) and chaos may pick it; the
/// "off" fault is over at once and ends the "on" fault on its target. A pair's two
/// [`FaultSpec`]s ask it, so the rule is written once.
#[derive(Debug, Clone, Copy)]
pub struct OnOffPair {
    /// The "on" fault's name, as a one-name list ([`Ends`] takes a list).
    pub on: &'static [&'static str; 1],
    /// The "off" fault's name.
    pub off: &'static str,
    /// `pgdrill list --faults` summaries: (on, off).
    pub summaries: (&'static str, &'static str),
}

impl OnOffPair {
    /// The name of the "on" (`true`) or "off" fault.
    pub const fn name(&self, on: bool) -> &'static str {
        if on {
            self.on[0]
        } else {
            self.off
        }
    }

    /// Its summary.
    pub const fn summary(&self, on: bool) -> &'static str {
        if on {
            self.summaries.0
        } else {
            self.summaries.1
        }
    }

    /// The "on" fault lasts until undone, and is undone at the end of the run.
    pub fn lasting(&self, on: bool) -> Option<Lasting> {
        on.then_some(Lasting { undo_at_end: true, leaves_down: false })
    }

    /// The "off" fault ends the "on" fault on its target.
    pub fn ends(&self, on: bool) -> Ends {
        if on {
            Ends::NOTHING
        } else {
            Ends { faults: self.on, any_target: false }
        }
    }

    /// Chaos may pick the "on" fault (its undo is the "off" one).
    pub fn chaos(&self, on: bool) -> bool {
        on
    }
}

/// What a fault on the scenario's own clients ([`TargetRule::Clients`]) names as its target on
/// the timeline and in reports.
pub const CLIENTS: &str = "clients";

/// Whether a fault needs a `target`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetRule {
    /// A step must name its target.
    Required,
    /// Without a target it goes through the (group's) leader, e.g. a switchover.
    DefaultsToLeader,
    /// It takes no target: it acts on the scenario's own clients (the workload's path to the
    /// cluster), so the scenario needs a workload.
    Clients,
}

/// Which containers a fault can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActsOn {
    /// Any container of the topology (members, etcd, HAProxy).
    AnyContainer,
    /// Patroni members only (it acts on Patroni or PostgreSQL inside them).
    PatroniMembers,
    /// Its target must be a Patroni member, its target options may name any container (a link
    /// fault acts inside the member; the link's other end may be etcd).
    PatroniMemberTarget,
}

/// One key a fault takes.
#[derive(Debug, Clone, Copy)]
pub struct OptionSpec {
    /// The key.
    pub key: &'static str,
    /// Its type and range.
    pub kind: OptionKind,
    /// Whether a step must set it.
    pub required: bool,
    /// What it means, for the schema and errors (`"e.g. probability: 0.3"`).
    pub doc: &'static str,
}

/// The type of a fault option.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OptionKind {
    /// A target (`primary`, `{member: pg-2}`), resolved when the step runs.
    Target,
    /// `true` or `false`.
    Bool,
    /// A duration (`5s`).
    Duration,
    /// A number strictly between `min` and `max`... or up to `max` inclusive when `max_inclusive`.
    Number {
        /// Exclusive lower bound.
        above: f64,
        /// Upper bound.
        max: f64,
        /// Whether `max` itself is allowed.
        max_inclusive: bool,
    },
    /// A whole number from 1 to `max`.
    Count {
        /// The largest allowed.
        max: u64,
    },
    /// One of these words.
    Choice(&'static [&'static str]),
    /// A regular expression (Rust regex syntax), matched case-insensitively: see [`option_regex`].
    Regex,
}

impl OptionKind {
    /// A share strictly between 0 and 1.
    pub const SHARE: OptionKind = OptionKind::Number { above: 0.0, max: 1.0, max_inclusive: false };

    /// What a value must look like, for error messages.
    pub fn describe(&self) -> String {
        match self {
            OptionKind::Target => "a target".into(),
            OptionKind::Bool => "true or false".into(),
            OptionKind::Duration => "a duration, e.g. 5s".into(),
            OptionKind::Number { above, max, max_inclusive: true } => format!("a number above {above}, at most {max}"),
            OptionKind::Number { above, max, .. } => format!("a number between {above} and {max} (exclusive)"),
            OptionKind::Count { max } => format!("a whole number from 1 to {max}"),
            OptionKind::Choice(words) => format!("one of: {}", words.join(", ")),
            OptionKind::Regex => "a regular expression, e.g. '^PREPARE TRANSACTION'".into(),
        }
    }

    /// Whether `value` is in range (numbers only; other kinds are checked by their parsers).
    pub fn in_range(&self, value: f64) -> bool {
        match *self {
            OptionKind::Number { above, max, max_inclusive } => {
                value > above && (value < max || (max_inclusive && value == max))
            }
            OptionKind::Count { max } => value >= 1.0 && value <= max as f64,
            _ => true,
        }
    }
}

/// The compiled form of an [`OptionKind::Regex`] option: case-insensitive, so that `^prepare`
/// and `^PREPARE` mean the same to SQL, whose keywords are case-insensitive. The validator and
/// the fault compile it the same way.
pub fn option_regex(pattern: &str) -> Result<regex::Regex, regex::Error> {
    regex::RegexBuilder::new(pattern).case_insensitive(true).build()
}

/// A registered fault (see [`register_fault_spec`](crate::register_fault_spec)).
pub struct RegisteredFaultSpec(pub &'static dyn FaultSpec);

inventory::collect!(RegisteredFaultSpec);

/// Registers a fault's declarations for the scenario layer.
#[macro_export]
macro_rules! register_fault_spec {
    ($spec:expr) => {
        ::inventory::submit! { $crate::scenario::RegisteredFaultSpec(&$spec) }
    };
}

/// Every registered fault, by name.
pub fn fault_specs() -> Vec<&'static dyn FaultSpec> {
    let mut all: Vec<&'static dyn FaultSpec> =
        inventory::iter::<RegisteredFaultSpec>.into_iter().map(|r| r.0).collect();
    all.sort_by_key(|spec| spec.name());
    all
}

/// The fault called `name`.
pub fn fault_spec(name: &str) -> Option<&'static dyn FaultSpec> {
    inventory::iter::<RegisteredFaultSpec>.into_iter().map(|r| r.0).find(|spec| spec.name() == name)
}

/// The step keys every fault takes, whatever its kind.
pub const COMMON_FAULT_KEYS: [&str; 4] = ["fault", "target", "group", "duration"];

/// The name of a fault as a scenario writes it, or `heal` (which the engine handles: it undoes
/// other faults). Checked against the registry by `validate`, so an unknown name is reported
/// with the file's position and every allowed name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FaultName(pub String);

impl FaultName {
    /// The step that undoes active faults.
    pub const HEAL: &'static str = "heal";

    /// A fault name.
    pub fn new(name: impl Into<String>) -> Self {
        Self(name.into())
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is the `heal` step.
    pub fn is_heal(&self) -> bool {
        self.0 == Self::HEAL
    }

    /// The registered fault of this name (`None` for `heal` and unknown names).
    pub fn spec(&self) -> Option<&'static dyn FaultSpec> {
        fault_spec(&self.0)
    }
}

impl fmt::Display for FaultName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for FaultName {
    fn from(name: &str) -> Self {
        Self::new(name)
    }
}

impl<'de> Deserialize<'de> for FaultName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(FaultName)
    }
}

impl Serialize for FaultName {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl JsonSchema for FaultName {
    fn schema_name() -> Cow<'static, str> {
        "FaultKind".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let variants: Vec<serde_json::Value> = fault_specs()
            .into_iter()
            .map(|spec| serde_json::json!({"const": spec.name(), "description": spec.summary()}))
            .chain(std::iter::once(serde_json::json!({
                "const": FaultName::HEAL,
                "description": "Undo active faults: those aimed at `target`, or all of them without a target."
            })))
            .collect();
        schemars::json_schema!({ "type": "string", "oneOf": variants })
    }
}

/// Netem-style faults this host cannot inject (its kernel lacks `sch_netem`); named so that a
/// scenario asking for them fails validation with a clear message instead of doing nothing.
/// Delay and jitter exist per link, through pgdrill's TCP proxy: the message says how.
pub const UNSUPPORTED_FAULTS: &[(&str, &str)] = &[
    ("delay", "there is no host-wide `delay` (it would need tc netem); delay one link with `link_delay` (`to:`, `latency:`), through pgdrill's TCP proxy"),
    ("jitter", "there is no host-wide `jitter` (it would need tc netem); use `link_delay` with `jitter:` on one link"),
    ("duplicate", "packet duplication needs tc netem, which this kernel does not support"),
    ("corrupt", "packet corruption needs tc netem, which this kernel does not support"),
    ("reorder", "packet reordering needs tc netem, which this kernel does not support"),
];
