//! `throttle` limits a container to a share of a CPU (Docker's CPU quota; `cpus: 0.05` is 5% of
//! one core): what an overloaded or noisy-neighboured primary does to Patroni. Proven by the
//! limit read back from the executor and, on a Patroni member, by its REST API answering
//! slower than before; undone by lifting the limit, proven by reading it back.
use std::time::Duration;

use async_trait::async_trait;
use tokio::time::{timeout, Instant};

use crate::fault::rest::PatroniApi;
use crate::fault::{ActiveFault, Applied, Executor, Fault, FaultCx, FaultError, FaultRequest};
use crate::fault::executor::Operation;
use crate::register_fault;
use crate::scenario::{FaultSpec, Lasting, OptionKind, OptionSpec};

/// REST calls per latency sample (the median is used: one slow call proves nothing).
const SAMPLES: usize = 5;
/// The longest one REST call may take before it counts as this long (a throttled Patroni may
/// not answer at all; that is the effect, not an error).
const CALL_BOUND: Duration = Duration::from_secs(5);
/// How long the slowdown may take to show (the quota applies from the next CFS period, but a
/// request already in flight may finish fast).
const SLOWDOWN_WITHIN: Duration = Duration::from_secs(10);
/// The throttled median must exceed the baseline by this factor to count as slower.
const SLOWER_BY: f64 = 1.5;

struct Throttle;

const THROTTLE: Throttle = Throttle;
register_fault!(THROTTLE);

const CPUS: OptionSpec = OptionSpec {
    key: "cpus",
    kind: OptionKind::Number { above: 0.0, max: 64.0, max_inclusive: true },
    required: true,
    doc: "the CPUs the container may use, e.g. `cpus: 0.05` (5% of one core)",
};

impl FaultSpec for Throttle {
    fn name(&self) -> &'static str {
        "throttle"
    }

    fn summary(&self) -> &'static str {
        "Limit the target's container to `cpus` CPUs (Docker's CPU quota) until undone."
    }

    fn options(&self) -> &'static [OptionSpec] {
        &[CPUS]
    }

    fn lasting(&self) -> Option<Lasting> {
        Some(Lasting { undo_at_end: true, leaves_down: false })
    }

    fn chaos(&self) -> bool {
        true
    }
}

#[async_trait]
impl Fault for Throttle {
    fn needs(&self) -> &'static [Operation] {
        &[Operation::CpuLimit, Operation::LimitCpus, Operation::PatroniApi]
    }

    async fn act(&self, cx: &FaultCx<'_>, request: &FaultRequest) -> Result<Applied, FaultError> {
        let cpus: f64 = request.option(CPUS.key).ok_or_else(|| FaultError::failed(self.name(), "-", "no `cpus`"))?;
        let mut baselines = Vec::new();
        for target in &request.targets {
            let failed = |reason: String| FaultError::failed(self.name(), target, reason);
            // Undo lifts the limit, so a container that already had one would lose it.
            if let Some(existing) = cx.executor.cpu_limit(target).await.map_err(|e| failed(e.to_string()))? {
                return Err(failed(format!("already limited to {existing} CPUs; pgdrill would not restore that")));
            }
            let api = cx.executor.patroni(target);
            let before = match &api {
                Some(api) => Some(rest_latency(api).await),
                None => None,
            };
            baselines.push((target, api, before));
            cx.executor.limit_cpus(target, Some(cpus)).await.map_err(|e| failed(e.to_string()))?;
        }
        let detail: Vec<String> = request.targets.iter().map(|t| format!("{t} ({cpus} CPUs)")).collect();
        cx.applied(self, &detail);
        let mut proofs = Vec::new();
        for (target, api, before) in baselines {
            let read_back = cx.executor.cpu_limit(target).await.map_err(|e| FaultError::failed(self.name(), target, e))?;
            match read_back {
                Some(limit) if (limit - cpus).abs() < 1e-3 => {}
                other => {
                    let seen = format!("CPU limit reads back as {other:?}, not {cpus}");
                    return Err(FaultError::no_effect(self.name(), target, seen));
                }
            }
            let proof = match (api, before) {
                (Some(api), Some(before)) => {
                    let after = slower_than(&api, before).await.map_err(|seen| FaultError::no_effect(self.name(), target, seen))?;
                    format!(
                        "{target}: CPU limit {cpus} read back; Patroni REST latency {} → {} (median of {SAMPLES})",
                        millis(before),
                        millis(after)
                    )
                }
                _ => format!("{target}: CPU limit {cpus} read back"),
            };
            proofs.push(proof);
        }
        Ok(Applied { proofs, via: None })
    }

    async fn undo(&self, cx: &FaultCx<'_>, active: &ActiveFault) -> Result<Vec<String>, FaultError> {
        let mut done = Vec::new();
        for target in &active.targets {
            let failed = |reason| FaultError::failed(self.name(), target, reason);
            cx.executor.limit_cpus(target, None).await.map_err(failed)?;
            match cx.executor.cpu_limit(target).await.map_err(failed)? {
                None => done.push(format!("{target}: CPU limit lifted")),
                Some(limit) => {
                    return Err(FaultError::no_effect(self.name(), target, format!("CPU limit still {limit}")))
                }
            }
        }
        Ok(done)
    }

    async fn leftover(&self, executor: &dyn Executor, container: &str) -> Option<String> {
        match executor.cpu_limit(container).await {
            Ok(Some(limit)) => Some(format!("CPU limit {limit} still set")),
            _ => None,
        }
    }
}

/// The median time of [`SAMPLES`] `GET /patroni` calls (a call that fails or hangs counts as
/// the time it took, at most [`CALL_BOUND`]).
async fn rest_latency(api: &PatroniApi) -> Duration {
    let mut times = Vec::with_capacity(SAMPLES);
    for _ in 0..SAMPLES {
        let start = Instant::now();
        let _ = timeout(CALL_BOUND, api.is_paused()).await;
        times.push(start.elapsed());
    }
    times.sort();
    times[SAMPLES / 2]
}

/// Samples the latency until it exceeds `before` by [`SLOWER_BY`], within [`SLOWDOWN_WITHIN`].
async fn slower_than(api: &PatroniApi, before: Duration) -> Result<Duration, String> {
    let start = Instant::now();
    loop {
        let now = rest_latency(api).await;
        if now.as_secs_f64() > before.as_secs_f64() * SLOWER_BY {
            return Ok(now);
        }
        if start.elapsed() >= SLOWDOWN_WITHIN {
            return Err(format!(
                "Patroni REST latency {} is not slower than before ({}) after {}s",
                millis(now),
                millis(before),
                SLOWDOWN_WITHIN.as_secs()
            ));
        }
    }
}

fn millis(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

#[cfg(test)]
mod tests {
    use test_case::test_case;

    fn scenario(fault: &str) -> String {
        crate::fault::fault_scenario("throttle", "primary", fault)
    }

    #[test_case("    cpus: 0.05\n    duration: 10s\n", None ; "valid")]
    #[test_case("", Some("6:5: fault `throttle` in step 2 needs `cpus`") ; "no cpus")]
    #[test_case("    cpus: 0\n", Some("8:11: cpus 0 is out of range") ; "zero cpus")]
    #[test_case("    cpus: lots\n", Some("8:11: invalid value for `cpus`: expected a number above 0, at most 64") ; "not a number")]
    fn cpus_is_checked_where_it_is_written(options: &str, problem: Option<&str>) {
        crate::fault::assert_validation(&scenario(options), problem);
    }
}
