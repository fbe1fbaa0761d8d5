//! Per-member state intervals rebuilt from the timeline's `Member` change events, and the text
//! helpers every check shares. Checks reason about what was *certainly* observed, never about
//! what probably happened between polls.
//!
//! A `Member` event is recorded only when a member's view changes, and carries `prev_seen_at`,
//! the last time the previous view was still observed. So a view recorded at `at` certainly held
//! from `at` until the next change's `prev_seen_at`, or until `now` if nothing changed since.
use std::cmp::Ordering;
use std::collections::BTreeMap;

use crate::scenario::Budget;
use crate::timeline::{EventKind, MemberView, Millis, Role, Timeline};

/// One view of one member and the span in which it certainly held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span<'a> {
    /// The member.
    pub member: &'a str,
    /// What it answered.
    pub view: &'a MemberView,
    /// When the view was first observed (the change event's time).
    pub from: Millis,
    /// The last time it was still observed: the next change's `prev_seen_at`, or `now` while
    /// the view is still current. Never before `from`.
    pub to: Millis,
    /// No later change was recorded up to `now`: the view may still hold.
    pub current: bool,
}

impl Span<'_> {
    /// Whether the view certainly held at `t`.
    pub fn holds_at(&self, t: Millis) -> bool {
        self.from <= t && t <= self.to
    }
}

/// A maximal run of consecutive views of one member that all satisfy a predicate (e.g.
/// "running primary"), as one interval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stint {
    /// The member.
    pub member: String,
    /// First observation of the run.
    pub from: Millis,
    /// Last observation of the run (or `now` when still open).
    pub to: Millis,
    /// Still going at `now`.
    pub open: bool,
}

/// Every member's views over time, up to a cut-off `now`.
#[derive(Debug, Clone, Default)]
pub struct MemberHistory<'a> {
    /// Spans per member, in time order; the map is keyed by member name.
    members: BTreeMap<&'a str, Vec<Span<'a>>>,
    /// The cut-off: events after it are ignored, current views last until it.
    now: Millis,
}

impl<'a> MemberHistory<'a> {
    /// Rebuilds every member's spans from the timeline's `Member` events at or before `now`
    /// (events after `now` are ignored, so evaluating at `now` never peeks into the future).
    pub fn from_timeline(timeline: &'a Timeline, now: Millis) -> Self {
        let mut members: BTreeMap<&'a str, Vec<Span<'a>>> = BTreeMap::new();
        for event in timeline.events.iter().filter(|e| e.at <= now) {
            let EventKind::Member { member, view, prev_seen_at } = &event.kind else { continue };
            let spans = members.entry(member.as_str()).or_default();
            if let Some(previous) = spans.last_mut() {
                // Without `prev_seen_at` (should not happen after the first observation) the
                // previous view is only certain at its own first observation.
                let last_seen = prev_seen_at.unwrap_or(previous.from);
                previous.to = last_seen.clamp(previous.from, event.at);
                previous.current = false;
            }
            spans.push(Span { member: member.as_str(), view, from: event.at, to: now.max(event.at), current: true });
        }
        Self { members, now }
    }

    /// The history the checks of `ctx` look at: up to `ctx.now`, and only the members of
    /// `ctx.group` when it is set (a Citus group's failover is judged among that group's members).
    pub fn for_context(timeline: &'a Timeline, ctx: &super::verdict::CheckContext) -> Self {
        let mut history = Self::from_timeline(timeline, ctx.now);
        if let Some(group) = ctx.group {
            history.members.retain(|member, _| crate::topology::member_group(member) == Some(group));
        }
        history
    }

    /// The cut-off this history was built with.
    pub fn now(&self) -> Millis {
        self.now
    }

