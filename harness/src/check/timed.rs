//! The deadline logic every timed expectation shares: a check finds *when* it was first
//! satisfied (if at all) and this turns that into Pass, Pending or Fail against its budget.
//! Below the checks and the dispatch in `evaluate`, so neither imports the other.
use super::member_history::{budget_text, secs, MemberHistory};
use super::verdict::{CheckContext, Status, Verdict};
use crate::scenario::Budget;
use crate::timeline::Millis;

/// When an expectation was first satisfied, and how to say what was seen then.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Found {
    /// The first time it held (≥ the anchor).
    pub at: Millis,
    /// What was seen, e.g. "pg-2 running primary on tl 2".
    pub what: String,
}

/// The verdict of a check with a deadline `ctx.anchor + within`.
///
/// `missing` names what was not seen ("no new primary"); on Pending and Fail it is followed by
/// what each member was last seen doing.
pub(crate) fn timed_verdict(
    check: &str,
    ctx: &CheckContext,
    within: Budget,
    found: Option<Found>,
    missing: &str,
    history: &MemberHistory<'_>,
) -> Verdict {
    let budget_ms = within.as_millis();
    let (status, observed, observed_ms) = match found {
        Some(Found { at, what }) => {
            let took = at.saturating_sub(ctx.anchor);
            if took <= budget_ms {
                (Status::Pass, format!("{what} after {}", secs(took)), Some(took))
            } else {
                (Status::Fail, format!("{what} after {}, over the {within} budget", secs(took)), Some(took))
            }
        }
        None => {
            let last_seen = history.last_seen(ctx.now);
            if ctx.now < ctx.anchor.saturating_add(budget_ms) {
                let waited = secs(ctx.now.saturating_sub(ctx.anchor));
                (Status::Pending, format!("{missing} yet, {waited} since the fault; last seen: {last_seen}"), None)
            } else {
                (Status::Fail, format!("{missing} within {within}; last seen: {last_seen}"), None)
            }
        }
    };
    Verdict {
        check: check.to_string(),
        step: Some(ctx.step),
        status,
        observed,
        budget: budget_text(within),
        observed_ms,
        budget_ms: Some(budget_ms),
    }
}

/// A verdict that fails before any measurement (e.g. a target that cannot be resolved).
pub(crate) fn cannot_evaluate(check: &str, ctx: &CheckContext, within: Budget, why: String) -> Verdict {
    Verdict {
        check: check.to_string(),
        step: Some(ctx.step),
        status: Status::Fail,
        observed: why,
        budget: budget_text(within),
        observed_ms: None,
        budget_ms: Some(within.as_millis()),
    }
}
