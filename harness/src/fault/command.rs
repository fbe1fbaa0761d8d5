//! The executor for clusters pgdrill did not start: every operation is a shell command made from
//! the cluster file's template for it (`docker kill …`, `kubectl delete pod …`, `ssh {host} …`),
//! run with `sh -c` in the cluster file's folder under a bound; Patroni's REST API is reached at
//! each member's URL with the cluster file's credential. Values put into a template are
//! shell-quoted and must be plain identifiers; members not on the allow-list are never acted on;
//! every command goes to the run's audit log with its result.
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;

use super::executor::{CommandOutput, ContainerState, Executor, ExecutorError, Operation};
use super::rest::{PatroniApi, RestAuth};
use super::ActionLog;

/// One member as the command executor knows it.
#[derive(Debug, Clone)]
pub struct CommandMember {
    /// `{member}` in templates and the name Patroni knows it by (the cluster file's `name`; the
    /// executor's own keys are the names the scenario drills it as).
    pub name: String,
    /// `{host}` in templates.
    pub host: String,
    /// Its Patroni REST API's base URL.
    pub rest_url: String,
    /// Its own PostgreSQL as the cluster file's superuser (read by proofs, any member).
    pub pg: crate::pg::PgEndpoint,
}

/// What a command executor is made of (from the cluster file).
#[derive(Debug, Clone)]
pub struct CommandConfig {
    /// Every member, by name.
    pub members: BTreeMap<String, CommandMember>,
    /// The members it may act on.
    pub allow: BTreeSet<String>,
    /// Template per key (`kill`, `stop`, … as [`Operation::template`] names them).
    pub templates: BTreeMap<String, String>,
    /// Shell text run before every template.
    pub prelude: Option<String>,
    /// The folder commands run in (the cluster file's).
    pub workdir: PathBuf,
    /// Bound on one command.
    pub timeout: Duration,
    /// The environment's name (the executor's "network", for proofs and messages).
    pub environment: String,
}

/// Faults through command templates.
#[derive(Debug, Clone)]
pub struct CommandExecutor {
    config: CommandConfig,
    rest: RestAuth,
    log: ActionLog,
    /// The run's name of each member → Patroni's, for the REST calls that name members.
    patroni_names: std::collections::BTreeMap<String, String>,
}

/// Values substituted for one command: `{member}`, `{host}` and the operation's own.
#[derive(Debug, Default)]
struct Values<'a> {
    member: &'a str,
    host: &'a str,
    extra: Vec<(&'static str, String)>,
}

/// A value fit for a template: a plain identifier (names and hosts), then shell-quoted anyway.
fn quoted_identifier(value: &str) -> Result<String, String> {
    if !crate::cluster::plain_identifier(value) {
        return Err(format!("{value:?} is not a plain identifier (letters, digits, `.`, `_`, `-`); refused"));
    }
    shlex::try_quote(value).map(|q| q.into_owned()).map_err(|e| e.to_string())
}

/// Shell-quotes every word and joins them (for `{command}`).
pub fn quote_words(words: &[&str]) -> Result<String, String> {
    shlex::try_join(words.iter().copied()).map_err(|e| e.to_string())
}

/// `template` with its placeholders replaced (`{member}` and `{host}` checked and quoted; the
/// extra values are already shell words).
fn render(template: &str, values: &Values<'_>) -> Result<String, String> {
    let mut out = template.replace("{member}", &quoted_identifier(values.member)?);
    if out.contains("{host}") {
        out = out.replace("{host}", &quoted_identifier(values.host)?);
    }
    for (key, value) in &values.extra {
        out = out.replace(&format!("{{{key}}}"), value);
    }
    Ok(out)
}

impl CommandExecutor {
    /// An executor running `config`'s templates, calling Patroni's REST API with `rest`, and
    /// recording every action in `log`.
    pub fn new(config: CommandConfig, rest: RestAuth, log: ActionLog) -> Self {
        let patroni_names = config.members.iter().map(|(drilled, m)| (drilled.clone(), m.name.clone())).collect();
        Self { config, rest, log, patroni_names }
    }

    /// The audit log.
    pub fn log(&self) -> &ActionLog {
        &self.log
    }

    /// The command `operation` would run on `member` (for `--dry-run` and error messages);
    /// `command` is `exec`'s words.
    pub fn preview(&self, operation: Operation, member: &str, command: &[&str]) -> Result<String, String> {
        let key = operation.template().ok_or("a Patroni REST call, not a command")?;
        let extra = match operation {
            Operation::Signal => vec![("signal", "KILL".to_string())],
            Operation::Stop => vec![("grace", "10".to_string())],
            Operation::Exec => vec![("command", quote_words(command)?)],
            Operation::LimitCpus => vec![("cpus", "0.5".to_string())],
            _ => Vec::new(),
        };
        self.script(key, member, extra)
    }

