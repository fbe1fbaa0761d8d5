//! Waking Patroni's HA loops while a cluster pgdrill started comes up, so the first `wait:
//! healthy` does not sit out `loop_wait` between the steps of a bootstrap.
//!
//! A member's HA loop sleeps `loop_wait` between cycles unless something wakes it. While a
//! cluster comes up that costs whole loops: a replica started before the leader key exists waits
//! a loop to see it; the primary of a `synchronous_mode` cluster names a streaming replica the
//! sync standby only in its next cycle and writes `/sync` in the one after. Patroni's
//! `PATCH /config` ends with `ha.wakeup()` even when the patch changes nothing and so writes
//! nothing to the DCS (`api.py`, `do_PATCH_config`; `utils.patch_config` removing a key that is
//! not there reports no change): a pure wake-up. ttl, loop_wait and retry_timeout stay the
//! scenario's, and nothing is woken once the cluster is healthy: failovers are measured with
//! Patroni's own timers. Attached clusters are never woken (they are already up).
//! `PGDRILL_WAKE_HA_LOOPS=0` turns it off, to measure a cluster coming up on Patroni's timers.
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::future::join_all;

use crate::fault::rest::PatroniApi;

/// How often every member is woken while the cluster comes up: well under any `loop_wait`, and
/// a cycle of a cluster coming up takes ~100 ms.
const INTERVAL: Duration = Duration::from_millis(500);

/// Runs `wait` while waking every member in `members` each [`INTERVAL`]; returns what `wait`
/// returned and how many wake-ups Patroni took (HTTP 200: a member without the cluster's
/// configuration in the DCS yet answers 503 and is asked again). The wake-ups run beside `wait`,
/// never delaying it.
pub async fn while_coming_up<T>(members: &[PatroniApi], wait: impl Future<Output = T>) -> (T, usize) {
    if std::env::var("PGDRILL_WAKE_HA_LOOPS").is_ok_and(|v| v == "0") {
        return (wait.await, 0);
    }
    let woken = AtomicUsize::new(0);
    let waking = async {
        let mut ticks = tokio::time::interval(INTERVAL);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let answers = join_all(members.iter().map(PatroniApi::wake_ha_loop)).await;
            woken.fetch_add(answers.into_iter().filter(|took| *took).count(), Ordering::Relaxed);
        }
    };
    tokio::select! {
        out = wait => (out, woken.load(Ordering::Relaxed)),
        _ = waking => unreachable!("the wake-ups never end on their own"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fault::RestAuth;
    use crate::topology::Secret;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A REST API that answers every request with `status` and counts the PATCHes of `/config`
    /// carrying the no-op patch.
    async fn fake_patroni(status: u16) -> (PatroniApi, std::sync::Arc<AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("address").port();
        let patches = std::sync::Arc::new(AtomicUsize::new(0));
        let counted = patches.clone();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let mut request = vec![0; 4096];
                let n = stream.read(&mut request).await.unwrap_or(0);
                let text = String::from_utf8_lossy(&request[..n]);
                if text.starts_with("PATCH /config ") && text.contains(r#"{"pgdrill_wakeup":null}"#) {
                    counted.fetch_add(1, Ordering::Relaxed);
                }
                let answer = format!("HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
                let _ = stream.write_all(answer.as_bytes()).await;
            }
        });
        (PatroniApi::on_port(port, RestAuth::new("patroni", Secret::from_source("x".into()))), patches)
    }

    #[tokio::test]
    async fn wakes_every_member_until_the_wait_ends_and_counts_what_patroni_took() {
        let (took, took_patches) = fake_patroni(200).await;
        let (refused, refused_patches) = fake_patroni(503).await;
        let wait = async {
            tokio::time::sleep(Duration::from_millis(1200)).await;
            "healthy"
        };
        let (out, woken) = while_coming_up(&[took, refused], wait).await;
        assert_eq!(out, "healthy");
        // Ticks at 0, 0.5 and 1.0 s: three wake-ups each, only the 200s counted.
        assert_eq!(took_patches.load(Ordering::Relaxed), 3);
        assert_eq!(refused_patches.load(Ordering::Relaxed), 3);
        assert_eq!(woken, 3);
    }
}
