//! The proxy's protocol-aware stage: on what a link's source sends (client → server), each
//! simple query and Parse message is read ([`super::pg_messages`]) and its SQL matched against a
//! pattern; the Nth match on (counted over every connection of the fault's proxies, which share
//! one [`QueryFilter`]) is not forwarded and the connection is closed (FIN) or reset (RST), or
//! is held for a while. What the server sends back is forwarded untouched. Modelled on the
//! mitmproxy of Citus's regression suite (`conn.onQuery(query="^PREPARE").kill()`).
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use regex::Regex;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{ReadHalf, WriteHalf};
use tokio::net::TcpStream;
use tokio::time::timeout;

use super::pg_messages::{MessageSplitter, Opaque};
use super::toxic::{pipe, Ended};
use crate::timeline::{EventKind, TimelineWriter};

/// How much of a query the timeline keeps.
const QUERY_CHARS: usize = 120;
/// How long a killed connection's two ends get to close their side after pgdrill's FIN (their
/// unread data would turn the close into a reset).
const DRAIN_BOUND: Duration = Duration::from_secs(2);
/// The largest chunk read at once (as the toxics read).
const CHUNK: usize = 32 * 1024;

/// What the filter does to a matching message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterAction {
    /// Not forwarded; both sides closed with FIN.
    Kill,
    /// Not forwarded; both sides closed with RST (zero linger, as `reset_peer` does).
    Reset,
    /// Held this long, with what follows it on the connection, then forwarded.
    Delay(Duration),
}

impl FilterAction {
    /// The action in words (`kill`, `delay 500 ms`).
    pub fn describe(&self) -> String {
        match self {
            FilterAction::Kill => "kill".into(),
            FilterAction::Reset => "reset".into(),
            FilterAction::Delay(d) => format!("delay {} ms", d.as_millis()),
        }
    }
}

/// Which messages a filter acts on, and how.
#[derive(Debug, Clone)]
pub struct FilterRule {
    /// Matched against each `Q`/`P` message's SQL (compiled case-insensitive by the fault).
    pub pattern: Regex,
    /// The first match acted on (1: the first match from when the filter started).
    pub after: u64,
    /// How many consecutive matches from `after` on are acted on.
    pub times: u64,
    /// What is done to them.
    pub action: FilterAction,
}

/// What a filter has seen so far, over all its connections.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FilterStats {
    /// Connections it carried.
    pub connections: u64,
    /// `Q` and `P` messages read.
    pub queries: u64,
    /// Of them, those the pattern matched.
    pub matched: u64,
    /// Of those, the ones acted on.
    pub acted: u64,
    /// Connections that went TLS, which the filter cannot read.
    pub tls: u64,
    /// Connections whose bytes were not the protocol (passed on unread).
    pub unparsed: u64,
}

#[derive(Debug, Default)]
struct Counters {
    connections: AtomicU64,
    queries: AtomicU64,
    matched: AtomicU64,
    acted: AtomicU64,
    tls: AtomicU64,
    unparsed: AtomicU64,
}

/// One fault step's filter, shared by all its proxies (one per destination), so that `after`
/// and `times` count over the whole link.
#[derive(Debug)]
pub struct QueryFilter {
    rule: FilterRule,
    /// The fault's step, for the timeline.
    step: usize,
    /// The link's source container(s), for the timeline.
    source: String,
    /// Where the filter records that it acted (a clone of the run's writer).
    timeline: TimelineWriter,
    counters: Counters,
}

impl QueryFilter {
    /// A filter for step `step`'s link from `source`, recording on `timeline`.
    pub fn new(rule: FilterRule, step: usize, source: impl Into<String>, timeline: TimelineWriter) -> Self {
        Self { rule, step, source: source.into(), timeline, counters: Counters::default() }
    }

    /// `kill on match 1 of /^PREPARE/`, `delay 500 ms on matches 2–4 of /x/`.
    pub fn describe(&self) -> String {
        let FilterRule { pattern, after, times, action } = &self.rule;
        let which = match times {
            1 => format!("match {after}"),
            _ => format!("matches {after}–{}", after + times - 1),
        };
        format!("{} on {which} of /{}/", action.describe(), pattern.as_str())
    }

    /// The pattern as written.
    pub fn pattern(&self) -> &str {
        self.rule.pattern.as_str()
    }

    /// What it has seen so far.
    pub fn stats(&self) -> FilterStats {
        let c = &self.counters;
        let load = |n: &AtomicU64| n.load(Ordering::Relaxed);
        FilterStats {
            connections: load(&c.connections),
            queries: load(&c.queries),
            matched: load(&c.matched),
            acted: load(&c.acted),
            tls: load(&c.tls),
            unparsed: load(&c.unparsed),
        }
    }

