//! How the page writes times and counts: `2.7s`, `20 ms`, `2 values changed`.
use crate::timeline::Millis;

/// `1 value changed`, `2 values changed`.
pub(super) fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A pause: `2.7s`, or `20 ms` under a second (the writers' rhythm, not "0.0s").
pub(super) fn pause_len(ms: Millis) -> String {
    if ms < 1_000 {
        format!("{ms} ms")
    } else {
        secs(ms)
    }
}

pub(super) fn secs(ms: Millis) -> String {
    format!("{:.1}s", ms as f64 / 1000.0)
}
