//! `link_on_query`: a fault on one link (the target's PostgreSQL connections to `to`, e.g. a
//! Citus coordinator's to a worker) that reads what the target sends and acts on the queries
//! matching a pattern — kills the connection instead of forwarding the Nth `PREPARE
//! TRANSACTION`, resets it, or holds it — modelled on the mitmproxy of Citus's regression suite
//! (`conn.onQuery(query="^PREPARE").kill()`). The link goes through pgdrill's proxy as the other
//! link faults' does (`link.rs`: an iptables nat rule in the target, open connections reset so
//! they reconnect through it), with a query filter (`link_proxy/filter.rs`) instead of a toxic.
//! Proven armed by a PostgreSQL probe answered through the proxy; undone by removing the rule
//! and stopping the proxy, proven by the link answering directly — and by the filter having
//! acted: a pattern that never matched is a fault that had no effect.
use std::sync::Arc;

use async_trait::async_trait;

use super::link::{accepted, answers_directly, clean, ends, outcomes, route_through, unroute_all};
use crate::fault::executor::Operation;
use crate::fault::link_proxy::route::{self, median_ms, Mode, Outcome};
use crate::fault::link_proxy::{FilterAction, FilterRule, FilterStats, LinkProxy, QueryFilter};
use crate::fault::{ActiveFault, Applied, Executor, Fault, FaultCx, FaultError, FaultRequest};
use crate::register_fault;
use crate::scenario::{
    option_regex, option_value, ActsOn, Budget, FaultOptions, FaultSpec, Lasting, OptionKind, OptionProblem,
    OptionSpec, Target,
};

struct QueryLink;

const LINK_ON_QUERY: QueryLink = QueryLink;
register_fault!(LINK_ON_QUERY);

/// The actions, as scenario files write them.
const ACTIONS: &[&str] = &["kill", "reset", "delay"];
/// The largest `after` and `times` (a drill counts queries, not millions of them).
const MAX_COUNT: u64 = 1_000_000;
/// The longest a probe through the armed proxy may wait for the server's answer, in seconds.
const PROBE_BOUND_S: f64 = 5.0;

const TO: OptionSpec = OptionSpec {
    key: "to",
    kind: OptionKind::Target,
    required: true,
    doc: "the PostgreSQL server the target's connections go to, e.g. `to: {member: worker1-1}`, `to: primary`",
};
const PORT: OptionSpec = OptionSpec {
    key: "port",
    kind: OptionKind::Number { above: 0.0, max: 65535.0, max_inclusive: true },
    required: false,
    doc: "the destination port (default 5432)",
};
const MATCH: OptionSpec = OptionSpec {
    key: "match",
    kind: OptionKind::Regex,
    required: true,
    doc: "a regular expression, matched case-insensitively against the SQL of every simple query and Parse \
          message the target sends, e.g. `match: '^PREPARE TRANSACTION'`",
};
const AFTER: OptionSpec = OptionSpec {
    key: "after",
    kind: OptionKind::Count { max: MAX_COUNT },
    required: false,
    doc: "act on the Nth matching message, counted over the link's connections from the fault on (default 1)",
};
const TIMES: OptionSpec = OptionSpec {
    key: "times",
    kind: OptionKind::Count { max: MAX_COUNT },
    required: false,
    doc: "act on this many consecutive matching messages from the `after`th on (default 1)",
};
const ACTION: OptionSpec = OptionSpec {
    key: "action",
    kind: OptionKind::Choice(ACTIONS),
    required: true,
    doc: "`kill` (not forwarded; both sides closed), `reset` (not forwarded; both sides reset, RST) or `delay` \
          (held for `delay`, with what follows it on the connection)",
};
const DELAY: OptionSpec = OptionSpec {
    key: "delay",
    kind: OptionKind::Duration,
    required: false,
    doc: "with `action: delay`: how long the matching message is held, e.g. `delay: 2s`",
};

