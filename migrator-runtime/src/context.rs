//! What a Rust revision receives.

use diesel::QueryResult;

use crate::backend::AnyConnection;
use crate::model::{BackendKind, Revision};

/// The result a Rust revision's `upgrade` and `downgrade` return. Any error
/// (a Diesel error, a parse error of your own) can be returned with `?`.
pub type RevisionResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// The signature of a Rust revision's `upgrade` and `downgrade`.
pub type RevisionFn = fn(&mut MigrationContext<'_>) -> RevisionResult;

/// Handed to a Rust revision's `upgrade` and `downgrade`: the connection
/// (inside the revision's transaction, unless it says `Transaction: false`)
/// and what is being run.
///
/// # Examples
///
/// ```ignore
/// //! Backfill key prefixes
/// //!
/// //! Revision ID: 004
/// //! Revises: 003
///
/// use migrator_runtime::{MigrationContext, RevisionResult};
///
/// pub fn upgrade(db: &mut MigrationContext<'_>) -> RevisionResult {
///     db.execute("UPDATE api_keys SET key_prefix = substr(key_hash, 1, 8)")?;
///     Ok(())
/// }
///
/// pub fn downgrade(db: &mut MigrationContext<'_>) -> RevisionResult {
///     db.execute("UPDATE api_keys SET key_prefix = NULL")?;
///     Ok(())
/// }
/// ```
pub struct MigrationContext<'a> {
    conn: &'a mut AnyConnection,
    revision: &'a Revision,
}

impl<'a> MigrationContext<'a> {
    pub(crate) fn new(conn: &'a mut AnyConnection, revision: &'a Revision) -> Self {
        MigrationContext { conn, revision }
    }

    /// The connection, for Diesel queries. It is a
    /// [`MultiConnection`](diesel::MultiConnection), so the query DSL works
    /// on it whatever the backend.
    pub fn connection(&mut self) -> &mut AnyConnection {
        self.conn
    }

    /// The backend the revision runs against, for the rare statement whose
    /// syntax differs.
    pub fn backend(&self) -> BackendKind {
        self.conn.kind()
    }

    /// The revision being run.
    pub fn revision(&self) -> &Revision {
        self.revision
    }

    /// Runs `sql` (one or more statements) as one batch.
    pub fn execute(&mut self, sql: &str) -> QueryResult<()> {
        self.conn.backend().execute(sql)
    }
}

impl std::fmt::Debug for MigrationContext<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MigrationContext")
            .field("backend", &self.conn.kind())
            .field("revision", &self.revision.id)
            .finish()
    }
}
