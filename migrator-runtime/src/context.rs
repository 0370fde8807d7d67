//! What a Rust revision receives.

use diesel::QueryResult;

use crate::backend::Backend;
use crate::model::{BackendKind, Revision};

/// The result a Rust revision's `upgrade` and `downgrade` return. Any error
/// (a Diesel error, a parse error of your own) can be returned with `?`.
pub type RevisionResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// The signature of a Rust revision's `upgrade` and `downgrade`.
pub type RevisionFn = fn(&mut MigrationContext<'_>) -> RevisionResult;

/// Handed to a Rust revision's `upgrade` and `downgrade`: the connection
/// (inside the revision's transaction, unless it says `Transaction: false`)
/// and what is being run. It is the same type whatever connection the
/// service handed to the [`Migrator`](crate::Migrator).
///
/// # Examples
///
/// A data migration with the Diesel DSL, for every backend of the build
/// (the revision's file is compiled as a module of the crate that embeds
/// it):
///
/// ```no_run
/// //! Backfill key prefixes
/// //!
/// //! Revision ID: 004
/// //! Revises: 003
///
/// use diesel::prelude::*;
/// use migrator_runtime::{AnyConnection, MigrationContext, RevisionResult};
///
/// diesel::table! {
///     api_keys (id) {
///         id -> Text,
///         key_prefix -> Nullable<Text>,
///     }
/// }
///
/// pub fn upgrade(db: &mut MigrationContext<'_>) -> RevisionResult {
///     let conn = db.connection::<AnyConnection>()?;
///     diesel::update(api_keys::table.filter(api_keys::key_prefix.is_null()))
///         .set(api_keys::key_prefix.eq("legacy"))
///         .execute(conn)?;
///     Ok(())
/// }
///
/// pub fn downgrade(db: &mut MigrationContext<'_>) -> RevisionResult {
///     db.execute("UPDATE api_keys SET key_prefix = NULL WHERE key_prefix = 'legacy'")?;
///     Ok(())
/// }
/// # fn main() {}
/// ```
pub struct MigrationContext<'a> {
    conn: &'a mut dyn Backend,
    revision: &'a Revision,
}

/// Runs a Rust revision's `function` on `conn`, lent as the revision sees
/// it (see [`MigrationContext::connection`]).
pub(crate) fn run_revision(
    conn: &mut dyn Backend,
    function: RevisionFn,
    revision: &Revision,
) -> RevisionResult {
    let mut outcome = None;
    conn.lend(&mut |conn| {
        outcome = Some(function(&mut MigrationContext { conn, revision }));
    });
    outcome.unwrap_or_else(|| Err("the Rust revision was not run".into()))
}

impl MigrationContext<'_> {
    /// The connection, as the Diesel connection type `C`, for the query DSL.
    ///
    /// - `AnyConnection` whenever the service handed over a
    ///   `PgConnection`, a `SqliteConnection` (pooled or not) or an
    ///   `AnyConnection`: it is moved into an `AnyConnection` for the
    ///   revision's length. A revision that serves several backends uses
    ///   this.
    /// - The service's own type: `PgConnection`, `SqliteConnection`,
    ///   or `AsyncConnectionWrapper<…>` (which is only ever itself).
    ///
    /// Any other `C` is an error naming both types, which a revision returns
    /// with `?`.
    pub fn connection<C: 'static>(
        &mut self,
    ) -> Result<&mut C, Box<dyn std::error::Error + Send + Sync>> {
        let actual = self.conn.type_name();
        let any = self.conn.as_any_mut();
        if any.is::<C>() {
            return any.downcast_mut::<C>().ok_or_else(|| wrong_connection::<C>(actual));
        }
        #[cfg(any(feature = "postgres", feature = "sqlite", feature = "mysql"))]
        if let Some(inner) = any.downcast_mut::<crate::AnyConnection>()
            && let Some(conn) = inner.inner_as_any().downcast_mut::<C>()
        {
            return Ok(conn);
        }
        Err(wrong_connection::<C>(actual))
    }

    /// The backend the revision runs against, for the rare statement whose
    /// syntax differs.
    pub fn backend(&self) -> BackendKind {
        self.conn.dialect().kind()
    }

    /// The revision being run.
    pub fn revision(&self) -> &Revision {
        self.revision
    }

    /// Runs `sql` (one or more statements) as one batch, on any connection.
    pub fn execute(&mut self, sql: &str) -> QueryResult<()> {
        self.conn.execute(sql)
    }
}

/// The error of [`MigrationContext::connection`] for a type the connection
/// is not.
fn wrong_connection<C>(actual: &str) -> Box<dyn std::error::Error + Send + Sync> {
    format!(
        "this Rust revision asks for a `{}` connection, but the migrator runs on a `{actual}`: \
         ask for `AnyConnection` (PostgreSQL and SQLite connections) or the service's own \
         connection type, or use `execute`",
        std::any::type_name::<C>()
    )
    .into()
}

impl std::fmt::Debug for MigrationContext<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MigrationContext")
            .field("backend", &self.backend())
            .field("revision", &self.revision.id)
            .finish()
    }
}
