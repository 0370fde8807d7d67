//! The version table: one row per applied revision.
//!
//! Every statement is rendered as SQL text through a [`Dialect`], with values
//! as quoted literals, so that the live run and the offline script (`--sql`)
//! run the very same statements.

use chrono::NaiveDateTime;
use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Text, Timestamp};

use crate::backend::Dialect;

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

/// The result of [`Dialect::table_exists_sql`] and other counting queries.
#[derive(Debug, QueryableByName)]
pub(crate) struct Count {
    #[diesel(sql_type = BigInt)]
    pub(crate) n: i64,
}

/// The version table's statements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Store {
    table: String,
}

impl Store {
    /// A store over the version table named `table`.
    pub fn new(table: impl Into<String>) -> Self {
        Store {
            table: table.into(),
        }
    }

    /// The version table's name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// Creates the version table when it does not exist.
    pub fn create_sql(&self, d: &dyn Dialect) -> String {
        format!(
            "CREATE TABLE IF NOT EXISTS {} (\n    \
             revision VARCHAR(64) NOT NULL PRIMARY KEY,\n    \
             checksum VARCHAR(64) NOT NULL,\n    \
             applied_at {} NOT NULL,\n    \
             execution_ms BIGINT NOT NULL,\n    \
             seq BIGINT NOT NULL\n);",
            d.quote_ident(&self.table),
            d.timestamp_type()
        )
    }

    /// Reads every row, in the order of application.
    pub fn select_sql(&self, d: &dyn Dialect) -> String {
        format!(
            "SELECT revision, checksum, applied_at, execution_ms, seq FROM {} ORDER BY seq",
            d.quote_ident(&self.table)
        )
    }

    /// Records `revision` as applied, after all rows already there.
    pub fn insert_sql(
        &self,
        d: &dyn Dialect,
        revision: &str,
        checksum: &str,
        applied_at: NaiveDateTime,
        execution_ms: i64,
    ) -> String {
        let table = d.quote_ident(&self.table);
        format!(
            "INSERT INTO {table} (revision, checksum, applied_at, execution_ms, seq) \
             SELECT {}, {}, {}, {execution_ms}, COALESCE(MAX(seq), 0) + 1 FROM {table};",
            d.quote_str(revision),
            d.quote_str(checksum),
            d.quote_str(&applied_at.format("%Y-%m-%d %H:%M:%S%.6f").to_string()),
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
}

impl Default for Store {
    fn default() -> Self {
        Store::new(DEFAULT_VERSION_TABLE)
    }
}
