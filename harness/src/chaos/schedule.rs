//! A chaos schedule (ordered faults, each with a target, a start offset and a duration) and the
//! proptest strategy that generates and shrinks schedules from a scenario's `chaos:` section.
//!
//! Shrinking is proptest's own: a schedule is a `vec` of faults, so its value tree first tries
//! dropping faults one by one, then shrinks each remaining fault (its choice of fault and
//! target toward the entries listed first, its duration and spacing toward the minimum). Every
//! number is in whole seconds so that a binary search over it needs few cluster runs.
use std::fmt;
use std::sync::Arc;

use proptest::collection::vec;
use proptest::strategy::Strategy;
use serde::{Deserialize, Serialize};

use crate::scenario::{variant_name, Chaos, FaultName, FaultOptions, Target};

/// One fault of a schedule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduledFault {
    /// What to do.
    pub fault: FaultName,
    /// To whom (resolved when the fault's step runs).
    pub target: Target,
    /// When the fault's step starts, in seconds from the start of the schedule (the end of the
    /// scenario's fixed steps).
    pub at_s: u64,
    /// How long the fault stays in effect before pgdrill undoes it; `None` for faults that are
    /// over at once (`restart`, `kill_postgres`, `switchover`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_s: Option<u64>,
    /// The fault's own options from its `chaos.faults` entry (e.g. `probability` for `loss`).
    #[serde(default, skip_serializing_if = "FaultOptions::is_empty")]
    pub options: FaultOptions,
}

/// Faults in the order their steps run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    /// The faults, ordered by `at_s`.
    pub faults: Vec<ScheduledFault>,
}

impl Schedule {
    /// When the last fault is undone (or applied, for faults that are over at once), in seconds
    /// from the start of the schedule.
    pub fn last_heal_s(&self) -> u64 {
        self.faults.iter().map(|f| f.at_s + f.duration_s.unwrap_or(0)).max().unwrap_or(0)
    }
}

impl fmt::Display for ScheduledFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let target = match &self.target {
            Target::Member(name) => name.clone(),
            other => variant_name(other),
        };
        write!(f, "{} {target} at +{}s", self.fault, self.at_s)?;
        if let Some(duration) = self.duration_s {
            write!(f, " for {duration}s")?;
        }
        for (key, value) in &self.options {
            write!(f, " ({key}={value})")?;
        }
        Ok(())
    }
}

/// `kill primary at +2s for 3s; pause replica at +4s for 1s`.
impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.faults.is_empty() {
            return f.write_str("(no faults)");
        }
        for (i, fault) in self.faults.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{fault}")?;
        }
        Ok(())
    }
}

/// One (fault, target) pair a schedule can pick: the `chaos.faults` entries flattened, in file
/// order, so that shrinking the choice moves toward the first pair listed.
#[derive(Debug, Clone, PartialEq)]
struct Choice {
    fault: FaultName,
    target: Target,
    options: FaultOptions,
}

fn choices(chaos: &Chaos) -> Vec<Choice> {
    chaos
        .faults
        .iter()
        .flat_map(|entry| {
            entry.targets.iter().map(|target| Choice {
                fault: entry.fault.clone(),
                target: target.clone(),
                options: entry.options.clone(),
            })
        })
        .collect()
}

/// The strategy for schedules of a (validated) `chaos:` section.
///
/// Each fault is drawn as (choice, duration, gap to the previous fault's start); the offsets
/// are the running sums of the gaps, so dropping a fault while shrinking moves the later ones
/// earlier rather than leaving a hole.
pub fn schedule_strategy(chaos: &Chaos) -> impl Strategy<Value = Schedule> {
    let choices = Arc::new(choices(chaos));
    // Validation guarantees at least one choice; `max(1)` keeps the range non-empty regardless.
    let pick = 0..choices.len().max(1);
    let duration = chaos.duration.min.0.as_secs()..=chaos.duration.max.0.as_secs();
    let spacing = chaos.spacing.min.0.as_secs()..=chaos.spacing.max.0.as_secs();
    let count = usize::from(chaos.count.min)..=usize::from(chaos.count.max);
    vec((pick, duration, spacing), count).prop_map(move |drawn| {
        let mut at_s = 0;
        let faults = drawn
            .into_iter()
            .map(|(pick, duration, gap)| {
                let choice = &choices[pick.min(choices.len() - 1)];
                at_s += gap;
                // Validation admits only registered chaos faults.
                let lasting = choice.fault.spec().is_some_and(|spec| spec.lasting().is_some());
                ScheduledFault {
                    fault: choice.fault.clone(),
                    target: choice.target.clone(),
                    at_s,
                    duration_s: lasting.then_some(duration),
                    options: choice.options.clone(),
                }
            })
            .collect();
        Schedule { faults }
    })
}

