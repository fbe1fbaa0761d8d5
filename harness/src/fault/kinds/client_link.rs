//! Faults on the clients' link — the scenario's writers to HAProxy's primary port (or to the
//! pooler, when they go through it) — with the toxics of the container links (`link.rs`):
//! `client_link_delay`, `client_link_bandwidth`, `client_link_timeout`, `client_link_reset_peer`
//! and `client_link_slow_close`. The writers run in pgdrill's own process, so no iptables rule
//! is needed: their path (`workload::ClientPath`) is pointed at a proxy of pgdrill's, and each
//! writer reconnects through it before its next write. Proven by measuring the path from
//! pgdrill's process before and during the fault (and the proxy counting the probe's
//! connections); undone by pointing the path back and stopping the proxy, proven by the path
//! answering directly again.
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use async_trait::async_trait;

use super::link::{
    judge, measurement, median_of_all, outcomes, samples_for, toxic, Kind, BOTH_WAYS, DELAY, JITTER, LATENCY, RATE,
    RESET_AFTER, SAMPLES, TIMEOUT,
};
use crate::fault::executor::Operation;
use crate::fault::link_proxy::local_probe;
use crate::fault::link_proxy::route::{median_ms, Mode, Outcome, Protocol};
use crate::fault::link_proxy::{Direction, LinkProxies, LinkProxy};
use crate::fault::{ActiveFault, Applied, Executor, Fault, FaultCx, FaultError, FaultRequest};
use crate::pg::PgEndpoint;
use crate::register_fault;
use crate::scenario::{FaultSpec, Lasting, OptionSpec, TargetRule, CLIENTS};
use crate::timeline::EventKind;

struct ClientLink(Kind);

const CLIENT_LINK_DELAY: ClientLink = ClientLink(Kind::Delay);
const CLIENT_LINK_BANDWIDTH: ClientLink = ClientLink(Kind::Bandwidth);
const CLIENT_LINK_TIMEOUT: ClientLink = ClientLink(Kind::Timeout);
const CLIENT_LINK_RESET_PEER: ClientLink = ClientLink(Kind::ResetPeer);
const CLIENT_LINK_SLOW_CLOSE: ClientLink = ClientLink(Kind::SlowClose);
register_fault!(CLIENT_LINK_DELAY);
register_fault!(CLIENT_LINK_BANDWIDTH);
register_fault!(CLIENT_LINK_TIMEOUT);
register_fault!(CLIENT_LINK_RESET_PEER);
register_fault!(CLIENT_LINK_SLOW_CLOSE);

/// The proxy listens where the writers are: on loopback in pgdrill's process.
const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
/// How long the path gets to answer directly after healing (HAProxy moving its primary port
/// after a switchover takes a few seconds).
const DIRECT_WITHIN: Duration = Duration::from_secs(20);

impl FaultSpec for ClientLink {
    fn name(&self) -> &'static str {
        match self.0 {
            Kind::Delay => "client_link_delay",
            Kind::Bandwidth => "client_link_bandwidth",
            Kind::Timeout => "client_link_timeout",
            Kind::ResetPeer => "client_link_reset_peer",
            Kind::SlowClose => "client_link_slow_close",
        }
    }

    fn summary(&self) -> &'static str {
        match self.0 {
            Kind::Delay => "Delay the workload's connections to HAProxy (or the pooler) by `latency` ± `jitter`.",
            Kind::Bandwidth => "Limit the workload's connections to HAProxy (or the pooler) to `rate_kb` KB/s.",
            Kind::Timeout => "Stop forwarding on the workload's connections to HAProxy; close them after `timeout` if set.",
            Kind::ResetPeer => "Reset (TCP RST) the workload's connections to HAProxy, `timeout` after their first data.",
            Kind::SlowClose => "Hold the close of the workload's connections to HAProxy for `delay`.",
        }
    }

    fn options(&self) -> &'static [OptionSpec] {
        match self.0 {
            Kind::Delay => &[BOTH_WAYS, LATENCY, JITTER],
            Kind::Bandwidth => &[BOTH_WAYS, RATE],
            Kind::Timeout => &[BOTH_WAYS, TIMEOUT],
            Kind::ResetPeer => &[RESET_AFTER],
            Kind::SlowClose => &[DELAY],
        }
    }

    fn target_rule(&self) -> TargetRule {
        TargetRule::Clients
    }

    fn lasting(&self) -> Option<Lasting> {
        Some(Lasting { undo_at_end: true, leaves_down: false })
    }
}

