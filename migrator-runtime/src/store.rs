//! The version table: one row per applied revision.
//!
//! Every statement is rendered as SQL text through a [`Dialect`], with values
//! as quoted literals, so that the live run and the offline script (`--sql`)
//! run the very same statements.

use chrono::NaiveDateTime;
use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Text, Timestamp};

use crate::backend::Dialect;
use crate::model::StateDigest;

/// The default name of the version table.
pub const DEFAULT_VERSION_TABLE: &str = "migrator_version";

/// One applied revision, as the version table records it.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct AppliedRevision {
    /// The revision ID.
    #[diesel(sql_type = Text)]
    pub revision: String,
    /// The checksum of the revision's file when it was applied.
    #[diesel(sql_type = Text)]
    pub checksum: String,
    /// When it was applied, in UTC.
    #[diesel(sql_type = Timestamp)]
    pub applied_at: NaiveDateTime,
    /// How long its upgrade took, in milliseconds.
    #[diesel(sql_type = BigInt)]
    pub execution_ms: i64,
    /// Its place in the order of application (1 for the first one applied).
    #[diesel(sql_type = BigInt)]
    pub seq: i64,
}

/// A row of one text column named `value` (the state table's digest).
#[derive(Debug, QueryableByName)]
pub(crate) struct TextRow {
    #[diesel(sql_type = Text)]
    pub(crate) value: String,
}

/// The result of [`Dialect::table_exists_sql`] and other counting queries.
#[derive(Debug, QueryableByName)]
pub(crate) struct Count {
    #[diesel(sql_type = BigInt)]
    pub(crate) n: i64,
}

/// The default name of the audit log table.
pub const DEFAULT_AUDIT_TABLE: &str = "migrator_audit";

/// What an audit log entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// A revision's upgrade ran.
    Upgrade,
    /// A revision's downgrade ran.
    Downgrade,
    /// A revision was recorded as applied, or not, without running (`stamp`).
    Stamp,
}

impl Action {
    /// `upgrade`, `downgrade` or `stamp`, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Upgrade => "upgrade",
            Action::Downgrade => "downgrade",
            Action::Stamp => "stamp",
        }
    }
}

/// One entry of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct AuditEntry {
    /// When, in UTC.
    #[diesel(sql_type = Timestamp)]
    pub at: NaiveDateTime,
    /// The revision ID.
    #[diesel(sql_type = Text)]
    pub revision: String,
    /// `upgrade`, `downgrade` or `stamp` (see [`Action`]).
    #[diesel(sql_type = Text)]
    pub action: String,
    /// How long it took, in milliseconds.
    #[diesel(sql_type = BigInt)]
    pub duration_ms: i64,
    /// `success` or `failure`.
    #[diesel(sql_type = Text)]
    pub outcome: String,
    /// The host that ran it.
    #[diesel(sql_type = Text)]
    pub host: String,
    /// The process that ran it.
    #[diesel(sql_type = BigInt)]
    pub pid: i64,
    /// The error, for a failure; empty otherwise.
    #[diesel(sql_type = Text)]
    pub detail: String,
}

/// The statements of the version table, of its state table and of the
/// audit log.
///
/// The state table (`<version table>_state`, beside the version table)
/// holds at most one row: the [`StateDigest`] of the version table and the
/// identity of the version table it was computed from
/// ([`Dialect::table_identity_sql`]), so that startup reads one short row
/// instead of the whole version table. A trigger on the version table
/// empties it on every write (a run's own, an older migrator's, a
/// hand-written `DELETE`); a run that changed something computes the digest
/// again from the version table, locked against writers, and writes it
/// back. A version table dropped, created again or restored from a dump no
/// longer matches the identity. An empty state table only means that the
/// next run reads the whole version table, so the state table is optional:
/// a role that may not create or write it still migrates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Store {
    table: String,
    state_table: String,
    audit_table: String,
}

impl Store {
    /// A store over the version table `table` and the audit log `audit_table`.
    pub fn new(table: impl Into<String>, audit_table: impl Into<String>) -> Self {
        let table = table.into();
        Store {
            state_table: format!("{table}_state"),
            table,
            audit_table: audit_table.into(),
        }
    }

    /// The version table's name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The state table's name: the version table's, with `_state`.
    pub fn state_table(&self) -> &str {
        &self.state_table
    }

    /// The names of the objects besides tables that the store creates (on
    /// PostgreSQL, the trigger's function, as `name()`).
    pub fn functions(&self) -> [String; 1] {
        [format!("{}_reset()", self.state_table)]
    }

    /// The audit log's name.
    pub fn audit_table(&self) -> &str {
        &self.audit_table
    }

    /// Creates the version table and the audit log when they do not exist.
    pub fn create_sql(&self, d: &dyn Dialect) -> String {
        format!(
            "CREATE TABLE IF NOT EXISTS {} (\n    \
             revision VARCHAR(64) NOT NULL PRIMARY KEY,\n    \
             checksum VARCHAR(64) NOT NULL,\n    \
             applied_at {ts} NOT NULL,\n    \
             execution_ms BIGINT NOT NULL,\n    \
             seq BIGINT NOT NULL\n);\n\
             CREATE TABLE IF NOT EXISTS {} (\n    \
             id {},\n    \
             at {ts} NOT NULL,\n    \
             revision VARCHAR(64) NOT NULL,\n    \
             action VARCHAR(16) NOT NULL,\n    \
             duration_ms BIGINT NOT NULL,\n    \
             outcome VARCHAR(16) NOT NULL,\n    \
             host VARCHAR(255) NOT NULL,\n    \
             pid BIGINT NOT NULL,\n    \
             detail TEXT NOT NULL\n);",
            d.quote_ident(&self.table),
            d.quote_ident(&self.audit_table),
            d.serial_primary_key(),
            ts = d.timestamp_type(),
        )
    }

