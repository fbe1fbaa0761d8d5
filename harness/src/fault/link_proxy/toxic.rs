//! What a toxic does to one direction of a proxied connection, with Toxiproxy's semantics
//! (its README's "Toxics" section): `latency` holds every chunk `latency ± jitter` after it
//! arrived (order kept), `bandwidth` writes at most `rate` KB (1000 bytes) per second, `timeout`
//! forwards nothing and closes the whole connection after its timeout (never, without one),
//! `reset_peer` resets the connection `timeout` after the first data, `slow_close` holds the
//! close `delay` after the other side closed.
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{ReadHalf, WriteHalf};
use tokio::sync::mpsc;
use tokio::time::{sleep, sleep_until, Instant};

/// One toxic, as a link fault asks for it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Toxic {
    /// Every chunk is forwarded `latency` ± a uniform random `jitter` after it arrived.
    Latency {
        /// The added delay.
        latency: Duration,
        /// The spread around it.
        jitter: Duration,
    },
    /// At most `rate_kb` KB (1000 bytes) per second.
    Bandwidth {
        /// The rate.
        rate_kb: f64,
    },
    /// Nothing is forwarded; the connection is closed after `after` (`None`: held open).
    Timeout {
        /// When to close it.
        after: Option<Duration>,
    },
    /// The connection is reset (RST) `after` the first data on a toxic direction.
    ResetPeer {
        /// The wait after the first data.
        after: Duration,
    },
    /// The close is held for `delay` after the sending side closed.
    SlowClose {
        /// How long.
        delay: Duration,
    },
}

impl Toxic {
    /// The toxic as the timeline shows it (`latency 200 ms ± 50 ms`).
    pub fn describe(&self) -> String {
        let ms = |d: &Duration| d.as_millis();
        match self {
            Toxic::Latency { latency, jitter } if jitter.is_zero() => format!("latency {} ms", ms(latency)),
            Toxic::Latency { latency, jitter } => format!("latency {} ms ± {} ms", ms(latency), ms(jitter)),
            Toxic::Bandwidth { rate_kb } => format!("bandwidth {rate_kb} KB/s"),
            Toxic::Timeout { after: Some(after) } => format!("timeout (close after {} ms)", ms(after)),
            Toxic::Timeout { after: None } => "timeout (held open)".to_string(),
            Toxic::ResetPeer { after } => format!("reset_peer after {} ms", ms(after)),
            Toxic::SlowClose { delay } => format!("slow_close {} ms", ms(delay)),
        }
    }
}

/// How one direction of a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The sender closed and the close was passed on (the other direction goes on).
    Closed,
    /// The toxic ends the whole connection now (`timeout`, `reset_peer`).
    Connection,
}

/// The largest chunk read at once (Toxiproxy reads 32 KiB).
const CHUNK: usize = 32 * 1024;

/// Forwards `from` to `to`, through `toxic` when there is one.
pub async fn pipe(from: ReadHalf<'_>, to: WriteHalf<'_>, toxic: Option<Toxic>) -> Ended {
    match toxic {
        None => forward(from, to, Pace::Free, Duration::ZERO).await,
        Some(Toxic::Latency { latency, jitter }) => delayed(from, to, latency, jitter).await,
        Some(Toxic::Bandwidth { rate_kb }) => forward(from, to, Pace::Rate(rate_kb * 1000.0), Duration::ZERO).await,
        Some(Toxic::Timeout { after }) => {
            // Nothing is read, so the sender's data waits in the socket buffers.
            let _keep = (from, to);
            match after {
                Some(after) => sleep(after).await,
                None => std::future::pending::<()>().await,
            }
            Ended::Connection
        }
        Some(Toxic::ResetPeer { after }) => {
            let mut from = from;
            let mut buf = vec![0u8; CHUNK];
            // The first data (or the close) starts the wait; nothing is forwarded.
            let _ = from.read(&mut buf).await;
            sleep(after).await;
            // The caller closes the sockets with a zero linger: a reset.
            let _keep = to;
            Ended::Connection
        }
        Some(Toxic::SlowClose { delay }) => forward(from, to, Pace::Free, delay).await,
    }
}

