//! `promtool check rules` on a drill's rule files before the cluster starts, in a short-lived
//! container of the Prometheus image (no network): a rule Prometheus would refuse to load, or an
//! annotation template that would fail at alert time, stops the run with the user's file, line
//! and promtool's own words, instead of a drill that silently never alerts.
//!
//! The files checked are exactly those Prometheus will load (after `for_scale`), so a scaling
//! mistake is caught too; promtool names rules by group and position, which map back to lines of
//! the user's file.
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{CreateContainerOptionsBuilder, LogsOptionsBuilder, RemoveContainerOptions};
use bollard::Docker;
use futures_util::StreamExt;

use super::config::{prometheus_env, rule_file_container_path, RenderedRuleFile, RULES_DIR};
use super::error::{PromtoolError, PromtoolProblem};
use super::rules::RuleFile;
use crate::runtime::{Owner, RuntimeError, LABEL_RUN, LABEL_TOOL};
use crate::wait::within;

/// promtool takes well under a second; the rest is container start-up on a loaded machine.
const CHECK_TIMEOUT: Duration = Duration::from_secs(60);

/// What a successful check printed.
#[derive(Debug, Clone)]
pub struct PromtoolReport {
    /// promtool's output (`SUCCESS: 9 rules found` per file, lint warnings).
    pub output: String,
    /// Wall time of the check, container included.
    pub took: Duration,
}

/// Checks `rendered` (from [`super::config::render_rule_files`] on `files`, same order) with
/// promtool in image `image` (the Prometheus image). The container carries run `run_id`'s labels
/// and is removed afterwards, also when the check fails or times out.
pub async fn check_rules(
    docker: &Docker,
    image: &str,
    run_id: &str,
    files: &[RuleFile],
    rendered: &[RenderedRuleFile],
) -> Result<PromtoolReport, PromtoolError> {
    let start = Instant::now();
    let env = prometheus_env(None, rendered)?;
    // Unique per call: two checks of one run (e.g. several scenarios) must not collide.
    static CHECKS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = CHECKS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let name = format!("pgdrill-{run_id}-promtool-{}-{n}", std::process::id());
    let outcome =
        within("promtool to check the rule files", CHECK_TIMEOUT, run_check(docker, image, run_id, &name, env)).await;
    let options = RemoveContainerOptions { force: true, v: true, link: false };
    let _ = docker.remove_container(&name, Some(options)).await;
    let (exit_code, output) = outcome??;
    let problems = parse_output(&output, files, rendered);
    if !problems.is_empty() {
        return Err(PromtoolError::Rejected { problems });
    }
    if exit_code != 0 {
        return Err(PromtoolError::Failed { exit_code, output });
    }
    Ok(PromtoolReport { output, took: start.elapsed() })
}

/// Creates, starts and waits for the check container: (exit code, stdout + stderr).
async fn run_check(
    docker: &Docker,
    image: &str,
    run_id: &str,
    name: &str,
    env: Vec<(String, String)>,
) -> Result<(i64, String), RuntimeError> {
    let docker_error = |action: &str| {
        let action = format!("{action} {name}");
        move |source| RuntimeError::Docker { action, source }
    };
    // The owner labels let `pgdrill clean` tell a live run's check container from a leftover.
    let mut labels = HashMap::from([
        (LABEL_TOOL.to_string(), "1".to_string()),
        (LABEL_RUN.to_string(), run_id.to_string()),
        ("org.pgdrill.component".to_string(), "promtool".to_string()),
    ]);
    labels.extend(Owner::current().labels());
    let body = ContainerCreateBody {
        image: Some(image.to_string()),
        cmd: Some(vec!["check-rules".to_string()]),
        env: Some(env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
        labels: Some(labels),
        host_config: Some(HostConfig { network_mode: Some("none".into()), ..Default::default() }),
        ..Default::default()
    };
    let options = CreateContainerOptionsBuilder::default().name(name).build();
    docker.create_container(Some(options), body).await.map_err(docker_error("create container"))?;
    docker.start_container(name, None).await.map_err(docker_error("start container"))?;
    let mut wait = docker.wait_container(name, None);
    let exit_code = match wait.next().await {
        Some(Ok(response)) => response.status_code,
        Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. })) => code,
        Some(Err(source)) => return Err(docker_error("wait for container")(source)),
        None => -1,
    };
    let options = LogsOptionsBuilder::default().stdout(true).stderr(true).build();
    let mut logs = docker.logs(name, Some(options));
    let mut output = String::new();
    while let Some(chunk) = logs.next().await {
        let chunk = chunk.map_err(docker_error("read the logs of"))?;
        output.push_str(&String::from_utf8_lossy(&chunk.into_bytes()));
    }
    Ok((exit_code, output))
}