    /// Creates the state table and the trigger that empties it, and empties
    /// it (run in a transaction: one without the other is never left
    /// behind).
    pub fn create_state_sql(&self, d: &dyn Dialect) -> String {
        d.state_table_sql(&self.table, &self.state_table)
    }

    /// Fails with the dialect's missing-table error when the version table
    /// or the audit log does not exist; reads no row.
    pub fn probe_sql(&self, d: &dyn Dialect) -> String {
        format!(
            "SELECT revision FROM {} WHERE 1 = 0; SELECT id FROM {} WHERE 1 = 0;",
            d.quote_ident(&self.table),
            d.quote_ident(&self.audit_table)
        )
    }

    /// Fails with the dialect's missing-table error when the state table
    /// does not exist; reads no row.
    pub fn probe_state_sql(&self, d: &dyn Dialect) -> String {
        format!(
            "SELECT state FROM {} WHERE 1 = 0;",
            d.quote_ident(&self.state_table)
        )
    }

    /// Reads the state table's digest, if it was computed from the version
    /// table as it is (same identity).
    pub fn select_state_sql(&self, d: &dyn Dialect) -> String {
        format!(
            "SELECT state AS value FROM {} WHERE version_table = {}",
            d.quote_ident(&self.state_table),
            d.table_identity_sql(&self.table)
        )
    }

    /// Replaces the state table's row with `digest`, computed from the
    /// version table in the same transaction.
    pub fn write_state_sql(&self, d: &dyn Dialect, digest: &StateDigest) -> String {
        let table = d.quote_ident(&self.state_table);
        format!(
            "DELETE FROM {table};\nINSERT INTO {table} (state, version_table) VALUES ({}, {});",
            d.quote_str(&digest.to_string()),
            d.table_identity_sql(&self.table)
        )
    }

    /// Reads every row, in the order of application.
    pub fn select_sql(&self, d: &dyn Dialect) -> String {
        format!(
            "SELECT revision, checksum, applied_at, execution_ms, seq FROM {} ORDER BY seq",
            d.quote_ident(&self.table)
        )
    }

    /// Reads the audit log, oldest first.
    pub fn select_audit_sql(&self, d: &dyn Dialect) -> String {
        format!(
            "SELECT at, revision, action, duration_ms, outcome, host, pid, detail FROM {} ORDER BY id",
            d.quote_ident(&self.audit_table)
        )
    }

    /// Records `revision` as applied, with sequence number `seq` (one more
    /// than the last applied; the caller holds the run lock).
    pub fn insert_sql(
        &self,
        d: &dyn Dialect,
        revision: &str,
        checksum: &str,
        applied_at: NaiveDateTime,
        execution_ms: i64,
        seq: i64,
    ) -> String {
        format!(
            "INSERT INTO {} (revision, checksum, applied_at, execution_ms, seq) \
             VALUES ({}, {}, {}, {execution_ms}, {seq});",
            d.quote_ident(&self.table),
            d.quote_str(revision),
            d.quote_str(checksum),
            timestamp(d, applied_at),
        )
    }

    /// Records `revision` as not applied.
    pub fn delete_sql(&self, d: &dyn Dialect, revision: &str) -> String {
        format!(
            "DELETE FROM {} WHERE revision = {};",
            d.quote_ident(&self.table),
            d.quote_str(revision)
        )
    }

    /// Records a new checksum for an applied revision (after `stamp`).
    pub fn update_checksum_sql(&self, d: &dyn Dialect, revision: &str, checksum: &str) -> String {
        format!(
            "UPDATE {} SET checksum = {} WHERE revision = {};",
            d.quote_ident(&self.table),
            d.quote_str(checksum),
            d.quote_str(revision)
        )
    }

    /// Appends an entry to the audit log.
    #[allow(clippy::too_many_arguments)]
    pub fn audit_sql(
        &self,
        d: &dyn Dialect,
        at: NaiveDateTime,
        revision: &str,
        action: Action,
        duration_ms: i64,
        success: bool,
        detail: &str,
    ) -> String {
        format!(
            "INSERT INTO {} (at, revision, action, duration_ms, outcome, host, pid, detail) \
             VALUES ({}, {}, {}, {duration_ms}, {}, {}, {}, {});",
            d.quote_ident(&self.audit_table),
            timestamp(d, at),
            d.quote_str(revision),
            d.quote_str(action.as_str()),
            d.quote_str(if success { "success" } else { "failure" }),
            d.quote_str(host()),
            std::process::id(),
            d.quote_str(detail),
        )
    }
}

impl Default for Store {
    fn default() -> Self {
        Store::new(DEFAULT_VERSION_TABLE, DEFAULT_AUDIT_TABLE)
    }
}

/// A timestamp literal every backend reads as `TIMESTAMP`/`DATETIME(6)`.
fn timestamp(d: &dyn Dialect, at: NaiveDateTime) -> String {
    d.quote_str(&at.format("%Y-%m-%d %H:%M:%S%.6f").to_string())
}

/// This machine's host name, for the audit log (read once).
fn host() -> &'static str {
    static HOST: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HOST.get_or_init(|| {
        std::env::var("HOSTNAME")
            .ok()
            .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
            .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
            .map(|h| h.trim().to_owned())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "unknown".to_owned())
    })
}
