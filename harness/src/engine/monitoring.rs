//! The monitoring stack of a run: the users' alert rules (loaded, time-compressed, checked by
//! promtool before anything starts), Prometheus, Alertmanager and an exporter per member started
//! beside the cluster, the alert observer feeding the timeline, and the coverage at the end.
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::{Cluster, EngineError, MonitoringError, Progress};
use crate::monitoring::api::{PrometheusApi, UnixMillis};
use crate::monitoring::blind_spots::fault_windows;
use crate::monitoring::config::{
    citus_only_metrics, render_rule_files, RenderedRuleFile, ALERTMANAGER_NAME, ALERTMANAGER_PORT, PROMETHEUS_NAME,
    PROMETHEUS_PORT,
};
use crate::monitoring::known_metrics::{check_list, unknown_metrics, KnownMetrics, UnknownMetric};
use crate::monitoring::latency::{measure, AlertSamples, RuleTiming, SeenChange, LATENCY_BAR_MS};
use crate::monitoring::stack::{stack_specs, Stack, StackImages};
use crate::monitoring::{
    blind_spots, check_rules, coverage, load_rule_file, wait_targets_up, AlertChange, AlertCoverage, AlertObserver,
    AlertOutcome, AlertRule, RuleFile, ScaleOptions, ScaledValue,
};
use crate::report::{AlertLatency, CoverageRow, MonitoringSummary};
use crate::runtime::images::ResolvedImages;
use crate::scenario::{variant_name, LoadedScenario, TopologyKind};
use crate::timeline::{EventKind, Timeline, TimelineWriter};
use crate::topology::{ContainerSpec, Plan};

/// The rules of a run, ready for Prometheus.
#[derive(Debug, Clone)]
pub struct MonitoringSetup {
    files: Vec<RuleFile>,
    rendered: Vec<RenderedRuleFile>,
    scaled: Vec<ScaledValue>,
    alerts: Vec<AlertRule>,
    interval: Duration,
    for_scale: f64,
    /// Effective (scaled) `for` and group interval of each alert, to time its state changes.
    timings: BTreeMap<String, RuleTiming>,
    /// Rules reading metrics no exporter of the topology produces.
    unknown: Vec<UnknownMetric>,
    /// Patroni members: the shipped metric list holds for two or more.
    members: u8,
    /// A Citus topology: the list's Citus section holds, the Citus catalogs' series exist.
    citus: bool,
    /// The `cluster_name` label the scenario asks for (default: the Patroni scope).
    cluster_name: Option<String>,
}

/// Loads and scales the scenario's rule files (paths relative to the scenario file).
pub fn prepare(loaded: &LoadedScenario) -> Result<Option<MonitoringSetup>, EngineError> {
    let Some(monitoring) = &loaded.scenario.topology.monitoring else { return Ok(None) };
    let base = loaded.path.parent().unwrap_or(std::path::Path::new("."));
    let mut files = Vec::new();
    for rules in &monitoring.rules {
        let file = load_rule_file(&base.join(&rules.value)).map_err(MonitoringError::from)?;
        files.push(file);
    }
    let interval = monitoring.interval.0;
    let scale = (monitoring.for_scale != 1.0)
        .then(|| ScaleOptions::new(monitoring.for_scale, interval))
        .transpose()
        .map_err(MonitoringError::Scale)?;
    let (rendered, scaled) = render_rule_files(&files, scale.as_ref());
    let alerts = files.iter().flat_map(RuleFile::alerts).collect();
    let mut timings = BTreeMap::new();
    for file in &files {
        let effective = match &scale {
            Some(options) => file.scaled(options).0,
            None => file.clone(),
        };
        for group in &effective.groups {
            let interval_ms = group.interval.map_or(interval.as_millis() as u64, |i| i.as_millis());
            for alert in effective.alerts().into_iter().filter(|a| a.group == group.name) {
                timings.entry(alert.name).or_insert(RuleTiming { for_ms: alert.for_.as_millis(), interval_ms });
            }
        }
    }
    let citus = loaded.scenario.topology.kind == TopologyKind::Citus;
    // Say why a rule reading a Citus catalog's series may see none.
    let hints: BTreeMap<String, String> = citus_only_metrics(citus).into_iter().collect();
    let unknown = unknown_metrics(&files, &KnownMetrics::for_topology(citus), &hints);
    Ok(Some(MonitoringSetup {
        files,
        rendered,
        scaled,
        alerts,
        interval,
        for_scale: monitoring.for_scale,
        timings,
        unknown,
        members: loaded.scenario.topology.members,
        citus,
        cluster_name: monitoring.cluster_name.clone(),
    }))
}

