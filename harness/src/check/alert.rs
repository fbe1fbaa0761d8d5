//! `alert`: a Prometheus alert reaches a state (pending, firing, resolved) within the budget, or
//! `never` fires during the window — read from the alert observer's `Alert` events.
use std::collections::BTreeMap;

use super::member_history::{budget_text, secs};
use super::verdict::{CheckContext, Status, Verdict};
use crate::scenario::{variant_name, AlertExpect, AlertSourceName, Budget};
use crate::timeline::{EventKind, Millis, Timeline};

/// The check's name, as scenario files spell it; a verdict adds the alert and the state
/// (`alert FailoverDetected firing`).
pub const NAME: &str = "alert";

/// First time ≥ anchor (and ≤ now) an instance of `name` carrying `labels` entered one of `states`
/// according to `source`.
fn first_state(
    timeline: &Timeline,
    ctx: &CheckContext,
    name: &str,
    labels: &BTreeMap<String, String>,
    source: &str,
    states: &[&str],
) -> Option<(Millis, BTreeMap<String, String>)> {
    timeline.events.iter().filter(|e| e.at >= ctx.anchor && e.at <= ctx.now).find_map(|e| match &e.kind {
        EventKind::Alert { alert, labels: have, state, source: from, .. }
            if alert == name
                && from == source
                && states.contains(&state.as_str())
                && labels.iter().all(|(k, v)| have.get(k) == Some(v)) =>
        {
            Some((e.at, have.clone()))
        }
        _ => None,
    })
}

/// Evaluates `alert: {name, state, within, labels, source}` from `ctx.anchor`.
pub fn alert(
    name: &str,
    state: AlertExpect,
    within: Budget,
    labels: &BTreeMap<String, String>,
    source: AlertSourceName,
    timeline: &Timeline,
    ctx: &CheckContext,
) -> Verdict {
    let source = variant_name(&source);
    let budget = within.as_millis();
    let wanted = variant_name(&state);
    let mut verdict = Verdict {
        check: format!("{NAME} {name} {wanted}"),
        step: Some(ctx.step),
        status: Status::Pending,
        observed: String::new(),
        budget: budget_text(within),
        observed_ms: None,
        budget_ms: Some(budget),
    };
    let matcher = if labels.is_empty() { String::new() } else { format!("{labels:?}") };
    let states: &[&str] = match state {
        AlertExpect::Pending => &["pending", "firing"],
        AlertExpect::Firing | AlertExpect::Never => &["firing"],
        AlertExpect::Resolved => &["resolved"],
    };
    let found = first_state(timeline, ctx, name, labels, &source, states);
    let deadline_passed = ctx.now >= ctx.anchor + budget;
    match (state, found) {
        (AlertExpect::Never, Some((at, _))) if at <= ctx.anchor + budget => {
            verdict.status = Status::Fail;
            verdict.observed = format!("{name}{matcher} fired in {source} {} after the fault", secs(at - ctx.anchor));
            verdict.observed_ms = Some(at - ctx.anchor);
            verdict.budget = format!("no firing for {}", budget_text(within).trim_start_matches("≤ "));
        }
        (AlertExpect::Never, _) => {
            verdict.budget = format!("no firing for {}", budget_text(within).trim_start_matches("≤ "));
            if deadline_passed {
                verdict.status = Status::Pass;
                verdict.observed = format!("{name} did not fire in {source} for {}", secs(budget));
            } else {
                verdict.observed = format!("{name} not firing so far");
            }
        }
        (_, Some((at, instance))) => {
            let took = at - ctx.anchor;
            verdict.observed_ms = Some(took);
            let member = instance.get("member").map(|m| format!(" ({m})")).unwrap_or_default();
            if took <= budget {
                verdict.status = Status::Pass;
                verdict.observed = format!("{name}{member} {wanted} in {source} after {}", secs(took));
            } else {
                verdict.status = Status::Fail;
                verdict.observed =
                    format!("{name}{member} {wanted} in {source} after {}, over the {within} budget", secs(took));
            }
        }
        (_, None) if deadline_passed => {
            verdict.status = Status::Fail;
            verdict.observed = format!("{name}{matcher} not {wanted} in {source} within {within}");
        }
        (_, None) => verdict.observed = format!("{name} not {wanted} yet"),
    }
    verdict
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::timeline::Event;

    fn event(at: Millis, state: &str, source: &str) -> Event {
        Event {
            at,
            kind: EventKind::Alert {
                alert: "FailoverDetected".into(),
                labels: BTreeMap::from([("member".into(), "pg-2".into())]),
                state: state.into(),
                from: "inactive".into(),
                source: source.into(),
                seen_unix_ms: None,
                source_unix_ms: None,
            },
        }
    }

    fn ctx(now: Millis) -> CheckContext {
        CheckContext {
            step: 2,
            anchor: 10_000,
            now,
            leader_at_anchor: None,
            old_primary: None,
            group: None,
            highest_priority: None,
        }
    }

    fn check(state: AlertExpect, secs: u64, tl: &Timeline, now: Millis) -> Verdict {
        alert(
            "FailoverDetected",
            state,
            Budget(Duration::from_secs(secs)),
            &BTreeMap::new(),
            AlertSourceName::Prometheus,
            tl,
            &ctx(now),
        )
    }

    #[test]
    fn firing_within_budget_passes_and_too_late_fails() {
        let tl =
            Timeline::from_events(vec![event(30_000, "pending", "prometheus"), event(36_000, "firing", "prometheus")]);
        let v = check(AlertExpect::Firing, 60, &tl, 70_000);
        assert_eq!(v.status, Status::Pass, "{v:?}");
        assert_eq!(v.observed_ms, Some(26_000));
        assert_eq!(check(AlertExpect::Pending, 60, &tl, 70_000).observed_ms, Some(20_000));
        assert_eq!(check(AlertExpect::Firing, 20, &tl, 70_000).status, Status::Fail);
    }

    #[test]
    fn never_fails_on_firing_and_waits_for_the_window() {
        let quiet = Timeline::default();
        assert_eq!(check(AlertExpect::Never, 30, &quiet, 20_000).status, Status::Pending);
        assert_eq!(check(AlertExpect::Never, 30, &quiet, 40_000).status, Status::Pass);
        let fired = Timeline::from_events(vec![event(15_000, "firing", "prometheus")]);
        assert_eq!(check(AlertExpect::Never, 30, &fired, 40_000).status, Status::Fail);
    }

    #[test]
    fn label_matchers_and_source_filter_instances() {
        let tl = Timeline::from_events(vec![event(12_000, "firing", "alertmanager")]);
        let other = BTreeMap::from([("member".to_string(), "pg-3".to_string())]);
        let v = alert(
            "FailoverDetected",
            AlertExpect::Firing,
            Budget(Duration::from_secs(5)),
            &other,
            AlertSourceName::Alertmanager,
            &tl,
            &ctx(20_000),
        );
        assert_eq!(v.status, Status::Fail);
        let v = check(AlertExpect::Firing, 5, &tl, 20_000);
        assert_eq!(v.status, Status::Fail, "prometheus never said firing: {v:?}");
    }
}
