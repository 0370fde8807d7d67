//! The rows migrator reads from its two tables, as Diesel loads them.

use chrono::NaiveDateTime;
use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};

/// One applied revision, as the version table records it.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
#[non_exhaustive]
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

/// The row of [`Dialect::digest_sql`](crate::backend::Dialect::digest_sql): the number of rows and their MD5
/// (NULL for none).
#[derive(Debug, QueryableByName)]
pub struct DigestRow {
    #[diesel(sql_type = BigInt)]
    pub(crate) n: i64,
    #[diesel(sql_type = Nullable<Text>)]
    pub(crate) value: Option<String>,
}

/// The result of [`Dialect::table_exists_sql`](crate::backend::Dialect::table_exists_sql) and other counting queries.
#[derive(Debug, QueryableByName)]
pub struct Count {
    #[diesel(sql_type = BigInt)]
    pub(crate) n: i64,
}

/// One entry of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
#[non_exhaustive]
pub struct AuditEntry {
    /// When, in UTC.
    #[diesel(sql_type = Timestamp)]
    pub at: NaiveDateTime,
    /// The revision ID.
    #[diesel(sql_type = Text)]
    pub revision: String,
    /// `upgrade`, `downgrade` or `stamp` (an action).
    #[diesel(sql_type = Text)]
    pub action: String,
    /// How long it took, in milliseconds.
    #[diesel(sql_type = BigInt)]
    pub duration_ms: i64,
    /// `success` or `failure`; `started` for a dirty marker written;
    /// `adopted` for a revision recorded because diesel_migrations ran it.
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


/// A row of one text column named `value`.
#[derive(Debug, QueryableByName)]
pub struct TextRow {
    #[diesel(sql_type = Text)]
    pub(crate) value: String,
}
