//! The `chaos:` section of a scenario file: which faults a randomised schedule may contain, how
//! many, how far apart and for how long, and what must hold throughout. `pgdrill chaos` turns
//! each generated schedule into plain steps (see `crate::chaos`); this file only describes what
//! the user wrote. Its semantic checks live in `validate/chaos.rs`.
use schemars::JsonSchema;
use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::fault_spec::{fault_specs, FaultName, FaultSpec};
use super::step::FaultOptions;
use super::target::Target;
use super::values::Budget;

/// Randomised fault schedules (`pgdrill chaos FILE`). `pgdrill run` refuses a file with this
/// section: its steps alone are not the drill.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Chaos {
    /// The faults a schedule may contain, each with the targets it may hit. Shrinking prefers
    /// entries (and targets) listed earlier, so list the mildest first.
    pub faults: Vec<ChaosFault>,
    /// How many faults a schedule has.
    #[serde(default)]
    pub count: CountRange,
    /// Time from the start of one fault to the start of the next (and from the end of the fixed
    /// steps to the first fault). Whole seconds.
    pub spacing: DurationRange,
    /// How long each fault stays in effect before pgdrill undoes it (faults that are not undone,
    /// e.g. `restart`, ignore it). Whole seconds.
    pub duration: DurationRange,
    /// What must hold for every schedule.
    pub invariants: Vec<ChaosInvariant>,
}

/// One kind of fault a schedule may pick, and where it may aim.
#[derive(Debug, Clone, PartialEq)]
pub struct ChaosFault {
    /// The fault.
    pub fault: FaultName,
    /// Targets it may hit (resolved when the fault runs, like a step's `target`).
    pub targets: Vec<Target>,
    /// The fault's own options (e.g. `probability` for `loss`), as on a step.
    pub options: FaultOptions,
}

impl<'de> Deserialize<'de> for ChaosFault {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(ChaosFaultVisitor)
    }
}

struct ChaosFaultVisitor;

impl<'de> Visitor<'de> for ChaosFaultVisitor {
    type Value = ChaosFault;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a chaos fault: `{fault: kill, targets: [primary]}`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ChaosFault, A::Error> {
        let (mut fault, mut targets, mut options) = (None, None, FaultOptions::new());
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "fault" => fault = Some(map.next_value()?),
                "targets" => targets = Some(map.next_value()?),
                _ => {
                    let value: serde_json::Value = map.next_value()?;
                    options.insert(key, value);
                }
            }
        }
        let fault = fault.ok_or_else(|| serde::de::Error::missing_field("fault"))?;
        let targets = targets.ok_or_else(|| serde::de::Error::missing_field("targets"))?;
        Ok(ChaosFault { fault, targets, options })
    }
}

impl Serialize for ChaosFault {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("fault", &self.fault)?;
        map.serialize_entry("targets", &self.targets)?;
        for (key, value) in &self.options {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

/// The keys of a chaos fault entry, for the JSON Schema (options as on a step).
#[derive(JsonSchema)]
#[allow(dead_code)]
struct ChaosFaultKeys {
    /// The fault.
    fault: FaultName,
    /// Targets it may hit.
    targets: Vec<Target>,
    /// `loss`: share of packets dropped, between 0 and 1 (exclusive).
    probability: Option<f64>,
}

impl JsonSchema for ChaosFault {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ChaosFault".into()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        ChaosFaultKeys::json_schema(generator)
    }
}

/// A range of counts, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CountRange {
    /// At least this many.
    pub min: u8,
    /// At most this many.
    pub max: u8,
}

impl Default for CountRange {
    fn default() -> Self {
        Self { min: 1, max: 3 }
    }
}

/// A range of durations, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DurationRange {
    /// Shortest.
    pub min: Budget,
    /// Longest.
    pub max: Budget,
}

/// What must hold for every schedule. Unknown keys inside one are errors, as in expectations.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ChaosInvariant {
    /// Never two members observed as primary at overlapping times.
    SinglePrimary,
    /// Every acknowledged write is present at the end of the run.
    NoAckedWriteLost,
    /// After the last fault is undone, a write sent is acknowledged within the budget.
    WritableAgain {
        /// Budget, counted from the last heal.
        within: Budget,
    },
    /// From the first fault to the end of the run, writes never stop for longer than `max`
    /// (the longest time without an acknowledged write).
    MaxWriteUnavailability {
        /// The longest allowed stretch without an acknowledged write.
        max: Budget,
    },
    /// After the last fault is undone, every member streams again within the budget.
    ReplicationStreaming {
        /// Budget, counted from the last heal.
        within: Budget,
    },
    /// Citus: every group's row in `pg_dist_node` points at that group's primary within the
    /// budget after the last heal (`kind: citus` only).
    PgDistNodeConsistent {
        /// Budget, counted from the last heal.
        within: Budget,
    },
}

/// Faults a schedule may use, from the faults' own declarations: each is undone by pgdrill
/// (after `duration`) or is over at once; undo actions (`start`, `unpause`, …) and faults that
/// need an option no generator can know (`failover`'s candidate) are not among them.
pub fn chaos_faults() -> Vec<&'static dyn FaultSpec> {
    fault_specs().into_iter().filter(|spec| spec.chaos()).collect()
}

/// The most faults one schedule may hold: every fault is a step, and every case starts a
/// cluster, so long schedules make each case (and shrinking) slow.
pub const MAX_CHAOS_FAULTS: u8 = 12;