/// How fast [`forward`] may write.
#[derive(Clone, Copy)]
enum Pace {
    Free,
    /// Bytes per second.
    Rate(f64),
}

/// Copies until the sender closes, at `pace`; holds the close for `close_delay`.
async fn forward(mut from: ReadHalf<'_>, mut to: WriteHalf<'_>, pace: Pace, close_delay: Duration) -> Ended {
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let written = match pace {
            Pace::Free => to.write_all(&buf[..n]).await,
            Pace::Rate(bytes_per_s) => paced_write(&mut to, &buf[..n], bytes_per_s).await,
        };
        if written.is_err() {
            return Ended::Connection;
        }
    }
    sleep(close_delay).await;
    let _ = to.shutdown().await;
    Ended::Closed
}

/// Writes `data` in slices of 100 ms worth at `bytes_per_s`, sleeping each slice's time (as
/// Toxiproxy's bandwidth toxic does).
async fn paced_write(to: &mut WriteHalf<'_>, data: &[u8], bytes_per_s: f64) -> std::io::Result<()> {
    let slice = ((bytes_per_s / 10.0) as usize).max(1);
    for part in data.chunks(slice) {
        let started = Instant::now();
        to.write_all(part).await?;
        sleep_until(started + Duration::from_secs_f64(part.len() as f64 / bytes_per_s)).await;
    }
    Ok(())
}

/// Latency: a reader stamps each chunk with its arrival, a writer sends it `latency ± jitter`
/// later, in order (a chunk whose time has passed goes at once).
async fn delayed(mut from: ReadHalf<'_>, mut to: WriteHalf<'_>, latency: Duration, jitter: Duration) -> Ended {
    let (tx, mut rx) = mpsc::channel::<(Instant, Vec<u8>)>(64);
    let reader = async move {
        let mut buf = vec![0u8; CHUNK];
        loop {
            match from.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if tx.send((Instant::now(), buf[..n].to_vec())).await.is_err() {
                        break;
                    }
                }
            }
        }
    };
    let writer = async move {
        while let Some((arrived, chunk)) = rx.recv().await {
            sleep_until(arrived + jittered(latency, jitter)).await;
            if to.write_all(&chunk).await.is_err() {
                return Ended::Connection;
            }
        }
        let _ = to.shutdown().await;
        Ended::Closed
    };
    let ((), ended) = tokio::join!(reader, writer);
    ended
}

/// `latency` plus a uniform random offset in `[-jitter, +jitter]`, never below zero.
pub fn jittered(latency: Duration, jitter: Duration) -> Duration {
    if jitter.is_zero() {
        return latency;
    }
    let span = jitter.as_micros() as u64 * 2 + 1;
    let offset = getrandom::u64().unwrap_or(0) % span;
    (latency + Duration::from_micros(offset)).saturating_sub(jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_its_range() {
        let (latency, jitter) = (Duration::from_millis(100), Duration::from_millis(30));
        let samples: Vec<Duration> = (0..500).map(|_| jittered(latency, jitter)).collect();
        assert!(samples.iter().all(|d| *d >= Duration::from_millis(70) && *d <= Duration::from_millis(130)));
        // Uniform, not constant: both halves of the range occur.
        assert!(samples.iter().any(|d| *d < Duration::from_millis(90)));
        assert!(samples.iter().any(|d| *d > Duration::from_millis(110)));
    }

    #[test]
    fn jitter_never_goes_below_zero() {
        assert!((0..100)
            .all(|_| jittered(Duration::from_millis(5), Duration::from_millis(50)) <= Duration::from_millis(55)));
    }

    #[test]
    fn describe_names_the_numbers() {
        let toxic = Toxic::Latency { latency: Duration::from_millis(200), jitter: Duration::from_millis(50) };
        assert_eq!(toxic.describe(), "latency 200 ms ± 50 ms");
        assert_eq!(Toxic::Timeout { after: None }.describe(), "timeout (held open)");
    }
}
