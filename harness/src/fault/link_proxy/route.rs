//! Sending a link through a proxy and measuring it, from inside the link's source container:
//! an iptables nat `OUTPUT` rule in pgdrill's own chain (`PGDRILL_NAT`) rewrites the source's
//! new connections to `destination:port` to the proxy's address; connections already open keep
//! their path (conntrack), so routing resets them (`ss -K`) and the link's clients reconnect
//! through the proxy. Healing deletes that rule (other links' rules stay). The probe is a small Python script run in the
//! source (Patroni's image has Python 3): a PostgreSQL SSLRequest or an etcd `GET /health`, timed
//! from the request to the first byte of the answer, or to the close.
use std::net::SocketAddr;

use crate::fault::executor::{run, Executor};

/// The nat chain pgdrill owns inside a container.
pub const CHAIN_NAT: &str = "PGDRILL_NAT";

/// Picks iptables or iptables-legacy, whichever works, as `$IPT` (as `fault/iptables.rs` does).
const PICK_IPTABLES: &str = "IPT=iptables; $IPT -w 10 -t nat -L -n >/dev/null 2>&1 || IPT=iptables-legacy";

/// The script that sends `destination:port` to `proxy` and resets the link's open connections;
/// it prints how many it reset.
pub fn route_script(destination: &str, port: u16, proxy: SocketAddr) -> String {
    [
        "set -e".to_string(),
        PICK_IPTABLES.to_string(),
        format!("$IPT -w 10 -t nat -N {CHAIN_NAT} 2>/dev/null || true"),
        format!("$IPT -w 10 -t nat -C OUTPUT -j {CHAIN_NAT} 2>/dev/null || $IPT -w 10 -t nat -I OUTPUT -j {CHAIN_NAT}"),
        format!(
            "$IPT -w 10 -t nat -A {CHAIN_NAT} -d {destination} -p tcp --dport {port} -j DNAT --to-destination {proxy}"
        ),
        // Sockets keep their original peer address under NAT: these are the link's connections.
        format!("ss -K -t -n -H dst {destination} dport = :{port} 2>/dev/null | wc -l"),
    ]
    .join("\n")
}

/// Routes the link; returns how many open connections were reset.
pub async fn route(
    executor: &dyn Executor,
    source: &str,
    destination: &str,
    port: u16,
    proxy: SocketAddr,
) -> Result<usize, String> {
    let (code, output) = run(executor, source, &["sh", "-c", &route_script(destination, port, proxy)]).await?;
    if code != 0 {
        return Err(format!("iptables (nat) in {source} failed (exit {code}): {}", output.trim()));
    }
    Ok(output.trim().lines().last().and_then(|l| l.trim().parse().ok()).unwrap_or(0))
}

/// The script that removes the rule [`route_script`] installed (other links' rules stay) and
/// prints how many rules still send to `proxy`.
pub fn unroute_script(destination: &str, port: u16, proxy: SocketAddr) -> String {
    [
        PICK_IPTABLES.to_string(),
        format!(
            "while $IPT -w 10 -t nat -D {CHAIN_NAT} -d {destination} -p tcp --dport {port} -j DNAT --to-destination {proxy} 2>/dev/null; do :; done"
        ),
        format!("$IPT -w 10 -t nat -S {CHAIN_NAT} 2>/dev/null | grep -c -- '--to-destination {proxy}$' || true"),
    ]
    .join("\n")
}

/// Removes the link's rule from `source`; fails when one is left.
pub async fn unroute(
    executor: &dyn Executor,
    source: &str,
    destination: &str,
    port: u16,
    proxy: SocketAddr,
) -> Result<(), String> {
    let (code, output) = run(executor, source, &["sh", "-c", &unroute_script(destination, port, proxy)]).await?;
    let left: usize = output.trim().lines().last().and_then(|l| l.trim().parse().ok()).unwrap_or(usize::MAX);
    match (code, left) {
        (0, 0) => Ok(()),
        (0, n) if n != usize::MAX => Err(format!("{n} nat rule(s) to {proxy} remain in {source} after removing them")),
        _ => Err(format!("removing the nat rule in {source} failed (exit {code}): {}", output.trim())),
    }
}

