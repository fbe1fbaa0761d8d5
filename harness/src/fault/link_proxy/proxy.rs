//! The proxy itself: one listener per proxied destination, inside pgdrill's process, forwarding
//! every accepted connection to the destination through a [`Toxic`] or a query filter
//! ([`QueryFilter`], `filter.rs`). Its tasks are owned: a
//! proxy's accept loop owns its connections (a `JoinSet`), so stopping the proxy — or dropping
//! it — closes every connection it carried, which is what sends the link's clients back to the
//! direct path when the fault is healed.
//!
//! Written on tokio rather than on the `noxious` crate (Toxiproxy's Rust port, 1.0.4): noxious
//! has no `reset_peer` toxic, cannot bind port 0 and report the port it got, applies latency
//! one chunk after another (a chunk waits for the previous one's delay, so throughput falls to
//! one chunk per latency, unlike Toxiproxy which delays each chunk from its arrival), is driven
//! through channels meant for its HTTP server, and pins tokio-util 0.6, rand 0.8 and
//! thiserror 1 beside the versions this crate uses.
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::timeout;

use super::filter::{serve_filtered, QueryFilter};
use super::toxic::{pipe, Ended, Toxic};
use crate::workload::ClientPath;

/// How long the proxy waits to reach the destination before dropping the client.
const CONNECT_BOUND: Duration = Duration::from_secs(5);

/// Which directions a toxic acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// What the destination sends back to the client (Toxiproxy's default stream).
    Downstream,
    /// Both ways.
    Both,
}

/// One proxied destination: its listener, what it has carried, its tasks.
#[derive(Debug)]
pub struct LinkProxy {
    /// Where it listens (the address clients are sent to).
    pub listen: SocketAddr,
    /// Where it forwards to.
    pub upstream: SocketAddr,
    accepted: Arc<AtomicU64>,
    /// The query filter it reads the client's messages with, if it is a filtering proxy (kept
    /// for the fault's undo, which asks what it saw).
    filter: Option<Arc<QueryFilter>>,
    task: JoinHandle<()>,
}

/// What a proxy does to the connections it carries.
#[derive(Debug, Clone)]
enum Stage {
    /// A toxic on the chosen directions.
    Toxic(Toxic, Direction),
    /// The client's messages read and filtered; `destination` names the upstream on the timeline.
    Filter { filter: Arc<QueryFilter>, destination: Arc<str> },
}

impl LinkProxy {
    /// Binds `bind:0` and starts forwarding to `upstream` through `toxic`.
    pub async fn start(
        bind: std::net::IpAddr,
        upstream: SocketAddr,
        toxic: Toxic,
        direction: Direction,
    ) -> std::io::Result<LinkProxy> {
        Self::spawn(bind, upstream, Stage::Toxic(toxic, direction)).await
    }

    /// Binds `bind:0` and starts forwarding to `upstream`, reading what clients send through
    /// `filter` (shared by every proxy of one fault step); `destination` names `upstream` on the
    /// timeline (`worker1-1:5432`). What comes back is forwarded untouched.
    pub async fn start_filtered(
        bind: std::net::IpAddr,
        upstream: SocketAddr,
        filter: Arc<QueryFilter>,
        destination: &str,
    ) -> std::io::Result<LinkProxy> {
        Self::spawn(bind, upstream, Stage::Filter { filter, destination: destination.into() }).await
    }

