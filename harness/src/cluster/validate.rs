//! What a parsed cluster file must also be: names that are plain identifiers (they are
//! substituted into commands), addresses that parse, one place per password and none inline,
//! Citus groups on every member or on none.
use std::collections::BTreeSet;

use serde_saphyr::Spanned;

use super::file::{ClusterFile, Credential, Problem};

/// Letters, digits, `.`, `_`, `-`, starting with a letter or digit: safe as a shell word and a
/// Docker or Kubernetes name.
pub fn plain_identifier(s: &str) -> bool {
    s.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
}

fn http_url(s: &str) -> bool {
    let rest = s.strip_prefix("http://").or_else(|| s.strip_prefix("https://"));
    rest.is_some_and(|r| !r.is_empty() && !r.contains(char::is_whitespace) && !r.contains('@'))
}

fn host_port(s: &str) -> bool {
    let Some((host, port)) = s.rsplit_once(':') else { return false };
    let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    !host.is_empty()
        && host.chars().all(|c| c.is_ascii_alphanumeric() || ".-:".contains(c))
        && port.parse::<u16>().is_ok_and(|p| p > 0)
}

/// A credential names exactly one place for its password, never the password itself.
fn credential_problems(what: &str, credential: &Spanned<Credential>, out: &mut Vec<Problem>) {
    let c = &credential.value;
    if let Some(inline) = &c.password {
        out.push(Problem::at(
            inline.referenced,
            "an inline password is refused: name an environment variable (password_env) or a file (password_file)",
        ));
    }
    match (&c.password_env, &c.password_file) {
        (Some(_), Some(file)) => out.push(Problem::at(file.referenced, "give password_env or password_file, not both")),
        (None, None) if c.password.is_none() => {
            out.push(Problem::at(credential.referenced, format!("{what} needs password_env or password_file")))
        }
        (Some(var), None)
            if !var.value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') || var.value.is_empty() =>
        {
            out.push(Problem::at(
                var.referenced,
                format!("password_env {:?} is not an environment variable name", var.value),
            ))
        }
        _ => {}
    }
}

