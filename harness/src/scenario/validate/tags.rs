//! Semantic checks of `topology.tags`: tags name members that exist, say nothing contradictory,
//! and leave every Patroni cluster at least one member that may lead (Patroni never bootstraps
//! or promotes a `nofailover` member, so a cluster of them never starts).
use super::{At, Checker};
use crate::scenario::model::Topology;

impl Checker<'_> {
    pub(super) fn member_tags(&mut self, topology: &Topology) {
        let members = crate::topology::member_names(topology);
        for (member, tags) in &topology.tags {
            let path = format!("topology.tags.{member}");
            if !members.contains(member) {
                self.report(
                    &path,
                    At::Key,
                    format!("`{member}` is not a member of this topology"),
                    "no such member",
                    Some(format!("tags go on Patroni members: {}", members.join(", "))),
                );
                continue;
            }
            if let (Some(nofailover), Some(priority)) = (tags.nofailover, tags.failover_priority) {
                if nofailover != (priority == 0) {
                    self.report(
                        &format!("{path}.failover_priority"),
                        At::Key,
                        format!(
                            "`nofailover: {nofailover}` and `failover_priority: {priority}` contradict each other: \
                             Patroni would follow nofailover"
                        ),
                        "contradicts nofailover",
                        Some(
                            "set one of them: `nofailover: true` or `failover_priority: 0` both mean never promoted"
                                .into(),
                        ),
                    );
                }
            }
        }
        self.some_member_may_lead(topology);
    }

    /// Every Patroni cluster (each Citus group) keeps one member without `nofailover`.
    fn some_member_may_lead(&mut self, topology: &Topology) {
        let clusters = match crate::topology::citus_groups(topology) {
            Some(groups) => groups.into_iter().map(|(group, members)| (format!("group {group}"), members)).collect(),
            None => vec![("the cluster".to_string(), crate::topology::member_names(topology))],
        };
        for (what, members) in clusters {
            let never = |m: &String| topology.member_tags(m).never_promoted();
            if let Some(last) = members.iter().rev().find(|m| never(m)).filter(|_| members.iter().all(never)) {
                self.report(
                    &format!("topology.tags.{last}"),
                    At::Key,
                    format!(
                        "every member of {what} is tagged never to be promoted ({}): Patroni would never bootstrap it",
                        members.join(", ")
                    ),
                    "no member may lead",
                    Some("leave at least one member without `nofailover: true` / `failover_priority: 0`".into()),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use indoc::formatdoc;
    use test_case::test_case;

    use crate::scenario::parse_scenario;

    /// A scenario with `tags` (lines 5.. of the file) and one never_leader expectation.
    fn scenario(tags: &str) -> String {
        formatdoc! {"
            name: x
            topology:
              kind: patroni
              members: 3
              tags:
            {tags}
            steps:
              - fault: stop
                target: primary
              - expect:
                  - never_leader: {{target: {{member: pg-3}}}}
        "}
    }

    fn problems(yaml: &str) -> Vec<String> {
        match parse_scenario("x.yaml", yaml) {
            Ok(_) => Vec::new(),
            Err(error) => error.problems().iter().map(|p| format!("{}:{}: {}", p.line, p.column, p.message)).collect(),
        }
    }

    #[test]
    fn tags_on_members_are_accepted() {
        let yaml = scenario(
            "    pg-3: {nofailover: true, nosync: true}\n    pg-2: {failover_priority: 2, noloadbalance: true}",
        );
        assert_eq!(problems(&yaml), Vec::<String>::new());
    }

    #[test_case("    pg-7: {nofailover: true}", "6:5: `pg-7` is not a member of this topology" ; "a member the topology lacks")]
    #[test_case("    pg-3: {nofailover: true, failover_priority: 2}", "6:30: `nofailover: true` and `failover_priority: 2` contradict each other" ; "contradicting tags")]
    #[test_case("    pg-1: {nofailover: true}\n    pg-2: {failover_priority: 0}\n    pg-3: {nofailover: true}", "8:5: every member of the cluster is tagged never to be promoted (pg-1, pg-2, pg-3)" ; "no member may lead")]
    #[test_case("    pg-3: {nofailover: 3}", "6:" ; "a tag value of the wrong type")]
    #[test_case("    pg-3: {no_failover: true}", "6:12: unknown" ; "a misspelt tag")]
    fn bad_tags_point_at_the_problem(tags: &str, expected: &str) {
        let found = problems(&scenario(tags));
        assert!(found.iter().any(|p| p.starts_with(expected)), "expected {expected:?} in {found:?}");
    }

    #[test]
    fn strict_synchronous_mode_needs_synchronous_mode() {
        let yaml = scenario("    pg-3: {nosync: true}")
            .replace("  tags:\n", "  patroni: {synchronous_mode_strict: true}\n  tags:\n");
        let found = problems(&yaml);
        assert!(
            found.iter().any(|p| p.starts_with("5:13: `synchronous_mode_strict` needs `synchronous_mode: true`")),
            "{found:?}"
        );
    }

    #[test]
    fn never_leader_needs_one_named_member() {
        let yaml = scenario("    pg-3: {nofailover: true}").replace("{member: pg-3}", "replica");
        let found = problems(&yaml);
        assert!(found.iter().any(|p| p.contains("`never_leader` needs one named member")), "{found:?}");
    }
}