impl MonitoringSetup {
    /// Rules reading a metric no exporter of the topology produces: warnings, to print before
    /// anything starts.
    pub fn unknown_metrics(&self) -> &[UnknownMetric] {
        &self.unknown
    }

    /// The stack's containers for `plan`'s members (exporters connecting with its superuser
    /// password), in start order (see `monitoring::stack`).
    pub fn specs(&self, images: &ResolvedImages, plan: &Plan) -> Result<Vec<ContainerSpec>, EngineError> {
        let images = StackImages {
            prometheus: &images.prometheus,
            alertmanager: &images.alertmanager,
            postgres_exporter: &images.postgres_exporter,
        };
        let stack = Stack {
            cluster_name: self.cluster_name.as_deref().unwrap_or(&plan.scope),
            members: &plan.member_names(),
            groups: plan.groups.as_deref(),
            database: plan.database(),
            superuser_password: &plan.secrets.superuser,
            scrape_interval: self.interval,
            rules: &self.rendered,
        };
        stack_specs(images, &stack).map_err(|e| MonitoringError::from(e).into())
    }

    /// promtool on exactly what Prometheus will load, before any container of the run starts.
    pub async fn check(
        &self,
        images: &ResolvedImages,
        run_id: &str,
        runtime: &crate::runtime::Runtime,
    ) -> Result<(), EngineError> {
        check_rules(runtime.docker(), &images.prometheus, run_id, &self.files, &self.rendered)
            .await
            .map(|_| ())
            .map_err(|e| MonitoringError::from(e).into())
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
        let specs = self.specs(images, &cluster.plan)?;
        let super::cluster::Site::Started { runtime, containers, .. } = &mut cluster.site else {
            return Err(EngineError::Attach("monitoring drills cannot run on an attached cluster yet".into()));
        };
        for spec in &specs {
            containers.insert(spec.name.clone(), runtime.start(spec).await?);
        }
        let prom_port = containers.get(PROMETHEUS_NAME).and_then(|c| c.host_port(PROMETHEUS_PORT)).unwrap_or_default();
        let am_port = containers.get(ALERTMANAGER_NAME).and_then(|c| c.host_port(ALERTMANAGER_PORT));
        let sink_timeline = timeline.clone();
        let sink = Arc::new(move |change: AlertChange| {
            sink_timeline.record(EventKind::Alert {
                alert: change.alert,
                labels: change.labels,
                state: variant_name(&change.state),
                from: variant_name(&change.from),
                source: variant_name(&change.source),
                seen_unix_ms: Some(unix_ms(SystemTime::now())),
                source_unix_ms: change.active_at,
            });
        });
        AlertObserver::new(Some(prom_port), am_port).spawn(tasks, sink, cancel);
        Ok(prom_port)
    }

    /// Waits until Prometheus scrapes every target (two per member).
    pub async fn wait_scraping(&self, prom_port: u16, members: usize, progress: &Progress) -> Result<(), EngineError> {
        let api = PrometheusApi::new(prom_port, Duration::from_secs(2));
        let (took, _) =
            wait_targets_up(&api, members * 2, Duration::from_secs(60)).await.map_err(MonitoringError::NotReady)?;
        progress.say(&format!(
            "monitoring: Prometheus scrapes all {} targets ({:.1}s)",
            members * 2,
            took.as_secs_f64()
        ));
        Ok(())
    }

