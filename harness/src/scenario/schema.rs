//! The JSON Schema of scenario files, for editors (YAML language servers validate and complete
//! against it) and for `pgdrill schema`. Generated from the model, so it cannot drift; the
//! semantic rules in `validate` are not expressible in it and are not attempted.
use super::model::Scenario;

/// The JSON Schema (draft 2020-12) of a scenario file.
pub fn scenario_json_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Scenario)).expect("a JSON Schema is JSON")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The names a string enum allows: schemars writes `enum` for bare variants and `oneOf`
    /// with `const` for documented ones.
    fn enum_values(schema: &serde_json::Value, name: &str) -> Vec<String> {
        let definition = &schema["$defs"][name];
        let bare = definition["enum"].as_array().into_iter().flatten();
        let documented = definition["oneOf"].as_array().into_iter().flatten().map(|variant| &variant["const"]);
        let mut values: Vec<String> = bare.chain(documented).filter_map(|v| v.as_str().map(str::to_owned)).collect();
        values.sort();
        values
    }

    #[test]
    fn names_every_fault() {
        let schema = scenario_json_schema();
        assert_eq!(
            enum_values(&schema, "FaultKind"),
            [
                "client_link_bandwidth",
                "client_link_delay",
                "client_link_reset_peer",
                "client_link_slow_close",
                "client_link_timeout",
                "disconnect",
                "failover",
                "heal",
                "isolate",
                "kill",
                "kill_patroni",
                "kill_postgres",
                "link_bandwidth",
                "link_delay",
                "link_on_query",
                "link_reset_peer",
                "link_slow_close",
                "link_timeout",
                "loss",
                "maintenance_off",
                "maintenance_on",
                "partition",
                "patroni_reinit",
                "patroni_restart",
                "pause",
                "reconnect",
                "restart",
                "start",
                "stop",
                "switchover",
                "throttle",
                "unpause"
            ],
            "{:#}",
            schema["$defs"]["FaultKind"]
        );
    }

    #[test]
    fn is_valid_json_describing_the_top_level() {
        let text = serde_json::to_string_pretty(&scenario_json_schema()).unwrap();
        let schema: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(schema["title"], "Scenario");
        assert!(schema["$schema"].as_str().is_some_and(|s| s.contains("json-schema.org")), "{schema}");
        assert_eq!(schema["additionalProperties"], false, "unknown keys must be errors in editors too");
        let required: Vec<_> = schema["required"].as_array().unwrap().iter().filter_map(|v| v.as_str()).collect();
        // `steps` may be left out when a `chaos:` section drives the drill.
        assert_eq!(required, ["name", "topology"]);
        for key in ["wait", "fault", "target", "expect", "sleep", "within"] {
            assert!(schema["$defs"]["Step"]["properties"].get(key).is_some(), "Step.{key} missing: {schema}");
        }
    }

    #[test]
    fn lists_invariants_and_targets() {
        let text = scenario_json_schema().to_string();
        for name in ["single_primary", "no_acked_write_lost", "old_primary", "new_leader", "rejoins"] {
            assert!(text.contains(&format!("\"{name}\"")), "{name} missing from the schema");
        }
    }
}