/// What the destination speaks, for the probe's request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// PostgreSQL: an SSLRequest, answered with one byte; bulk data through `psql`.
    Postgres,
    /// HTTP (etcd): `GET /health`; bulk data is `GET /metrics`.
    Http,
}

/// What one probe measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Request to the first byte of the answer.
    RoundTrip,
    /// From the answer (and, for PostgreSQL, the probe closing its side) to the close.
    Close,
    /// Fetching this many bytes or more (PostgreSQL: a `repeat('x', n)`; HTTP: `/metrics`).
    Bulk(u64),
}

/// How one sample ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Answered (or closed, for [`Mode::Close`]).
    Ok,
    /// Reset by the peer.
    Reset,
    /// Closed without an answer.
    Eof,
    /// Nothing within the bound.
    Silent,
    /// Could not connect or another error.
    Error,
}

/// One timed sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// How it ended.
    pub outcome: Outcome,
    /// Milliseconds it took.
    pub ms: f64,
    /// Bytes received ([`Mode::Bulk`]).
    pub bytes: u64,
}

/// The probe: `proto ip port mode samples bound_s [bulk_bytes]`; one line per sample,
/// `<outcome> <ms> <bytes>`.
const PROBE: &str = r#"
import os, socket, subprocess, sys, time
proto, ip, port, mode, samples, bound = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5]), float(sys.argv[6])
bulk = int(sys.argv[7]) if len(sys.argv) > 7 else 0
REQ = {'pg': b'\x00\x00\x00\x08\x04\xd2\x16\x2f',
       'http': ('GET /%s HTTP/1.0\r\nHost: probe\r\n\r\n' % ('metrics' if mode == 'bulk' else 'health')).encode()}
def psql_bulk():
    t = time.monotonic()
    env = dict(os.environ, PGPASSWORD=os.environ.get('PATRONI_SUPERUSER_PASSWORD', ''), PGCONNECT_TIMEOUT=str(max(2, int(bound))))
    try:
        r = subprocess.run(['psql', '-X', '-At', '-h', ip, '-p', str(port), '-U', sys.argv[8], '-d', 'postgres',
                            '-c', "select repeat('x', %d)" % bulk], env=env, capture_output=True, timeout=bound)
    except subprocess.TimeoutExpired:
        return 'silent %.1f 0' % ((time.monotonic() - t) * 1000)
    ms = (time.monotonic() - t) * 1000
    return ('ok %.1f %d' % (ms, len(r.stdout))) if r.returncode == 0 else ('error %.1f 0' % ms)
def one():
    if mode == 'bulk' and proto == 'pg':
        return psql_bulk()
    t = time.monotonic()
    got = 0
    try:
        s = socket.create_connection((ip, port), timeout=bound)
    except OSError:
        return 'error %.1f 0' % ((time.monotonic() - t) * 1000)
    try:
        s.settimeout(bound)
        t = time.monotonic()
        s.sendall(REQ[proto])
        first = s.recv(65536)
        got = len(first)
        if not first:
            return 'eof %.1f 0' % ((time.monotonic() - t) * 1000)
        if mode == 'rtt':
            return 'ok %.1f %d' % ((time.monotonic() - t) * 1000, got)
        if mode == 'close':
            if proto == 'pg':
                s.shutdown(socket.SHUT_WR)
            t = time.monotonic()
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += len(chunk)
        return 'ok %.1f %d' % ((time.monotonic() - t) * 1000, got)
    except socket.timeout:
        return 'silent %.1f %d' % ((time.monotonic() - t) * 1000, got)
    except ConnectionResetError:
        return 'reset %.1f %d' % ((time.monotonic() - t) * 1000, got)
    except OSError:
        return 'error %.1f %d' % ((time.monotonic() - t) * 1000, got)
    finally:
        s.close()
for _ in range(samples):
    print(one(), flush=True)
"#;

/// One measurement of a link: `samples` probes to `destination:port`, each bounded by `bound_s`.
#[derive(Debug, Clone, Copy)]
pub struct Probe<'a> {
    /// The destination's address.
    pub destination: &'a str,
    /// Its port.
    pub port: u16,
    /// What it speaks.
    pub proto: Protocol,
    /// What is timed.
    pub mode: Mode,
    /// How many samples.
    pub samples: usize,
    /// The longest one sample may wait, in seconds.
    pub bound_s: f64,
}