    /// Member names in natural order (`pg-2` before `pg-10`).
    pub fn members(&self) -> Vec<&'a str> {
        let mut names: Vec<&'a str> = self.members.keys().copied().collect();
        names.sort_by(|a, b| natural_cmp(a, b));
        names
    }

    /// One member's spans in time order (empty when never observed).
    pub fn spans(&self, member: &str) -> &[Span<'a>] {
        self.members.get(member).map_or(&[], Vec::as_slice)
    }

    /// Every span of every member.
    pub fn all_spans(&self) -> impl Iterator<Item = &Span<'a>> + '_ {
        self.members.values().flatten()
    }

    /// The member's latest view recorded at or before `t`.
    pub fn view_at(&self, member: &str, t: Millis) -> Option<&Span<'a>> {
        self.spans(member).iter().rev().find(|s| s.from <= t)
    }

    /// Maximal runs of consecutive views satisfying `pred`, per member, ordered by start.
    pub fn stints(&self, pred: impl Fn(&MemberView) -> bool) -> Vec<Stint> {
        let mut stints = Vec::new();
        for spans in self.members.values() {
            let mut run: Option<Stint> = None;
            for span in spans {
                if pred(span.view) {
                    let stint = run.get_or_insert_with(|| Stint {
                        member: span.member.to_string(),
                        from: span.from,
                        to: span.to,
                        open: span.current,
                    });
                    stint.to = span.to;
                    stint.open = span.current;
                } else if let Some(stint) = run.take() {
                    stints.push(stint);
                }
            }
            stints.extend(run);
        }
        stints.sort_by(|a, b| a.from.cmp(&b.from).then_with(|| natural_cmp(&a.member, &b.member)));
        stints
    }

    /// Spans of running primaries (any member) that reach `anchor` or later.
    pub fn primary_spans_since(&self, anchor: Millis) -> impl Iterator<Item = &Span<'a>> + '_ {
        self.all_spans().filter(move |s| s.to >= anchor && s.view.is_running_primary())
    }

    /// "pg-1 unreachable, pg-2 replica streaming tl 1, ...": each member's latest view at or
    /// before `t`, for "last seen" texts.
    pub fn last_seen(&self, t: Millis) -> String {
        let parts: Vec<String> = self
            .members()
            .into_iter()
            .filter_map(|m| self.view_at(m, t).map(|s| format!("{m} {}", describe_view(s.view))))
            .collect();
        if parts.is_empty() {
            "no member observed".to_string()
        } else {
            parts.join(", ")
        }
    }
}

/// A view in a few words: `unreachable`, `primary running tl 2`, `replica streaming tl 1`.
pub fn describe_view(view: &MemberView) -> String {
    if !view.reachable {
        return "unreachable".to_string();
    }
    let role = match view.role {
        Some(Role::Primary) => "primary",
        Some(Role::Replica) => "replica",
        Some(Role::StandbyLeader) => "standby_leader",
        Some(Role::Other) => "other role",
        None => "no role",
    };
    let mut text = role.to_string();
    if let Some(state) = &view.state {
        text.push(' ');
        text.push_str(state);
    }
    if let Some(tl) = view.timeline {
        text.push_str(&format!(" tl {tl}"));
    }
    text
}

/// A duration in seconds with one decimal: `19.4s`.
pub fn secs(ms: Millis) -> String {
    format!("{:.1}s", ms as f64 / 1000.0)
}

/// A budget as printed in verdicts: `≤ 45s`.
pub fn budget_text(budget: Budget) -> String {
    format!("≤ {budget}")
}

/// Compares names so that embedded numbers sort numerically (`pg-2` < `pg-10`).
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    fn split(s: &str) -> (&str, Option<u64>) {
        let digits = s.len() - s.trim_end_matches(|c: char| c.is_ascii_digit()).len();
        let (head, tail) = s.split_at(s.len() - digits);
        (head, tail.parse().ok())
    }
    let (ha, na) = split(a);
    let (hb, nb) = split(b);
    ha.cmp(hb).then(na.cmp(&nb)).then_with(|| a.cmp(b))
}

#[cfg(test)]
pub(crate) mod testkit {
    //! Compact builders for synthetic timelines.
    use crate::timeline::{Event, EventKind, MemberView, Millis, Role, Timeline, WriteOutcome};

    /// The context of an expect step after a fault at 10s that found pg-1 leading (step 3).
    pub fn pg1_fault_at_10s(now: Millis) -> crate::check::CheckContext {
        crate::check::CheckContext {
            step: 3,
            anchor: 10_000,
            now,
            leader_at_anchor: Some("pg-1".into()),
            old_primary: None,
            group: None,
            highest_priority: None,
        }
    }

    /// A running primary on timeline `tl`.
    pub fn primary(tl: u64) -> MemberView {
        view(Role::Primary, "running", tl)
    }

    /// A streaming replica on timeline `tl`.
    pub fn replica(tl: u64) -> MemberView {
        view(Role::Replica, "streaming", tl)
    }

    /// A member whose REST API did not answer.
    pub fn down() -> MemberView {
        MemberView {
            reachable: false,
            role: None,
            state: None,
            timeline: None,
            sync_standby: false,
            error: Some("connection refused".into()),
        }
    }

