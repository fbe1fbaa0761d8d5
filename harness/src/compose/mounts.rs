//! Configuration the images take in environment variables, as files a Compose file mounts.
//!
//! pgdrill's runtime passes every configuration in the environment (the engine may be remote, so
//! no bind mounts) and each image's entrypoint writes it to a file when the variable is set. A
//! Compose file is for a local engine and a person reading it: it mounts those files instead and
//! leaves the variables unset, so the entrypoints read what is mounted. The table below is the
//! one place that knows where each entrypoint writes; a test reads the entrypoints to keep it
//! true.
use crate::monitoring::config::rule_file_container_path;

/// One variable an entrypoint turns into a file.
#[derive(Debug, Clone, Copy)]
pub(super) struct EnvFile {
    /// The variable holding the file's text.
    pub(super) env: &'static str,
    /// Where the entrypoint writes it (and where Compose mounts it).
    pub(super) path: &'static str,
    /// The image folder whose `entrypoint.sh` does it (images/<this>/): read by the test that
    /// keeps this table true.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(super) image: &'static str,
    /// A variable to set instead, when the entrypoint only points the program at the file if the
    /// text variable is set (postgres_exporter reads `PG_EXPORTER_EXTEND_QUERY_PATH` itself).
    pub(super) points_at: Option<&'static str>,
}

/// Every configuration variable of pgdrill's images but the numbered rule files of Prometheus.
pub(super) const ENV_FILES: &[EnvFile] = &[
    EnvFile { env: "PATRONI_CONFIG_YAML", path: "/etc/patroni/patroni.yml", image: "patroni", points_at: None },
    EnvFile { env: "HAPROXY_CONFIG", path: "/etc/haproxy/haproxy.cfg", image: "haproxy", points_at: None },
    EnvFile {
        env: "PGBOUNCER_CONFIG",
        path: "/etc/pgbouncer/pgdrill/pgbouncer.ini",
        image: "pgbouncer",
        points_at: None,
    },
    EnvFile { env: "PROMETHEUS_CONFIG", path: "/etc/prometheus/prometheus.yml", image: "prometheus", points_at: None },
    EnvFile {
        env: "ALERTMANAGER_CONFIG",
        path: "/etc/prometheus/alertmanager.yml",
        image: "alertmanager",
        points_at: None,
    },
    EnvFile {
        env: "PG_EXPORTER_EXTEND_QUERY",
        path: "/etc/postgres-exporter/queries.yaml",
        image: "postgres-exporter",
        points_at: Some("PG_EXPORTER_EXTEND_QUERY_PATH"),
    },
];

/// A file to mount into a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// Path inside the container.
    pub container_path: String,
    /// The file's text.
    pub content: String,
}

/// A container's environment split into what stays in the environment and the files to mount.
/// Prometheus's rule files (`PROMETHEUS_RULES_<i>` with `PROMETHEUS_RULES_<i>_NAME`) go where
/// its entrypoint would put them ([`rule_file_container_path`]).
pub(super) fn split_env(env: &[(String, String)]) -> (Vec<(String, String)>, Vec<Mount>) {
    let mut kept = Vec::new();
    let mut mounts = Vec::new();
    for (key, value) in env {
        if let Some(file) = ENV_FILES.iter().find(|f| f.env == key.as_str()) {
            mounts.push(Mount { container_path: file.path.to_string(), content: ensure_newline(value) });
            if let Some(pointer) = file.points_at {
                kept.push((pointer.to_string(), file.path.to_string()));
            }
        } else if let Some(index) = rule_index(key) {
            let name = env
                .iter()
                .find(|(k, _)| *k == format!("PROMETHEUS_RULES_{index}_NAME"))
                .map_or("rules.yml", |(_, v)| v.as_str());
            mounts.push(Mount {
                container_path: rule_file_container_path(index - 1, name),
                content: ensure_newline(value),
            });
        } else if !(key.starts_with("PROMETHEUS_RULES_") && key.ends_with("_NAME")) {
            kept.push((key.clone(), value.clone()));
        }
    }
    (kept, mounts)
}

/// `i` of `PROMETHEUS_RULES_<i>` (not of `..._NAME`).
fn rule_index(key: &str) -> Option<usize> {
    key.strip_prefix("PROMETHEUS_RULES_")?.parse().ok().filter(|i| *i > 0)
}

/// The entrypoints write the text with `printf '%s\n'`: the mounted file ends the same way.
fn ensure_newline(text: &str) -> String {
    format!("{}\n", text.strip_suffix('\n').unwrap_or(text))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn every_entrypoint_writes_where_the_table_says() {
        let images = Path::new(env!("CARGO_MANIFEST_DIR")).join("../images");
        for file in ENV_FILES {
            let script = std::fs::read_to_string(images.join(file.image).join("entrypoint.sh")).unwrap();
            assert!(script.contains(&format!("${{{}:-}}", file.env)), "{} does not read {}", file.image, file.env);
            assert!(script.contains(file.path), "{} does not write {}", file.image, file.path);
            if let Some(pointer) = file.points_at {
                assert!(script.contains(pointer), "{} does not set {pointer}", file.image);
            }
        }
        let prometheus = std::fs::read_to_string(images.join("prometheus/entrypoint.sh")).unwrap();
        assert!(prometheus.contains("PROMETHEUS_RULES_$i") && prometheus.contains("rules_dir=/etc/prometheus/rules"));
    }

    #[test]
    fn configs_become_mounts_and_the_rest_stays() {
        let (kept, mounts) = split_env(&env(&[
            ("PROMETHEUS_CONFIG", "global: {}"),
            ("PROMETHEUS_RULES_1", "groups: []\n"),
            ("PROMETHEUS_RULES_1_NAME", "alerts.yaml"),
            ("PROMETHEUS_RULES_2", "groups: []"),
            ("DATA_SOURCE_NAME", "postgresql://x"),
            ("PG_EXPORTER_EXTEND_QUERY", "q: {}"),
        ]));
        assert_eq!(
            kept,
            env(&[
                ("DATA_SOURCE_NAME", "postgresql://x"),
                ("PG_EXPORTER_EXTEND_QUERY_PATH", "/etc/postgres-exporter/queries.yaml")
            ])
        );
        let paths: Vec<&str> = mounts.iter().map(|m| m.container_path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "/etc/prometheus/prometheus.yml",
                "/etc/prometheus/rules/01-alerts.yaml",
                "/etc/prometheus/rules/02-rules.yml",
                "/etc/postgres-exporter/queries.yaml"
            ]
        );
        assert!(mounts.iter().all(|m| m.content.ends_with('\n') && !m.content.ends_with("\n\n")));
    }
}
