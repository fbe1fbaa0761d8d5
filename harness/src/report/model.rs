//! The run report: everything a run produced, as one serialisable value. The JSON file is this
//! type; later tools (compare, HTML, JUnit) read it back, so changes that break readers bump
//! [`SCHEMA_VERSION`].
use serde::{Deserialize, Serialize};

use crate::check::Verdict;
use crate::monitoring::blind_spots::FaultBlindSpots;
use crate::monitoring::known_metrics::{ListCheck, UnknownMetric};
use crate::monitoring::latency::{LatencyRow, LatencyStats};
use crate::timeline::{Millis, Timeline};

/// The report format version written by this build. Readers refuse other versions rather than
/// misreading them.
pub const SCHEMA_VERSION: u32 = 1;

/// One run of one scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    /// Report format version ([`SCHEMA_VERSION`] when written by this build), so readers can
    /// refuse a format they do not know instead of misreading it.
    pub schema_version: u32,
    /// The run's id; also labels its containers and names its report directory.
    pub run_id: String,
    /// The scenario's `name`.
    pub scenario: String,
    /// The scenario file as given on the command line, to re-run or open it.
    pub scenario_file: String,
    /// Wall-clock start of the run (RFC 3339, UTC). Every other time in the report is
    /// milliseconds since the run started on a monotonic clock; this anchors them to the calendar.
    pub started_at: String,
    /// Whether the run passed: no run error and every verdict `pass`.
    pub passed: bool,
    /// Every expectation's and invariant's verdict, in scenario order (expectations first).
    pub verdicts: Vec<Verdict>,
    /// Run phases (images, start, steps, audit, teardown) with their times, to see where the time
    /// of a run went.
    pub phases: Vec<PhaseTiming>,
    /// The durations people compare between runs and versions.
    pub timings: Timings,
    /// What the harness itself cost, to keep it honest on small CI machines.
    pub harness: HarnessUsage,
    /// Why the run stopped early (e.g. a wait timed out, a signal), if it did. Verdicts are
    /// still judged on what was recorded until then.
    #[serde(default)]
    pub error: Option<String>,
    /// Remarks that are neither verdicts nor errors (containers kept, teardown trouble).
    #[serde(default)]
    pub notes: Vec<String>,
    /// The monitoring part of the run (time compression, alert coverage), when it had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitoring: Option<MonitoringSummary>,
    /// What ran: images and versions (pre-upgrade comparisons need to know).
    #[serde(default)]
    pub images: RunImages,
    /// Each Patroni member's configuration as pgdrill wrote it (the users' own keys merged in;
    /// secret-looking values redacted; passwords are never in it), so `compare` shows
    /// configuration next to timings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub configuration: Vec<MemberConfiguration>,
    /// Patroni's dynamic configuration as the cluster held it at the end of the run (`GET
    /// /config`: what bootstrap.dcs became in etcd, with any change Patroni made), redacted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dynamic_configuration: Option<serde_json::Value>,
    /// `pgdrill drill`: the cluster came from an earlier drill (its baseline check is on the
    /// timeline); absent when this run started its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_from: Option<crate::timeline::ClusterOrigin>,
    /// The full timeline the verdicts were judged on, so any verdict can be re-derived and drawn.
    pub timeline: Timeline,
}

/// How long the run took, start to end of teardown: the later of the last event and the end of
/// the last phase (teardown records its start on the timeline, its end only as a phase).
pub fn run_duration(report: &RunReport) -> Millis {
    let phases_end = report.phases.iter().map(|p| p.started_ms + p.duration_ms).max().unwrap_or(0);
    report.timeline.end().max(phases_end)
}

/// The images a run used.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunImages {
    /// Patroni version installed in the Patroni image.
    #[serde(default)]
    pub patroni_version: String,
    /// PostgreSQL major of the Patroni image (`--images pg=`); absent in reports made before
    /// image sets existed (those all ran 15).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postgres_major: Option<u32>,
    /// Image tags by role (etcd, patroni, haproxy, citus, prometheus, ...).
    #[serde(default)]
    pub tags: std::collections::BTreeMap<String, String>,
    /// For Citus topologies: which Citus ran — the real one or pgdrill's stand-in (NOT Citus).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub citus: Option<String>,
}

