//! Faults on one link — the target's TCP connections to `to` (a replica's replication
//! connection to the primary, a member's connections to etcd, a Citus coordinator's to a
//! worker) — through pgdrill's proxy (`fault/link_proxy/`), with Toxiproxy's toxics:
//! `link_delay` (latency ± jitter), `link_bandwidth`, `link_timeout` (stop forwarding),
//! `link_reset_peer` and `link_slow_close`. No `tc netem` needed: an iptables nat rule in the
//! target sends its new connections to the proxy, and its open ones are reset so they reconnect
//! through it. Proven by measuring the link from inside the target before and during the fault
//! (and the proxy counting the probe's connections); undone by removing the rule and stopping
//! the proxy (closing what it carried), proven by no rule remaining and the link answering as
//! before.
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use async_trait::async_trait;

use crate::fault::executor::Operation;
use crate::fault::link_proxy::route::{self, fastest_ms, median_ms, Mode, Outcome, Probe, Protocol, Sample};
use crate::fault::link_proxy::{Direction, LinkProxy, Toxic};
use crate::fault::{ActiveFault, Applied, Executor, Fault, FaultCx, FaultError, FaultRequest};
use crate::register_fault;
use crate::scenario::{ActsOn, Budget, FaultSpec, Lasting, OptionKind, OptionSpec};
use crate::timeline::EventKind;

/// Which toxic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Delay,
    Bandwidth,
    Timeout,
    ResetPeer,
    SlowClose,
}

struct Link(Kind);

const LINK_DELAY: Link = Link(Kind::Delay);
const LINK_BANDWIDTH: Link = Link(Kind::Bandwidth);
const LINK_TIMEOUT: Link = Link(Kind::Timeout);
const LINK_RESET_PEER: Link = Link(Kind::ResetPeer);
const LINK_SLOW_CLOSE: Link = Link(Kind::SlowClose);
register_fault!(LINK_DELAY);
register_fault!(LINK_BANDWIDTH);
register_fault!(LINK_TIMEOUT);
register_fault!(LINK_RESET_PEER);
register_fault!(LINK_SLOW_CLOSE);

/// etcd's client port, the default destination port when `to` is an etcd member.
const ETCD_PORT: u16 = 2379;
/// PostgreSQL's port, the default for any other destination.
const PG_PORT: u16 = 5432;
/// Round-trip samples per measurement (their median is used).
pub(super) const SAMPLES: usize = 5;
/// How long a probe waits for an answer it is not expected to get.
pub(super) const SILENCE: Duration = Duration::from_secs(2);
/// The longest a probe may wait for an answer that is due (`timeout`/`reset_peer` beyond it are
/// proven by silence).
const LONGEST_WAIT: Duration = Duration::from_secs(8);
/// How long a healed link's destination gets to answer directly (a worker demoted by a
/// switchover restarts as a replica in seconds).
const DIRECT_WITHIN: Duration = Duration::from_secs(20);
/// A measured effect counts when it reaches this share of what the toxic asks for.
const TOLERANCE: f64 = 0.8;

pub(super) const TO: OptionSpec = OptionSpec {
    key: "to",
    kind: OptionKind::Target,
    required: true,
    doc: "the link's other end: where the target's connections go, e.g. `to: primary`, `to: etcd`",
};
const PORT: OptionSpec = OptionSpec {
    key: "port",
    kind: OptionKind::Number { above: 0.0, max: 65535.0, max_inclusive: true },
    required: false,
    doc: "the destination port (default: 2379 when `to` is etcd, else 5432)",
};
pub(super) const BOTH_WAYS: OptionSpec = OptionSpec {
    key: "both_ways",
    kind: OptionKind::Bool,
    required: false,
    doc: "also act on what the target sends (default: only on what comes back, Toxiproxy's downstream)",
};
pub(super) const LATENCY: OptionSpec = OptionSpec {
    key: "latency",
    kind: OptionKind::Duration,
    required: true,
    doc: "the delay added to every chunk, e.g. `latency: 200ms`",
};
pub(super) const JITTER: OptionSpec = OptionSpec {
    key: "jitter",
    kind: OptionKind::Duration,
    required: false,
    doc: "a uniform random spread around `latency`, e.g. `jitter: 50ms` (default 0)",
};
pub(super) const RATE: OptionSpec = OptionSpec {
    key: "rate_kb",
    kind: OptionKind::Number { above: 0.0, max: 1_000_000.0, max_inclusive: true },
    required: true,
    doc: "KB (1000 bytes) per second, e.g. `rate_kb: 50`",
};
pub(super) const TIMEOUT: OptionSpec = OptionSpec {
    key: "timeout",
    kind: OptionKind::Duration,
    required: false,
    doc: "close the connection this long after it opened (default: hold it open, forwarding nothing)",
};
pub(super) const RESET_AFTER: OptionSpec = OptionSpec {
    key: "timeout",
    kind: OptionKind::Duration,
    required: false,
    doc: "reset this long after the first data (default 0: at once)",
};
pub(super) const DELAY: OptionSpec = OptionSpec {
    key: "delay",
    kind: OptionKind::Duration,
    required: true,
    doc: "how long a close is held, e.g. `delay: 2s`",
};

