//! `faults_undone`: after the steps, every fault pgdrill can undo was undone: no container left
//! paused or off the network, no pgdrill iptables rule left behind (read from the
//! `ContainerAudit` events the engine records just before teardown), and nothing a fault itself
//! detects as its leftover (`FaultLeftover`, e.g. a CPU limit).
use super::verdict::{Status, Verdict};
use crate::timeline::{EventKind, Timeline};

/// The check's name, as verdicts spell it (every run with faults has it; scenarios do not name it).
pub const NAME: &str = "faults_undone";

/// Judges the last round of container audits.
pub fn faults_undone(timeline: &Timeline) -> Verdict {
    let audits: Vec<_> = timeline
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::ContainerAudit { container, status, on_network, iptables_rules } => {
                Some((container, status, on_network, iptables_rules))
            }
            _ => None,
        })
        .collect();
    let mut problems: Vec<String> = timeline
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::FaultLeftover { container, fault, what } => Some(format!("{container}: {what} ({fault})")),
            _ => None,
        })
        .collect();
    for (container, status, on_network, rules) in &audits {
        if status.as_str() == "paused" {
            problems.push(format!("{container} still paused"));
        }
        if !**on_network && status.as_str() == "running" {
            problems.push(format!("{container} still disconnected"));
        }
        if let Some(n) = rules.filter(|n| *n > 0) {
            problems.push(format!("{container} has {n} iptables rules left"));
        }
    }
    let (status, observed) = if audits.is_empty() {
        (Status::Fail, "no container audit was recorded".to_string())
    } else if problems.is_empty() {
        (Status::Pass, format!("{} containers checked: none paused, disconnected or with rules left", audits.len()))
    } else {
        (Status::Fail, problems.join("; "))
    };
    Verdict {
        check: NAME.into(),
        step: None,
        status,
        observed,
        budget: "nothing left".into(),
        observed_ms: None,
        budget_ms: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timeline::Event;

    fn audit(container: &str, status: &str, on_network: bool, rules: Option<usize>) -> Event {
        Event {
            at: 1,
            kind: EventKind::ContainerAudit {
                container: container.into(),
                status: status.into(),
                on_network,
                iptables_rules: rules,
            },
        }
    }

    #[test]
    fn clean_containers_pass() {
        let tl =
            Timeline::from_events(vec![audit("pg-1", "running", true, Some(0)), audit("pg-2", "exited", false, None)]);
        assert_eq!(faults_undone(&tl).status, Status::Pass);
    }

    #[test]
    fn leftovers_fail_and_are_named() {
        let tl = Timeline::from_events(vec![
            audit("etcd-1", "paused", true, Some(0)),
            audit("pg-1", "running", true, Some(2)),
        ]);
        let v = faults_undone(&tl);
        assert_eq!(v.status, Status::Fail);
        assert!(
            v.observed.contains("etcd-1 still paused") && v.observed.contains("pg-1 has 2 iptables rules left"),
            "{}",
            v.observed
        );
    }

    #[test]
    fn a_leftover_a_fault_reports_fails() {
        let leftover = Event {
            at: 2,
            kind: EventKind::FaultLeftover {
                container: "pg-1".into(),
                fault: "throttle".into(),
                what: "CPU limit 0.05 still set".into(),
            },
        };
        let tl = Timeline::from_events(vec![audit("pg-1", "running", true, Some(0)), leftover]);
        let v = faults_undone(&tl);
        assert_eq!(v.status, Status::Fail);
        assert_eq!(v.observed, "pg-1: CPU limit 0.05 still set (throttle)");
    }

    #[test]
    fn missing_audit_fails() {
        assert_eq!(faults_undone(&Timeline::default()).status, Status::Fail);
    }
}