/// Runs `probe` from inside `source`.
pub async fn probe(executor: &dyn Executor, source: &str, probe: &Probe<'_>) -> Result<Vec<Sample>, String> {
    let Probe { destination, port, proto, mode, samples, bound_s } = *probe;
    let proto_arg = match proto {
        Protocol::Postgres => "pg",
        Protocol::Http => "http",
    };
    let (mode_arg, bulk) = match mode {
        Mode::RoundTrip => ("rtt", 0),
        Mode::Close => ("close", 0),
        Mode::Bulk(bytes) => ("bulk", bytes),
    };
    let (port, samples, bound, bulk) = (port.to_string(), samples.to_string(), format!("{bound_s}"), bulk.to_string());
    let args = [
        "python3",
        "-c",
        PROBE,
        proto_arg,
        destination,
        &port,
        mode_arg,
        &samples,
        &bound,
        &bulk,
        crate::topology::configs::SUPERUSER,
    ];
    let (code, output) = run(executor, source, &args).await?;
    let parsed: Vec<Sample> = output.lines().filter_map(parse_sample).collect();
    if code != 0 || parsed.is_empty() {
        return Err(format!("the link probe in {source} failed (exit {code}): {}", output.trim()));
    }
    Ok(parsed)
}

fn parse_sample(line: &str) -> Option<Sample> {
    let mut words = line.split_whitespace();
    let outcome = match words.next()? {
        "ok" => Outcome::Ok,
        "reset" => Outcome::Reset,
        "eof" => Outcome::Eof,
        "silent" => Outcome::Silent,
        "error" => Outcome::Error,
        _ => return None,
    };
    let ms = words.next()?.parse().ok()?;
    let bytes = words.next().and_then(|b| b.parse().ok()).unwrap_or(0);
    Some(Sample { outcome, ms, bytes })
}

/// The median time of the samples that ended with `outcome` (`None`: none did).
pub fn median_ms(samples: &[Sample], outcome: Outcome) -> Option<f64> {
    let mut times: Vec<f64> = samples.iter().filter(|s| s.outcome == outcome).map(|s| s.ms).collect();
    times.sort_by(f64::total_cmp);
    (!times.is_empty()).then(|| times[times.len() / 2])
}

/// The shortest time of the samples that ended with `outcome` (`None`: none did). A loaded
/// machine only ever adds to a sample, so the fastest is the least noisy figure of a link.
pub fn fastest_ms(samples: &[Sample], outcome: Outcome) -> Option<f64> {
    samples.iter().filter(|s| s.outcome == outcome).map(|s| s.ms).min_by(f64::total_cmp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_rewrites_only_the_link_in_pgdrills_chain() {
        let script = route_script("10.0.0.3", 5432, "10.0.0.1:40000".parse().unwrap());
        assert!(script
            .contains("-t nat -A PGDRILL_NAT -d 10.0.0.3 -p tcp --dport 5432 -j DNAT --to-destination 10.0.0.1:40000"));
        assert!(script.contains("-t nat -I OUTPUT -j PGDRILL_NAT"));
        assert!(script.contains("ss -K -t -n -H dst 10.0.0.3 dport = :5432"));
        let undo = unroute_script("10.0.0.3", 5432, "10.0.0.1:40000".parse().unwrap());
        assert!(undo
            .contains("-t nat -D PGDRILL_NAT -d 10.0.0.3 -p tcp --dport 5432 -j DNAT --to-destination 10.0.0.1:40000"));
    }

    #[test]
    fn samples_parse_and_give_a_median() {
        let samples: Vec<Sample> =
            "ok 10.5 1\nreset 3.0 0\nok 30.0 1\nok 20.0 1\nnoise\n".lines().filter_map(parse_sample).collect();
        assert_eq!(samples.len(), 4);
        assert_eq!(median_ms(&samples, Outcome::Ok), Some(20.0));
        assert_eq!(median_ms(&samples, Outcome::Silent), None);
    }
}