    fn script(&self, key: &str, member: &str, extra: Vec<(&'static str, String)>) -> Result<String, String> {
        let template =
            self.config.templates.get(key).ok_or_else(|| format!("the cluster file has no `{key}` template"))?;
        let known =
            self.config.members.get(member).ok_or_else(|| format!("{member} is not a member of the cluster file"))?;
        let body = render(template, &Values { member: &known.name, host: &known.host, extra })?;
        Ok(match &self.config.prelude {
            Some(prelude) => format!("{prelude}\n{body}"),
            None => body,
        })
    }

    /// Runs template `key` on `member`; refuses members off the allow-list when `acts` (reads of
    /// state and addresses may look at any member). Returns the exit code and the output.
    async fn run(
        &self,
        key: &'static str,
        member: &str,
        acts: bool,
        extra: Vec<(&'static str, String)>,
    ) -> Result<CommandOutput, ExecutorError> {
        let action = format!("{key} {member}");
        if acts && !self.config.allow.contains(member) {
            let allowed: Vec<&str> = self.config.allow.iter().map(String::as_str).collect();
            let why = format!("{member} is not on the cluster file's allow-list ({})", allowed.join(", "));
            self.log.record(key, member, "", &format!("refused: {why}"));
            return Err(ExecutorError::new(action, format!("refused: {why}")));
        }
        let script = match self.script(key, member, extra) {
            Ok(script) => script,
            Err(why) => {
                self.log.record(key, member, "", &format!("refused: {why}"));
                return Err(ExecutorError::new(action, why));
            }
        };
        let child = tokio::process::Command::new("sh")
            .arg("-c")
            .arg(&script)
            .current_dir(&self.config.workdir)
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true)
            .output();
        let outcome = tokio::time::timeout(self.config.timeout, child).await;
        let output = match outcome {
            Err(_) => {
                let why = format!("no answer within {}s (the command was killed)", self.config.timeout.as_secs());
                self.log.record(key, member, &script, &format!("timeout: {why}"));
                return Err(ExecutorError::new(action, why));
            }
            Ok(Err(e)) => {
                self.log.record(key, member, &script, &format!("failed to run sh: {e}"));
                return Err(ExecutorError::new(action, format!("failed to run sh: {e}")));
            }
            Ok(Ok(output)) => output,
        };
        let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&output.stderr));
        let code = i64::from(output.status.code().unwrap_or(-1));
        let result = if code == 0 { format!("ok: {}", text.trim()) } else { format!("exit {code}: {}", text.trim()) };
        self.log.record(key, member, &script, &result);
        Ok(CommandOutput { code, output: text })
    }

    /// Runs template `key` and fails unless it exits 0.
    async fn act(
        &self,
        key: &'static str,
        member: &str,
        extra: Vec<(&'static str, String)>,
    ) -> Result<String, ExecutorError> {
        let out = self.run(key, member, true, extra).await?;
        if out.code == 0 {
            Ok(out.output)
        } else {
            Err(ExecutorError::new(format!("{key} {member}"), format!("exit {}: {}", out.code, out.output.trim())))
        }
    }

    async fn read(&self, key: &'static str, member: &str) -> Result<String, ExecutorError> {
        let out = self.run(key, member, false, Vec::new()).await?;
        if out.code == 0 {
            Ok(out.output)
        } else {
            Err(ExecutorError::new(format!("{key} {member}"), format!("exit {}: {}", out.code, out.output.trim())))
        }
    }
}

/// The `state` template's answer: a status word (`running`, `paused`, `exited`, …) and an
/// optional exit code.
pub fn parse_state(output: &str) -> Result<ContainerState, String> {
    let mut words = output.split_whitespace();
    let status = words.next().ok_or("the state template printed nothing")?.to_ascii_lowercase();
    let exit_code = words.next().and_then(|w| w.parse().ok()).unwrap_or(-1);
    let running = status == "running";
    Ok(ContainerState { status, running, exit_code })
}

#[async_trait]
impl Executor for CommandExecutor {
    fn containers(&self) -> Vec<String> {
        self.config.members.keys().cloned().collect()
    }

    fn network(&self) -> String {
        self.config.environment.clone()
    }