/// The proxies and the writers' direct endpoint, or why the fault cannot act.
fn path_of(executor: &dyn Executor) -> Result<(&LinkProxies, PgEndpoint), String> {
    let proxies = executor.link_proxies().ok_or("this executor has no link proxies")?;
    let direct = proxies.client_path().direct().ok_or("no workload is running: the fault acts on its connections")?;
    Ok((proxies, direct))
}

/// The writers' direct endpoint as a socket address (a name is resolved as the writers would).
async fn address(direct: &PgEndpoint) -> Result<SocketAddr, String> {
    let mut found = tokio::net::lookup_host((direct.host.as_str(), direct.port))
        .await
        .map_err(|e| format!("{}:{} does not resolve: {e}", direct.host, direct.port))?;
    found.next().ok_or_else(|| format!("{}:{} resolves to no address", direct.host, direct.port))
}

#[async_trait]
impl Fault for ClientLink {
    fn needs(&self) -> &'static [Operation] {
        &[Operation::LinkProxy]
    }

    async fn act(&self, cx: &FaultCx<'_>, request: &FaultRequest) -> Result<Applied, FaultError> {
        let failed = |reason: String| FaultError::failed(self.name(), CLIENTS, reason);
        let (proxies, direct) = path_of(cx.executor).map_err(failed)?;
        let toxic = toxic(self.0, request).map_err(failed)?;
        let both_ways = request.option::<bool>(BOTH_WAYS.key).unwrap_or(false);
        let direction = if both_ways { Direction::Both } else { Direction::Downstream };
        let upstream = address(&direct).await.map_err(failed)?;
        let (mode, bound) = measurement(&toxic, Protocol::Postgres);
        let baseline_bound = bound.max(Duration::from_secs(5));
        let before =
            local_probe::probe(upstream, &direct, mode, samples_for(&toxic).clamp(3, SAMPLES), baseline_bound).await;
        if median_ms(&before, Outcome::Ok).is_none() {
            return Err(failed(format!("{upstream} does not answer before the fault: {}", outcomes(&before))));
        }
        let proxy = LinkProxy::start(LOOPBACK, upstream, toxic, direction)
            .await
            .map_err(|e| failed(format!("the proxy could not listen on {LOOPBACK}: {e}")))?;
        let listen = proxy.listen;
        proxies.keep(request.step, &request.targets, proxy);
        proxies.client_path().route(Some(listen));
        cx.applied(self, &[format!("the workload's connections to {upstream} through {listen}"), toxic.describe()]);
        let accepted_before = accepted(proxies, request.step);
        let during = local_probe::probe(listen, &direct, mode, samples_for(&toxic), bound).await;
        let passed = accepted(proxies, request.step) - accepted_before;
        let verdict = match passed {
            0 => Err("the probe's connections did not reach the proxy".to_string()),
            _ => judge(&toxic, both_ways, &before, &during),
        };
        match verdict {
            Ok(text) => {
                cx.timeline().record(EventKind::LinkMeasured {
                    step: request.step,
                    source: CLIENTS.to_string(),
                    destination: upstream.to_string(),
                    toxic: toxic.describe(),
                    before_ms: median_ms(&before, Outcome::Ok).unwrap_or(0.0),
                    during_ms: median_of_all(&during),
                    measured: text.clone(),
                });
                let proof = format!(
                    "the workload's path → {upstream} through pgdrill's proxy ({}): {text}; {passed} connection(s) \
                     through the proxy while probing; the writers reconnect through it before their next write",
                    toxic.describe()
                );
                Ok(Applied { proofs: vec![proof], via: None })
            }
            Err(seen) => {
                proxies.client_path().route(None);
                proxies.stop(request.step).await;
                Err(FaultError::no_effect(self.name(), CLIENTS, format!("the workload's path → {upstream}: {seen}")))
            }
        }
    }

    async fn undo(&self, cx: &FaultCx<'_>, active: &ActiveFault) -> Result<Vec<String>, FaultError> {
        let failed = |reason: String| FaultError::failed(self.name(), CLIENTS, reason);
        let (proxies, direct) = path_of(cx.executor).map_err(failed)?;
        proxies.client_path().route(None);
        // Stopping the proxy closes the connections it carried; the writers reconnect directly.
        let stopped = proxies.stop(active.step).await;
        let upstream = address(&direct).await.map_err(failed)?;
        let rtt = self.answers_directly(upstream, &direct).await?;
        Ok(vec![
            "the workload's path is direct again".to_string(),
            format!("{stopped} proxy(ies) stopped"),
            format!("{upstream} answers the workload's path directly in {rtt:.1} ms"),
        ])
    }

    async fn leftover(&self, _executor: &dyn Executor, _container: &str) -> Option<String> {
        // The path is pgdrill's own, not a container's: the engine undoes it at the end of every
        // run (`undo_at_end`), and a reused cluster's next drill starts its writers direct.
        None
    }
}