    async fn spawn(bind: std::net::IpAddr, upstream: SocketAddr, stage: Stage) -> std::io::Result<LinkProxy> {
        let listener = TcpListener::bind((bind, 0)).await?;
        let listen = listener.local_addr()?;
        let accepted = Arc::new(AtomicU64::new(0));
        let counter = accepted.clone();
        let filter = match &stage {
            Stage::Filter { filter, .. } => Some(filter.clone()),
            Stage::Toxic(..) => None,
        };
        let task = tokio::spawn(async move {
            // Dropped with the accept loop: every connection closes with the proxy.
            let mut connections = JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((client, _)) = accepted else { continue };
                        counter.fetch_add(1, Ordering::Relaxed);
                        connections.spawn(serve(client, upstream, stage.clone()));
                    }
                    Some(_) = connections.join_next(), if !connections.is_empty() => {}
                }
            }
        });
        Ok(LinkProxy { listen, upstream, accepted, filter, task })
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::Relaxed)
    }

    /// Its query filter, if it filters.
    pub fn filter(&self) -> Option<&Arc<QueryFilter>> {
        self.filter.as_ref()
    }

    /// Stops listening and closes every connection it carries.
    pub async fn stop(mut self) {
        self.task.abort();
        let _ = (&mut self.task).await;
    }
}

impl Drop for LinkProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One connection: client ⇄ destination, through the proxy's stage.
async fn serve(client: TcpStream, upstream: SocketAddr, stage: Stage) {
    let Ok(Ok(server)) = timeout(CONNECT_BOUND, TcpStream::connect(upstream)).await else { return };
    let _ = (client.set_nodelay(true), server.set_nodelay(true));
    match stage {
        Stage::Toxic(toxic, direction) => serve_toxic(client, server, toxic, direction).await,
        Stage::Filter { filter, destination } => serve_filtered(client, server, filter, destination).await,
    }
}

/// One connection with a toxic on the chosen directions.
async fn serve_toxic(client: TcpStream, server: TcpStream, toxic: Toxic, direction: Direction) {
    if matches!(toxic, Toxic::ResetPeer { .. }) {
        // Closing with a zero linger sends RST instead of FIN: "connection reset by peer".
        let _ = (client.set_zero_linger(), server.set_zero_linger());
    }
    // Borrowed halves: dropping one does not shut the socket down (a reset must not be
    // preceded by a FIN); the streams close when this function returns.
    let (mut client, mut server) = (client, server);
    let (client_read, client_write) = client.split();
    let (server_read, server_write) = server.split();
    let up = pipe(client_read, server_write, (direction == Direction::Both).then_some(toxic));
    let down = pipe(server_read, client_write, Some(toxic));
    tokio::pin!(up, down);
    // A direction that ends the connection ends both; a plain close waits for the other side.
    tokio::select! {
        ended = &mut up => if ended == Ended::Closed { down.await; },
        ended = &mut down => if ended == Ended::Closed { up.await; },
    }
}

/// A started proxy and the containers whose link it carries.
#[derive(Debug)]
struct Kept {
    sources: Vec<String>,
    proxy: LinkProxy,
}

/// The run's proxies, by the step whose fault started them, and the path of the run's writers
/// that a client link fault routes through one (cheap to clone: one set per run).
#[derive(Debug, Clone, Default)]
pub struct LinkProxies {
    by_step: Arc<Mutex<BTreeMap<usize, Vec<Kept>>>>,
    client: ClientPath,
}

impl LinkProxies {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<usize, Vec<Kept>>> {
        self.by_step.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The path the run's writers take (the engine starts the workload on it).
    pub fn client_path(&self) -> &ClientPath {
        &self.client
    }

    /// Keeps `proxy`, carrying `sources`' link, for step `step`'s undo.
    pub fn keep(&self, step: usize, sources: &[String], proxy: LinkProxy) {
        self.lock().entry(step).or_default().push(Kept { sources: sources.to_vec(), proxy });
    }

    /// Connections accepted by step `step`'s proxies, per destination.
    pub fn accepted(&self, step: usize) -> Vec<(SocketAddr, u64)> {
        let by_step = self.lock();
        by_step
            .get(&step)
            .map(|ks| ks.iter().map(|k| (k.proxy.upstream, k.proxy.accepted())).collect())
            .unwrap_or_default()
    }

