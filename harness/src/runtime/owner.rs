//! Who owns a run's resources, written on every container and network as labels, so that another
//! process (a later `pgdrill clean`, maybe in another container or on another machine that
//! shares the Docker engine) can tell whether that run still goes on.
//!
//! A pid alone cannot say so: pids are reused (a leftover would look alive for as long as some
//! unrelated process holds its number), they mean something else in another pid namespace (a CI
//! container), and nothing at all on another host. So the owner is named by host identity, boot
//! id, pid and the process's start time: a run is alive only if the same host, booted the same
//! time, still has that pid, started at that same tick.
use std::collections::HashMap;
use std::sync::OnceLock;

/// Label: the harness's process id.
pub const LABEL_PID: &str = "org.pgdrill.pid";
/// Label: the host identity of the harness (hostname and pid namespace).
pub const LABEL_HOST: &str = "org.pgdrill.host";
/// Label: the boot id of the harness's kernel (`/proc/sys/kernel/random/boot_id`).
pub const LABEL_BOOT: &str = "org.pgdrill.boot";
/// Label: the harness process's start time, in clock ticks since boot (`/proc/<pid>/stat` field 22).
pub const LABEL_STARTED: &str = "org.pgdrill.started";
/// Label (value "1") of runs left running on purpose (`--keep`, `pgdrill up`): only
/// `pgdrill down RUN_ID` and `pgdrill clean --kept` remove them.
pub const LABEL_KEPT: &str = "org.pgdrill.kept";

/// The process that created a resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// Hostname and pid namespace, e.g. `ci-runner/pid:[4026531836]`: two containers on one
    /// kernel share the boot id but not (usually) the hostname, and never the pid namespace.
    pub host: String,
    /// The kernel's boot id: after a reboot no process of before is alive, whatever its pid.
    pub boot: String,
    /// Process id (in `host`'s pid namespace).
    pub pid: u32,
    /// Start time in clock ticks since boot: tells a reused pid from the original process.
    pub started: u64,
}

/// What a resource's owner labels say about its run, seen from this process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Liveness {
    /// Created by this very process.
    Mine,
    /// Its harness process is still running on this host.
    Alive,
    /// Its harness process is gone (exited, killed, or the host rebooted since).
    Dead,
    /// Created on another host (or pid namespace): whether it still runs cannot be seen from here.
    Unknown,
}

impl Owner {
    /// This process (read once).
    pub fn current() -> &'static Owner {
        static CURRENT: OnceLock<Owner> = OnceLock::new();
        CURRENT.get_or_init(|| {
            let pid = std::process::id();
            Owner { host: host_identity(), boot: boot_id(), pid, started: start_time(pid).unwrap_or(0) }
        })
    }

    /// The labels naming this owner.
    pub fn labels(&self) -> [(String, String); 4] {
        [
            (LABEL_HOST.to_string(), self.host.clone()),
            (LABEL_BOOT.to_string(), self.boot.clone()),
            (LABEL_PID.to_string(), self.pid.to_string()),
            (LABEL_STARTED.to_string(), self.started.to_string()),
        ]
    }

    /// Whether the owner named by `labels` still runs, judged by this process.
    pub fn liveness_of(&self, labels: &HashMap<String, String>) -> Liveness {
        liveness(self, labels, start_time)
    }
}

/// The judgement, with the reading of a process's start time passed in (unit tests fake it).
fn liveness(me: &Owner, labels: &HashMap<String, String>, started_of: impl Fn(u32) -> Option<u64>) -> Liveness {
    let pid = labels.get(LABEL_PID).and_then(|p| p.parse::<u32>().ok());
    let Some(host) = labels.get(LABEL_HOST) else {
        // Labelled by an older pgdrill (pid only): alive while that pid exists here, as before.
        return match pid {
            Some(pid) if pid != me.pid && started_of(pid).is_some() => Liveness::Alive,
            _ => Liveness::Dead,
        };
    };
    if *host != me.host {
        return Liveness::Unknown;
    }
    if labels.get(LABEL_BOOT) != Some(&me.boot) {
        return Liveness::Dead;
    }
    let started = labels.get(LABEL_STARTED).and_then(|s| s.parse::<u64>().ok());
    let (Some(pid), Some(started)) = (pid, started) else { return Liveness::Dead };
    if pid == me.pid && started == me.started {
        return Liveness::Mine;
    }
    if started_of(pid) == Some(started) {
        Liveness::Alive
    } else {
        Liveness::Dead
    }
}