impl FaultSpec for QueryLink {
    fn name(&self) -> &'static str {
        "link_on_query"
    }

    fn summary(&self) -> &'static str {
        "Kill, reset or hold the target's PostgreSQL connection to `to` on the Nth query matching `match`."
    }

    fn options(&self) -> &'static [OptionSpec] {
        &[TO, PORT, MATCH, AFTER, TIMES, ACTION, DELAY]
    }

    fn acts_on(&self) -> ActsOn {
        // The rule and the probe run inside the target (iptables, ss and Python 3).
        ActsOn::PatroniMemberTarget
    }

    fn lasting(&self) -> Option<Lasting> {
        Some(Lasting { undo_at_end: true, leaves_down: false })
    }

    fn option_problems(&self, options: &FaultOptions) -> Vec<OptionProblem> {
        let mut problems = Vec::new();
        let action = option_value::<String>(options, ACTION.key);
        let delay = options.contains_key(DELAY.key);
        if action.as_deref() == Some("delay") && !delay {
            problems.push(OptionProblem {
                key: ACTION.key,
                message: "`action: delay` of fault `link_on_query` needs `delay`".into(),
                label: "no delay",
                help: DELAY.doc.into(),
            });
        }
        // An unknown action is reported by itself; `delay` is judged against a known one.
        if delay && action.as_deref().is_some_and(|a| a != "delay" && ACTIONS.contains(&a)) {
            problems.push(OptionProblem {
                key: DELAY.key,
                message: "`delay` of fault `link_on_query` only applies with `action: delay`".into(),
                label: "not for this action",
                help: "remove `delay`, or write `action: delay`".into(),
            });
        }
        if matches!(option_value::<Target>(options, TO.key), Some(Target::Etcd | Target::EtcdLeader)) {
            problems.push(OptionProblem {
                key: TO.key,
                message: "`to` of fault `link_on_query` must be a PostgreSQL server, and etcd is not one".into(),
                label: "not PostgreSQL",
                help: TO.doc.into(),
            });
        }
        problems
    }
}

/// The filter rule a request asks for.
fn rule(request: &FaultRequest) -> Result<FilterRule, String> {
    let pattern = request.option::<String>(MATCH.key).ok_or("no `match`")?;
    let pattern = option_regex(&pattern).map_err(|e| format!("`match` does not compile: {e}"))?;
    let count = |key: &str| request.option::<u64>(key).unwrap_or(1).max(1);
    let action = match request.option::<String>(ACTION.key).as_deref() {
        Some("kill") => FilterAction::Kill,
        Some("reset") => FilterAction::Reset,
        Some("delay") => FilterAction::Delay(request.option::<Budget>(DELAY.key).ok_or("no `delay`")?.0),
        other => return Err(format!("`action` {other:?} is not one of: {}", ACTIONS.join(", "))),
    };
    Ok(FilterRule { pattern, after: count(AFTER.key), times: count(TIMES.key), action })
}

/// What passed through a filter that never acted, for the undo's error.
fn never_acted(filter: &QueryFilter, stats: &FilterStats) -> String {
    let FilterStats { connections, queries, matched, tls, unparsed, .. } = *stats;
    let mut text = match matched {
        0 => format!("no message matching /{}/ passed", filter.pattern()),
        n => format!("{n} message(s) matching /{}/ passed, fewer than it waits for", filter.pattern()),
    };
    text.push_str(&format!(": {connections} connection(s), {queries} queries seen"));
    if tls > 0 {
        text.push_str(&format!("; {tls} connection(s) went TLS, which the filter cannot read (sslmode?)"));
    }
    if unparsed > 0 {
        text.push_str(&format!("; {unparsed} connection(s) did not speak the PostgreSQL protocol"));
    }
    text + " (the link is direct again)"
}

