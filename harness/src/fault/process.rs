//! Process-level faults inside a member container: SIGKILL of the postmaster (Patroni keeps
//! running and decides what to do), proven by the old postmaster pid being gone.
use std::time::Duration;

use super::executor::{run, Executor};

const VERIFY_WITHIN: Duration = Duration::from_secs(5);

/// Kills the oldest `postgres` process (the postmaster) with SIGKILL; returns its pid.
pub async fn kill_postmaster(executor: &dyn Executor, member: &str) -> Result<u32, String> {
    let script =
        "pid=$(pgrep -o -x postgres) || { echo 'no postgres process'; exit 3; }; kill -KILL \"$pid\"; echo \"$pid\"";
    let (code, output) = run(executor, member, &["sh", "-c", script]).await?;
    if code != 0 {
        return Err(format!("{member}: {}", output.trim()));
    }
    output
        .trim()
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .ok_or_else(|| format!("{member}: unexpected output {output:?}"))
}

/// Proves the postmaster `pid` no longer exists (Patroni may already have started a new one).
pub async fn verify_gone(executor: &dyn Executor, member: &str, pid: u32) -> Result<String, String> {
    let start = tokio::time::Instant::now();
    let script = format!("if kill -0 {pid} 2>/dev/null && [ \"$(cat /proc/{pid}/stat 2>/dev/null | cut -d' ' -f3)\" != Z ]; then echo alive; else echo gone; fi; pgrep -o -x postgres || true");
    loop {
        let (_, output) = run(executor, member, &["sh", "-c", &script]).await?;
        let mut lines = output.lines();
        if lines.next().map(str::trim) == Some("gone") {
            let now = lines.next().map(str::trim).filter(|l| !l.is_empty());
            return Ok(match now {
                Some(new) => format!("postmaster pid {pid} gone (new postmaster pid {new})"),
                None => format!("postmaster pid {pid} gone, no postgres running"),
            });
        }
        if start.elapsed() >= VERIFY_WITHIN {
            return Err(format!("postmaster pid {pid} still alive after {}s", VERIFY_WITHIN.as_secs()));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Keeps the image's supervisor from restarting Patroni (hold file), then SIGKILLs Patroni.
/// PostgreSQL keeps running, orphaned to the container's init.
pub async fn kill_patroni(executor: &dyn Executor, member: &str, hold_file: &str) -> Result<(), String> {
    let script = format!(
        "touch {hold_file} && pid=$(pgrep -o -f '[b]in/patroni /etc') || {{ echo 'no patroni process'; exit 3; }}; kill -KILL \"$pid\"; echo \"$pid\""
    );
    let (code, output) = run(executor, member, &["sh", "-c", &script]).await?;
    if code == 0 {
        Ok(())
    } else {
        Err(format!("{member}: {}", output.trim()))
    }
}

/// Proves Patroni is gone while PostgreSQL still runs.
pub async fn verify_patroni_down(executor: &dyn Executor, member: &str) -> Result<String, String> {
    let start = tokio::time::Instant::now();
    let script = "if pgrep -f '[b]in/patroni /etc' >/dev/null; then echo patroni-alive; else echo patroni-gone; fi; pgrep -o -x postgres || echo none";
    loop {
        let (_, output) = run(executor, member, &["sh", "-c", script]).await?;
        let mut lines = output.lines().map(str::trim);
        let patroni = lines.next().unwrap_or_default();
        let postgres = lines.next().unwrap_or("none");
        if patroni == "patroni-gone" {
            return Ok(format!("{member}: Patroni gone, postmaster pid {postgres} still running"));
        }
        if start.elapsed() >= VERIFY_WITHIN {
            return Err(format!("Patroni still running after {}s", VERIFY_WITHIN.as_secs()));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Removes the hold file so the supervisor starts Patroni again.
pub async fn resume_patroni(executor: &dyn Executor, member: &str, hold_file: &str) -> Result<(), String> {
    let (code, output) = run(executor, member, &["rm", "-f", hold_file]).await?;
    if code == 0 {
        Ok(())
    } else {
        Err(format!("{member}: {}", output.trim()))
    }
}