fn read_trimmed(path: &str) -> Option<String> {
    std::fs::read_to_string(path).ok().map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

fn host_identity() -> String {
    let name = read_trimmed("/proc/sys/kernel/hostname").unwrap_or_else(|| "unknown-host".into());
    let pid_ns = std::fs::read_link("/proc/self/ns/pid").map(|p| p.display().to_string()).unwrap_or_default();
    format!("{name}/{pid_ns}")
}

fn boot_id() -> String {
    read_trimmed("/proc/sys/kernel/random/boot_id").unwrap_or_else(|| "unknown-boot".into())
}

/// Field 22 of `/proc/<pid>/stat` (`None`: no such process).
fn start_time(pid: u32) -> Option<u64> {
    parse_start_time(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// The command name (field 2) is in parentheses and may itself hold spaces and parentheses:
/// fields are counted from the last `)`, which ends it.
fn parse_start_time(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    // `rest` starts at field 3 (state); field 22 is the 20th from there.
    rest.split_whitespace().nth(19)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn me() -> Owner {
        Owner { host: "h/pid:[1]".into(), boot: "b1".into(), pid: 100, started: 5000 }
    }

    fn labels(host: Option<&str>, boot: &str, pid: u32, started: u64) -> HashMap<String, String> {
        let mut l = HashMap::from([
            (LABEL_BOOT.to_string(), boot.to_string()),
            (LABEL_PID.to_string(), pid.to_string()),
            (LABEL_STARTED.to_string(), started.to_string()),
        ]);
        if let Some(host) = host {
            l.insert(LABEL_HOST.to_string(), host.to_string());
        }
        l
    }

    #[test]
    fn same_process_same_start_is_alive_a_reused_pid_is_not() {
        let running = |pid: u32| (pid == 200).then_some(7000);
        assert_eq!(liveness(&me(), &labels(Some("h/pid:[1]"), "b1", 200, 7000), running), Liveness::Alive);
        assert_eq!(liveness(&me(), &labels(Some("h/pid:[1]"), "b1", 200, 6999), running), Liveness::Dead);
        assert_eq!(liveness(&me(), &labels(Some("h/pid:[1]"), "b1", 201, 7000), running), Liveness::Dead);
        assert_eq!(liveness(&me(), &labels(Some("h/pid:[1]"), "b1", 100, 5000), running), Liveness::Mine);
    }

    #[test]
    fn another_boot_is_dead_another_host_is_unknown() {
        let everything_runs = |_: u32| Some(7000);
        assert_eq!(liveness(&me(), &labels(Some("h/pid:[1]"), "b0", 200, 7000), everything_runs), Liveness::Dead);
        assert_eq!(liveness(&me(), &labels(Some("ci/pid:[9]"), "b1", 200, 7000), everything_runs), Liveness::Unknown);
    }

    #[test]
    fn older_pid_only_labels_fall_back_to_the_pid() {
        let running = |pid: u32| (pid == 200).then_some(1);
        assert_eq!(liveness(&me(), &labels(None, "", 200, 0), running), Liveness::Alive);
        assert_eq!(liveness(&me(), &labels(None, "", 300, 0), running), Liveness::Dead);
    }

    #[test]
    fn start_time_is_field_22_even_with_parentheses_in_the_name() {
        let stat = "42 (a) b (c)) S 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 98765 1000 10";
        assert_eq!(parse_start_time(stat), Some(98765));
        let own = start_time(std::process::id());
        assert!(own.is_some_and(|t| t > 0), "reads this process's start time: {own:?}");
    }
}
