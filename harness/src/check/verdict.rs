//! The result type every check returns, and the context it is evaluated in.
use serde::{Deserialize, Serialize};

use crate::scenario::Target;
use crate::timeline::{EventKind, Millis};

/// Outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Satisfied within budget.
    Pass,
    /// Violated, or the budget ran out.
    Fail,
    /// Not satisfied yet, budget not exhausted (only while a run is going).
    Pending,
}

/// One check's verdict, with what was observed against what was allowed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    /// Check name as the scenario spells it, e.g. `new_leader`, `single_primary`.
    pub check: String,
    /// Step index for expectations; `None` for invariants.
    pub step: Option<usize>,
    /// Pass, fail or pending.
    pub status: Status,
    /// What was observed, human-readable (e.g. "pg-2 primary after 19.4s").
    pub observed: String,
    /// What was allowed (e.g. "within 45s").
    pub budget: String,
    /// Observed value in ms where the check measures a duration.
    pub observed_ms: Option<u64>,
    /// Budget in ms where the check has one.
    pub budget_ms: Option<u64>,
}

/// Where an expectation is evaluated from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckContext {
    /// Index of the expect step.
    pub step: usize,
    /// Time of the fault the budgets count from (the most recent fault step before).
    pub anchor: Millis,
    /// The current time (end of timeline for final verdicts).
    pub now: Millis,
    /// The member that was the running primary when the anchor fault was applied.
    pub leader_at_anchor: Option<String>,
    /// The member hit by the most recent fault aimed at `primary`.
    pub old_primary: Option<String>,
    /// Citus: the group the checks look at (members of other groups are ignored); `None` looks
    /// at every member (plain Patroni topologies).
    pub group: Option<u32>,
    /// What `highest_priority` named when the expect step opened (`None`: no unique member).
    pub highest_priority: Option<String>,
}

impl CheckContext {
    /// This expectation's verdicts: `check`, the step and the budget are fixed; each call gives
    /// the status, what was observed and the measured value (ms) where there is one.
    pub fn verdicts<'a>(
        &'a self,
        check: &'a str,
        budget: String,
        budget_ms: Option<u64>,
    ) -> impl Fn(Status, String, Option<u64>) -> Verdict + 'a {
        move |status, observed, observed_ms| Verdict {
            check: check.to_string(),
            step: Some(self.step),
            status,
            observed,
            budget: budget.clone(),
            observed_ms,
            budget_ms,
        }
    }

    /// The timeline record of this context, made when its expect step opens (`now` is not part
    /// of it: that is when the context is judged).
    pub fn opened_event(&self) -> EventKind {
        EventKind::ExpectOpened {
            step: self.step,
            anchor: self.anchor,
            leader_at_anchor: self.leader_at_anchor.clone(),
            old_primary: self.old_primary.clone(),
            group: self.group,
            highest_priority: self.highest_priority.clone(),
        }
    }

    /// The context an [`EventKind::ExpectOpened`] records, judged at `now`; `None` for any other
    /// event.
    pub fn from_event(kind: &EventKind, now: Millis) -> Option<Self> {
        let EventKind::ExpectOpened { step, anchor, leader_at_anchor, old_primary, group, highest_priority } = kind
        else {
            return None;
        };
        Some(Self {
            step: *step,
            anchor: *anchor,
            now,
            leader_at_anchor: leader_at_anchor.clone(),
            old_primary: old_primary.clone(),
            group: *group,
            highest_priority: highest_priority.clone(),
        })
    }

    /// Resolves a target to a member name, where the context can.
    pub fn resolve(&self, target: &Target) -> Option<String> {
        match target {
            Target::Primary => self.leader_at_anchor.clone(),
            Target::OldPrimary => self.old_primary.clone(),
            Target::HighestPriority => self.highest_priority.clone(),
            Target::Member(name) => Some(name.clone()),
            _ => None,
        }
    }
}