impl ClientLink {
    /// The round trip to `upstream` once the path is direct again, in ms.
    async fn answers_directly(&self, upstream: SocketAddr, login: &PgEndpoint) -> Result<f64, FaultError> {
        let what = format!("{upstream} to answer the workload's path directly after healing");
        let answered = crate::wait::poll_until(&what, DIRECT_WITHIN, Duration::from_millis(500), || async {
            let samples =
                local_probe::probe(upstream, login, Mode::RoundTrip, 3, Duration::from_secs(5))
                    .await;
            match median_ms(&samples, Outcome::Ok) {
                Some(rtt) => crate::wait::Probe::Done(rtt),
                None => crate::wait::Probe::NotYet(format!("probe samples: {}", outcomes(&samples))),
            }
        })
        .await;
        answered.map_err(|e| FaultError::no_effect(self.name(), CLIENTS, e.to_string()))
    }
}

/// Connections step `step`'s proxy accepted so far.
fn accepted(proxies: &LinkProxies, step: usize) -> u64 {
    proxies.accepted(step).into_iter().map(|(_, n)| n).sum()
}

#[cfg(test)]
mod tests {
    use test_case::test_case;

    use crate::scenario::parse_scenario;

    fn scenario(workload: bool, step: &str) -> String {
        let workload = if workload { "workload: {writers: 2, rate: 50/s}\n" } else { "" };
        format!(
            "name: t\ntopology:\n  kind: patroni\n  members: 2\n  etcd: 1\n{workload}steps:\n  - wait: healthy\n    within: 60s\n{step}"
        )
    }

    #[test_case("  - fault: client_link_delay\n    latency: 100ms\n    jitter: 20ms\n", None ; "delay")]
    #[test_case("  - fault: client_link_reset_peer\n    timeout: 500ms\n", None ; "reset")]
    #[test_case("  - fault: client_link_slow_close\n    delay: 1s\n", None ; "slow close")]
    #[test_case("  - fault: client_link_delay\n", Some("needs `latency`") ; "no latency")]
    #[test_case("  - fault: client_link_delay\n    latency: 1s\n    to: primary\n", Some("to") ; "no to on the clients' link")]
    #[test_case(
        "  - fault: client_link_timeout\n    target: primary\n",
        Some("11:5: fault `client_link_timeout` in step 2 takes no `target`: it acts on the scenario's own clients") ;
        "no target"
    )]
    fn options_are_checked_where_they_are_written(step: &str, problem: Option<&str>) {
        crate::fault::assert_validation(&scenario(true, step), problem);
    }

    #[test]
    fn a_scenario_without_writers_has_no_clients_link() {
        let text = scenario(false, "  - fault: client_link_delay\n    latency: 100ms\n");
        let error = parse_scenario("x.yaml", &text).expect_err("no workload");
        assert!(error.to_string().contains("acts on the workload's connections, but the scenario has no `workload`"), "{error}");
    }
}