impl FaultSpec for Link {
    fn name(&self) -> &'static str {
        match self.0 {
            Kind::Delay => "link_delay",
            Kind::Bandwidth => "link_bandwidth",
            Kind::Timeout => "link_timeout",
            Kind::ResetPeer => "link_reset_peer",
            Kind::SlowClose => "link_slow_close",
        }
    }

    fn summary(&self) -> &'static str {
        match self.0 {
            Kind::Delay => "Delay the target's connections to `to` by `latency` ± `jitter` (pgdrill's TCP proxy; no netem).",
            Kind::Bandwidth => "Limit the target's connections to `to` to `rate_kb` KB/s (pgdrill's TCP proxy).",
            Kind::Timeout => "Stop forwarding on the target's connections to `to`; close them after `timeout` if set.",
            Kind::ResetPeer => "Reset (TCP RST) the target's connections to `to`, `timeout` after their first data.",
            Kind::SlowClose => "Hold the close of the target's connections to `to` for `delay`.",
        }
    }

    fn options(&self) -> &'static [OptionSpec] {
        match self.0 {
            Kind::Delay => &[TO, PORT, BOTH_WAYS, LATENCY, JITTER],
            Kind::Bandwidth => &[TO, PORT, BOTH_WAYS, RATE],
            Kind::Timeout => &[TO, PORT, BOTH_WAYS, TIMEOUT],
            Kind::ResetPeer => &[TO, PORT, RESET_AFTER],
            Kind::SlowClose => &[TO, PORT, DELAY],
        }
    }

    fn acts_on(&self) -> ActsOn {
        // The rule and the probe run inside the target (iptables, ss and Python 3).
        ActsOn::PatroniMemberTarget
    }

    fn lasting(&self) -> Option<Lasting> {
        Some(Lasting { undo_at_end: true, leaves_down: false })
    }
}

/// One end of the link: a destination container, its address and port.
#[derive(Debug, Clone)]
pub(super) struct End {
    /// The destination container.
    pub(super) container: String,
    /// Its address on the run network.
    pub(super) ip: String,
    /// The destination port.
    pub(super) port: u16,
}

impl End {
    fn protocol(&self) -> Protocol {
        protocol(self.port)
    }

    pub(super) fn probe(&self, mode: Mode, samples: usize, bound_s: f64) -> Probe<'_> {
        Probe { destination: &self.ip, port: self.port, proto: self.protocol(), mode, samples, bound_s }
    }

    pub(super) fn addr(&self) -> Result<SocketAddr, String> {
        let ip: IpAddr = self.ip.parse().map_err(|e| format!("address {:?} of {}: {e}", self.ip, self.container))?;
        Ok(SocketAddr::new(ip, self.port))
    }
}

fn protocol(port: u16) -> Protocol {
    if port == ETCD_PORT {
        Protocol::Http
    } else {
        Protocol::Postgres
    }
}

/// The toxic a request of a `kind` fault asks for.
pub(super) fn toxic(kind: Kind, request: &FaultRequest) -> Result<Toxic, String> {
    let duration = |key: &str| request.option::<Budget>(key).map(|b| b.0);
    Ok(match kind {
        Kind::Delay => Toxic::Latency {
            latency: duration(LATENCY.key).ok_or("no `latency`")?,
            jitter: duration(JITTER.key).unwrap_or_default(),
        },
        Kind::Bandwidth => Toxic::Bandwidth { rate_kb: request.option(RATE.key).ok_or("no `rate_kb`")? },
        Kind::Timeout => Toxic::Timeout { after: duration(TIMEOUT.key).filter(|d| !d.is_zero()) },
        Kind::ResetPeer => Toxic::ResetPeer { after: duration(RESET_AFTER.key).unwrap_or_default() },
        Kind::SlowClose => Toxic::SlowClose { delay: duration(DELAY.key).ok_or("no `delay`")? },
    })
}