/// Turns promtool's report into problems located in the users' files. promtool prints one line
/// per problem (`<file>: [<line>:<col>: ]group "<g>", rule <n>, "<name>": <message>`), sometimes
/// followed by indented continuation lines; positions are those of the generated file, so the
/// rule's line in the user's file is used instead.
pub fn parse_output(output: &str, files: &[RuleFile], rendered: &[RenderedRuleFile]) -> Vec<PromtoolProblem> {
    let paths: Vec<(String, usize)> =
        rendered.iter().enumerate().map(|(i, r)| (rule_file_container_path(i, &r.name), i)).collect();
    let mut problems: Vec<PromtoolProblem> = Vec::new();
    for line in output.lines() {
        let found =
            paths.iter().find_map(|(path, i)| line.strip_prefix(path.as_str())?.strip_prefix(": ").map(|r| (r, *i)));
        let Some((rest, index)) = found else {
            // promtool's own progress lines, or the continuation of the previous problem.
            let trimmed = line.trim();
            let progress = trimmed.is_empty()
                || trimmed.starts_with("Checking ")
                || trimmed == "FAILED:"
                || trimmed.starts_with("SUCCESS:");
            if let (false, Some(last)) = (progress, problems.last_mut()) {
                last.message.push_str("; ");
                last.message.push_str(trimmed);
            }
            continue;
        };
        let file = files.get(index);
        let rest = strip_position(rest);
        let (group, rule_index, rule, message) = split_rule_prefix(rest);
        let line_number = match (&group, file) {
            (Some(g), Some(f)) => f.line_of(g, rule_index).unwrap_or(0),
            _ => 0,
        };
        problems.push(PromtoolProblem {
            path: file.map(|f| f.path.clone()).unwrap_or_else(|| PathBuf::from(&rendered[index].name)),
            line: line_number,
            group,
            rule,
            message: message.trim().to_string(),
        });
    }
    // Messages about a file in general (`yaml: unmarshal errors:`) name paths in the container.
    for problem in &mut problems {
        problem.message = problem.message.replace(&format!("{RULES_DIR}/"), "");
    }
    problems
}

/// Drops a leading `12:3: ` (a position in the generated file).
fn strip_position(text: &str) -> &str {
    let mut parts = text.splitn(3, ':');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(l), Some(c), Some(rest))
            if !l.is_empty()
                && l.bytes().all(|b| b.is_ascii_digit())
                && !c.is_empty()
                && c.bytes().all(|b| b.is_ascii_digit())
                && rest.starts_with(' ') =>
        {
            &rest[1..]
        }
        _ => text,
    }
}

