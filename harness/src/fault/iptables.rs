//! Network faults inside containers with iptables (this kernel has no `tc netem`): cuts between
//! two sets of containers, one-way or both ways, total or a share of packets. Rules live in
//! pgdrill's own chains so healing is one flush, and their packet counters prove the effect.
use std::time::Duration;

use super::executor::{run, Executor};

/// Chains pgdrill owns inside a container.
const CHAIN_IN: &str = "PGDRILL_IN";
const CHAIN_OUT: &str = "PGDRILL_OUT";
/// How long the drop counters may take to move before the cut counts as having no effect.
const VERIFY_WITHIN: Duration = Duration::from_secs(8);

/// A cut between `side` and `peers`: rules are installed in every container of `side`.
#[derive(Debug, Clone, PartialEq)]
pub struct Cut {
    /// Containers that get the rules (need NET_ADMIN and iptables).
    pub side: Vec<String>,
    /// Containers on the other side of the cut.
    pub peers: Vec<String>,
    /// Drop only what `side` sends to `peers` (replies and peer-initiated traffic still flow in).
    pub one_way: bool,
    /// Drop only this share of packets (0 < p < 1); `None` drops all.
    pub loss: Option<f64>,
}

/// Picks iptables or iptables-legacy, whichever works in the container, as `$IPT`. Every call
/// waits at most 10 s for the xtables lock (`-w 10`), then fails with iptables' own message.
const PICK_IPTABLES: &str = "IPT=iptables; $IPT -w 10 -L -n >/dev/null 2>&1 || IPT=iptables-legacy";

fn drop_target(loss: Option<f64>) -> String {
    match loss {
        Some(p) => format!("-m statistic --mode random --probability {p:.4} -j DROP"),
        None => "-j DROP".to_string(),
    }
}

/// The shell script that installs a cut's rules in one container.
pub fn install_script(peer_ips: &[String], one_way: bool, loss: Option<f64>) -> String {
    let mut lines = vec![
        "set -e".to_string(),
        PICK_IPTABLES.to_string(),
        format!("$IPT -w 10 -N {CHAIN_IN} 2>/dev/null || true"),
        format!("$IPT -w 10 -N {CHAIN_OUT} 2>/dev/null || true"),
        format!("$IPT -w 10 -C INPUT -j {CHAIN_IN} 2>/dev/null || $IPT -w 10 -I INPUT -j {CHAIN_IN}"),
        format!("$IPT -w 10 -C OUTPUT -j {CHAIN_OUT} 2>/dev/null || $IPT -w 10 -I OUTPUT -j {CHAIN_OUT}"),
    ];
    let target = drop_target(loss);
    for ip in peer_ips {
        lines.push(format!("$IPT -w 10 -A {CHAIN_OUT} -d {ip} {target}"));
        if !one_way {
            lines.push(format!("$IPT -w 10 -A {CHAIN_IN} -s {ip} {target}"));
        }
    }
    lines.join("\n")
}

/// Script printing the summed packet counters of pgdrill's chains ("0" when there are none).
fn counter_script() -> String {
    format!(
        "{PICK_IPTABLES}; ( $IPT -w 10 -L {CHAIN_IN} -v -n -x 2>/dev/null; $IPT -w 10 -L {CHAIN_OUT} -v -n -x 2>/dev/null ) \
         | awk '$3 == \"DROP\" {{ s += $1 }} END {{ print s + 0 }}'"
    )
}

/// Script printing how many pgdrill rules exist: the cuts' filter chains, and with `nat` the
/// link faults' nat chain too (the end-of-run audit counts both; a cut's undo only its own).
fn rule_count_script(nat: bool) -> String {
    let nat = if nat {
        format!("; $IPT -w 10 -t nat -S {} 2>/dev/null", super::link_proxy::route::CHAIN_NAT)
    } else {
        String::new()
    };
    format!(
        "{PICK_IPTABLES}; ( $IPT -w 10 -S {CHAIN_IN} 2>/dev/null; $IPT -w 10 -S {CHAIN_OUT} 2>/dev/null{nat} ) \
         | grep -c -- '^-A' || true"
    )
}