/// The link's destinations (`to`), with their addresses and ports.
pub(super) async fn ends(executor: &dyn Executor, request: &FaultRequest) -> Result<Vec<End>, String> {
    let to = request.members(TO.key).filter(|to| !to.is_empty()).ok_or("`to` matched no container")?;
    let mut ends = Vec::new();
    for container in to {
        if request.targets.contains(container) {
            return Err(format!("{container} is both the target and `to`: a link needs two ends"));
        }
        let ip = executor.address(container).await.map_err(|e| e.to_string())?;
        let ip = ip.ok_or_else(|| format!("{container} has no address on the run network (stopped or disconnected?)"))?;
        let default = if container.starts_with("etcd") { ETCD_PORT } else { PG_PORT };
        let port = request.option::<f64>(PORT.key).map(|p| p as u16).unwrap_or(default);
        ends.push(End { container: container.clone(), ip, port });
    }
    Ok(ends)
}

/// What a toxic's measurement is on a link to a destination speaking `protocol`: the probe's
/// mode and bound.
pub(super) fn measurement(toxic: &Toxic, protocol: Protocol) -> (Mode, Duration) {
    match *toxic {
        Toxic::Latency { latency, jitter } => (Mode::RoundTrip, SILENCE + (latency + jitter) * 2),
        Toxic::Bandwidth { rate_kb } => {
            // About a second's worth at the limit (etcd's /metrics is what it is).
            let bytes = ((rate_kb * 1000.0) as u64).clamp(16_384, 8_000_000);
            let expected = Duration::from_secs_f64(bytes as f64 / (rate_kb * 1000.0));
            let bound = (expected * 3 + SILENCE).min(Duration::from_secs(20));
            (Mode::Bulk(if protocol == Protocol::Postgres { bytes } else { 0 }), bound)
        }
        Toxic::Timeout { after: Some(after) } | Toxic::ResetPeer { after } if after <= LONGEST_WAIT => {
            (Mode::RoundTrip, after + SILENCE)
        }
        Toxic::Timeout { .. } | Toxic::ResetPeer { .. } => (Mode::RoundTrip, SILENCE),
        Toxic::SlowClose { delay } => (Mode::Close, delay + SILENCE),
    }
}