#[async_trait]
impl Fault for QueryLink {
    fn needs(&self) -> &'static [Operation] {
        &[Operation::Exec, Operation::Address, Operation::LinkProxy]
    }

    async fn act(&self, cx: &FaultCx<'_>, request: &FaultRequest) -> Result<Applied, FaultError> {
        let first = request.targets.first().cloned().unwrap_or_else(|| "?".into());
        let failed = |reason: String| FaultError::failed(self.name(), &first, reason);
        let proxies = cx.executor.link_proxies().ok_or_else(|| failed("this executor has no link proxies".into()))?;
        let rule = rule(request).map_err(failed)?;
        let ends = ends(cx.executor, request).await.map_err(failed)?;
        let host = cx.executor.proxy_host().await.map_err(|e| failed(e.to_string()))?;
        // One filter for the step: `after` and `times` count over all its proxies' connections.
        let filter = Arc::new(QueryFilter::new(rule, request.step, request.targets.join(", "), cx.timeline().clone()));
        let mut detail = request.targets.clone();
        let mut reset = 0;
        for end in &ends {
            let upstream = end.addr().map_err(failed)?;
            let destination = format!("{}:{}", end.container, end.port);
            let proxy = match LinkProxy::start_filtered(host, upstream, filter.clone(), &destination).await {
                Ok(proxy) => proxy,
                Err(e) => {
                    // An earlier destination's proxy and rules are in place already.
                    clean(cx.executor, request.step, &request.targets).await;
                    return Err(failed(format!("the proxy could not listen on {host}: {e}")));
                }
            };
            let listen = proxy.listen;
            reset += route_through(cx.executor, request, end, proxy).await.map_err(failed)?;
            detail.push(format!("to: {destination} ({upstream}) through {listen}"));
        }
        detail.push(filter.describe());
        cx.applied(self, &detail);
        // The route, proven: the probe's SSLRequest (an untyped packet the filter passes on)
        // reaches each proxy and is answered through it.
        let mut proofs = Vec::new();
        for end in &ends {
            let accepted_before = accepted(proxies, request.step, end);
            let measured = route::probe(cx.executor, &first, &end.probe(Mode::RoundTrip, 1, PROBE_BOUND_S)).await;
            let passed = accepted(proxies, request.step, end) - accepted_before;
            let answered = match &measured {
                Ok(samples) if passed > 0 => {
                    median_ms(samples, Outcome::Ok).ok_or_else(|| format!("no answer through the proxy: {}", outcomes(samples)))
                }
                Ok(_) => Err("the probe's connection did not reach the proxy".to_string()),
                Err(reason) => Err(reason.clone()),
            };
            match answered {
                Ok(ms) => proofs.push(format!(
                    "{first} → {}:{} through pgdrill's proxy: armed, {} (probe answered in {ms:.1} ms through the \
                     proxy); {reset} open connection(s) of the link reset to reconnect through it",
                    end.container,
                    end.port,
                    filter.describe()
                )),
                Err(seen) => {
                    clean(cx.executor, request.step, &request.targets).await;
                    let seen = format!("{first} → {}:{}: {seen}", end.container, end.port);
                    return Err(FaultError::no_effect(self.name(), &first, seen));
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
        // Taken before the proxies stop: what the filter saw is the proof the fault acted.
        let filter = proxies.filter(active.step);
        let mut done = unroute_all(self, cx.executor, &routes, &active.targets).await?;
        // Stopping the proxy closes the connections it carried: their clients reconnect directly.
        let stopped = proxies.stop(active.step).await;
        done.push(format!("{stopped} proxy(ies) stopped"));
        for (upstream, _) in &routes {
            let rtt = answers_directly(self, cx.executor, &first, *upstream).await?;
            done.push(format!("{first} → {upstream} answers directly again in {rtt:.1} ms"));
        }
        let filter = filter.ok_or_else(|| failed(format!("step {}'s query filter is gone", active.step + 1)))?;
        let stats = filter.stats();
        if stats.acted == 0 {
            return Err(FaultError::no_effect(self.name(), &first, never_acted(&filter, &stats)));
        }
        done.push(format!(
            "the filter acted {} time(s) ({}): {} connection(s), {} queries seen, {} matched",
            stats.acted,
            filter.describe(),
            stats.connections,
            stats.queries,
            stats.matched
        ));
        Ok(done)
    }

    async fn leftover(&self, _executor: &dyn Executor, _container: &str) -> Option<String> {
        // Its proxies are in the run's `LinkProxies` with the other link faults': `link_delay`'s
        // leftover reports every proxy still running for a container, this one's included.
        None
    }
}

#[cfg(test)]
mod tests {
    use test_case::test_case;

    use super::*;

    fn scenario(options: &str) -> String {
        crate::fault::fault_scenario("link_on_query", "replica", options)
    }

    #[test_case("    to: primary\n    match: '^PREPARE TRANSACTION'\n    action: kill\n", None ; "kill")]
    #[test_case("    to: primary\n    match: '^begin'\n    after: 2\n    times: 3\n    action: reset\n", None ; "reset")]
    #[test_case("    to: primary\n    match: 'COMMIT'\n    action: delay\n    delay: 2s\n", None ; "delay")]
    #[test_case("    to: primary\n    match: x\n    action: kill\n    port: 6432\n", None ; "port")]
    #[test_case("    match: x\n    action: kill\n", Some("6:5: fault `link_on_query` in step 2 needs `to`") ; "no to")]
    #[test_case("    to: primary\n    action: kill\n", Some("needs `match`") ; "no match")]
    #[test_case("    to: primary\n    match: x\n", Some("needs `action`") ; "no action")]
    #[test_case(
        "    to: primary\n    match: x\n    action: drop\n",
        Some("10:13: invalid value `drop` for `action`, expected one of: kill, reset, delay") ;
        "bad action"
    )]
    #[test_case(
        "    to: primary\n    match: '^PREPARE ('\n    action: kill\n",
        Some("9:12: `match` of fault `link_on_query` is not a valid regular expression") ;
        "bad regex"
    )]
    #[test_case("    to: primary\n    match: x\n    action: kill\n    after: 0\n", Some("11:12: after 0 is out of range") ; "zero after")]
    #[test_case("    to: primary\n    match: x\n    action: kill\n    times: 1.5\n", Some("11:12: invalid value for `times`: expected a whole number from 1 to 1000000") ; "fractional times")]
    #[test_case(
        "    to: primary\n    match: x\n    action: delay\n",
        Some("10:5: `action: delay` of fault `link_on_query` needs `delay`") ;
        "delay without delay"
    )]
    #[test_case(
        "    to: primary\n    match: x\n    action: kill\n    delay: 1s\n",
        Some("11:5: `delay` of fault `link_on_query` only applies with `action: delay`") ;
        "delay with kill"
    )]
    #[test_case(
        "    to: etcd\n    match: x\n    action: kill\n",
        Some("8:5: `to` of fault `link_on_query` must be a PostgreSQL server") ;
        "etcd"
    )]
    #[test_case("    to: primary\n    match: x\n    action: kill\n    latency: 1s\n", Some("`latency` does not apply to fault `link_on_query`") ; "toxic option")]
    fn options_are_checked_where_they_are_written(options: &str, problem: Option<&str>) {
        crate::fault::assert_validation(&scenario(options), problem);
    }

    #[test]
    fn an_unknown_action_is_the_one_problem_with_delay() {
        let text = scenario("    to: primary\n    match: x\n    action: drop\n    delay: 1s\n");
        let error = crate::scenario::parse_scenario("x.yaml", &text).expect_err("`drop` is no action");
        assert_eq!(error.problems().len(), 1, "{error}");
    }

    fn request(options: &str) -> FaultRequest {
        let options: FaultOptions = serde_json::from_str(options).expect("options");
        FaultRequest { options, ..FaultRequest::default() }
    }

    #[test]
    fn the_rule_is_what_the_step_asks() {
        let rule = rule(&request(r#"{"match": "^prepare", "action": "delay", "delay": "500ms", "after": 2}"#)).unwrap();
        assert_eq!((rule.after, rule.times), (2, 1));
        assert_eq!(rule.action, FilterAction::Delay(std::time::Duration::from_millis(500)));
        assert!(rule.pattern.is_match("PREPARE TRANSACTION 'x'"), "case-insensitive");
        assert!(!rule.pattern.is_match("COMMIT PREPARED 'x'"));
    }

    #[test]
    fn a_filter_that_never_acted_says_what_passed() {
        let rule = rule(&request(r#"{"match": "^PREPARE", "action": "kill"}"#)).unwrap();
        let filter = QueryFilter::new(rule, 1, "coord-1", crate::timeline::TimelineWriter::start_now());
        let stats = FilterStats { connections: 3, queries: 120, tls: 1, ..FilterStats::default() };
        assert_eq!(
            never_acted(&filter, &stats),
            "no message matching /^PREPARE/ passed: 3 connection(s), 120 queries seen; 1 connection(s) went TLS, \
             which the filter cannot read (sslmode?) (the link is direct again)"
        );
    }
}
