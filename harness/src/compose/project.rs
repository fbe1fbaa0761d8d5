//! A scenario topology's Compose project: the Compose file, the configuration files it mounts and
//! the `.env` naming the image tags, all made from the container specs pgdrill itself starts
//! (`topology::plan`, `monitoring::stack`), so a hand-run cluster and a drilled one cannot drift.
//!
//! Pure: the caller writes the files. What a container gets that is not in its spec is what the
//! runtime adds to every container: an init (`init: true`), NET_ADMIN where the spec asks for
//! it, and ports published on 127.0.0.1 only.
use std::fmt::Write as _;

use thiserror::Error;

use super::mounts::{split_env, Mount};
use crate::monitoring::config::{ALERTMANAGER_NAME, ALERTMANAGER_PORT, PROMETHEUS_NAME, PROMETHEUS_PORT};
use crate::runtime::images::ResolvedImages;
use crate::topology::configs::SUPERUSER;
use crate::topology::REST_API_USER;
use crate::topology::{
    member_group, ContainerSpec, Plan, ETCD_CLIENT_PORT, HAPROXY_PRIMARY_PORT, PATRONI_PORT, PGBOUNCER_PORT,
    POSTGRES_PORT,
};

/// The Compose file's name in the output folder.
pub const COMPOSE_FILE: &str = "docker-compose.yml";
/// The file Compose reads variables from (the image tags, the project name).
pub const ENV_FILE: &str = ".env";
/// The cluster file beside the Compose file.
pub const CLUSTER_FILE: &str = "cluster.yaml";
/// The superuser's password, named by the cluster file (never written into it). Like `.env`, it
/// is fresh each time `pgdrill compose` writes the project and not part of the examples.
pub const PASSWORD_FILE: &str = "config/superuser-password";
/// The password Patroni's REST API asks of unsafe methods, named by the cluster file like
/// [`PASSWORD_FILE`] (attached runs switch over and fail over with it).
pub const REST_PASSWORD_FILE: &str = "config/rest-api-password";
/// Label every service carries, with the scenario's name as value. Deliberately not pgdrill's
/// run label (`org.pgdrill`): `pgdrill clean` must never sweep a cluster Compose owns.
pub const LABEL_COMPOSE: &str = "org.pgdrill.compose";
/// Host port of the first published port unless told otherwise.
pub const DEFAULT_PORT_BASE: u16 = 15000;

/// What a Compose project is made from.
#[derive(Debug, Clone, Copy)]
pub struct ComposeInput<'a> {
    /// The scenario's name (labels, project name, headers).
    pub scenario: &'a str,
    /// The topology's plan.
    pub plan: &'a Plan,
    /// The monitoring stack's specs (empty without `monitoring:`).
    pub monitoring: &'a [ContainerSpec],
    /// The image tags the specs name (each written to `.env` under its role's variable).
    pub images: &'a ResolvedImages,
    /// Host port of the first published port; the others follow one by one in service order.
    pub port_base: u16,
}

/// The Compose variable holding a password of [`Secrets::named`](crate::topology::Secrets::named).
fn password_var(name: &str) -> String {
    format!("PGDRILL_{}_PASSWORD", name.to_ascii_uppercase())
}

/// One generated file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedFile {
    /// Path relative to the output folder, `/`-separated.
    pub path: String,
    /// Its text.
    pub content: String,
}

/// A container port published on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedPort {
    /// Service (container) name.
    pub service: String,
    /// Port inside the container.
    pub container: u16,
    /// Port on 127.0.0.1.
    pub host: u16,
}

/// An image variable of `.env`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageVar {
    /// Variable name (`PGDRILL_IMAGE_PATRONI`).
    pub var: String,
    /// The tag it holds.
    pub tag: String,
}

/// The generated project.
#[derive(Debug, Clone)]
pub struct ComposeProject {
    /// The Compose file and the files it mounts: the same on every host for the same scenario and
    /// port base, and free of passwords (the Compose file names them as variables of `.env`).
    pub files: Vec<GeneratedFile>,
    /// `.env`: the project name, the image tags, which depend on the host (the Patroni image
    /// holds the host's extra CA certificates), and the project's passwords.
    pub env_file: String,
    /// [`PASSWORD_FILE`] with the superuser's password and `REST_PASSWORD_FILE` with the REST
    /// API's, for the cluster file.
    pub password_files: Vec<GeneratedFile>,
    /// The project name `.env` sets (`pgdrill-<scenario>`).
    pub project_name: String,
    /// Every published port, in service order.
    pub ports: Vec<PublishedPort>,
    /// The images the services run.
    pub images: Vec<ImageVar>,
}