    /// Step `step`'s routes: (destination, the proxy's address) per proxy.
    pub fn routes(&self, step: usize) -> Vec<(SocketAddr, SocketAddr)> {
        let by_step = self.lock();
        by_step.get(&step).map(|ks| ks.iter().map(|k| (k.proxy.upstream, k.proxy.listen)).collect()).unwrap_or_default()
    }

    /// Step `step`'s query filter (its proxies share one), if they filter.
    pub fn filter(&self, step: usize) -> Option<Arc<QueryFilter>> {
        let by_step = self.lock();
        by_step.get(&step)?.iter().find_map(|k| k.proxy.filter().cloned())
    }

    /// Stops step `step`'s proxies (closing what they carry); returns how many there were.
    pub async fn stop(&self, step: usize) -> usize {
        let kept = self.lock().remove(&step).unwrap_or_default();
        let count = kept.len();
        for k in kept {
            k.proxy.stop().await;
        }
        count
    }

    /// Proxies still running for `source`'s links: (step, destination), for the end-of-run audit.
    pub fn running_for(&self, source: &str) -> Vec<(usize, SocketAddr)> {
        let by_step = self.lock();
        by_step
            .iter()
            .flat_map(|(step, ks)| {
                ks.iter().filter(|k| k.sources.iter().any(|s| s == source)).map(move |k| (*step, k.proxy.upstream))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::time::Instant;

    use super::*;

    const LOCAL: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

    /// A destination that answers each read with `reply` (or echoes when `reply` is empty), and
    /// closes when the client does.
    async fn server(reply: Vec<u8>) -> SocketAddr {
        let listener = TcpListener::bind((LOCAL, 0)).await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                let reply = reply.clone();
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 4096];
                    while let Ok(n) = conn.read(&mut buf).await {
                        if n == 0 {
                            break;
                        }
                        let out = if reply.is_empty() { buf[..n].to_vec() } else { reply.clone() };
                        if conn.write_all(&out).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        addr
    }

    async fn proxy(upstream: SocketAddr, toxic: Toxic) -> LinkProxy {
        LinkProxy::start(LOCAL, upstream, toxic, Direction::Downstream).await.unwrap()
    }

    /// Time from sending `ping` to the first byte back.
    async fn round_trip(addr: SocketAddr) -> Duration {
        let mut conn = TcpStream::connect(addr).await.unwrap();
        let started = Instant::now();
        conn.write_all(b"ping").await.unwrap();
        let mut buf = [0u8; 4];
        conn.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"ping");
        started.elapsed()
    }

    #[tokio::test]
    async fn latency_delays_the_answer_and_is_counted() {
        let up = server(Vec::new()).await;
        let latency = Duration::from_millis(150);
        let p = proxy(up, Toxic::Latency { latency, jitter: Duration::ZERO }).await;
        let rtt = round_trip(p.listen).await;
        assert!(rtt >= latency && rtt < latency + Duration::from_millis(100), "round trip {rtt:?}");
        assert!(round_trip(up).await < Duration::from_millis(50), "the direct path is not delayed");
        assert_eq!(p.accepted(), 1);
    }

    #[tokio::test]
    async fn latency_is_from_arrival_so_chunks_overlap() {
        let up = server(Vec::new()).await;
        let latency = Duration::from_millis(200);
        let p = proxy(up, Toxic::Latency { latency, jitter: Duration::ZERO }).await;
        let mut conn = TcpStream::connect(p.listen).await.unwrap();
        let started = Instant::now();
        for _ in 0..5 {
            conn.write_all(b"x").await.unwrap();
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let mut buf = [0u8; 5];
        conn.read_exact(&mut buf).await.unwrap();
        // Five chunks delayed one after another would take a second.
        assert!(started.elapsed() < Duration::from_millis(500), "took {:?}", started.elapsed());
    }

    #[tokio::test]
    async fn bandwidth_limits_the_rate() {
        let up = server(vec![7u8; 50_000]).await;
        let p = proxy(up, Toxic::Bandwidth { rate_kb: 100.0 }).await;
        let mut conn = TcpStream::connect(p.listen).await.unwrap();
        let started = Instant::now();
        conn.write_all(b"go").await.unwrap();
        let mut buf = vec![0u8; 50_000];
        conn.read_exact(&mut buf).await.unwrap();
        let took = started.elapsed();
        // 50 KB at 100 KB/s: half a second, less the last slice's 100 ms (its pause comes after it).
        assert!(took >= Duration::from_millis(380) && took < Duration::from_millis(900), "took {took:?}");
    }

    #[tokio::test]
    async fn timeout_forwards_nothing_then_closes() {
        let up = server(Vec::new()).await;
        let p = proxy(up, Toxic::Timeout { after: Some(Duration::from_millis(300)) }).await;
        let mut conn = TcpStream::connect(p.listen).await.unwrap();
        let started = Instant::now();
        conn.write_all(b"ping").await.unwrap();
        let mut buf = [0u8; 4];
        let n = conn.read(&mut buf).await.unwrap_or(0);
        assert_eq!(n, 0, "no data passes");
        assert!(started.elapsed() >= Duration::from_millis(280), "closed after {:?}", started.elapsed());
    }

    #[tokio::test]
    async fn reset_peer_resets_after_its_timeout() {
        let up = server(Vec::new()).await;
        let p = proxy(up, Toxic::ResetPeer { after: Duration::from_millis(200) }).await;
        let mut conn = TcpStream::connect(p.listen).await.unwrap();
        let started = Instant::now();
        conn.write_all(b"ping").await.unwrap();
        let mut buf = [0u8; 4];
        let error = conn.read(&mut buf).await.expect_err("a reset, not data or a clean close");
        assert_eq!(error.kind(), std::io::ErrorKind::ConnectionReset);
        assert!(started.elapsed() >= Duration::from_millis(190), "reset after {:?}", started.elapsed());
    }

    #[tokio::test]
    async fn slow_close_holds_the_close() {
        // A destination that answers once and closes.
        let listener = TcpListener::bind((LOCAL, 0)).await.unwrap();
        let up = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut conn, _) = listener.accept().await.unwrap();
            conn.write_all(b"bye").await.unwrap();
        });
        let p = proxy(up, Toxic::SlowClose { delay: Duration::from_millis(300) }).await;
        let mut conn = TcpStream::connect(p.listen).await.unwrap();
        let mut buf = [0u8; 3];
        conn.read_exact(&mut buf).await.unwrap();
        let started = Instant::now();
        assert_eq!(conn.read(&mut buf).await.unwrap(), 0);
        assert!(started.elapsed() >= Duration::from_millis(250), "closed after {:?}", started.elapsed());
    }

    #[tokio::test]
    async fn stopping_closes_what_it_carries() {
        let up = server(Vec::new()).await;
        let proxies = LinkProxies::default();
        proxies.keep(
            3,
            &["pg-2".to_string()],
            proxy(up, Toxic::Latency { latency: Duration::ZERO, jitter: Duration::ZERO }).await,
        );
        let listen = proxies.by_step.lock().unwrap()[&3][0].proxy.listen;
        let mut conn = TcpStream::connect(listen).await.unwrap();
        round_trip(listen).await;
        assert_eq!(proxies.accepted(3), vec![(up, 2)]);
        assert_eq!(proxies.running_for("pg-2"), vec![(3, up)]);
        assert_eq!(proxies.stop(3).await, 1);
        let mut buf = [0u8; 1];
        assert!(matches!(conn.read(&mut buf).await, Ok(0) | Err(_)), "the carried connection is closed");
        assert!(TcpStream::connect(listen).await.is_err(), "nothing listens any more");
        assert!(proxies.running_for("pg-2").is_empty());
    }
}
