//! Bounded waits: the one way pgdrill waits for anything.
//!
//! Every wait has a deadline and, when it runs out, one error ([`WaitTimeout`]) that says what
//! was awaited, for how long, and what the last probe saw — so a stuck drill tells the reader
//! where it got stuck. [`poll_until`] repeats a probe until it is done; [`try_poll_until`] lets
//! the probe fail for good (a container exited); [`within`] bounds a single future (an exec,
//! a log read, a query).
//!
//! A probe that hangs cannot stretch a wait: each probe runs under the same deadline. This
//! module knows nothing of Docker, Patroni or the timeline; it only measures time with tokio's
//! clock, so tests can pause it.
use std::future::Future;
use std::time::Duration;

use thiserror::Error;
use tokio::time::Instant;

/// What one probe of a [`poll_until`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe<T> {
    /// The condition holds; the wait ends with this value.
    Done(T),
    /// Not yet; the text says what was seen instead (`pg-1 is a replica`), for the timeout
    /// message.
    NotYet(String),
}

impl<T> Probe<T> {
    /// Not yet, with what was seen instead.
    pub fn not_yet(seen: impl std::fmt::Display) -> Self {
        Probe::NotYet(seen.to_string())
    }
}

/// A bounded wait ran out.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
#[error("timed out after {:.1}s waiting for {what}; last seen: {last_seen}", .waited.as_secs_f64())]
pub struct WaitTimeout {
    /// What was awaited (`a healthy cluster`, `Prometheus to be ready`).
    pub what: String,
    /// How long the wait lasted.
    pub waited: Duration,
    /// What the last probe saw, so the reader knows where it got stuck.
    pub last_seen: String,
}

/// What `last_seen` says when no probe has answered before the deadline.
const NO_ANSWER: &str = "no answer yet";

/// Probes every `every` until the probe is [`Probe::Done`] or `within` has passed.
///
/// The first probe runs at once; the last runs at the deadline, so a condition met just in
/// time still counts. A probe still running at the deadline is abandoned.
pub async fn poll_until<T, F, Fut>(
    what: &str,
    within: Duration,
    every: Duration,
    mut probe: F,
) -> Result<T, WaitTimeout>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Probe<T>>,
{
    try_poll_until(what, within, every, || {
        let next = probe();
        async move { Ok::<_, WaitTimeout>(next.await) }
    })
    .await
}

/// Like [`poll_until`], but the probe may fail for good (a container exited, a fatal
/// answer): that error ends the wait at once. A timeout becomes `E` through `From`.
pub async fn try_poll_until<T, E, F, Fut>(what: &str, within: Duration, every: Duration, mut probe: F) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Probe<T>, E>>,
    E: From<WaitTimeout>,
{
    let start = Instant::now();
    let deadline = start + within;
    let mut last_seen = NO_ANSWER.to_string();
    loop {
        match tokio::time::timeout_at(deadline, probe()).await {
            Ok(Ok(Probe::Done(value))) => return Ok(value),
            Ok(Ok(Probe::NotYet(seen))) => last_seen = seen,
            Ok(Err(fatal)) => return Err(fatal),
            Err(_) => {
                last_seen = format!("{last_seen} (the last probe was still running at the deadline)");
                break;
            }
        }
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        tokio::time::sleep_until((now + every).min(deadline)).await;
    }
    Err(E::from(WaitTimeout { what: what.to_string(), waited: start.elapsed(), last_seen }))
}