/// Why a project cannot be made.
#[derive(Debug, Error)]
pub enum ComposeError {
    /// The ports do not fit below 65536.
    #[error("failed to publish {count} ports from port base {base}: they would pass 65535")]
    PortsOverflow {
        /// The port base asked for.
        base: u16,
        /// How many ports the services publish.
        count: usize,
    },
    /// The scenario's rule files cannot be loaded or passed on.
    #[error("failed to prepare the monitoring stack")]
    Monitoring {
        /// What went wrong.
        #[source]
        source: Box<crate::engine::EngineError>,
    },
    /// A spec names an image that is none of the resolved tags.
    #[error("failed to name the image of service {service}: {tag} is not one of the resolved tags")]
    UnknownImage {
        /// The service.
        service: String,
        /// Its spec's image.
        tag: String,
    },
}

/// One service, before rendering.
struct Service<'a> {
    spec: &'a ContainerSpec,
    image_var: String,
    env: Vec<(String, String)>,
    mounts: Vec<(String, Mount)>,
    ports: Vec<PublishedPort>,
    depends_on: Vec<String>,
}

/// Makes the project of `input`.
pub fn compose_project(input: &ComposeInput<'_>) -> Result<ComposeProject, ComposeError> {
    let plan = input.plan;
    let specs: Vec<&ContainerSpec> = plan.all().chain(input.monitoring).collect();
    let count: usize = specs.iter().map(|s| s.ports.len()).sum();
    if usize::from(input.port_base) + count > 65536 {
        return Err(ComposeError::PortsOverflow { base: input.port_base, count });
    }
    let roles = input.images.tags_by_role();
    let mut images: Vec<ImageVar> = Vec::new();
    let mut next_port = input.port_base;
    let mut services = Vec::new();
    for spec in specs {
        let Some((role, _)) = roles.iter().find(|(_, tag)| *tag == spec.image) else {
            return Err(ComposeError::UnknownImage { service: spec.name.clone(), tag: spec.image.clone() });
        };
        let var = format!("PGDRILL_IMAGE_{}", role.to_ascii_uppercase());
        if !images.iter().any(|i| i.var == var) {
            images.push(ImageVar { var: var.clone(), tag: spec.image.clone() });
        }
        let (env, mounts) = split_env(&spec.env);
        let mounts = mounts
            .into_iter()
            .map(|m| {
                let file = m.container_path.rsplit_once("/rules/").map_or_else(
                    || m.container_path.rsplit('/').next().unwrap_or_default().to_string(),
                    |(_, name)| format!("rules/{name}"),
                );
                (format!("config/{}/{file}", spec.name), m)
            })
            .collect();
        let ports = spec
            .ports
            .iter()
            .map(|&container| {
                let host = next_port;
                next_port = next_port.wrapping_add(1);
                PublishedPort { service: spec.name.clone(), container, host }
            })
            .collect();
        // Start order as the engine's: etcd before the members, the members before HAProxy.
        let depends_on = match spec.component.as_str() {
            "patroni" => plan.etcd.iter().map(|s| s.name.clone()).collect(),
            "haproxy" => plan.member_names(),
            "pgbouncer" => vec![plan.haproxy.name.clone()],
            _ => Vec::new(),
        };
        services.push(Service { spec, image_var: var, env, mounts, ports, depends_on });
    }
    let project_name = format!("pgdrill-{}", input.scenario);
    let secrets: Vec<(String, &str)> =
        plan.secrets.named().into_iter().map(|(name, secret)| (password_var(name), secret.expose())).collect();
    let compose_file = render(input.scenario, &services, &secrets);
    let mut files = vec![GeneratedFile { path: COMPOSE_FILE.into(), content: compose_file }];
    for service in &services {
        for (path, mount) in &service.mounts {
            files.push(GeneratedFile { path: path.clone(), content: mount.content.clone() });
        }
    }
    let published: Vec<PublishedPort> = services.iter().flat_map(|s| s.ports.iter().cloned()).collect();
    files.push(GeneratedFile { path: CLUSTER_FILE.into(), content: cluster_yaml(input, &published, &project_name) });
    let password_files = vec![
        GeneratedFile { path: PASSWORD_FILE.into(), content: format!("{}\n", plan.secrets.superuser.expose()) },
        GeneratedFile { path: REST_PASSWORD_FILE.into(), content: format!("{}\n", plan.secrets.rest_api.expose()) },
    ];
    let mut env_file = format!(
        "# Variables of {COMPOSE_FILE} (generated by pgdrill): the project name, the image tags of this\n\
         # host and the project's passwords (fresh each time pgdrill compose writes them: keep this file\n\
         # to yourself). `pgdrill images build` makes the images.\nCOMPOSE_PROJECT_NAME={project_name}\n"
    );
    for image in &images {
        let _ = writeln!(env_file, "{}={}", image.var, image.tag);
    }
    for (var, secret) in &secrets {
        let _ = writeln!(env_file, "{var}={secret}");
    }
    let ports = services.into_iter().flat_map(|s| s.ports).collect();
    Ok(ComposeProject { files, env_file, password_files, project_name, ports, images })
}

