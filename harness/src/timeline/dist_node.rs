//! Reading Citus's pg_dist_node rows as recorded on the timeline: which member each group's
//! primary row names, and the table in one line. Pure functions of recorded data, so checks,
//! observers and reports all use these.
use std::collections::BTreeMap;

use super::DistNodeRow;

/// The active primary row of each group, e.g. {1: "worker1-2"}. A `-demoted` name (a worker
/// switchover in flight) is returned as it is, so it matches no member.
pub fn primaries_by_group(rows: &[DistNodeRow]) -> BTreeMap<u32, String> {
    rows.iter().filter(|r| r.role == "primary" && r.active).map(|r| (r.group, r.node.clone())).collect()
}

/// "worker1-2: 1 orphaned prepared transaction (citus_0_…)": a prepared-transactions read in one
/// line.
pub fn describe_prepared_xacts(member: &str, count: u64, gids: &[String], error: Option<&str>) -> String {
    match error {
        Some(error) => format!("{member}: prepared transactions not read: {error}"),
        None if count == 0 => format!("{member}: no orphaned prepared transaction"),
        None => format!("{member}: {count} orphaned prepared transaction(s) ({})", gids.join(", ")),
    }
}

/// "0: coord-1; 1: worker1-2 (+1 secondary); ...": pg_dist_node in one line.
pub fn describe_dist_nodes(rows: &[DistNodeRow]) -> String {
    let mut groups: BTreeMap<u32, (Vec<String>, usize)> = BTreeMap::new();
    for row in rows {
        let entry = groups.entry(row.group).or_default();
        if row.role == "primary" {
            entry.0.push(if row.active { row.node.clone() } else { format!("{} (inactive)", row.node) });
        } else {
            entry.1 += 1;
        }
    }
    let parts: Vec<String> = groups
        .iter()
        .map(|(group, (primaries, secondaries))| {
            let primary = if primaries.is_empty() { "no primary".to_string() } else { primaries.join(", ") };
            let more = if *secondaries > 0 { format!(" (+{secondaries} secondary)") } else { String::new() };
            format!("{group}: {primary}{more}")
        })
        .collect();
    if parts.is_empty() {
        "empty".to_string()
    } else {
        parts.join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(group: u32, node: &str, role: &str) -> DistNodeRow {
        DistNodeRow { group, node: node.into(), port: 5432, role: role.into(), active: true }
    }

    #[test]
    fn primaries_and_description() {
        let rows = vec![
            row(0, "coord-1", "primary"),
            row(1, "worker1-1-demoted", "primary"),
            row(1, "worker1-2", "secondary"),
            row(2, "worker2-1", "primary"),
        ];
        let primaries = primaries_by_group(&rows);
        assert_eq!(primaries[&1], "worker1-1-demoted");
        assert_eq!(primaries.len(), 3);
        assert_eq!(describe_dist_nodes(&rows), "0: coord-1; 1: worker1-1-demoted (+1 secondary); 2: worker2-1");
        assert_eq!(describe_dist_nodes(&[]), "empty");
    }
}