/// Bounds one future: its output, or a [`WaitTimeout`] once `limit` has passed.
pub async fn within<T>(what: &str, limit: Duration, fut: impl Future<Output = T>) -> Result<T, WaitTimeout> {
    tokio::time::timeout(limit, fut).await.map_err(|_| WaitTimeout {
        what: what.to_string(),
        waited: limit,
        last_seen: NO_ANSWER.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn done_on_the_first_probe_returns_at_once() {
        let start = Instant::now();
        let got = poll_until("x", Duration::from_secs(5), Duration::from_secs(1), || async { Probe::Done(7) }).await;
        assert_eq!(got, Ok(7));
        assert_eq!(start.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn probes_every_interval_until_done() {
        let calls = Cell::new(0);
        let start = Instant::now();
        let got = poll_until("the third probe", Duration::from_secs(10), Duration::from_secs(1), || {
            calls.set(calls.get() + 1);
            let n = calls.get();
            async move {
                if n == 3 {
                    Probe::Done(n)
                } else {
                    Probe::not_yet(format!("probe {n}"))
                }
            }
        })
        .await;
        assert_eq!(got, Ok(3));
        assert_eq!(start.elapsed(), Duration::from_secs(2));
    }

    #[tokio::test(start_paused = true)]
    async fn timeout_says_what_how_long_and_last_seen() {
        let calls = Cell::new(0);
        let err = poll_until::<(), _, _>("pg-2 to be primary", Duration::from_secs(15), Duration::from_secs(2), || {
            calls.set(calls.get() + 1);
            let n = calls.get();
            async move { Probe::not_yet(format!("pg-1 is primary (probe {n})")) }
        })
        .await
        .unwrap_err();
        // Probes at 0, 2, …, 14 and one last at the deadline (15).
        assert_eq!(calls.get(), 9);
        assert_eq!(err.waited, Duration::from_secs(15));
        assert_eq!(
            err.to_string(),
            "timed out after 15.0s waiting for pg-2 to be primary; last seen: pg-1 is primary (probe 9)"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_condition_met_at_the_deadline_counts() {
        let start = Instant::now();
        let got = poll_until("x", Duration::from_secs(3), Duration::from_secs(2), || async move {
            if start.elapsed() >= Duration::from_secs(3) {
                Probe::Done(())
            } else {
                Probe::not_yet("early")
            }
        })
        .await;
        assert_eq!(got, Ok(()));
        assert_eq!(start.elapsed(), Duration::from_secs(3));
    }

    #[tokio::test(start_paused = true)]
    async fn a_hanging_probe_cannot_stretch_the_wait() {
        let calls = Cell::new(0);
        let start = Instant::now();
        let err = poll_until::<(), _, _>("an answer", Duration::from_secs(5), Duration::from_secs(1), || {
            calls.set(calls.get() + 1);
            let n = calls.get();
            async move {
                if n == 1 {
                    Probe::not_yet("connection refused")
                } else {
                    std::future::pending::<Probe<()>>().await
                }
            }
        })
        .await
        .unwrap_err();
        assert_eq!(start.elapsed(), Duration::from_secs(5));
        assert_eq!(err.last_seen, "connection refused (the last probe was still running at the deadline)");
    }

    #[derive(Debug, PartialEq)]
    enum Fatal {
        Exited,
        Timeout(WaitTimeout),
    }

    impl From<WaitTimeout> for Fatal {
        fn from(t: WaitTimeout) -> Self {
            Fatal::Timeout(t)
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_fatal_probe_ends_the_wait_at_once() {
        let calls = Cell::new(0);
        let start = Instant::now();
        let got = try_poll_until::<(), Fatal, _, _>("x", Duration::from_secs(30), Duration::from_secs(1), || {
            calls.set(calls.get() + 1);
            let n = calls.get();
            async move {
                if n == 2 {
                    Err(Fatal::Exited)
                } else {
                    Ok(Probe::not_yet("starting"))
                }
            }
        })
        .await;
        assert_eq!(got, Err(Fatal::Exited));
        assert_eq!(start.elapsed(), Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn try_poll_until_converts_the_timeout() {
        let got = try_poll_until::<(), Fatal, _, _>("x", Duration::from_secs(2), Duration::from_secs(1), || async {
            Ok(Probe::not_yet("starting"))
        })
        .await;
        let Err(Fatal::Timeout(t)) = got else { panic!("expected a timeout, got {got:?}") };
        assert_eq!(t.last_seen, "starting");
    }

    #[tokio::test(start_paused = true)]
    async fn within_bounds_one_future() {
        assert_eq!(within("a quick answer", Duration::from_secs(1), async { 5 }).await, Ok(5));
        let err =
            within("the exec output", Duration::from_millis(2500), std::future::pending::<()>()).await.unwrap_err();
        assert_eq!(err.to_string(), "timed out after 2.5s waiting for the exec output; last seen: no answer yet");
    }
}