    /// Any reachable view.
    pub fn view(role: Role, state: &str, tl: u64) -> MemberView {
        MemberView {
            reachable: true,
            role: Some(role),
            state: Some(state.into()),
            timeline: Some(tl),
            sync_standby: false,
            error: None,
        }
    }

    /// Builds a timeline from member changes and other events, filling in `prev_seen_at` like the
    /// observer does: each change says when the previous view was last seen.
    #[derive(Default)]
    pub struct Tl {
        events: Vec<Event>,
    }

    impl Tl {
        /// Starts an empty builder.
        pub fn new() -> Self {
            Self::default()
        }

        /// `member` observed with `view` from `at`; the previous view was last seen at
        /// `prev_seen` (None for a first observation).
        pub fn change(mut self, at: Millis, member: &str, prev_seen: Option<Millis>, view: MemberView) -> Self {
            self.push(at, EventKind::Member { member: member.into(), view, prev_seen_at: prev_seen });
            self
        }

        /// First observation of `member` at `at`.
        pub fn first(self, at: Millis, member: &str, view: MemberView) -> Self {
            self.change(at, member, None, view)
        }

        /// A change at `at` whose previous view was last seen 100 ms before (one poll earlier).
        pub fn poll(self, at: Millis, member: &str, view: MemberView) -> Self {
            self.change(at, member, Some(at - 100), view)
        }

        /// The standard healthy start: pg-1 primary, pg-2 and pg-3 replicas, all on tl 1, at 0.
        pub fn healthy(self) -> Self {
            self.first(0, "pg-1", primary(1)).first(0, "pg-2", replica(1)).first(0, "pg-3", replica(1))
        }

        /// An acknowledged write, sent 5 ms before `at`.
        pub fn acked(mut self, at: Millis, id: u64) -> Self {
            let outcome = WriteOutcome::Acked { acked_at: at };
            self.push(
                at,
                EventKind::Write { id, writer: 0, group: None, txn: None, sent_at: at.saturating_sub(5), outcome },
            );
            self
        }

        /// A failed write attempt.
        pub fn failed(mut self, at: Millis, id: u64) -> Self {
            let outcome = WriteOutcome::Failed { failed_at: at, error: "connection reset".into() };
            self.push(
                at,
                EventKind::Write { id, writer: 1, group: None, txn: None, sent_at: at.saturating_sub(5), outcome },
            );
            self
        }

        /// The end-of-run audit.
        pub fn audit(mut self, at: Millis, present: &[(u64, u64)]) -> Self {
            self.push(at, EventKind::WriteAudit { present: present.to_vec(), source: "pg-2".into(), read: None });
            self
        }

        /// The end-of-run audit's read of leader pg-2 on its own port (system identifier 7,
        /// timeline 2), nothing unexpected.
        pub fn leader_audit(mut self, at: Millis, present: &[(u64, u64)]) -> Self {
            let read = crate::timeline::AuditRead {
                role: crate::timeline::AuditRole::Leader,
                why: "leader named by the DCS".into(),
                system_identifier: Some("7".into()),
                timeline: Some(2),
                lsn: Some("0/3000148".into()),
                caught_up: None,
                cluster: vec!["pg-1".into(), "pg-2".into(), "pg-3".into()],
                duplicates: Vec::new(),
            };
            self.push(at, EventKind::WriteAudit { present: present.to_vec(), source: "pg-2".into(), read: Some(read) });
            self
        }

        /// A Citus write to worker group `group`, acknowledged at `at`.
        pub fn acked_in(mut self, at: Millis, id: u64, group: u32) -> Self {
            let outcome = WriteOutcome::Acked { acked_at: at };
            self.push(
                at,
                EventKind::Write {
                    id,
                    writer: 0,
                    group: Some(group),
                    txn: None,
                    sent_at: at.saturating_sub(5),
                    outcome,
                },
            );
            self
        }

        /// A failed Citus write to worker group `group`.
        pub fn failed_in(mut self, at: Millis, id: u64, group: u32) -> Self {
            let outcome = WriteOutcome::Failed { failed_at: at, error: "connection reset".into() };
            self.push(
                at,
                EventKind::Write {
                    id,
                    writer: 1,
                    group: Some(group),
                    txn: None,
                    sent_at: at.saturating_sub(5),
                    outcome,
                },
            );
            self
        }

