//! Loading the users' own Patroni configuration: their patroni.yml (relative to the scenario,
//! inside its repository) and the inline `topology.patroni` keys, merged (inline over file),
//! checked, and resolved once into [`UserPatroni`]. The six short keys the scenario writes win;
//! unwritten, they take the user's `bootstrap.dcs` values.
use std::path::{Path, PathBuf};

use super::config_value::ConfigValue;
use super::error::ScenarioError;
use super::load::{parse_problem, read_limited, LoadOptions};
use super::model::{PatroniSettings, Scenario, UserPatroni};
use super::snippet::shown;
use super::source::{problem_at, yaml_options, SpanIndex};
use super::validate::{check_patroni_file, resolve_rule_path};

/// The `bootstrap.dcs` keys the scenario's short keys carry.
pub const SHORT_KEYS: [&str; 6] =
    ["ttl", "loop_wait", "retry_timeout", "synchronous_mode", "synchronous_mode_strict", "failsafe_mode"];

/// Reads, checks and merges the user's Patroni configuration of `scenario` (from the file at
/// `path` with `text`) into `scenario.topology.patroni.user`.
pub(super) fn resolve_user_patroni(
    path: &Path,
    text: &str,
    scenario: &mut Scenario,
    options: LoadOptions,
) -> Result<(), ScenarioError> {
    let settings = &mut scenario.topology.patroni;
    let mut merged = match &settings.file {
        Some(file) => read_user_file(path, text, file, options)?,
        None => ConfigValue::default(),
    };
    let inline = [("bootstrap", &settings.bootstrap), ("postgresql", &settings.postgresql), ("tags", &settings.tags)];
    for (key, value) in inline {
        if let Some(value) = value {
            let mut section = ConfigValue::default();
            section.set(key, value.clone());
            merged.merge(&section);
        }
    }
    let written = SpanIndex::build(text);
    let written =
        |key: &str| written.as_ref().is_some_and(|index| index.get(&format!("topology.patroni.{key}")).is_some());
    let mut dcs = merged.at("bootstrap.dcs").cloned().unwrap_or_default();
    for key in SHORT_KEYS {
        let Some(value) = dcs.remove(key) else { continue };
        if !written(key) {
            take_short_key(settings, key, &value);
        }
    }
    let pg_hba = match merged.at("postgresql.pg_hba") {
        Some(ConfigValue::List(lines)) => Some(lines.iter().filter_map(|l| l.as_str().map(str::to_owned)).collect()),
        _ => None,
    };
    settings.user = UserPatroni {
        dcs,
        parameters: merged.at("postgresql.parameters").cloned().unwrap_or_default(),
        pg_hba,
        tags: merged.get("tags").cloned().unwrap_or_default(),
    };
    Ok(())
}

/// Sets a short key from the user's value when it has the right type (the checks report it
/// otherwise).
fn take_short_key(settings: &mut PatroniSettings, key: &str, value: &ConfigValue) {
    let number = value.as_i64().and_then(|n| u32::try_from(n).ok());
    match (key, number, value.as_bool()) {
        ("ttl", Some(n), _) => settings.ttl = n,
        ("loop_wait", Some(n), _) => settings.loop_wait = n,
        ("retry_timeout", Some(n), _) => settings.retry_timeout = n,
        ("synchronous_mode", _, Some(b)) => settings.synchronous_mode = b,
        ("synchronous_mode_strict", _, Some(b)) => settings.synchronous_mode_strict = b,
        ("failsafe_mode", _, Some(b)) => settings.failsafe_mode = b,
        _ => {}
    }
}

/// The user's file, parsed and checked; errors about its content point into it, errors about
/// finding it at `topology.patroni.file`.
fn read_user_file(
    scenario: &Path,
    text: &str,
    file: &serde_saphyr::Spanned<String>,
    options: LoadOptions,
) -> Result<ConfigValue, ScenarioError> {
    let written = shown(&file.value);
    let at_file = |message: String, label: &str, help: &str| {
        let problem = problem_at(text, file.referenced, message, label, Some(help.to_owned()));
        ScenarioError::invalid(scenario, text, vec![problem])
    };
    let resolved: PathBuf = resolve_rule_path(scenario, &file.value, options.allow_outside_rules).map_err(|why| {
        at_file(
            format!("Patroni file `{written}` {why}"),
            "outside the repository",
            "paths are relative to the scenario file and stay inside its repository; `--allow-outside-rules` allows others",
        )
    })?;
    let user_text = read_limited(&resolved).map_err(|error| {
        at_file(
            format!("failed to read Patroni file `{written}`: {error}"),
            "cannot read this file",
            "paths are relative to the scenario file",
        )
    })?;
    let user_text = user_text.strip_prefix('\u{feff}').unwrap_or(&user_text);
    let value = serde_saphyr::from_str_with_options::<ConfigValue>(user_text, yaml_options())
        .map_err(|error| ScenarioError::parse(&resolved, user_text, parse_problem(&error, user_text)))?;
    check_patroni_file(&resolved, user_text, &value)?;
    Ok(value)
}