impl RunImages {
    /// The image set for people: `Patroni 4.1.5, PostgreSQL 17` (`?` for what a report lacks).
    pub fn describe_set(&self) -> String {
        let patroni = if self.patroni_version.is_empty() { "?" } else { &self.patroni_version };
        let postgres = self.postgres_major.map_or_else(|| "?".to_string(), |m| m.to_string());
        format!("Patroni {patroni}, PostgreSQL {postgres}")
    }
}

/// One member's effective Patroni configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberConfiguration {
    /// Member name (pg-1, coord-1, ...).
    pub member: String,
    /// Its Patroni YAML as a JSON value, secrets redacted.
    pub patroni: serde_json::Value,
}

/// The Patroni configuration of every member of `plan`, redacted.
pub fn member_configurations(plan: &crate::topology::Plan) -> Vec<MemberConfiguration> {
    plan.members
        .iter()
        .filter_map(|member| {
            let yaml = member.env.iter().find(|(key, _)| key == "PATRONI_CONFIG_YAML")?;
            let value: crate::scenario::ConfigValue = serde_saphyr::from_str(&yaml.1).ok()?;
            let patroni = serde_json::to_value(value.redacted()).ok()?;
            Some(MemberConfiguration { member: member.name.clone(), patroni })
        })
        .collect()
}

/// One run phase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhaseTiming {
    /// Phase name (images, start, steps, audit, teardown).
    pub name: String,
    /// When it began, in ms since the run started.
    pub started_ms: u64,
    /// How long it took, in ms.
    pub duration_ms: u64,
}

/// Headline durations of a run, in ms.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timings {
    /// Building or finding the images (near zero when cached).
    pub image_build_ms: u64,
    /// Creating and starting the containers.
    pub containers_start_ms: u64,
    /// From the containers being started to the cluster first being healthy; `None` if it never was.
    pub time_to_healthy_ms: Option<u64>,
    /// From the fault to the first observation of the new leader (the `new_leader` check's
    /// measurement); `None` when the scenario has no such check or no leader was seen.
    pub detection_latency_ms: Option<u64>,
    /// Removing the run's containers and networks.
    pub teardown_ms: u64,
}

/// The harness process's own resource use (not the containers'), from `/proc/self`.
/// Zero where `/proc` is unavailable (non-Linux).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HarnessUsage {
    /// CPU time in user mode, all threads, in ms.
    pub cpu_user_ms: u64,
    /// CPU time in the kernel on the harness's behalf, in ms.
    pub cpu_system_ms: u64,
    /// Peak resident set size (VmHWM), in KiB.
    pub max_rss_kib: u64,
}

/// The kernel reports `utime`/`stime` in `/proc/<pid>/stat` in USER_HZ ticks, which Linux fixes
/// at 100 per second for user space on every architecture.
const USER_HZ: u64 = 100;

/// Reads the current process's CPU time and peak RSS from `/proc/self/stat` and
/// `/proc/self/status` (no libc call needed). Fields that cannot be read are 0.
pub fn harness_usage() -> HarnessUsage {
    let (user, system) =
        std::fs::read_to_string("/proc/self/stat").ok().and_then(|s| parse_stat_times(&s)).unwrap_or_default();
    let max_rss_kib =
        std::fs::read_to_string("/proc/self/status").ok().and_then(|s| parse_vm_hwm(&s)).unwrap_or_default();
    HarnessUsage { cpu_user_ms: user * 1000 / USER_HZ, cpu_system_ms: system * 1000 / USER_HZ, max_rss_kib }
}

/// `utime` and `stime` (fields 14 and 15) in ticks. The command name (field 2) may contain spaces
/// and parentheses, so fields are counted after its last `)`.
fn parse_stat_times(stat: &str) -> Option<(u64, u64)> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(11); // field 3 (state) is the first after `)`
    let utime = fields.next()?.parse().ok()?;
    let stime = fields.next()?.parse().ok()?;
    Some((utime, stime))
}