#[cfg(test)]
mod tests {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::{Config, RngSeed, TestRunner};

    use super::*;
    use crate::scenario::{parse_scenario, Chaos};

    pub(crate) fn chaos_of(yaml: &str) -> Chaos {
        parse_scenario("x.yaml", yaml).expect("valid").scenario.chaos.expect("has chaos")
    }

    const SPEC: &str = "name: x
topology: {kind: patroni, members: 2, etcd: 1}
workload: {writers: 1, rate: 10/s}
chaos:
  faults:
    - {fault: pause, targets: [replica, etcd_leader]}
    - {fault: kill, targets: [primary]}
    - {fault: restart, targets: [{member: pg-2}]}
  count: {min: 1, max: 4}
  spacing: {min: 1s, max: 5s}
  duration: {min: 2s, max: 9s}
  invariants: [single_primary]
";

    fn runner(seed: u64) -> TestRunner {
        TestRunner::new(Config { rng_seed: RngSeed::Fixed(seed), failure_persistence: None, ..Config::default() })
    }

    #[test]
    fn generated_schedules_stay_within_the_section() {
        let chaos = chaos_of(SPEC);
        let strategy = schedule_strategy(&chaos);
        let mut runner = runner(7);
        for _ in 0..200 {
            let schedule = strategy.new_tree(&mut runner).unwrap().current();
            assert!((1..=4).contains(&schedule.faults.len()), "{schedule}");
            let mut previous = 0;
            for fault in &schedule.faults {
                let gap = fault.at_s - previous;
                assert!((1..=5).contains(&gap), "{schedule}");
                previous = fault.at_s;
                match fault.fault.as_str() {
                    "pause" => {
                        assert!(matches!(fault.target, Target::Replica | Target::EtcdLeader));
                        assert!(fault.duration_s.is_some_and(|d| (2..=9).contains(&d)), "{schedule}");
                    }
                    "kill" => assert_eq!(fault.target, Target::Primary),
                    "restart" => {
                        assert_eq!(fault.target, Target::Member("pg-2".into()));
                        assert_eq!(fault.duration_s, None, "restart is over at once");
                    }
                    other => panic!("{other:?} is not in the section"),
                }
            }
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_schedules() {
        let chaos = chaos_of(SPEC);
        let strategy = schedule_strategy(&chaos);
        let draw = |seed| {
            let mut runner = runner(seed);
            (0..10).map(|_| strategy.new_tree(&mut runner).unwrap().current()).collect::<Vec<_>>()
        };
        assert_eq!(draw(42), draw(42));
        assert_ne!(draw(42), draw(43));
    }

    #[test]
    fn shrinking_drops_faults_first_then_shortens_them() {
        let chaos = chaos_of(SPEC);
        let strategy = schedule_strategy(&chaos);
        let mut runner = runner(3);
        // A four-fault schedule, then "fails whenever there is any fault": proptest's shrinking
        // must end at one fault with the first choice and the shortest timings.
        let mut tree = loop {
            let tree = strategy.new_tree(&mut runner).unwrap();
            if tree.current().faults.len() == 4 {
                break tree;
            }
        };
        let mut sizes = vec![tree.current().faults.len()];
        while tree.simplify() {
            sizes.push(tree.current().faults.len());
        }
        let minimal = tree.current();
        assert_eq!(minimal.faults.len(), 1, "{minimal}");
        assert!(sizes.windows(2).all(|w| w[1] <= w[0]), "faults only ever dropped: {sizes:?}");
        assert_eq!(minimal.faults[0].fault, FaultName::from("pause"));
        assert_eq!(minimal.faults[0].target, Target::Replica);
        assert_eq!(minimal.faults[0].at_s, 1);
        assert_eq!(minimal.faults[0].duration_s, Some(2));
    }

    #[test]
    fn display_reads_like_a_plan() {
        let schedule = Schedule {
            faults: vec![
                ScheduledFault {
                    fault: FaultName::from("kill"),
                    target: Target::Primary,
                    at_s: 2,
                    duration_s: Some(3),
                    options: Default::default(),
                },
                ScheduledFault {
                    fault: FaultName::from("restart"),
                    target: Target::Member("pg-2".into()),
                    at_s: 4,
                    duration_s: None,
                    options: Default::default(),
                },
            ],
        };
        assert_eq!(schedule.to_string(), "kill primary at +2s for 3s; restart pg-2 at +4s");
        assert_eq!(schedule.last_heal_s(), 5);
    }
}