/// Installs the cut. Errors name the container and iptables' output.
pub async fn install(executor: &dyn Executor, cut: &Cut) -> Result<(), String> {
    let mut peer_ips = Vec::new();
    for peer in &cut.peers {
        match executor.address(peer).await.map_err(|e| e.to_string())? {
            Some(ip) => peer_ips.push(ip),
            None => return Err(format!("{peer} has no address on the run network (stopped or disconnected?)")),
        }
    }
    let script = install_script(&peer_ips, cut.one_way, cut.loss);
    for container in &cut.side {
        let (code, output) = run(executor, container, &["sh", "-c", &script]).await?;
        if code != 0 {
            return Err(format!("iptables in {container} failed (exit {code}): {}", output.trim()));
        }
    }
    Ok(())
}

/// Sum of the drop counters over the cut's side.
async fn dropped_packets(executor: &dyn Executor, side: &[String]) -> Result<u64, String> {
    let script = counter_script();
    let mut total = 0;
    for container in side {
        let (_, output) = run(executor, container, &["sh", "-c", &script]).await?;
        total += output.trim().parse::<u64>().unwrap_or(0);
    }
    Ok(total)
}

/// Proves the cut works: the DROP rules' packet counters must grow (Patroni, etcd and
/// replication talk continuously, so a real cut drops packets within seconds).
pub async fn verify(executor: &dyn Executor, cut: &Cut) -> Result<String, String> {
    let start = tokio::time::Instant::now();
    loop {
        let dropped = dropped_packets(executor, &cut.side).await?;
        if dropped > 0 {
            return Ok(format!("iptables dropped {dropped} packets between {:?} and {:?}", cut.side, cut.peers));
        }
        if start.elapsed() >= VERIFY_WITHIN {
            return Err(format!(
                "no packet dropped within {}s between {:?} and {:?}",
                VERIFY_WITHIN.as_secs(),
                cut.side,
                cut.peers
            ));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Removes every pgdrill rule in `container` (a stopped container has none to remove).
pub async fn heal(executor: &dyn Executor, container: &str) -> Result<(), String> {
    let script =
        format!("{PICK_IPTABLES}; $IPT -w 10 -F {CHAIN_IN} 2>/dev/null; $IPT -w 10 -F {CHAIN_OUT} 2>/dev/null; true");
    let (code, output) = run(executor, container, &["sh", "-c", &script]).await?;
    if code == 0 {
        Ok(())
    } else {
        Err(format!("flushing iptables in {container} failed: {}", output.trim()))
    }
}

/// How many cut rules remain in `container`.
pub async fn remaining_cut_rules(executor: &dyn Executor, container: &str) -> Result<usize, String> {
    count_rules(executor, container, false).await
}

/// How many pgdrill iptables rules remain in `container`: cuts and link routes.
pub async fn remaining_rules(executor: &dyn Executor, container: &str) -> Result<usize, String> {
    count_rules(executor, container, true).await
}

async fn count_rules(executor: &dyn Executor, container: &str, nat: bool) -> Result<usize, String> {
    let (_, output) = run(executor, container, &["sh", "-c", &rule_count_script(nat)]).await?;
    Ok(output.trim().lines().last().unwrap_or("0").trim().parse().unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::install_script;

    #[test]
    fn both_ways_drops_in_and_out() {
        let script = install_script(&["10.0.0.2".into()], false, None);
        assert!(script.contains("-A PGDRILL_OUT -d 10.0.0.2 -j DROP"));
        assert!(script.contains("-A PGDRILL_IN -s 10.0.0.2 -j DROP"));
    }

    #[test]
    fn one_way_drops_only_outgoing() {
        let script = install_script(&["10.0.0.2".into()], true, None);
        assert!(script.contains("-A PGDRILL_OUT -d 10.0.0.2"));
        assert!(!script.contains("-A PGDRILL_IN"));
    }

    #[test]
    fn loss_uses_statistic_match() {
        let script = install_script(&["10.0.0.2".into()], false, Some(0.3));
        assert!(script.contains("-m statistic --mode random --probability 0.3000 -j DROP"));
    }
}