/// `VmHWM:    12345 kB` from `/proc/self/status`.
fn parse_vm_hwm(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.trim_start_matches("VmHWM:").trim().trim_end_matches("kB").trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_with_a_tricky_command_name() {
        let stat = "4242 (pg drill (x)) S 1 4242 4242 0 -1 4194560 1200 0 0 0 250 37 0 0 20 0 9 0 100 0 0";
        assert_eq!(parse_stat_times(stat), Some((250, 37)));
    }

    #[test]
    fn parses_vm_hwm() {
        let status = "Name:\tpgdrill\nVmPeak:\t  99999 kB\nVmHWM:\t   24680 kB\nVmRSS:\t   20000 kB\n";
        assert_eq!(parse_vm_hwm(status), Some(24_680));
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn reads_this_process() {
        let usage = harness_usage();
        assert!(usage.max_rss_kib > 0, "{usage:?}");
    }
}

/// What the monitoring stack showed in a run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MonitoringSummary {
    /// `for_scale` applied to the rules (1 = unchanged).
    pub for_scale: f64,
    /// Every value the scaling changed, e.g. "FailoverDetected for: 1m → 6s (rules.yaml:52)".
    pub scaled: Vec<String>,
    /// For every alert of the rule files: what it did during the run.
    pub coverage: Vec<CoverageRow>,
    /// Why coverage is missing, if it could not be computed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coverage_error: Option<String>,
    /// For every fault step: which rules detected it, could have, or cannot detect it (their
    /// series for the faulted member went stale), with the remedy.
    #[serde(default)]
    pub blind_spots: Vec<FaultBlindSpots>,
    /// Why the blind spots are missing, if they could not be computed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blind_spots_error: Option<String>,
    /// Rules reading a metric no exporter of the topology produces (warned before the start).
    #[serde(default)]
    pub unknown_metrics: Vec<UnknownMetric>,
    /// How long after Prometheus/Alertmanager changed an alert's state it was on the timeline.
    #[serde(default)]
    pub alert_latency: AlertLatency,
    /// The shipped list of exporter metric names checked against what Prometheus saw in this
    /// run; `None` when not checked (another Patroni version, a one-member cluster, no answer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric_list: Option<ListCheck>,
    /// Why the metric list was not checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric_list_skipped: Option<String>,
}

/// Alert observation latency of a run: per change, and summarised per source.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AlertLatency {
    /// The bar for Prometheus marking an alert firing → on the timeline, in ms.
    pub bar_ms: i64,
    /// Prometheus firing changes: what the bar is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prometheus_firing: Option<LatencyStats>,
    /// Every Prometheus change (pending, firing, and ended ones, whose times are estimates).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prometheus: Option<LatencyStats>,
    /// Alertmanager firing changes, from Prometheus's firing time (`startsAt`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alertmanager_firing: Option<LatencyStats>,
    /// Every measured change.
    pub changes: Vec<LatencyRow>,
    /// Why some or all changes could not be measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl AlertLatency {
    /// The summary of `changes` against `bar_ms`.
    pub fn from_rows(changes: Vec<LatencyRow>, bar_ms: i64) -> Self {
        let of = |keep: &dyn Fn(&LatencyRow) -> bool| {
            LatencyStats::of(&changes.iter().filter(|r| keep(r)).map(|r| r.latency_ms).collect::<Vec<_>>())
        };
        Self {
            bar_ms,
            prometheus_firing: of(&|r| r.source == "prometheus" && r.state == "firing"),
            prometheus: of(&|r| r.source == "prometheus"),
            alertmanager_firing: of(&|r| r.source == "alertmanager" && r.state == "firing"),
            error: None,
            changes,
        }
    }

    /// Whether every Prometheus firing change was on the timeline within the bar.
    pub fn within_bar(&self) -> bool {
        self.prometheus_firing.is_none_or(|s| s.max_ms <= self.bar_ms)
    }
}

/// One alert's behaviour in a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoverageRow {
    /// Alert name.
    pub alert: String,
    /// Rule file and line.
    pub defined_at: String,
    /// fired, went_pending, stayed_inactive or series_absent.
    pub outcome: String,
    /// For series_absent: the selectors with no series during the run — the alert could not
    /// have fired, whatever happened.
    pub missing: Vec<String>,
}
