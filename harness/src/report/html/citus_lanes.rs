//! pg_dist_node lanes (Citus): one lane per Citus group showing which node the group's primary
//! row names over time, from the `DistNodes` events the coordinator observer records, with
//! Patroni's pg_dist_node transactions (`CitusTransaction`, BEGIN → COMMIT on the coordinator)
//! as bands on the groups they touch and across the whole timeline.
//!
//! A `-demoted` node name means a switchover is in flight. Patroni writes it and the new primary
//! inside one transaction, so an observer reading committed rows rarely sees it: the band of a
//! transaction whose statements name a `-demoted` node is drawn in the demoted style too.
use std::collections::{BTreeMap, BTreeSet};

use super::ctx::Ctx;
use super::format::secs;
use super::geometry::{clip, Guide, Lane};
use super::member_lanes::group_title;
use crate::timeline::{DistNodeRow, EventKind, Millis};
use crate::topology::member_group;

const DEMOTED: &str = "-demoted";

/// What pg_dist_node said about one group's primary at some time.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Primary {
    /// No row with role primary for the group (or the group is not in the table).
    Missing,
    /// The primary row(s): node name and whether active.
    Rows(Vec<(String, bool)>),
}

impl Primary {
    fn of(rows: &[DistNodeRow], group: u32) -> Self {
        let primaries: Vec<(String, bool)> = rows
            .iter()
            .filter(|r| r.group == group && r.role == "primary")
            .map(|r| (r.node.clone(), r.active))
            .collect();
        if primaries.is_empty() {
            Primary::Missing
        } else {
            Primary::Rows(primaries)
        }
    }

    fn describe(&self) -> String {
        match self {
            Primary::Missing => "no primary row".to_string(),
            Primary::Rows(rows) => rows
                .iter()
                .map(|(node, active)| if *active { node.clone() } else { format!("{node} (inactive)") })
                .collect::<Vec<_>>()
                .join(", "),
        }
    }
}

/// A transaction Patroni ran on the coordinator.
#[derive(Debug)]
struct Transaction<'a> {
    member: &'a str,
    began_at: Millis,
    ended_at: Millis,
    outcome: &'a str,
    statements: &'a [String],
}

impl Transaction<'_> {
    /// Node names quoted in the statements (e.g. `'worker1-1-demoted'`).
    fn nodes(&self) -> Vec<&str> {
        self.statements.iter().flat_map(|s| s.split('\'').skip(1).step_by(2)).collect()
    }

    /// The Citus groups whose nodes the statements name.
    fn groups(&self) -> BTreeSet<u32> {
        self.nodes().iter().filter_map(|n| member_group(n.strip_suffix(DEMOTED).unwrap_or(n))).collect()
    }

    fn demotes(&self) -> bool {
        self.nodes().iter().any(|n| n.ends_with(DEMOTED))
    }

    fn title(&self) -> String {
        format!(
            "Patroni's pg_dist_node transaction on {}: {}–{} ({}), {}: {}",
            self.member,
            secs(self.began_at),
            secs(self.ended_at),
            secs(self.ended_at.saturating_sub(self.began_at)),
            self.outcome,
            self.statements.join("; ")
        )
    }
}

/// One lane per Citus group seen in pg_dist_node (or named by a transaction).
pub(super) fn dist_node_lanes(ctx: &Ctx<'_>) -> Vec<Lane> {
    let events = &ctx.report.timeline.events;
    let snapshots: Vec<(Millis, &[DistNodeRow])> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::DistNodes { rows, .. } => Some((e.at, rows.as_slice())),
            _ => None,
        })
        .collect();
    let transactions: Vec<Transaction<'_>> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::CitusTransaction { member, began_at, outcome, statements } => {
                Some(Transaction { member, began_at: *began_at, ended_at: e.at, outcome, statements })
            }
            _ => None,
        })
        .collect();
    let mut groups: BTreeSet<u32> = snapshots.iter().flat_map(|(_, rows)| rows.iter().map(|r| r.group)).collect();
    groups.extend(transactions.iter().flat_map(Transaction::groups));
    let mut lanes: Vec<Lane> = groups.iter().map(|&group| group_lane(ctx, group, &snapshots)).collect();
    for tx in &transactions {
        let touched = tx.groups();
        let (x, w) = (ctx.scale.x(tx.began_at), ctx.scale.width(tx.began_at, tx.ended_at).max(2.0));
        let class = if tx.demotes() { "citus-tx demoting" } else { "citus-tx" };
        for (lane, group) in lanes.iter_mut().zip(&groups) {
            // A transaction naming no known node is drawn on every group's lane.
            if touched.is_empty() || touched.contains(group) {
                lane.rect(x, 0.0, w, 22.0, class, Some(tx.title()));
            }
        }
        if let Some(first) = lanes.first_mut() {
            let guide = Guide { from: tx.began_at, to: tx.ended_at.max(tx.began_at), class: "tx-guide", title: None };
            first.guides.push(guide);
        }
    }
    lanes
}