/// The cluster file describing the project's cluster as seen from the host (see `cluster`):
/// what `run --cluster` is to attach to once it exists.
fn cluster_yaml(input: &ComposeInput<'_>, ports: &[PublishedPort], project: &str) -> String {
    let host = |service: &str, container: u16| {
        ports.iter().find(|p| p.service == service && p.container == container).map_or(0, |p| p.host)
    };
    let plan = input.plan;
    let mut out = format!(
        "# Cluster file of the Compose project beside it (generated by pgdrill): the cluster as seen from\n\
         # this host. Credentials are never inline: the passwords are in {PASSWORD_FILE} and\n\
         # {REST_PASSWORD_FILE}. Drill it with `pgdrill run --cluster cluster.yaml SCENARIO`.\n\
         environment: {}\n\
         members:\n",
        q(&format!("compose-{}", input.scenario))
    );
    for member in &plan.members {
        let group = match plan.groups {
            Some(_) => member_group(&member.name).map_or(String::new(), |g| format!(", group: {g}")),
            None => String::new(),
        };
        let _ = writeln!(
            out,
            "  - {{name: {}, patroni: {}, postgres: {}{group}}}",
            q(&member.name),
            q(&format!("http://127.0.0.1:{}", host(&member.name, PATRONI_PORT))),
            q(&format!("127.0.0.1:{}", host(&member.name, POSTGRES_PORT))),
        );
    }
    // Clients connect where the scenario's workload does: through the pooler when there is one.
    let client_port = match &plan.pooler {
        Some(pooler) => host(&pooler.name, PGBOUNCER_PORT),
        None => host(&plan.haproxy.name, HAPROXY_PRIMARY_PORT),
    };
    let dsn = format!("postgresql://{SUPERUSER}@127.0.0.1:{client_port}/{}", plan.database());
    let _ = writeln!(out, "client_dsn: {}", q(&dsn));
    out.push_str("etcd:\n");
    for etcd in &plan.etcd {
        let _ = writeln!(out, "  - {}", q(&format!("http://127.0.0.1:{}", host(&etcd.name, ETCD_CLIENT_PORT))));
    }
    if !input.monitoring.is_empty() {
        let _ =
            writeln!(out, "prometheus: {}", q(&format!("http://127.0.0.1:{}", host(PROMETHEUS_NAME, PROMETHEUS_PORT))));
        let _ = writeln!(
            out,
            "alertmanager: {}",
            q(&format!("http://127.0.0.1:{}", host(ALERTMANAGER_NAME, ALERTMANAGER_PORT)))
        );
    }
    let _ = writeln!(out, "superuser: {{user: {}, password_file: {}}}", q(SUPERUSER), q(PASSWORD_FILE));
    let _ = writeln!(out, "rest_api: {{user: {}, password_file: {}}}", q(REST_API_USER), q(REST_PASSWORD_FILE));
    out.push_str(&executor_yaml(plan, project));
    out
}