    /// The action for one message's SQL on the link to `destination` (`None`: forward it).
    fn consult(&self, sql: &str, destination: &str) -> Option<FilterAction> {
        self.counters.queries.fetch_add(1, Ordering::Relaxed);
        if !self.rule.pattern.is_match(sql) {
            return None;
        }
        let nth = self.counters.matched.fetch_add(1, Ordering::Relaxed) + 1;
        let FilterRule { after, times, action, .. } = self.rule;
        if nth < after || nth >= after.saturating_add(times) {
            return None;
        }
        self.counters.acted.fetch_add(1, Ordering::Relaxed);
        self.timeline.record(EventKind::LinkFilterActed {
            step: self.step,
            source: self.source.clone(),
            destination: destination.to_string(),
            query: sql.chars().take(QUERY_CHARS).collect(),
            action: action.describe(),
            nth,
        });
        Some(action)
    }

    fn opaque(&self, why: &Opaque) {
        let counter = match why {
            Opaque::Tls => &self.counters.tls,
            Opaque::Garbage(_) => &self.counters.unparsed,
            Opaque::AfterCancel => return,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// How the client → server direction ended.
enum Up {
    /// The client closed (passed on) or a socket failed.
    Ended(Ended),
    /// The filter cut the connection.
    Cut(FilterAction),
}

/// One connection through the filter: client ⇄ server, the client's messages read.
pub async fn serve_filtered(client: TcpStream, server: TcpStream, filter: Arc<QueryFilter>, destination: Arc<str>) {
    filter.counters.connections.fetch_add(1, Ordering::Relaxed);
    let (mut client, mut server) = (client, server);
    let cut = {
        let (client_read, client_write) = client.split();
        let (server_read, server_write) = server.split();
        let up = filtered(client_read, server_write, &filter, &destination);
        let down = pipe(server_read, client_write, None);
        tokio::pin!(up, down);
        // A plain close of one direction waits for the other; a cut ends both at once.
        let up_done = |up: Up| match up {
            Up::Cut(action) => Some(action),
            Up::Ended(_) => None,
        };
        tokio::select! {
            up = &mut up => match up {
                Up::Ended(Ended::Closed) => { down.await; None }
                other => up_done(other),
            },
            ended = &mut down => if ended == Ended::Closed { up_done(up.await) } else { None },
        }
    };
    match cut {
        Some(FilterAction::Reset) => {
            // A zero linger turns the close into RST: "connection reset by peer" on both sides.
            let _ = (client.set_zero_linger(), server.set_zero_linger());
        }
        Some(_) => close_with_fin(&mut client, &mut server).await,
        None => {}
    }
}

/// Sends FIN to both ends and reads what they still send until they close (bounded): a socket
/// closed with unread data would send RST instead.
async fn close_with_fin(client: &mut TcpStream, server: &mut TcpStream) {
    let _ = tokio::join!(client.shutdown(), server.shutdown());
    let _ = timeout(DRAIN_BOUND, async { tokio::join!(drain(client), drain(server)) }).await;
}

/// Reads until the peer closes (or the socket fails).
async fn drain(stream: &mut TcpStream) {
    let mut buf = vec![0u8; CHUNK];
    while matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {}
}

/// Forwards the client's stream frame by frame, asking the filter about each query.
async fn filtered(mut from: ReadHalf<'_>, mut to: WriteHalf<'_>, filter: &QueryFilter, destination: &str) -> Up {
    let mut splitter = MessageSplitter::new();
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let was_opaque = splitter.opaque().is_some();
        for frame in splitter.push(&buf[..n]) {
            match frame.query().and_then(|sql| filter.consult(sql, destination)) {
                Some(FilterAction::Delay(hold)) => tokio::time::sleep(hold).await,
                Some(cut) => return Up::Cut(cut),
                None => {}
            }
            if to.write_all(&frame.bytes).await.is_err() {
                return Up::Ended(Ended::Connection);
            }
        }
        if let (false, Some(why)) = (was_opaque, splitter.opaque()) {
            filter.opaque(why);
        }
    }
    // A message cut short by the client's close goes on as it is.
    if let Some(rest) = splitter.flush() {
        let _ = to.write_all(&rest.bytes).await;
    }
    let _ = to.shutdown().await;
    Up::Ended(Ended::Closed)
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr, SocketAddr};
    use std::sync::Mutex;

    use tokio::net::TcpListener;
    use tokio::time::Instant;

    use super::super::pg_messages::tests::{query, startup};
    use super::super::LinkProxy;
    use super::*;

    const LOCAL: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
    /// AuthenticationOk then ReadyForQuery: the fake server's answer to a startup packet.
    const WELCOME: &[u8] = b"R\0\0\0\x08\0\0\0\0Z\0\0\0\x05I";
    /// ReadyForQuery: its answer to a query.
    const READY: &[u8] = b"Z\0\0\0\x05I";

    /// What the fake server saw: the queries it received, and how each connection ended.
    #[derive(Default)]
    struct Seen {
        queries: Mutex<Vec<String>>,
        ends: Mutex<Vec<std::io::ErrorKind>>,
    }

    /// A PostgreSQL-like server: answers a startup packet with [`WELCOME`], each `Q` with
    /// [`READY`], and records what it got (`UnexpectedEof` for a clean close).
    async fn server() -> (SocketAddr, Arc<Seen>) {
        let listener = TcpListener::bind((LOCAL, 0)).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Seen::default());
        let record = seen.clone();
        tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                let seen = record.clone();
                tokio::spawn(async move {
                    let ended = async {
                        // Ends only with an error (`UnexpectedEof` when the peer closed).
                        let len = conn.read_u32().await? as usize;
                        conn.read_exact(&mut vec![0; len - 4]).await?;
                        conn.write_all(WELCOME).await?;
                        loop {
                            let kind = conn.read_u8().await?;
                            let mut body = vec![0; conn.read_u32().await? as usize - 4];
                            conn.read_exact(&mut body).await?;
                            if kind == b'Q' {
                                let sql = String::from_utf8_lossy(&body[..body.len() - 1]).into_owned();
                                seen.queries.lock().unwrap().push(sql);
                            }
                            conn.write_all(READY).await?;
                        }
                        #[allow(unreachable_code)]
                        Ok::<(), std::io::Error>(())
                    };
                    let error = ended.await.expect_err("the loop ends with an error");
                    seen.ends.lock().unwrap().push(error.kind());
                });
            }
        });
        (addr, seen)
    }

    /// A filtering proxy to `upstream` and the timeline its filter records on.
    async fn proxy(
        upstream: SocketAddr,
        pattern: &str,
        after: u64,
        action: FilterAction,
    ) -> (LinkProxy, TimelineWriter) {
        let pattern = crate::scenario::option_regex(pattern).unwrap();
        let timeline = TimelineWriter::start_now();
        let filter = QueryFilter::new(FilterRule { pattern, after, times: 1, action }, 2, "coord-1", timeline.clone());
        let proxy = LinkProxy::start_filtered(LOCAL, upstream, Arc::new(filter), "worker1-1:5432").await.unwrap();
        (proxy, timeline)
    }

    /// A client that has logged in through `addr`.
    async fn client(addr: SocketAddr) -> TcpStream {
        let mut conn = TcpStream::connect(addr).await.unwrap();
        conn.write_all(&startup("postgres")).await.unwrap();
        let mut welcome = [0u8; WELCOME.len()];
        conn.read_exact(&mut welcome).await.unwrap();
        conn
    }

    /// Sends `sql`; its answer, or how the connection failed (`UnexpectedEof`: closed).
    async fn send(conn: &mut TcpStream, sql: &str) -> Result<(), std::io::ErrorKind> {
        conn.write_all(&query(sql)).await.map_err(|e| e.kind())?;
        let mut ready = [0u8; READY.len()];
        conn.read_exact(&mut ready).await.map(|_| ()).map_err(|e| e.kind())
    }

    /// Waits (bounded) for the server to have seen `n` connections end.
    async fn ends(seen: &Seen, n: usize) -> Vec<std::io::ErrorKind> {
        let deadline = Instant::now() + Duration::from_secs(5);
        while seen.ends.lock().unwrap().len() < n && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        seen.ends.lock().unwrap().clone()
    }

    #[tokio::test]
    async fn kill_drops_the_matching_query_and_closes_both_sides() {
        let (up, seen) = server().await;
        let (proxy, timeline) = proxy(up, "^PREPARE", 1, FilterAction::Kill).await;
        let mut conn = client(proxy.listen).await;
        assert_eq!(send(&mut conn, "BEGIN").await, Ok(()));
        assert_eq!(send(&mut conn, "PREPARE TRANSACTION 'x'").await, Err(std::io::ErrorKind::UnexpectedEof));
        assert!(send(&mut conn, "COMMIT PREPARED 'x'").await.is_err(), "the connection is gone");
        assert_eq!(*seen.queries.lock().unwrap(), ["BEGIN"]);
        assert_eq!(ends(&seen, 1).await, [std::io::ErrorKind::UnexpectedEof], "the server got a FIN, not a reset");
        let stats = proxy.filter().unwrap().stats();
        assert_eq!((stats.connections, stats.queries, stats.matched, stats.acted), (1, 2, 1, 1));
        let acted: Vec<EventKind> = timeline.snapshot().events.into_iter().map(|e| e.kind).collect();
        assert_eq!(
            acted,
            [EventKind::LinkFilterActed {
                step: 2,
                source: "coord-1".into(),
                destination: "worker1-1:5432".into(),
                query: "PREPARE TRANSACTION 'x'".into(),
                action: "kill".into(),
                nth: 1,
            }]
        );
    }

    #[tokio::test]
    async fn after_counts_matches_over_every_connection() {
        let (up, seen) = server().await;
        let (proxy, _) = proxy(up, "PREPARE", 2, FilterAction::Kill).await;
        let mut first = client(proxy.listen).await;
        assert_eq!(send(&mut first, "BEGIN").await, Ok(()));
        assert_eq!(send(&mut first, "PREPARE TRANSACTION 'x'").await, Ok(()), "the first match passes");
        let mut second = client(proxy.listen).await;
        assert_eq!(send(&mut second, "COMMIT PREPARED 'x'").await, Err(std::io::ErrorKind::UnexpectedEof));
        // `times: 1`: the third match passes again.
        assert_eq!(send(&mut first, "PREPARE TRANSACTION 'y'").await, Ok(()));
        assert_eq!(*seen.queries.lock().unwrap(), ["BEGIN", "PREPARE TRANSACTION 'x'", "PREPARE TRANSACTION 'y'"]);
        assert_eq!(proxy.filter().unwrap().stats().acted, 1);
    }

    #[tokio::test]
    async fn reset_resets_both_sides() {
        let (up, seen) = server().await;
        let (proxy, _) = proxy(up, "^prepare", 1, FilterAction::Reset).await;
        let mut conn = client(proxy.listen).await;
        assert_eq!(send(&mut conn, "BEGIN").await, Ok(()));
        assert_eq!(send(&mut conn, "PREPARE TRANSACTION 'x'").await, Err(std::io::ErrorKind::ConnectionReset));
        assert_eq!(*seen.queries.lock().unwrap(), ["BEGIN"]);
        assert_eq!(ends(&seen, 1).await, [std::io::ErrorKind::ConnectionReset]);
    }

    #[tokio::test]
    async fn delay_holds_the_match_then_forwards_it() {
        let (up, seen) = server().await;
        let hold = Duration::from_millis(300);
        let (proxy, timeline) = proxy(up, "^PREPARE", 1, FilterAction::Delay(hold)).await;
        let mut conn = client(proxy.listen).await;
        let started = Instant::now();
        assert_eq!(send(&mut conn, "BEGIN").await, Ok(()));
        assert!(started.elapsed() < Duration::from_millis(100), "BEGIN is not held");
        let started = Instant::now();
        assert_eq!(send(&mut conn, "PREPARE TRANSACTION 'x'").await, Ok(()));
        assert!(started.elapsed() >= hold, "held {:?}", started.elapsed());
        assert_eq!(send(&mut conn, "COMMIT PREPARED 'x'").await, Ok(()));
        assert_eq!(seen.queries.lock().unwrap().len(), 3);
        let actions: Vec<String> = timeline
            .snapshot()
            .events
            .into_iter()
            .filter_map(|e| match e.kind {
                EventKind::LinkFilterActed { action, .. } => Some(action),
                _ => None,
            })
            .collect();
        assert_eq!(actions, ["delay 300 ms"]);
    }

    #[tokio::test]
    async fn an_ssl_request_passes_and_tls_is_counted() {
        // A server that answers any first bytes with `N` (SSL refused), as PostgreSQL without TLS does.
        let (up, _) = server().await;
        let (proxy, _) = proxy(up, "x", 1, FilterAction::Kill).await;
        let mut conn = TcpStream::connect(proxy.listen).await.unwrap();
        // An SSLRequest, then (as if the server had said `S`) a TLS ClientHello's first bytes.
        conn.write_all(&super::super::pg_messages::tests::untyped(80_877_103, b"")).await.unwrap();
        conn.write_all(&[0x16, 3, 1, 0, 5]).await.unwrap();
        drop(conn);
        let deadline = Instant::now() + Duration::from_secs(5);
        while proxy.filter().unwrap().stats().tls == 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(proxy.filter().unwrap().stats().tls, 1);
    }

    #[test]
    fn describe_names_the_matches() {
        let pattern = crate::scenario::option_regex("^PREPARE TRANSACTION").unwrap();
        let rule = FilterRule { pattern, after: 2, times: 3, action: FilterAction::Delay(Duration::from_millis(500)) };
        let filter = QueryFilter::new(rule, 0, "coord-1", TimelineWriter::start_now());
        assert_eq!(filter.describe(), "delay 500 ms on matches 2–4 of /^PREPARE TRANSACTION/");
    }
}
