//! Where the workload's table lives: in the connection's default schema on a cluster pgdrill
//! started (it is removed with the cluster), or in a schema of its own on an attached cluster
//! (the cluster file's `workload.schema`), created for the run when it does not exist — marked
//! as pgdrill's by a comment — and dropped after it. Every statement pgdrill runs on the table
//! takes its name from here, so no other table is ever written or read.
use std::fmt;

/// The table the workload writes, in every schema.
pub const WORKLOAD_TABLE: &str = "pgdrill_writes";

/// The comment that marks a schema pgdrill created (only such a schema is dropped after a run,
/// also one an earlier, interrupted run created).
pub const SCHEMA_MARKER: &str = "created by pgdrill for the workload table of its drills; dropped after the run";

/// The default schema of an attached run whose cluster file names none.
pub const DEFAULT_ATTACHED_SCHEMA: &str = "pgdrill";

/// The workload table's place.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkloadTable {
    schema: Option<String>,
}

/// Why a schema name is refused, or `None`: a lowercase SQL identifier (so it needs no quoting
/// and means the same in every statement), not a system schema, not `public`.
pub fn schema_problem(name: &str) -> Option<String> {
    let plain = name.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name.len() <= 63;
    if !plain {
        return Some(format!(
            "schema {name:?} is not a lowercase SQL identifier (a-z, 0-9, `_`, starting with a letter or `_`, at \
             most 63 characters)"
        ));
    }
    if name.starts_with("pg_") || name == "information_schema" {
        return Some(format!("schema {name:?} is a system schema"));
    }
    if name == "public" {
        return Some("schema \"public\" holds the users' tables: the drill's table needs a schema of its own".into());
    }
    None
}

impl WorkloadTable {
    /// The table in schema `schema` (see [`schema_problem`]).
    pub fn in_schema(schema: &str) -> Result<Self, String> {
        match schema_problem(schema) {
            Some(problem) => Err(problem),
            None => Ok(Self { schema: Some(schema.to_string()) }),
        }
    }

    /// Its schema, when it has one of its own.
    pub fn schema(&self) -> Option<&str> {
        self.schema.as_deref()
    }

    /// The name SQL statements use (`pgdrill.pgdrill_writes`, or `pgdrill_writes`); also a valid
    /// `regclass` literal.
    pub fn sql(&self) -> String {
        match &self.schema {
            Some(schema) => format!("{schema}.{WORKLOAD_TABLE}"),
            None => WORKLOAD_TABLE.to_string(),
        }
    }
}

impl fmt::Display for WorkloadTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.sql())
    }
}

#[cfg(test)]
mod tests {
    use test_case::test_case;

    use super::{schema_problem, WorkloadTable};

    #[test]
    fn the_marker_is_a_plain_sql_literal() {
        // It is written into `COMMENT ON SCHEMA … IS '…'` as it is.
        assert!(!super::SCHEMA_MARKER.contains(['\'', '\\']), "{}", super::SCHEMA_MARKER);
    }

    #[test]
    fn names_are_qualified_only_with_a_schema() {
        assert_eq!(WorkloadTable::default().sql(), "pgdrill_writes");
        assert_eq!(WorkloadTable::in_schema("pgdrill_drills").unwrap().sql(), "pgdrill_drills.pgdrill_writes");
    }

    #[test_case("Drills", "not a lowercase SQL identifier"; "uppercase")]
    #[test_case("drills; drop table x", "not a lowercase SQL identifier"; "an injection")]
    #[test_case("9lives", "not a lowercase SQL identifier"; "a leading digit")]
    #[test_case("pg_temp", "a system schema"; "a system schema")]
    #[test_case("public", "a schema of its own"; "public")]
    fn bad_schemas_are_refused(name: &str, expected: &str) {
        let problem = schema_problem(name).expect(name);
        assert!(problem.contains(expected), "{problem}");
        assert!(WorkloadTable::in_schema(name).is_err());
    }
}
