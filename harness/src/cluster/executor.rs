//! The cluster file's `executor:` section: how faults act on a cluster pgdrill did not start (a
//! shell command template per action) and which members they may touch.
use serde::Deserialize;
use serde_saphyr::Spanned;

use super::file::{ClusterFile, Problem};
use crate::scenario::Budget;

/// Placeholders a template may use; anything else in `{…}` that looks like one is refused.
pub const PLACEHOLDERS: &[&str] = &["member", "host", "command", "signal", "grace", "cpus"];

/// How faults act on the members.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecutorSection {
    /// `command`: every action is a shell command made from a template.
    pub kind: Spanned<String>,
    /// The members faults may act on; an action on any other is refused, whatever the scenario
    /// says.
    pub allow: Vec<Spanned<String>>,
    /// Shell text run before every template (helper functions, `set -e`).
    #[serde(default)]
    pub prelude: Option<Spanned<String>>,
    /// Bound on one command (default 30s).
    #[serde(default)]
    pub timeout: Option<Spanned<Budget>>,
    /// One template per action; an action without one cannot be performed.
    pub templates: Templates,
}

/// Shell command templates, one per action. `{member}` is the member's name, `{host}` its host;
/// substituted values are shell-quoted.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Templates {
    /// SIGKILL the member (`kill`); `{signal}` is the signal's name for other signals.
    #[serde(default)]
    pub kill: Option<Spanned<String>>,
    /// Stop it gracefully within `{grace}` seconds.
    #[serde(default)]
    pub stop: Option<Spanned<String>>,
    /// Start it again.
    #[serde(default)]
    pub start: Option<Spanned<String>>,
    /// Freeze every process of it.
    #[serde(default)]
    pub pause: Option<Spanned<String>>,
    /// Thaw it.
    #[serde(default)]
    pub unpause: Option<Spanned<String>>,
    /// The check: prints the member's state (`running`, `paused`, `exited`, …), optionally
    /// followed by an exit code.
    #[serde(default)]
    pub state: Option<Spanned<String>>,
    /// Runs `{command}` (shell-quoted words) on the member as root: what the process faults and
    /// iptables cuts (`partition`, `isolate`, `loss`, their heal) act through.
    #[serde(default)]
    pub exec: Option<Spanned<String>>,
    /// Prints the member's address its peers reach it at (for iptables cuts).
    #[serde(default)]
    pub address: Option<Spanned<String>>,
    /// Detaches the member from the network.
    #[serde(default)]
    pub disconnect: Option<Spanned<String>>,
    /// Attaches it again.
    #[serde(default)]
    pub reconnect: Option<Spanned<String>>,
    /// Limits its CPUs to `{cpus}` (`0`: no limit).
    #[serde(default)]
    pub limit_cpus: Option<Spanned<String>>,
    /// Prints its CPU limit (`0` or empty: none).
    #[serde(default)]
    pub cpu_limit: Option<Spanned<String>>,
}

impl Templates {
    /// Every template by its key (absent ones as `None`).
    pub fn all(&self) -> [(&'static str, Option<&Spanned<String>>); 12] {
        [
            ("kill", self.kill.as_ref()),
            ("stop", self.stop.as_ref()),
            ("start", self.start.as_ref()),
            ("pause", self.pause.as_ref()),
            ("unpause", self.unpause.as_ref()),
            ("state", self.state.as_ref()),
            ("exec", self.exec.as_ref()),
            ("address", self.address.as_ref()),
            ("disconnect", self.disconnect.as_ref()),
            ("reconnect", self.reconnect.as_ref()),
            ("limit_cpus", self.limit_cpus.as_ref()),
            ("cpu_limit", self.cpu_limit.as_ref()),
        ]
    }

    /// The template called `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.all().into_iter().find(|(k, _)| *k == key).and_then(|(_, t)| t).map(|t| t.value.as_str())
    }

    /// The keys that have a template.
    pub fn present(&self) -> Vec<&'static str> {
        self.all().into_iter().filter(|(_, t)| t.is_some()).map(|(k, _)| k).collect()
    }
}

/// `{name}` placeholders in `template` that are not known (`{{…}}` of Go templates and `${…}`
/// of the shell are left alone).
pub fn unknown_placeholders(template: &str) -> Vec<String> {
    let bytes = template.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'{' && (i == 0 || (bytes[i - 1] != b'{' && bytes[i - 1] != b'$')) {
            if let Some(len) = template[i + 1..].find('}') {
                let name = &template[i + 1..i + 1 + len];
                let looks_like_one = !name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase() || c == '_');
                if looks_like_one && !PLACEHOLDERS.contains(&name) {
                    out.push(name.to_string());
                }
                i += len + 1;
            }
        }
        i += 1;
    }
    out
}

/// Everything wrong with the `executor:` section.
pub(super) fn problems(file: &ClusterFile, out: &mut Vec<Problem>) {
    let Some(section) = &file.executor else { return };
    let executor = &section.value;
    if executor.kind.value != "command" {
        out.push(Problem::at(
            executor.kind.referenced,
            format!("executor kind {:?} is not known; allowed: command", executor.kind.value),
        ));
    }
    let members: Vec<&str> = file.members.iter().map(|m| m.value.name.value.as_str()).collect();
    if executor.allow.is_empty() {
        out.push(Problem::at(section.referenced, "executor.allow: name the members faults may act on"));
    }
    for allowed in &executor.allow {
        if !members.contains(&allowed.value.as_str()) {
            out.push(Problem::at(
                allowed.referenced,
                format!("allow names {:?}, which is not a member; members: {}", allowed.value, members.join(", ")),
            ));
        }
    }
    for (key, template) in executor.templates.all() {
        let Some(template) = template else { continue };
        for name in unknown_placeholders(&template.value) {
            out.push(Problem::at(
                template.referenced,
                format!(
                    "template {key} uses {{{name}}}, which is not a placeholder; allowed: {}",
                    PLACEHOLDERS.join(", ")
                ),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::unknown_placeholders;

    #[test]
    fn only_unknown_simple_placeholders_are_reported() {
        assert!(unknown_placeholders("docker kill {member}").is_empty());
        assert!(unknown_placeholders("docker inspect -f '{{.State.Status}}' {member}").is_empty());
        assert!(unknown_placeholders("echo ${HOME} {host}").is_empty());
        assert_eq!(unknown_placeholders("ssh {hots} true"), ["hots"]);
    }
}
