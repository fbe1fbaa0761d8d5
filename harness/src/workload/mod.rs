//! Client traffic: writers that insert uniquely numbered rows through HAProxy and record every
//! attempt (send time, acknowledgement or error) on the timeline, and the end-of-run audit that
//! records which rows each member holds (the DCS's leader on its own port, then every replica
//! once it has replayed up to the leader). Judging lost writes is the checks' job, not this
//! module's.
mod audit;
mod client_path;
mod error;
mod pg;
mod table;
mod writer;

pub use crate::pg::{short as short_pg_error, PgEndpoint};
pub use audit::{audit_writes, compress_ids, read_cluster, AuditMember, AuditPlan, AuditSummary, DcsMember, DcsView};
pub use client_path::ClientPath;
// The set-up and audit functions still return this error's text: the engine's call sites
// (steps, run) take `String` until they move to `WorkloadError`.
pub use error::WorkloadError;
pub use pg::{buckets_by_group, drop_table, empty_table, prepare_table, table_rows, BUCKETS};
pub use table::{schema_problem, WorkloadTable, DEFAULT_ATTACHED_SCHEMA, SCHEMA_MARKER, WORKLOAD_TABLE};
pub use writer::{WorkloadHandle, WriterConfig};
