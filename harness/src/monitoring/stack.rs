//! The monitoring stack of a topology as container specs: a postgres_exporter per member,
//! Alertmanager, and Prometheus with the drill's rule files. Pure, like `config`: the engine
//! starts these specs, `pgdrill compose` writes them into a Compose file, so both run the same.
use std::time::Duration;

use super::config::{
    alertmanager_spec, alertmanager_yml, exporter_dsn, exporter_queries, exporter_spec, prometheus_spec,
    prometheus_yml, AlertmanagerConfigInput, EnvTooLarge, MonitoredMember, PrometheusConfigInput, RenderedRuleFile,
};
use crate::topology::configs::SUPERUSER;
use crate::topology::{ContainerSpec, Secret, POSTGRES_PORT};

/// Image tags of the monitoring stack.
#[derive(Debug, Clone, Copy)]
pub struct StackImages<'a> {
    /// Prometheus (with promtool).
    pub prometheus: &'a str,
    /// Alertmanager.
    pub alertmanager: &'a str,
    /// postgres_exporter.
    pub postgres_exporter: &'a str,
}

/// What the stack monitors.
#[derive(Debug, Clone, Copy)]
pub struct Stack<'a> {
    /// The Patroni scope (Prometheus's `cluster` label).
    pub cluster_name: &'a str,
    /// The members, each with an exporter.
    pub members: &'a [String],
    /// A Citus topology's groups and their members (`citus_group` and `citus_type` labels);
    /// `None`: every member is group 0 of a plain cluster.
    pub groups: Option<&'a [(u32, Vec<String>)]>,
    /// The database exporters connect to: Patroni's Citus database on Citus (where
    /// `pg_dist_node` and the other Citus catalogs are), else `postgres`.
    pub database: &'a str,
    /// The run's superuser password, which the exporters connect with.
    pub superuser_password: &'a Secret,
    /// Prometheus's scrape and evaluation interval.
    pub scrape_interval: Duration,
    /// The rule files Prometheus loads.
    pub rules: &'a [RenderedRuleFile],
}

/// The specs in start order: exporters (one per member), Alertmanager, Prometheus.
///
/// Members are labelled with their Citus group (and `citus_type`) on a Citus topology, as the
/// users' relabelling does; on a plain cluster every member is group 0.
pub fn stack_specs(images: StackImages<'_>, stack: &Stack<'_>) -> Result<Vec<ContainerSpec>, EnvTooLarge> {
    let queries = exporter_queries();
    let mut specs = Vec::new();
    let mut monitored = Vec::new();
    for member in stack.members {
        let dsn = exporter_dsn(member, POSTGRES_PORT, SUPERUSER, stack.superuser_password.expose(), stack.database);
        specs.push(exporter_spec(images.postgres_exporter, member, &dsn, &queries));
        let citus_group = stack
            .groups
            .and_then(|groups| groups.iter().find(|(_, names)| names.contains(member)))
            .map_or(0, |(group, _)| *group);
        monitored.push(MonitoredMember { member: member.clone(), citus_group, exporter: true });
    }
    specs.push(alertmanager_spec(images.alertmanager, &alertmanager_yml(&AlertmanagerConfigInput::default())));
    let config = prometheus_yml(&PrometheusConfigInput {
        cluster_name: stack.cluster_name,
        citus: stack.groups.is_some(),
        members: &monitored,
        scrape_interval: stack.scrape_interval,
        alertmanager: true,
    });
    specs.push(prometheus_spec(images.prometheus, &config, stack.rules)?);
    Ok(specs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitoring::config::{prometheus_spec, ALERTMANAGER_NAME, PROMETHEUS_NAME};

    #[test]
    fn an_exporter_per_member_then_alertmanager_then_prometheus() {
        let images = StackImages { prometheus: "p", alertmanager: "a", postgres_exporter: "e" };
        let members = vec!["pg-1".to_string(), "pg-2".to_string()];
        let password = Secret::generate().unwrap();
        let stack = Stack {
            cluster_name: "pgdrill",
            members: &members,
            groups: None,
            database: "postgres",
            superuser_password: &password,
            scrape_interval: Duration::from_secs(1),
            rules: &[],
        };
        let specs = stack_specs(images, &stack).unwrap();
        let names: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["pg-1-exporter", "pg-2-exporter", ALERTMANAGER_NAME, PROMETHEUS_NAME]);
        let dsn = &specs[1].env.iter().find(|(k, _)| k == "DATA_SOURCE_NAME").unwrap().1;
        let expected = format!("postgresql://postgres:{}@pg-2:5432/postgres?", password.expose());
        assert!(dsn.starts_with(&expected), "{dsn}");
        let config = &specs[3].env[0].1;
        assert!(config.contains("targets: ['pg-2-exporter:9187']"), "{config}");
    }

    #[test]
    fn citus_members_are_labelled_with_their_group() {
        let images = StackImages { prometheus: "p", alertmanager: "a", postgres_exporter: "e" };
        let groups = vec![(0, vec!["coord-1".to_string()]), (1, vec!["worker1-1".to_string()])];
        let members: Vec<String> = groups.iter().flat_map(|(_, m)| m.clone()).collect();
        let password = Secret::generate().unwrap();
        let stack = Stack {
            cluster_name: "citusdemo",
            members: &members,
            groups: Some(&groups),
            database: "citus",
            superuser_password: &password,
            scrape_interval: Duration::from_secs(1),
            rules: &[],
        };
        let specs = stack_specs(images, &stack).unwrap();
        let config = &specs.last().unwrap().env[0].1;
        let worker = config.split("targets: ['worker1-1:8008']").nth(1).expect("the worker's Patroni target");
        let labels: String = worker.lines().take(7).collect::<Vec<_>>().join("\n");
        assert!(labels.contains("citus_group: '1'"), "{labels}");
        assert!(labels.contains("citus_type: 'worker'"), "{labels}");
        assert!(labels.contains("cluster_name: 'citusdemo'"), "{labels}");
        let dsn = &specs[1].env.iter().find(|(k, _)| k == "DATA_SOURCE_NAME").unwrap().1;
        assert!(dsn.contains("@worker1-1:5432/citus?"), "the exporter reads the Citus database: {dsn}");
    }

    #[test]
    fn prometheus_runs_without_the_lifecycle_api() {
        // /-/reload and /-/quit would let anyone who reaches the port stop or reconfigure it.
        let entrypoint = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../images/prometheus/entrypoint.sh");
        let script = std::fs::read_to_string(&entrypoint).expect("the Prometheus entrypoint");
        let command = script.split("exec prometheus").nth(1).expect("the entrypoint execs prometheus");
        assert!(command.contains("--config.file="), "{command}");
        assert!(!command.contains("enable-lifecycle"), "{}: {command}", entrypoint.display());
        let spec = prometheus_spec("p", "", &[]).unwrap();
        let args = spec.cmd.unwrap_or_default();
        assert!(!args.iter().any(|a| a.contains("enable-lifecycle")), "{args:?}");
    }
}
