//! The monitoring stack of a run: the users' alert rules (loaded, time-compressed, checked by
//! promtool before anything starts), Prometheus, Alertmanager and an exporter per member started
//! beside the cluster, the alert observer feeding the timeline, and the coverage at the end.
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::{Cluster, EngineError, Progress};
use crate::monitoring::api::PrometheusApi;
use crate::monitoring::config::{
    alertmanager_spec, alertmanager_yml, exporter_dsn, exporter_queries, exporter_spec, prometheus_spec,
    prometheus_yml, render_rule_files, AlertmanagerConfigInput, MonitoredMember, PrometheusConfigInput,
    RenderedRuleFile, ALERTMANAGER_NAME, ALERTMANAGER_PORT, PROMETHEUS_NAME, PROMETHEUS_PORT,
};
use crate::monitoring::{
    check_rules, coverage, load_rule_file, wait_targets_up, AlertChange, AlertObserver, AlertOutcome, AlertRule,
    RuleFile, ScaleOptions, ScaledValue,
};
use crate::report::{CoverageRow, MonitoringSummary};
use crate::runtime::images::ResolvedImages;
use crate::scenario::{variant_name, LoadedScenario};
use crate::timeline::{EventKind, TimelineWriter};
use crate::topology::configs::SUPERUSER_PASSWORD;
use crate::topology::POSTGRES_PORT;

/// The rules of a run, ready for Prometheus.
#[derive(Debug, Clone)]
pub struct MonitoringSetup {
    files: Vec<RuleFile>,
    rendered: Vec<RenderedRuleFile>,
    scaled: Vec<ScaledValue>,
    alerts: Vec<AlertRule>,
    interval: Duration,
    for_scale: f64,
}

/// Loads and scales the scenario's rule files (paths relative to the scenario file).
pub fn prepare(loaded: &LoadedScenario) -> Result<Option<MonitoringSetup>, EngineError> {
    let Some(monitoring) = &loaded.scenario.topology.monitoring else { return Ok(None) };
    let base = loaded.path.parent().unwrap_or(std::path::Path::new("."));
    let mut files = Vec::new();
    for rules in &monitoring.rules {
        let file = load_rule_file(&base.join(&rules.value)).map_err(|e| EngineError::Monitoring(e.to_string()))?;
        files.push(file);
    }
    let interval = monitoring.interval.0;
    let scale = (monitoring.for_scale != 1.0)
        .then(|| ScaleOptions::new(monitoring.for_scale, interval))
        .transpose()
        .map_err(EngineError::Monitoring)?;
    let (rendered, scaled) = render_rule_files(&files, scale.as_ref());
    let alerts = files.iter().flat_map(RuleFile::alerts).collect();
    Ok(Some(MonitoringSetup { files, rendered, scaled, alerts, interval, for_scale: monitoring.for_scale }))
}

impl MonitoringSetup {
    /// promtool on exactly what Prometheus will load, before any container of the run starts.
    pub async fn check(
        &self,
        images: &ResolvedImages,
        run_id: &str,
        docker: &bollard::Docker,
    ) -> Result<(), EngineError> {
        check_rules(docker, &images.prometheus, run_id, &self.files, &self.rendered)
            .await
            .map(|_| ())
            .map_err(|e| EngineError::Monitoring(e.to_string()))
    }