/// Everything wrong with `file`, in file order.
pub(super) fn problems(file: &ClusterFile) -> Vec<Problem> {
    let mut out = Vec::new();
    let env = &file.environment;
    if !plain_identifier(&env.value) {
        out.push(Problem::at(
            env.referenced,
            format!("environment {:?} is not a plain identifier (letters, digits, `.`, `_`, `-`)", env.value),
        ));
    }
    let mut names = BTreeSet::new();
    let mut drilled = BTreeSet::new();
    let grouped = file.members.iter().filter(|m| m.value.group.is_some()).count();
    for member in &file.members {
        let m = &member.value;
        let listed_twice = !names.insert(m.name.value.clone());
        if !plain_identifier(&m.name.value) {
            out.push(Problem::at(m.name.referenced, format!("member name {:?} is not a plain identifier (letters, digits, `.`, `_`, `-`): it is substituted into commands", m.name.value)));
        } else if listed_twice {
            out.push(Problem::at(m.name.referenced, format!("member {} is listed twice", m.name.value)));
        }
        if let Some(alias) = &m.drilled_as {
            if !plain_identifier(&alias.value) {
                out.push(Problem::at(
                    alias.referenced,
                    format!("as {:?} is not a plain identifier (letters, digits, `.`, `_`, `-`)", alias.value),
                ));
            }
        }
        if !drilled.insert(m.drilled_name().to_string()) && !listed_twice {
            let at = m.drilled_as.as_ref().map_or(m.name.referenced, |a| a.referenced);
            out.push(Problem::at(at, format!("two members are drilled as {}", m.drilled_name())));
        }
        if !http_url(&m.patroni.value) {
            out.push(Problem::at(
                m.patroni.referenced,
                format!("patroni {:?} is not an http:// or https:// URL without credentials", m.patroni.value),
            ));
        }
        if !host_port(&m.postgres.value) {
            out.push(Problem::at(m.postgres.referenced, format!("postgres {:?} is not host:port", m.postgres.value)));
        }
        if let Some(host) = m.host.as_ref().filter(|h| !plain_identifier(&h.value)) {
            out.push(Problem::at(host.referenced, format!("host {:?} is not a plain identifier (letters, digits, `.`, `_`, `-`): it is substituted into commands", host.value)));
        }
        if m.group.is_none() && grouped > 0 {
            out.push(Problem::at(
                member.referenced,
                format!(
                    "member {} has no group, others do: a Citus cluster gives every member its group",
                    m.name.value
                ),
            ));
        }
    }
    if file.members.is_empty() {
        out.push(Problem::at(file.environment.referenced, "members: at least one member is needed"));
    }
    if grouped > 0 && !file.members.iter().any(|m| m.value.group.as_ref().is_some_and(|g| g.value == 0)) {
        out.push(Problem::at(
            file.members[0].referenced,
            "no member is in group 0: a Citus cluster needs its coordinator group",
        ));
    }
    let dsn = &file.client_dsn;
    match dsn.value.strip_prefix("postgresql://").or_else(|| dsn.value.strip_prefix("postgres://")) {
        None => out.push(Problem::at(dsn.referenced, "client_dsn is not a postgresql:// URL")),
        Some(rest) => {
            let authority = rest.split(['/', '?']).next().unwrap_or_default();
            if authority.rsplit_once('@').is_some_and(|(userinfo, _)| userinfo.contains(':')) {
                out.push(Problem::at(
                    dsn.referenced,
                    "client_dsn holds a password: give it in superuser (password_env or password_file), never inline",
                ));
            }
        }
    }
    if file.etcd.is_empty() {
        out.push(Problem::at(file.client_dsn.referenced, "etcd: at least one endpoint is needed"));
    }
    let urls = file
        .etcd
        .iter()
        .map(|u| ("etcd endpoint", u))
        .chain(file.prometheus.iter().map(|u| ("prometheus", u)))
        .chain(file.alertmanager.iter().map(|u| ("alertmanager", u)));
    for (what, url) in urls {
        if !http_url(&url.value) {
            out.push(Problem::at(
                url.referenced,
                format!("{what} {:?} is not an http:// or https:// URL without credentials", url.value),
            ));
        }
    }
    if let Some(schema) = &file.workload {
        if let Some(problem) = crate::workload::schema_problem(&schema.value.schema.value) {
            out.push(Problem::at(schema.value.schema.referenced, format!("workload.{problem}")));
        }
    }
    credential_problems("superuser", &file.superuser, &mut out);
    credential_problems("rest_api", &file.rest_api, &mut out);
    super::executor::problems(file, &mut out);
    super::safety::problems(file, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use test_case::test_case;

    use super::super::file::parse_cluster_file;

    const GOOD: &str = "environment: staging
members:
  - {name: pg-1, patroni: 'http://10.0.0.1:8008', postgres: '10.0.0.1:5432'}
  - {name: pg-2, patroni: 'http://10.0.0.2:8008', postgres: '10.0.0.2:5432'}
client_dsn: 'postgresql://postgres@haproxy:5000/postgres'
etcd: ['http://10.0.0.9:2379']
superuser: {user: postgres, password_env: PGPASSWORD}
rest_api: {user: pgdrill, password_file: rest-password}
executor:
  kind: command
  allow: [pg-1, pg-2]
  templates:
    kill: 'ssh {host} sudo systemctl kill -s KILL patroni'
";

    fn errors(text: &str) -> String {
        parse_cluster_file(Path::new("c.yaml"), text).map(|_| String::new()).unwrap_or_else(|e| e.to_string())
    }

    #[test]
    fn alerts_and_lag_bounds_parse_with_a_monitoring_url() {
        let text = GOOD.replacen(
            "executor:",
            "prometheus: 'http://10.0.0.7:9090'\nsafety: {max_replication_lag: 64MB, stop_on_alerts: [PostgreSQLDown, HighReplicationLag]}\nexecutor:",
            1,
        );
        let file = parse_cluster_file(Path::new("c.yaml"), &text).unwrap_or_else(|e| panic!("{e}"));
        let safety = file.safety();
        assert_eq!(safety.max_replication_lag.as_ref().map(|l| l.value.0), Some(64 << 20));
        assert_eq!(safety.alert_names(), ["PostgreSQLDown", "HighReplicationLag"]);
        assert_eq!(safety.failed_writes_for.0, std::time::Duration::from_secs(30), "defaults kept");
    }

    #[test]
    fn a_member_may_be_drilled_under_another_name() {
        let text = GOOD.replacen("name: pg-1,", "name: postgres-0, as: pg-1,", 1).replacen(
            "allow: [pg-1,",
            "allow: [postgres-0,",
            1,
        );
        let file = parse_cluster_file(Path::new("c.yaml"), &text).unwrap_or_else(|e| panic!("{e}"));
        let first = &file.members[0].value;
        assert_eq!((first.name.value.as_str(), first.drilled_name()), ("postgres-0", "pg-1"));
        assert_eq!(file.members[1].value.drilled_name(), "pg-2", "without `as`, its name");
    }

    #[test]
    fn a_good_file_parses() {
        let file = parse_cluster_file(Path::new("c.yaml"), GOOD).expect("valid");
        assert_eq!(file.members.len(), 2);
        assert_eq!(file.members[1].value.name.value, "pg-2");
        assert!(file.members.iter().all(|m| m.value.group.is_none()));
    }

    #[test_case("name: pg-1", "name: 'pg 1; rm -rf /'", "c.yaml:3:12: member name \"pg 1; rm -rf /\" is not a plain identifier"; "a member name that is no identifier")]
    #[test_case("name: pg-2", "name: pg-1", "c.yaml:4:12: member pg-1 is listed twice"; "a duplicate member")]
    #[test_case("name: pg-1,", "name: db-a, as: 'pg 1',", "c.yaml:3:22: as \"pg 1\" is not a plain identifier"; "an alias that is no identifier")]
    #[test_case("name: pg-1,", "name: db-a, as: pg-2,", "c.yaml:4:12: two members are drilled as pg-2"; "two members drilled under one name")]
    #[test_case("password_env: PGPASSWORD", "password: secret", "c.yaml:7:39: an inline password is refused"; "an inline password")]
    #[test_case("postgres@haproxy", "postgres:pw@haproxy", "c.yaml:5:13: client_dsn holds a password"; "a password in the DSN")]
    #[test_case("'10.0.0.2:5432'", "'10.0.0.2'", "c.yaml:4:61: postgres \"10.0.0.2\" is not host:port"; "an address without a port")]
    #[test_case("password_env: PGPASSWORD", "password_env: PGPASSWORD, password_file: pw", "c.yaml:7:70: give password_env or password_file, not both"; "two password sources")]
    #[test_case("etcd: [", "etcdd: [", "c.yaml:6:1: unknown field"; "an unknown key")]
    #[test_case("postgres: '10.0.0.1:5432'}", "postgres: '10.0.0.1:5432', group: 1}", "c.yaml:4:5: member pg-2 has no group"; "groups on some members only")]
    #[test_case("allow: [pg-1, pg-2]", "allow: [pg-1, pg-9]", "c.yaml:11:17: allow names \"pg-9\", which is not a member"; "an allow-list naming no member")]
    #[test_case("kind: command", "kind: ansible", "c.yaml:10:9: executor kind \"ansible\" is not known; allowed: command"; "an unknown executor")]
    #[test_case("kill: 'ssh", "kil: 'ssh", "c.yaml:13:5: unknown field `kil`, expected one of"; "a misspelt template")]
    #[test_case("systemctl kill", "systemctl {sig}", "template kill uses {sig}, which is not a placeholder"; "an unknown placeholder")]
    #[test_case("rest_api: {user: pgdrill, password_file: rest-password}", "rest_api: {user: pgdrill}", "c.yaml:8:11: rest_api needs password_env or password_file"; "a REST credential without a source")]
    #[test_case("postgres: '10.0.0.1:5432'}", "postgres: '10.0.0.1:5432', host: 'a b'}", "host \"a b\" is not a plain identifier"; "a host that is no identifier")]
    #[test_case("executor:", "safety: {stop_on_alerts: [PostgreSQLDown]}\nexecutor:", "c.yaml:9:27: safety.stop_on_alerts needs the cluster file's `prometheus:` or `alertmanager:` URL"; "alerts without a source")]
    #[test_case("executor:", "safety: {max_replication_lag: 64mb}\nexecutor:", "c.yaml:9:31: \"mb\" is not a unit of size; allowed: B, kB"; "a misspelt size unit")]
    #[test_case("executor:", "safety: {max_replication_lag: 0}\nexecutor:", "c.yaml:9:31: safety.max_replication_lag is 0"; "a zero lag bound")]
    #[test_case("executor:", "safety: {max_members_down: 0}\nexecutor:", "c.yaml:9:9: safety.max_members_down is 0"; "no member may be down")]
    #[test_case("executor:", "safety: {stop_on_alert: [X]}\nexecutor:", "c.yaml:9:10: unknown field `stop_on_alert`, expected one of"; "a misspelt safety key")]
    #[test_case("executor:", "workload: {schema: Drills}\nexecutor:", "c.yaml:9:20: workload.schema \"Drills\" is not a lowercase SQL identifier"; "a schema that needs quoting")]
    #[test_case("executor:", "workload: {schema: public}\nexecutor:", "c.yaml:9:20: workload.schema \"public\" holds the users' tables"; "the public schema")]
    fn bad_files_point_at_the_problem(from: &str, to: &str, expected: &str) {
        let text = GOOD.replacen(from, to, 1);
        let message = errors(&text);
        assert!(message.contains(expected), "expected {expected:?} in:\n{message}");
    }
}