/// The spans of one group's primary row.
fn group_lane(ctx: &Ctx<'_>, group: u32, snapshots: &[(Millis, &[DistNodeRow])]) -> Lane {
    let mut lane = Lane::new("pg_dist_node", format!("pg_dist_node {group}"), 22.0);
    lane.detail = group_title(group);
    // Changes of this group's primary only (other groups' changes are other events).
    let mut changes: Vec<(Millis, Primary)> = Vec::new();
    for (at, rows) in snapshots {
        let primary = Primary::of(rows, group);
        if changes.last().map(|(_, p)| p) != Some(&primary) {
            changes.push((*at, primary));
        }
    }
    // Node names in order of first appearance pick the shade, so a change of node is visible.
    let mut shades: BTreeMap<String, usize> = BTreeMap::new();
    let mut drawn_to = f64::MIN;
    for (i, (from, primary)) in changes.iter().enumerate() {
        let to = changes.get(i + 1).map_or(ctx.observed_until.max(*from), |next| next.0);
        let (x, w) = (ctx.scale.x(*from), ctx.scale.width(*from, to).max(1.0));
        if x + w <= drawn_to + 1.0 {
            continue; // at most one span per pixel
        }
        drawn_to = x + w;
        let class = match primary {
            Primary::Missing => "dist-missing",
            Primary::Rows(rows) if rows.iter().any(|(n, _)| n.ends_with(DEMOTED)) => "dist-demoted",
            Primary::Rows(rows) if rows.iter().any(|(_, active)| !active) => "dist-inactive",
            Primary::Rows(rows) => {
                let next = shades.len();
                match *shades.entry(rows[0].0.clone()).or_insert(next) % 3 {
                    0 => "dist-a",
                    1 => "dist-b",
                    _ => "dist-c",
                }
            }
        };
        let text = primary.describe();
        let title = format!("group {group}: pg_dist_node primary {text} ({}–{})", secs(*from), secs(to));
        lane.rect(x, 3.0, w, 16.0, class, Some(title));
        let ink = if class == "dist-missing" { "dark" } else { "light" };
        let _ = lane.text_inside(x, w, 15.0, ink, &text) || lane.text_inside(x, w, 15.0, ink, &clip(&text, 10));
    }
    lane
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::html::geometry::Px;
    use crate::report::terminal::tests::sample;
    use crate::report::RunReport;
    use crate::timeline::{Event, Timeline};

    fn row(group: u32, node: &str, role: &str) -> DistNodeRow {
        DistNodeRow { group, node: node.into(), port: 5432, role: role.into(), active: true }
    }

    fn dist(at: Millis, rows: Vec<DistNodeRow>) -> Event {
        Event { at, kind: EventKind::DistNodes { source: "coord-1".into(), rows } }
    }

    /// Worker group 1 switches over from worker1-1 to worker1-2 between 20s and 23s; the
    /// observer catches the `-demoted` row once.
    fn switchover() -> RunReport {
        let before = vec![row(0, "coord-1", "primary"), row(1, "worker1-1", "primary"), row(2, "worker2-1", "primary")];
        let demoted =
            vec![row(0, "coord-1", "primary"), row(1, "worker1-1-demoted", "primary"), row(2, "worker2-1", "primary")];
        let after = vec![
            row(0, "coord-1", "primary"),
            row(1, "worker1-2", "primary"),
            row(1, "worker1-1", "secondary"),
            row(2, "worker2-1", "primary"),
        ];
        let statements = vec![
            "SELECT pg_catalog.citus_update_node(%s, %s, %s, true, %s), (2, 'worker1-1-demoted', 5432, 5000)".into(),
            "SELECT pg_catalog.citus_update_node(%s, %s, %s, true, %s), (2, 'worker1-2', 5432, 5000)".into(),
        ];
        let events = vec![
            dist(5_000, before),
            dist(20_500, demoted),
            Event {
                at: 23_000,
                kind: EventKind::CitusTransaction {
                    member: "coord-1".into(),
                    began_at: 20_000,
                    outcome: "commit".into(),
                    statements,
                },
            },
            dist(23_100, after),
            Event { at: 60_000, kind: EventKind::Phase { name: "teardown".into() } },
        ];
        RunReport { timeline: Timeline::from_events(events), ..sample() }
    }

    #[test]
    fn one_lane_per_group_with_the_primary_row_over_time() {
        let report = switchover();
        let ctx = Ctx::new(&report);
        let lanes = dist_node_lanes(&ctx);
        let names: Vec<&str> = lanes.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["pg_dist_node 0", "pg_dist_node 1", "pg_dist_node 2"]);
        assert_eq!(lanes[0].detail, "coordinator (group 0)");
        // Group 0 never changes: one span to the end of observation, no transaction band.
        assert_eq!(lanes[0].rects.len(), 1, "{:#?}", lanes[0].rects);
        assert_eq!(lanes[0].rects[0].w, Px(ctx.scale.width(5_000, 60_000)));
        // Group 1: worker1-1, demoted, worker1-2 (another shade), then the transaction's band.
        let classes: Vec<&str> = lanes[1].rects.iter().map(|r| r.class).collect();
        assert_eq!(classes, ["dist-a", "dist-demoted", "dist-b", "citus-tx demoting"]);
        let demoted = &lanes[1].rects[1];
        assert_eq!((demoted.x, demoted.w), (Px(ctx.scale.x(20_500)), Px(ctx.scale.width(20_500, 23_100))));
        let band = lanes[1].rects[3].title.as_deref().unwrap();
        assert!(
            band.starts_with("Patroni's pg_dist_node transaction on coord-1: 20.0s–23.0s (3.0s), commit"),
            "{band}"
        );
        assert!(lanes[1].texts.iter().any(|t| t.text == "worker1-2"), "{:#?}", lanes[1].texts);
        // Group 2 is not touched by the transaction; the guide crosses every lane once.
        assert_eq!(lanes[2].rects.len(), 1);
        let guides: Vec<&Guide> = lanes.iter().flat_map(|l| &l.guides).collect();
        assert_eq!(guides.len(), 1);
        assert_eq!((guides[0].from, guides[0].to, guides[0].class), (20_000, 23_000, "tx-guide"));
    }

    #[test]
    fn a_group_missing_from_the_table_is_shown_as_such() {
        let events = vec![
            dist(1_000, vec![row(0, "coord-1", "primary"), row(1, "worker1-1", "primary")]),
            dist(2_000, vec![row(0, "coord-1", "primary"), row(1, "worker1-1", "secondary")]),
            Event { at: 10_000, kind: EventKind::Phase { name: "teardown".into() } },
        ];
        let report = RunReport { timeline: Timeline::from_events(events), ..sample() };
        let lanes = dist_node_lanes(&Ctx::new(&report));
        let classes: Vec<&str> = lanes[1].rects.iter().map(|r| r.class).collect();
        assert_eq!(classes, ["dist-a", "dist-missing"]);
        assert!(lanes[1].rects[1].title.as_deref().unwrap().contains("no primary row"));
    }

    #[test]
    fn transactions_name_their_groups() {
        let statements = vec!["x (2, 'worker3-1-demoted', 5432)".to_string(), "y (4, 'worker3-2', 5432)".to_string()];
        let tx =
            Transaction { member: "coord-1", began_at: 1, ended_at: 2, outcome: "commit", statements: &statements };
        assert_eq!(tx.groups(), BTreeSet::from([3]));
        assert!(tx.demotes());
    }

    #[test]
    fn a_plain_patroni_run_has_no_dist_node_lanes() {
        assert!(dist_node_lanes(&Ctx::new(&sample())).is_empty());
    }
}