    /// What every alert did between `start` and now, for the report: coverage, the blind spots
    /// of every rule per fault step of `timeline` (whose zero is the wall time `zero`),
    /// observation latency of every alert change on `timeline`, and the shipped metric list
    /// checked against what Prometheus saw (only with the default Patroni version,
    /// `check_metric_list`).
    pub async fn summary(
        &self,
        prom_port: Option<u16>,
        (start, zero): (SystemTime, SystemTime),
        timeline: &Timeline,
        check_metric_list: bool,
    ) -> MonitoringSummary {
        let scaled = self
            .scaled
            .iter()
            .map(|v| {
                let rule = v.rule.as_deref().unwrap_or(&v.group);
                let floored = if v.floored { " (floored)" } else { "" };
                format!("{rule} {:?}: {} → {}{floored} ({}:{})", v.what, v.from, v.to, v.file.display(), v.line)
            })
            .collect();
        let mut summary = MonitoringSummary {
            for_scale: self.for_scale,
            scaled,
            unknown_metrics: self.unknown.clone(),
            ..Default::default()
        };
        let Some(port) = prom_port else {
            summary.coverage_error = Some("Prometheus did not start".into());
            return summary;
        };
        let unix = |t: SystemTime| t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default().as_secs_f64();
        let api = PrometheusApi::new(port, Duration::from_secs(5));
        summary.alert_latency = self.latency(&api, timeline, unix(start), unix(SystemTime::now())).await;
        if !check_metric_list {
            summary.metric_list_skipped = Some("not the default Patroni version the list was made with".into());
        } else if self.members < 2 {
            summary.metric_list_skipped = Some("the list holds for two or more members (replication metrics)".into());
        } else {
            match api.metric_names(unix(start), unix(SystemTime::now())).await {
                Ok(names) => {
                    let seen: BTreeSet<String> = names.into_iter().collect();
                    summary.metric_list = Some(check_list(&KnownMetrics::for_topology(self.citus), &seen));
                }
                Err(e) => summary.metric_list_skipped = Some(format!("failed to read metric names: {e}")),
            }
        }
        let end = unix(SystemTime::now());
        match coverage(&api, &self.alerts, unix(start), end).await {
            Ok(rows) => {
                let windows = fault_windows(timeline, unix_ms(zero));
                let interval_ms = self.interval.as_millis() as u64;
                let eval: BTreeMap<String, u64> =
                    self.timings.iter().map(|(name, t)| (name.clone(), t.interval_ms)).collect();
                match blind_spots(&api, &self.alerts, &rows, &windows, (unix(start), end), &eval, interval_ms).await {
                    Ok(spots) => summary.blind_spots = spots,
                    Err(e) => summary.blind_spots_error = Some(e.to_string()),
                }
                summary.coverage = rows.into_iter().map(coverage_row).collect();
            }
            Err(e) => {
                summary.coverage_error = Some(e.to_string());
                summary.blind_spots_error = Some(format!("no coverage: {e}"));
            }
        }
        summary
    }

    /// Measures every alert change on `timeline` against Prometheus's own record (the raw
    /// `ALERTS` samples of the run's window); see `monitoring::latency`.
    async fn latency(&self, api: &PrometheusApi, timeline: &Timeline, start: f64, end: f64) -> AlertLatency {
        let changes: Vec<SeenChange> = timeline
            .events
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::Alert { alert, labels, state, source, seen_unix_ms: Some(seen), source_unix_ms, .. } => {
                    Some(SeenChange {
                        at: e.at,
                        alert: alert.clone(),
                        labels: labels.clone(),
                        state: state.clone(),
                        source: source.clone(),
                        seen: *seen,
                        source_at: *source_unix_ms,
                    })
                }
                _ => None,
            })
            .collect();
        let names: BTreeSet<&str> = changes.iter().map(|c| c.alert.as_str()).collect();
        let window = (end - start).ceil().max(1.0) as u64 + 60;
        let mut samples = Vec::new();
        let mut errors = Vec::new();
        for name in names {
            let selector = format!("ALERTS{{alertname=\"{name}\"}}[{window}s]");
            match api.raw_samples(&selector, end).await {
                Ok(series) => samples.extend(series.into_iter().map(|(mut labels, times)| {
                    labels.remove("__name__");
                    let alert = labels.remove("alertname").unwrap_or_default();
                    let alertstate = labels.remove("alertstate").unwrap_or_default();
                    AlertSamples { alert, alertstate, labels, times }
                })),
                Err(e) => errors.push(format!("{name}: {e}")),
            }
        }
        let mut latency = AlertLatency::from_rows(measure(&changes, &samples, &self.timings), LATENCY_BAR_MS);
        let unmeasured = changes.len() - latency.changes.len();
        if unmeasured > 0 {
            errors.push(format!(
                "{unmeasured} of {} changes could not be measured (no activeAt/startsAt, or no ALERTS sample to date an end)",
                changes.len()
            ));
        }
        if !errors.is_empty() {
            latency.error = Some(errors.join("; "));
        }
        latency
    }
}

fn coverage_row(row: AlertCoverage) -> CoverageRow {
    let (outcome, missing) = match row.outcome {
        AlertOutcome::Fired => ("fired", Vec::new()),
        AlertOutcome::WentPending => ("went_pending", Vec::new()),
        AlertOutcome::StayedInactive => ("stayed_inactive", Vec::new()),
        AlertOutcome::SeriesAbsent { missing } => ("series_absent", missing),
    };
    CoverageRow {
        alert: row.alert,
        defined_at: format!("{}:{}", row.file.display(), row.line),
        outcome: outcome.to_string(),
        missing,
    }
}

fn unix_ms(t: SystemTime) -> UnixMillis {
    t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default().as_millis() as UnixMillis
}