    async fn signal(&self, container: &str, signal: &str) -> Result<(), ExecutorError> {
        let name = signal.strip_prefix("SIG").unwrap_or(signal);
        if !name.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()) {
            return Err(ExecutorError::new(format!("send {signal} to {container}"), "not a signal name"));
        }
        self.act("kill", container, vec![("signal", name.to_string())]).await.map(drop)
    }

    async fn stop(&self, container: &str, grace: Duration) -> Result<(), ExecutorError> {
        self.act("stop", container, vec![("grace", grace.as_secs().to_string())]).await.map(drop)
    }

    async fn start(&self, container: &str) -> Result<(), ExecutorError> {
        self.act("start", container, Vec::new()).await.map(drop)
    }

    async fn pause(&self, container: &str) -> Result<(), ExecutorError> {
        self.act("pause", container, Vec::new()).await.map(drop)
    }

    async fn unpause(&self, container: &str) -> Result<(), ExecutorError> {
        self.act("unpause", container, Vec::new()).await.map(drop)
    }

    async fn state(&self, container: &str) -> Result<ContainerState, ExecutorError> {
        let output = self.read("state", container).await?;
        parse_state(&output).map_err(|why| ExecutorError::new(format!("state {container}"), why))
    }

    async fn exec(&self, container: &str, command: &[&str]) -> Result<CommandOutput, ExecutorError> {
        let words = quote_words(command).map_err(|why| ExecutorError::new(format!("exec in {container}"), why))?;
        self.run("exec", container, true, vec![("command", words)]).await
    }

    async fn disconnect(&self, container: &str) -> Result<(), ExecutorError> {
        self.act("disconnect", container, Vec::new()).await.map(drop)
    }

    async fn reconnect(&self, container: &str) -> Result<(), ExecutorError> {
        self.act("reconnect", container, Vec::new()).await.map(drop)
    }

    async fn address(&self, container: &str) -> Result<Option<String>, ExecutorError> {
        let output = self.read("address", container).await?;
        Ok(output.split_whitespace().next().map(str::to_string))
    }

    async fn limit_cpus(&self, container: &str, cpus: Option<f64>) -> Result<(), ExecutorError> {
        let cpus = cpus.map_or("0".to_string(), |c| format!("{c}"));
        self.act("limit_cpus", container, vec![("cpus", cpus)]).await.map(drop)
    }

    async fn cpu_limit(&self, container: &str) -> Result<Option<f64>, ExecutorError> {
        let output = self.read("cpu_limit", container).await?;
        Ok(output.split_whitespace().next().and_then(|w| w.parse::<f64>().ok()).filter(|c| *c > 0.0))
    }

    fn patroni(&self, member: &str) -> Option<PatroniApi> {
        if !self.config.allow.contains(member) {
            self.log.record("rest", member, "", "refused: not on the cluster file's allow-list");
            return None;
        }
        let known = self.config.members.get(member)?;
        let api = PatroniApi::new(&known.rest_url, self.rest.clone()).logged(self.log.clone(), member);
        Some(api.naming(self.patroni_names.clone()))
    }

    fn postgres(&self, member: &str) -> Option<crate::pg::PgEndpoint> {
        self.config.members.get(member).map(|m| m.pg.clone())
    }

    fn supports(&self, operation: Operation) -> bool {
        // Link proxies listen inside pgdrill's process on a network pgdrill created.
        operation != Operation::LinkProxy
            && operation.template().is_none_or(|key| self.config.templates.contains_key(key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_checked_and_quoted() {
        let words = ["sh", "-c", "echo 'a b' \"$HOME\"; true"];
        let values =
            Values { member: "pg-1", host: "db1.example", extra: vec![("command", quote_words(&words).unwrap())] };
        let script = render("printf '%s\\n' {host} {member} {command}", &values).unwrap();
        // The shell hands every word back exactly as given.
        let out = std::process::Command::new("sh").arg("-c").arg(&script).output().unwrap();
        let printed = String::from_utf8(out.stdout).unwrap();
        let expected: Vec<&str> = ["db1.example", "pg-1"].into_iter().chain(words).collect();
        assert_eq!(printed.lines().collect::<Vec<_>>(), expected);
        let evil = Values { member: "pg-1;reboot", ..Values::default() };
        assert!(render("kill {member}", &evil).unwrap_err().contains("not a plain identifier"));
        let evil_host = Values { member: "pg-1", host: "$(reboot)", extra: Vec::new() };
        assert!(render("ssh {host} true", &evil_host).is_err());
    }

    #[test]
    fn state_answers_parse() {
        assert_eq!(
            parse_state("running 0\n").unwrap(),
            ContainerState { status: "running".into(), running: true, exit_code: 0 }
        );
        let exited = parse_state("exited 137").unwrap();
        assert!(!exited.running);
        assert_eq!(exited.exit_code, 137);
        assert_eq!(parse_state("Paused").unwrap().status, "paused");
        assert!(parse_state("  ").is_err());
    }
}