    /// Starts an exporter per member, Alertmanager and Prometheus on the run network and spawns
    /// the alert observer. Returns Prometheus's loopback port.
    pub async fn start(
        &self,
        cluster: &mut Cluster,
        images: &ResolvedImages,
        timeline: &TimelineWriter,
        tasks: &mut JoinSet<()>,
        cancel: CancellationToken,
    ) -> Result<u16, EngineError> {
        let runtime = cluster.runtime.clone();
        let members = cluster.plan.member_names();
        let queries = exporter_queries();
        let mut monitored = Vec::new();
        for member in &members {
            let dsn = exporter_dsn(member, POSTGRES_PORT, "postgres", SUPERUSER_PASSWORD, "postgres");
            let spec = exporter_spec(&images.postgres_exporter, member, &dsn, &queries);
            cluster.containers.insert(spec.name.clone(), runtime.start(&spec).await?);
            monitored.push(MonitoredMember { member: member.clone(), citus_group: 0, exporter: true });
        }
        let am = alertmanager_spec(&images.alertmanager, &alertmanager_yml(&AlertmanagerConfigInput::default()));
        cluster.containers.insert(am.name.clone(), runtime.start(&am).await?);
        let config = prometheus_yml(&PrometheusConfigInput {
            cluster_name: &cluster.plan.scope,
            citus: false,
            members: &monitored,
            scrape_interval: self.interval,
            alertmanager: true,
        });
        let prom = prometheus_spec(&images.prometheus, &config, &self.rendered)
            .map_err(|e| EngineError::Monitoring(e.to_string()))?;
        cluster.containers.insert(prom.name.clone(), runtime.start(&prom).await?);
        let prom_port =
            cluster.containers.get(PROMETHEUS_NAME).and_then(|c| c.host_port(PROMETHEUS_PORT)).unwrap_or_default();
        let am_port = cluster.containers.get(ALERTMANAGER_NAME).and_then(|c| c.host_port(ALERTMANAGER_PORT));
        let sink_timeline = timeline.clone();
        let sink = Arc::new(move |change: AlertChange| {
            sink_timeline.record(EventKind::Alert {
                alert: change.alert,
                labels: change.labels,
                state: variant_name(&change.state),
                from: variant_name(&change.from),
                source: variant_name(&change.source),
            });
        });
        AlertObserver::new(Some(prom_port), am_port).spawn(tasks, sink, cancel);
        Ok(prom_port)
    }

    /// Waits until Prometheus scrapes every target (two per member).
    pub async fn wait_scraping(&self, prom_port: u16, members: usize, progress: &Progress) -> Result<(), EngineError> {
        let api = PrometheusApi::new(prom_port, Duration::from_secs(2));
        let (took, _) = wait_targets_up(&api, members * 2, Duration::from_secs(60))
            .await
            .map_err(|e| EngineError::Monitoring(e.to_string()))?;
        progress.say(&format!(
            "monitoring: Prometheus scrapes all {} targets ({:.1}s)",
            members * 2,
            took.as_secs_f64()
        ));
        Ok(())
    }

    /// What every alert did between `start` and now, for the report.
    pub async fn summary(&self, prom_port: Option<u16>, start: SystemTime) -> MonitoringSummary {
        let scaled = self
            .scaled
            .iter()
            .map(|v| {
                let rule = v.rule.as_deref().unwrap_or(&v.group);
                let floored = if v.floored { " (floored)" } else { "" };
                format!("{rule} {:?}: {} → {}{floored} ({}:{})", v.what, v.from, v.to, v.file.display(), v.line)
            })
            .collect();
        let mut summary = MonitoringSummary { for_scale: self.for_scale, scaled, ..Default::default() };
        let Some(port) = prom_port else {
            summary.coverage_error = Some("Prometheus did not start".into());
            return summary;
        };
        let unix = |t: SystemTime| t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default().as_secs_f64();
        let api = PrometheusApi::new(port, Duration::from_secs(5));
        match coverage(&api, &self.alerts, unix(start), unix(SystemTime::now())).await {
            Ok(rows) => {
                summary.coverage = rows
                    .into_iter()
                    .map(|row| {
                        let (outcome, missing) = match &row.outcome {
                            AlertOutcome::Fired => ("fired", Vec::new()),
                            AlertOutcome::WentPending => ("went_pending", Vec::new()),
                            AlertOutcome::StayedInactive => ("stayed_inactive", Vec::new()),
                            AlertOutcome::SeriesAbsent { missing } => ("series_absent", missing.clone()),
                        };
                        CoverageRow {
                            alert: row.alert,
                            defined_at: format!("{}:{}", row.file.display(), row.line),
                            outcome: outcome.to_string(),
                            missing,
                        }
                    })
                    .collect()
            }
            Err(e) => summary.coverage_error = Some(e.to_string()),
        }
        summary
    }
}