        /// pg_dist_node read on `source`: (group, node) primary rows.
        pub fn dist(mut self, at: Millis, source: &str, primaries: &[(u32, &str)]) -> Self {
            let rows = primaries
                .iter()
                .map(|(group, node)| crate::timeline::DistNodeRow {
                    group: *group,
                    node: node.to_string(),
                    port: 5432,
                    role: "primary".into(),
                    active: true,
                })
                .collect();
            self.push(at, EventKind::DistNodes { source: source.into(), rows });
            self
        }

        /// Patroni's citus transaction on coord-1 from `began_at` to `at`, committed.
        pub fn citus_transaction(mut self, at: Millis, began_at: Millis) -> Self {
            let kind = EventKind::CitusTransaction {
                member: "coord-1".into(),
                began_at,
                outcome: "commit".into(),
                statements: vec!["SELECT pg_catalog.citus_update_node(...)".into()],
            };
            self.push(at, kind);
            self
        }

        /// Any event.
        pub fn event(mut self, at: Millis, kind: EventKind) -> Self {
            self.push(at, kind);
            self
        }

        /// A note (only to move the timeline's end).
        pub fn note(mut self, at: Millis) -> Self {
            self.push(at, EventKind::Note { source: "test".into(), text: "tick".into() });
            self
        }

        fn push(&mut self, at: Millis, kind: EventKind) {
            self.events.push(Event { at, kind });
        }

        /// The timeline, sorted by time (stable, so same-time events keep their order).
        pub fn build(mut self) -> Timeline {
            self.events.sort_by_key(|e| e.at);
            Timeline::from_events(self.events)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testkit::*;
    use super::*;

    #[test]
    fn spans_end_at_the_next_changes_prev_seen_at() {
        let tl = Tl::new().first(0, "pg-1", primary(1)).change(5_000, "pg-1", Some(4_900), down()).build();
        let history = MemberHistory::from_timeline(&tl, 8_000);
        let spans = history.spans("pg-1");
        assert_eq!(spans.len(), 2);
        assert_eq!((spans[0].from, spans[0].to, spans[0].current), (0, 4_900, false));
        assert_eq!((spans[1].from, spans[1].to, spans[1].current), (5_000, 8_000, true));
    }

    #[test]
    fn events_after_now_are_ignored() {
        let tl = Tl::new().first(0, "pg-1", primary(1)).poll(5_000, "pg-1", down()).build();
        let history = MemberHistory::from_timeline(&tl, 3_000);
        assert_eq!(history.spans("pg-1").len(), 1);
        assert_eq!(history.spans("pg-1")[0].to, 3_000);
    }

    #[test]
    fn stints_merge_consecutive_matching_views() {
        let mut sync = primary(1);
        sync.sync_standby = true;
        let tl = Tl::new()
            .first(0, "pg-1", primary(1))
            .poll(1_000, "pg-1", sync)
            .poll(2_000, "pg-1", down())
            .poll(3_000, "pg-1", primary(2))
            .build();
        let stints = MemberHistory::from_timeline(&tl, 4_000).stints(MemberView::is_running_primary);
        assert_eq!(
            stints,
            vec![
                Stint { member: "pg-1".into(), from: 0, to: 1_900, open: false },
                Stint { member: "pg-1".into(), from: 3_000, to: 4_000, open: true },
            ]
        );
    }

    #[test]
    fn last_seen_lists_members_in_natural_order() {
        let tl = Tl::new()
            .first(0, "pg-10", replica(1))
            .first(0, "pg-2", replica(1))
            .first(0, "pg-1", primary(1))
            .poll(500, "pg-1", down())
            .build();
        let history = MemberHistory::from_timeline(&tl, 1_000);
        assert_eq!(
            history.last_seen(1_000),
            "pg-1 unreachable, pg-2 replica streaming tl 1, pg-10 replica streaming tl 1"
        );
        assert_eq!(
            history.last_seen(100),
            "pg-1 primary running tl 1, pg-2 replica streaming tl 1, pg-10 replica streaming tl 1"
        );
    }

    #[test]
    fn formats() {
        assert_eq!(secs(19_449), "19.4s");
        assert_eq!(secs(0), "0.0s");
        assert_eq!(budget_text(Budget(std::time::Duration::from_secs(45))), "≤ 45s");
        assert_eq!(budget_text(Budget(std::time::Duration::from_millis(1_500))), "≤ 1s 500ms");
    }
}