/// The `executor:` section: `docker` commands on the project's containers, found by Compose's
/// labels (so any Compose version's container names do), every member allowed. Plain JSON
/// strings: no Compose interpolation here, so `$` stays single.
fn executor_yaml(plan: &Plan, project: &str) -> String {
    let members: Vec<String> = plan.members.iter().map(|m| q(&m.name)).collect();
    let prelude = format!(
        "c() {{ docker ps -aq --filter label=com.docker.compose.project={project} --filter \"label=com.docker.compose.service=$1\"; }}"
    );
    let templates = [
        ("kill", r#"docker kill --signal {signal} "$(c {member})""#),
        ("stop", r#"docker stop --time {grace} "$(c {member})""#),
        ("start", r#"docker start "$(c {member})""#),
        ("pause", r#"docker pause "$(c {member})""#),
        ("unpause", r#"docker unpause "$(c {member})""#),
        ("state", r#"docker inspect --format "{{.State.Status}} {{.State.ExitCode}}" "$(c {member})""#),
        ("exec", r#"docker exec --user root "$(c {member})" {command}"#),
        (
            "address",
            r#"docker inspect --format "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}" "$(c {member})""#,
        ),
    ];
    let mut out = format!(
        "# Faults act through these commands (run with sh -c in this folder); values are shell-quoted.\n\
         executor:\n  kind: \"command\"\n  allow: [{}]\n  prelude: {}\n  templates:\n",
        members.join(", "),
        json(&prelude)
    );
    for (key, template) in templates {
        let _ = writeln!(out, "    {key}: {}", json(template));
    }
    out.push_str("safety: {failed_writes_for: \"30s\", max_members_down: 1, fault_deadline: \"120s\"}\n");
    out
}

/// The Compose file's text. Written by hand rather than serialised so it can carry comments and
/// keep the plan's order; every scalar is a JSON string (valid YAML, any character escaped) with
/// `$` doubled so Compose does not interpolate it — but for the passwords in `secrets`
/// ((variable, value)), which become references to their variables in `.env`.
fn render(scenario: &str, services: &[Service<'_>], secrets: &[(String, &str)]) -> String {
    let mut out = format!(
        "# The topology of scenario {scenario}, generated by pgdrill (`pgdrill compose`): regenerate it\n\
         # rather than edit it. The same containers as `pgdrill run` starts, with the configuration\n\
         # files it passes in the environment mounted from config/ instead.\n\
         #\n\
         # Image tags, the project name and the passwords are in {ENV_FILE} beside this file (no\n\
         # password is written here); `pgdrill images build` makes the images.\n\
         # Start: `docker-compose up -d`; remove: `docker-compose down -v`.\n\
         # Ports, all on 127.0.0.1:\n"
    );
    for service in services {
        for port in &service.ports {
            let _ = writeln!(out, "#   {:<16} {:>5} -> 127.0.0.1:{}", port.service, port.container, port.host);
        }
    }
    out.push_str("services:\n");
    for service in services {
        let spec = service.spec;
        let _ = writeln!(out, "  {}:", spec.name);
        let image = format!(
            "${{{}:?is unset: run pgdrill compose SCENARIO -o DIR, which writes {ENV_FILE}}}",
            service.image_var
        );
        let _ = writeln!(out, "    image: {}", json(&image));
        let _ = writeln!(out, "    hostname: {}", q(&spec.name));
        out.push_str("    init: true\n");
        if spec.net_admin {
            out.push_str("    cap_add: [\"NET_ADMIN\"]\n");
        }
        if let Some(cmd) = &spec.cmd {
            out.push_str("    command:\n");
            for arg in cmd {
                let _ = writeln!(out, "      - {}", q(arg));
            }
        }
        if !service.env.is_empty() {
            out.push_str("    environment:\n");
            for (key, value) in &service.env {
                let _ = writeln!(out, "      {}: {}", q(key), with_secret_vars(&q(value), secrets));
            }
        }
        if !service.mounts.is_empty() {
            out.push_str("    volumes:\n");
            for (path, mount) in &service.mounts {
                let _ = writeln!(out, "      - {}", q(&format!("./{path}:{}:ro", mount.container_path)));
            }
        }
        if !service.ports.is_empty() {
            out.push_str("    ports:\n");
            for port in &service.ports {
                let _ = writeln!(out, "      - {}", q(&format!("127.0.0.1:{}:{}", port.host, port.container)));
            }
        }
        out.push_str("    labels:\n");
        let _ = writeln!(out, "      {}: {}", q(LABEL_COMPOSE), q(scenario));
        let _ = writeln!(out, "      {}: {}", q("org.pgdrill.component"), q(&spec.component));
        if !service.depends_on.is_empty() {
            out.push_str("    depends_on:\n");
            for name in &service.depends_on {
                let _ = writeln!(out, "      - {}", q(name));
            }
        }
    }
    out
}

/// `quoted` with every password of `secrets` replaced by a reference to its `.env` variable.
/// The passwords are hex (see `topology::secrets`), so they appear unescaped in a JSON string.
fn with_secret_vars(quoted: &str, secrets: &[(String, &str)]) -> String {
    secrets.iter().fold(quoted.to_string(), |text, (var, secret)| {
        text.replace(
            secret,
            &format!("${{{var}:?is unset: run pgdrill compose SCENARIO -o DIR, which writes {ENV_FILE}}}"),
        )
    })
}

/// A scalar Compose must not interpolate.
fn q(s: &str) -> String {
    json(&s.replace('$', "$$"))
}

fn json(s: &str) -> String {
    serde_json::to_string(s).expect("strings serialise")
}