/// `group "g", rule 3, "Name": message` → (group, rule index, rule name, message); any missing
/// part is `None` and the message is the rest.
fn split_rule_prefix(text: &str) -> (Option<String>, Option<usize>, Option<String>, &str) {
    let Some(after_group) = text.strip_prefix("group \"") else { return (None, None, None, text) };
    let Some(group_end) = after_group.find('"') else { return (None, None, None, text) };
    let group = after_group[..group_end].to_string();
    let rest = &after_group[group_end + 1..];
    if let Some(after_rule) = rest.strip_prefix(", rule ") {
        let digits: String = after_rule.chars().take_while(char::is_ascii_digit).collect();
        let index = digits.parse().ok();
        let after_index = &after_rule[digits.len()..];
        if let Some(named) = after_index.strip_prefix(", \"") {
            if let Some(end) = named.find("\": ") {
                return (Some(group), index, Some(named[..end].to_string()), &named[end + 3..]);
            }
        }
        return (Some(group), index, None, after_index.trim_start_matches(':').trim_start());
    }
    (Some(group), None, None, rest.trim_start_matches(':').trim_start())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::monitoring::config::render_rule_files;
    use crate::monitoring::rules::parse_rule_file;

    const SEED_LIKE: &str = "groups:
  - name: citus_cluster_alerts
    rules:
      - alert: PostgreSQLDown
        expr: patroni_postgres_running == 0
      - alert: CitusMetadataNotSynced
        expr: a < b
        annotations:
          description: '{{ citus_metadata_sync_node_count }}'
";

    const BROKEN: &str = "groups:
- name: x
  rules:
  - alert: A
    expr: rate(x[5m]
  - alert: B
    expr: up
";

    /// promtool 2.42's real output for the two files above (captured by hand).
    const OUTPUT: &str = "Checking /etc/prometheus/rules/01-citus-alerts.yaml

Checking /etc/prometheus/rules/02-broken.yaml

  FAILED:
/etc/prometheus/rules/01-citus-alerts.yaml: group \"citus_cluster_alerts\", rule 2, \"CitusMetadataNotSynced\": annotation \"description\": template: __alert_CitusMetadataNotSynced:1: function \"citus_metadata_sync_node_count\" not defined
  FAILED:
/etc/prometheus/rules/02-broken.yaml: 5:11: group \"x\", rule 1, \"A\": could not parse expression: 1:11: parse error: unclosed left parenthesis
/etc/prometheus/rules/02-broken.yaml: yaml: unmarshal errors:
  line 9: field fr not found in type rulefmt.RuleNode
";

    #[test]
    fn problems_point_at_the_users_rules() {
        let files = vec![
            parse_rule_file(Path::new("scenarios/rules/citus-alerts.yaml"), SEED_LIKE).unwrap(),
            parse_rule_file(Path::new("scenarios/rules/broken.yaml"), BROKEN).unwrap(),
        ];
        let (rendered, _) = render_rule_files(&files, None);
        let problems = parse_output(OUTPUT, &files, &rendered);
        let lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            [
                "scenarios/rules/citus-alerts.yaml:6: group \"citus_cluster_alerts\", rule \"CitusMetadataNotSynced\": \
                 annotation \"description\": template: __alert_CitusMetadataNotSynced:1: function \
                 \"citus_metadata_sync_node_count\" not defined",
                "scenarios/rules/broken.yaml:4: group \"x\", rule \"A\": could not parse expression: 1:11: parse error: \
                 unclosed left parenthesis",
                "scenarios/rules/broken.yaml: yaml: unmarshal errors:; line 9: field fr not found in type rulefmt.RuleNode",
            ]
        );
    }

    #[test]
    fn success_output_has_no_problems() {
        let files = vec![parse_rule_file(Path::new("a.yaml"), BROKEN).unwrap()];
        let (rendered, _) = render_rule_files(&files, None);
        let output = "Checking /etc/prometheus/rules/01-a.yaml\n  SUCCESS: 2 rules found\n\n";
        assert!(parse_output(output, &files, &rendered).is_empty());
    }

    #[test]
    fn prefixes_are_split() {
        assert_eq!(strip_position("5:11: group"), "group");
        assert_eq!(strip_position("yaml: x"), "yaml: x");
        assert_eq!(
            split_rule_prefix("group \"g\", rule 3, \"N\": msg"),
            (Some("g".into()), Some(3), Some("N".into()), "msg")
        );
        assert_eq!(
            split_rule_prefix("groupname: \"g\" is repeated"),
            (None, None, None, "groupname: \"g\" is repeated")
        );
    }
}
