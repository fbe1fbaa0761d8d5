//! Measuring a link from pgdrill's own process — the client side of the writers' path to
//! HAProxy or the pooler — with the same samples as the probe `route.rs` runs inside a
//! container: a PostgreSQL SSLRequest timed from the request to the first byte of the answer
//! (or to the close), and bulk data as a `repeat('x', n)` through a real login.
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{timeout, Instant};

use super::route::{Mode, Outcome, Sample};
use crate::pg::PgEndpoint;

/// PostgreSQL's SSLRequest: answered with one byte (`N` or `S`) before any login.
const SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];

fn ms_since(start: Instant) -> f64 {
    start.elapsed().as_secs_f64() * 1000.0
}

fn sample(outcome: Outcome, start: Instant, bytes: u64) -> Sample {
    Sample { outcome, ms: ms_since(start), bytes }
}

fn failed(e: &std::io::Error) -> Outcome {
    match e.kind() {
        std::io::ErrorKind::ConnectionReset => Outcome::Reset,
        _ => Outcome::Error,
    }
}

/// One round trip or close to `addr`, each wait bounded by `bound`.
async fn one(addr: SocketAddr, mode: Mode, bound: Duration) -> Sample {
    let start = Instant::now();
    let mut stream = match timeout(bound, TcpStream::connect(addr)).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(_)) | Err(_) => return sample(Outcome::Error, start, 0),
    };
    let start = Instant::now();
    if let Err(e) = stream.write_all(&SSL_REQUEST).await {
        return sample(failed(&e), start, 0);
    }
    let mut buf = [0u8; 1024];
    let got = match timeout(bound, stream.read(&mut buf)).await {
        Err(_) => return sample(Outcome::Silent, start, 0),
        Ok(Err(e)) => return sample(failed(&e), start, 0),
        Ok(Ok(0)) => return sample(Outcome::Eof, start, 0),
        Ok(Ok(n)) => n as u64,
    };
    if mode != Mode::Close {
        return sample(Outcome::Ok, start, got);
    }
    // The close: the probe ends its side, the server closes its own; how long until it arrives.
    let _ = stream.shutdown().await;
    let start = Instant::now();
    loop {
        match timeout(bound, stream.read(&mut buf)).await {
            Err(_) => return sample(Outcome::Silent, start, got),
            Ok(Err(e)) => return sample(failed(&e), start, got),
            Ok(Ok(0)) => return sample(Outcome::Ok, start, got),
            Ok(Ok(_)) => {}
        }
    }
}

/// `bytes` fetched through a login on `addr` as `login`'s user.
async fn bulk(addr: SocketAddr, login: &PgEndpoint, bytes: u64, bound: Duration) -> Sample {
    let start = Instant::now();
    let endpoint = PgEndpoint { host: addr.ip().to_string(), port: addr.port(), ..login.clone() };
    let fetch = async {
        let client = endpoint.connect(bound).await?;
        let row = client.query_one(&format!("SELECT repeat('x', {bytes})"), &[]).await.map_err(|e| e.to_string())?;
        Ok::<u64, String>(row.get::<_, String>(0).len() as u64)
    };
    match timeout(bound, fetch).await {
        Ok(Ok(got)) => sample(Outcome::Ok, start, got),
        Ok(Err(_)) => sample(Outcome::Error, start, 0),
        Err(_) => sample(Outcome::Silent, start, 0),
    }
}

/// `samples` measurements of `mode` to `addr`, one after another, each bounded by `bound`.
pub async fn probe(addr: SocketAddr, login: &PgEndpoint, mode: Mode, samples: usize, bound: Duration) -> Vec<Sample> {
    let mut out = Vec::with_capacity(samples);
    for _ in 0..samples {
        out.push(match mode {
            Mode::Bulk(bytes) => bulk(addr, login, bytes, bound).await,
            Mode::RoundTrip | Mode::Close => one(addr, mode, bound).await,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use tokio::net::TcpListener;

    use super::*;

    /// A destination that answers the SSLRequest with `N` and closes `close_after` later.
    async fn fake_postgres(close_after: Duration) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buf = [0u8; 8];
                    if conn.read_exact(&mut buf).await.is_ok() && buf == SSL_REQUEST {
                        let _ = conn.write_all(b"N").await;
                        tokio::time::sleep(close_after).await;
                    }
                });
            }
        });
        addr
    }

    fn login() -> PgEndpoint {
        PgEndpoint { host: String::new(), port: 0, user: "u".into(), password: String::new(), dbname: "d".into() }
    }

    #[tokio::test]
    async fn round_trips_and_closes_are_timed_and_a_dead_port_is_an_error() {
        let addr = fake_postgres(Duration::from_millis(150)).await;
        let rtt = probe(addr, &login(), Mode::RoundTrip, 2, Duration::from_secs(2)).await;
        assert!(rtt.iter().all(|s| s.outcome == Outcome::Ok && s.bytes == 1 && s.ms < 100.0), "{rtt:?}");
        let close = probe(addr, &login(), Mode::Close, 1, Duration::from_secs(2)).await;
        assert_eq!(close[0].outcome, Outcome::Ok, "{close:?}");
        assert!(close[0].ms >= 140.0, "the server held the close ~150 ms: {close:?}");
        let held = probe(addr, &login(), Mode::Close, 1, Duration::from_millis(50)).await;
        assert_eq!(held[0].outcome, Outcome::Silent, "{held:?}");
        let closed: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let dead = probe(closed, &login(), Mode::RoundTrip, 1, Duration::from_secs(1)).await;
        assert_eq!(dead[0].outcome, Outcome::Error, "{dead:?}");
    }
}