/// Samples per measurement: fewer where each one waits out a toxic.
pub(super) fn samples_for(toxic: &Toxic) -> usize {
    match toxic {
        // A second or more per sample: one is enough to see it (and keeps the step short).
        Toxic::Latency { latency, .. } if *latency >= Duration::from_secs(1) => 1,
        Toxic::Latency { .. } => SAMPLES,
        Toxic::Bandwidth { .. } => 1,
        _ => 2,
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A sample's rate in KB/s.
fn rate_kb(sample: &Sample) -> f64 {
    sample.bytes as f64 / sample.ms.max(1.0)
}

/// Whether `during` shows `toxic` compared with `before` (both from the same probe), and what
/// was measured, for the timeline.
pub(super) fn judge(toxic: &Toxic, both_ways: bool, before: &[Sample], during: &[Sample]) -> Result<String, String> {
    let before_ok = median_ms(before, Outcome::Ok);
    match *toxic {
        Toxic::Latency { latency, jitter } => {
            // The fastest samples, not the medians: on a loaded machine a median before the
            // toxic was seen at 53 ms against 203 ms during it, +150 ms for 200 ms asked.
            let fastest = (fastest_ms(before, Outcome::Ok), fastest_ms(during, Outcome::Ok));
            let (Some(before), Some(now)) = fastest else {
                return Err(format!("the probe did not get answers: {}", outcomes(during)));
            };
            let ways = if both_ways { 2.0 } else { 1.0 };
            let floor = if jitter.is_zero() { TOLERANCE } else { 0.5 };
            let added = now - before;
            let text =
                format!("round trip {before:.1} ms → {now:.1} ms (+{added:.1} ms, fastest of {})", during.len());
            if added >= ms(latency) * ways * floor {
                Ok(text)
            } else {
                Err(format!("{text}: less than the {} ms asked", ms(latency) * ways))
            }
        }
        Toxic::Bandwidth { rate_kb: limit } => {
            let sample = during.iter().find(|s| s.bytes > 0).ok_or_else(|| format!("no data came through: {}", outcomes(during)))?;
            let unthrottled = before.iter().find(|s| s.bytes > 0).map(rate_kb).unwrap_or(f64::INFINITY);
            let now = rate_kb(sample);
            let text = format!(
                "{} KB in {:.0} ms: {now:.0} KB/s (before: {unthrottled:.0} KB/s; limit {limit} KB/s)",
                sample.bytes / 1000,
                sample.ms
            );
            if now <= limit / TOLERANCE && now < unthrottled {
                Ok(text)
            } else {
                Err(format!("{text}: not limited"))
            }
        }
        Toxic::Timeout { after } => {
            let expected_close = after.filter(|a| *a <= LONGEST_WAIT);
            let ok = during.iter().all(|s| match expected_close {
                Some(a) => matches!(s.outcome, Outcome::Eof | Outcome::Reset) && s.ms >= ms(a) * TOLERANCE,
                None => s.outcome == Outcome::Silent && s.ms >= ms(SILENCE) * TOLERANCE,
            });
            let text = format!("answered in {:.1} ms before; now {}", before_ok.unwrap_or(f64::NAN), outcomes(during));
            if ok {
                Ok(text)
            } else {
                Err(format!("{text}: data still flows"))
            }
        }
        Toxic::ResetPeer { after } => {
            let ok = during.iter().all(|s| {
                if after <= LONGEST_WAIT {
                    matches!(s.outcome, Outcome::Reset | Outcome::Eof) && s.ms >= ms(after) * TOLERANCE
                } else {
                    s.outcome == Outcome::Silent
                }
            });
            let text = format!("answered in {:.1} ms before; now {}", before_ok.unwrap_or(f64::NAN), outcomes(during));
            if ok {
                Ok(text)
            } else {
                Err(format!("{text}: not reset"))
            }
        }
        Toxic::SlowClose { delay } => {
            let (Some(before), Some(now)) = (before_ok, median_ms(during, Outcome::Ok)) else {
                return Err(format!("the probe saw no close: {}", outcomes(during)));
            };
            let text = format!("close {before:.1} ms → {now:.1} ms after the answer");
            if now - before >= ms(delay) * TOLERANCE {
                Ok(text)
            } else {
                Err(format!("{text}: not held for {} ms", ms(delay)))
            }
        }
    }
}

#[async_trait]
impl Fault for Link {
    fn needs(&self) -> &'static [Operation] {
        &[Operation::Exec, Operation::Address, Operation::LinkProxy]
    }

    async fn act(&self, cx: &FaultCx<'_>, request: &FaultRequest) -> Result<Applied, FaultError> {
        let first = request.targets.first().cloned().unwrap_or_else(|| "?".into());
        let failed = |reason: String| FaultError::failed(self.name(), &first, reason);
        let proxies = cx.executor.link_proxies().ok_or_else(|| failed("this executor has no link proxies".into()))?;
        let toxic = toxic(self.0, request).map_err(failed)?;
        let both_ways = request.option::<bool>(BOTH_WAYS.key).unwrap_or(false);
        let direction = if both_ways { Direction::Both } else { Direction::Downstream };
        let ends = ends(cx.executor, request).await.map_err(failed)?;
        let host = cx.executor.proxy_host().await.map_err(|e| failed(e.to_string()))?;
        // The link as it is, measured from the first target.
        let mut baselines = Vec::new();
        for end in &ends {
            let (mode, bound) = measurement(&toxic, end.protocol());
            // The baseline is cheap: at least three samples.
            let samples = samples_for(&toxic).clamp(3, SAMPLES);
            let bound_s = 5.0f64.max(bound.as_secs_f64());
            let before = route::probe(cx.executor, &first, &end.probe(mode, samples, bound_s)).await.map_err(failed)?;
            if median_ms(&before, Outcome::Ok).is_none() {
                return Err(failed(format!("{} does not answer on port {} before the fault", end.container, end.port)));
            }
            baselines.push(before);
        }
        let mut detail = request.targets.clone();
        let mut reset = 0;
        for end in &ends {
            let upstream = end.addr().map_err(failed)?;
            let proxy = LinkProxy::start(host, upstream, toxic, direction)
                .await
                .map_err(|e| failed(format!("the proxy could not listen on {host}: {e}")))?;
            let listen = proxy.listen;
            reset += route_through(cx.executor, request, end, proxy).await.map_err(failed)?;
            detail.push(format!("to: {} ({upstream}) through {listen}", end.container));
        }
        detail.push(toxic.describe());
        cx.applied(self, &detail);
        let mut proofs = Vec::new();
        for (end, before) in ends.iter().zip(&baselines) {
            let accepted_before = accepted(proxies, request.step, end);
            let (mode, bound) = measurement(&toxic, end.protocol());
            let probe = end.probe(mode, samples_for(&toxic), bound.as_secs_f64());
            let measured = route::probe(cx.executor, &first, &probe).await;
            let passed = accepted(proxies, request.step, end) - accepted_before;
            let verdict = match &measured {
                Ok(during) if passed > 0 => judge(&toxic, both_ways, before, during),
                Ok(_) => Err("the probe's connections did not reach the proxy".to_string()),
                Err(reason) => Err(reason.clone()),
            };
            if let (Ok(text), Ok(during)) = (&verdict, &measured) {
                cx.timeline().record(EventKind::LinkMeasured {
                    step: request.step,
                    source: first.clone(),
                    destination: format!("{}:{}", end.container, end.port),
                    toxic: toxic.describe(),
                    before_ms: median_ms(before, Outcome::Ok).unwrap_or(0.0),
                    during_ms: median_of_all(during),
                    measured: text.clone(),
                });
            }
            match verdict {
                Ok(text) => proofs.push(format!(
                    "{first} → {}:{} through pgdrill's proxy ({}): {text}; {passed} connection(s) through the proxy while probing, \
                     {reset} open connection(s) of the link reset to reconnect through it",
                    end.container,
                    end.port,
                    toxic.describe()
                )),
                Err(seen) => {
                    clean(cx.executor, request.step, &request.targets).await;
                    return Err(FaultError::no_effect(self.name(), &first, format!("{first} → {}: {seen}", end.container)));
                }
            }
        }
        Ok(Applied { proofs, via: None })
    }

    async fn undo(&self, cx: &FaultCx<'_>, active: &ActiveFault) -> Result<Vec<String>, FaultError> {
        let first = active.targets.first().cloned().unwrap_or_else(|| "?".into());
        let failed = |reason: String| FaultError::failed(self.name(), &first, reason);
        let proxies = cx.executor.link_proxies().ok_or_else(|| failed("this executor has no link proxies".into()))?;
        let routes = proxies.routes(active.step);
        let mut done = unroute_all(self, cx.executor, &routes, &active.targets).await?;
        let upstreams: Vec<SocketAddr> = routes.iter().map(|(upstream, _)| *upstream).collect();
        // Stopping the proxy closes the connections it carried: their clients reconnect directly.
        let stopped = proxies.stop(active.step).await;
        done.push(format!("{stopped} proxy(ies) stopped"));
        for upstream in upstreams {
            let rtt = answers_directly(self, cx.executor, &first, upstream).await?;
            done.push(format!("{first} → {upstream} answers directly again in {rtt:.1} ms"));
        }
        Ok(done)
    }

    async fn leftover(&self, executor: &dyn Executor, container: &str) -> Option<String> {
        let running = executor.link_proxies()?.running_for(container);
        // One family member reports it: every link fault's proxies (`link_on_query`'s too) are
        // in the same `LinkProxies`.
        if self.0 != Kind::Delay || running.is_empty() {
            return None;
        }
        let what: Vec<String> = running.iter().map(|(step, to)| format!("step {}'s proxy to {to}", step + 1)).collect();
        Some(format!("link proxy still running: {}", what.join(", ")))
    }
}

/// What probe samples saw: `Reset after 3 ms, Error after 0 ms`.
pub(super) fn outcomes(samples: &[Sample]) -> String {
    samples.iter().map(|s| format!("{:?} after {:.0} ms", s.outcome, s.ms)).collect::<Vec<_>>().join(", ")
}

/// The round trip from `source` to `upstream` once the link is direct again, in ms; waits up
/// to [`DIRECT_WITHIN`] for a destination that a switchover or restart has taken down meanwhile
/// (a demoted worker restarting as a replica) to listen again.
pub(super) async fn answers_directly(
    fault: &dyn FaultSpec,
    executor: &dyn Executor,
    source: &str,
    upstream: SocketAddr,
) -> Result<f64, FaultError> {
    let (ip, port) = (upstream.ip().to_string(), upstream.port());
    let probe = Probe { destination: &ip, port, proto: protocol(port), mode: Mode::RoundTrip, samples: 3, bound_s: 5.0 };
    let what = format!("{upstream} to answer {source} directly after healing");
    let answered = crate::wait::poll_until(&what, DIRECT_WITHIN, Duration::from_millis(500), || async {
        match route::probe(executor, source, &probe).await {
            Ok(samples) => match median_ms(&samples, Outcome::Ok) {
                Some(rtt) => crate::wait::Probe::Done(rtt),
                None => crate::wait::Probe::NotYet(format!("probe samples: {}", outcomes(&samples))),
            },
            Err(e) => crate::wait::Probe::NotYet(e),
        }
    })
    .await;
    answered.map_err(|e| FaultError::no_effect(fault.name(), source, e.to_string()))
}

/// Removes the nat rules of `routes` (destination, proxy) from every source; what was done.
pub(super) async fn unroute_all(
    fault: &dyn FaultSpec,
    executor: &dyn Executor,
    routes: &[(SocketAddr, SocketAddr)],
    sources: &[String],
) -> Result<Vec<String>, FaultError> {
    let mut done = Vec::new();
    for source in sources {
        for (upstream, listen) in routes {
            let ip = upstream.ip().to_string();
            route::unroute(executor, source, &ip, upstream.port(), *listen)
                .await
                .map_err(|seen| FaultError::no_effect(fault.name(), source, seen))?;
        }
        done.push(format!("{source}: nat rule(s) removed"));
    }
    Ok(done)
}

/// Leaves nothing behind when a link fault is refused half-way: step `step`'s rules in
/// `sources` and its proxies.
/// Keeps `proxy` for the request's step and routes every target's connections to `end` through
/// it; when a route cannot be set, removes what the step has put in place. Returns how many open
/// connections of the link were reset to reconnect through the proxy.
pub(super) async fn route_through(
    executor: &dyn Executor,
    request: &FaultRequest,
    end: &End,
    proxy: LinkProxy,
) -> Result<usize, String> {
    let proxies = executor.link_proxies().ok_or("this executor has no link proxies")?;
    let listen = proxy.listen;
    proxies.keep(request.step, &request.targets, proxy);
    let mut reset = 0;
    for source in &request.targets {
        match route::route(executor, source, &end.ip, end.port, listen).await {
            Ok(n) => reset += n,
            Err(reason) => {
                clean(executor, request.step, &request.targets).await;
                return Err(reason);
            }
        }
    }
    Ok(reset)
}

pub(super) async fn clean(executor: &dyn Executor, step: usize, sources: &[String]) {
    let Some(proxies) = executor.link_proxies() else { return };
    for source in sources {
        for (upstream, listen) in proxies.routes(step) {
            let _ = route::unroute(executor, source, &upstream.ip().to_string(), upstream.port(), listen).await;
        }
    }
    proxies.stop(step).await;
}

/// The median time of every sample, whatever its outcome (a timeout's silence counts as its wait).
pub(super) fn median_of_all(samples: &[Sample]) -> f64 {
    let mut times: Vec<f64> = samples.iter().map(|s| s.ms).collect();
    times.sort_by(f64::total_cmp);
    times.get(times.len() / 2).copied().unwrap_or(0.0)
}

/// Connections step `step`'s proxy to `end` accepted so far.
pub(super) fn accepted(proxies: &crate::fault::LinkProxies, step: usize, end: &End) -> u64 {
    let addr = end.addr().ok();
    proxies.accepted(step).into_iter().filter(|(up, _)| Some(*up) == addr).map(|(_, n)| n).sum()
}

#[cfg(test)]
mod tests {
    use test_case::test_case;

    use super::*;
    use crate::scenario::parse_scenario;

    fn scenario(fault: &str, options: &str) -> String {
        crate::fault::fault_scenario(fault, "replica", options)
    }

    #[test_case("link_delay", "    to: primary\n    latency: 200ms\n    jitter: 50ms\n", None ; "delay")]
    #[test_case("link_delay", "    to: etcd\n    latency: 5s\n    both_ways: true\n", None ; "delay to etcd")]
    #[test_case("link_delay", "    latency: 200ms\n", Some("6:5: fault `link_delay` in step 2 needs `to`") ; "no to")]
    #[test_case("link_delay", "    to: primary\n", Some("needs `latency`") ; "no latency")]
    #[test_case("link_delay", "    to: primary\n    latency: soon\n", Some("9:14: invalid value for `latency`") ; "bad latency")]
    #[test_case("link_bandwidth", "    to: primary\n    rate_kb: 0\n", Some("9:14: rate_kb 0 is out of range") ; "zero rate")]
    #[test_case("link_bandwidth", "    to: primary\n    rate_kb: 50\n", None ; "bandwidth")]
    #[test_case("link_timeout", "    to: primary\n", None ; "timeout held open")]
    #[test_case("link_timeout", "    to: primary\n    port: 70000\n", Some("9:11: port 70000 is out of range") ; "bad port")]
    #[test_case("link_reset_peer", "    to: primary\n    timeout: 1s\n", None ; "reset")]
    #[test_case("link_reset_peer", "    to: primary\n    jitter: 1s\n", Some("jitter") ; "unknown key")]
    #[test_case("link_slow_close", "    to: primary\n    delay: 2s\n", None ; "slow close")]
    fn options_are_checked_where_they_are_written(fault: &str, options: &str, problem: Option<&str>) {
        crate::fault::assert_validation(&scenario(fault, options), problem);
    }

    #[test]
    fn the_target_must_be_a_member_but_to_may_be_etcd() {
        let text = scenario("link_delay", "    to: primary\n    latency: 1s\n").replace("target: replica", "target: etcd");
        let error = parse_scenario("x.yaml", &text).expect_err("etcd cannot be a link's source");
        assert!(error.to_string().contains("acts on Patroni members only, and etcd is not one"), "{error}");
    }

    fn sample(outcome: Outcome, ms: f64) -> Sample {
        Sample { outcome, ms, bytes: 1 }
    }

    #[test]
    fn delay_is_judged_by_the_added_round_trip() {
        let toxic = Toxic::Latency { latency: Duration::from_millis(200), jitter: Duration::ZERO };
        let before = [sample(Outcome::Ok, 1.0); 3];
        assert!(judge(&toxic, false, &before, &[sample(Outcome::Ok, 203.0); 5]).is_ok());
        assert!(judge(&toxic, false, &before, &[sample(Outcome::Ok, 50.0); 5]).is_err());
        // Both ways doubles what a round trip must show.
        assert!(judge(&toxic, true, &before, &[sample(Outcome::Ok, 203.0); 5]).is_err());
        // A loaded machine slowed most samples before the toxic (median 53 ms): the fastest
        // of each still shows the 200 ms added.
        let noisy = [1.0, 2.0, 53.0, 60.0, 70.0].map(|ms| sample(Outcome::Ok, ms));
        let during = [203.0, 203.4, 204.0, 250.0, 260.0].map(|ms| sample(Outcome::Ok, ms));
        let measured = judge(&toxic, false, &noisy, &during).expect("200 ms added to the fastest round trip");
        assert!(measured.contains("round trip 1.0 ms → 203.0 ms (+202.0 ms, fastest of 5)"), "{measured}");
    }

    #[test]
    fn timeout_and_reset_need_the_toxic_outcome() {
        let before = [sample(Outcome::Ok, 1.0)];
        let held = Toxic::Timeout { after: None };
        assert!(judge(&held, false, &before, &[sample(Outcome::Silent, 2000.0)]).is_ok());
        assert!(judge(&held, false, &before, &[sample(Outcome::Ok, 1.0)]).is_err());
        let reset = Toxic::ResetPeer { after: Duration::from_millis(500) };
        assert!(judge(&reset, false, &before, &[sample(Outcome::Reset, 505.0)]).is_ok());
        assert!(judge(&reset, false, &before, &[sample(Outcome::Reset, 2.0)]).is_err());
    }

    #[test]
    fn bandwidth_needs_a_rate_under_the_limit() {
        let toxic = Toxic::Bandwidth { rate_kb: 50.0 };
        let fast = [Sample { outcome: Outcome::Ok, ms: 10.0, bytes: 50_000 }];
        let slow = [Sample { outcome: Outcome::Ok, ms: 1000.0, bytes: 50_000 }];
        assert!(judge(&toxic, false, &fast, &slow).is_ok());
        assert!(judge(&toxic, false, &fast, &fast).is_err());
    }
}
