//! The few things PostgreSQL and SQLite (and, later, MySQL) do differently,
//! behind two small traits:
//!
//! - [`Dialect`]: pure SQL text (quoting, the version table's DDL, the
//!   catalogue query). It needs no connection, so offline SQL (`--sql`) and
//!   the live run render the very same statements.
//! - `Backend` (crate-private): what needs a live connection (run a batch, transactions,
//!   read rows, the run's lock and timeouts).
//!
//! The executor only sees `&mut dyn Backend`; the one `match` over the
//! connection kinds is `AnyConnection::backend`.

mod mysql;
mod postgres;
mod sqlite;
mod url;

use diesel::PgConnection;
use diesel::connection::{Connection, LoadConnection, SimpleConnection, TransactionManager};
use diesel::query_builder::SqlQuery;
use diesel::query_dsl::RunQueryDsl;
use diesel::query_dsl::methods::LoadQuery;
use diesel::result::QueryResult;
use std::time::Duration;

pub use url::{DatabaseUrl, redact};

use crate::error::Error;
use crate::model::BackendKind;
use crate::store::{AppliedRevision, AuditEntry, Count, TextRow};

/// The connection enum and the Diesel backend its derive generates
/// (`MultiBackend`, `MultiRawValue`…), which services need to implement
/// custom SQL types. The derive's items carry no docs of their own.
#[allow(missing_docs)]
mod multi {
    use diesel::{PgConnection, SqliteConnection};

    /// A connection to any supported database, opened from a URL with
    /// [`connect`](super::connect).
    ///
    /// It is a Diesel [`MultiConnection`](diesel::MultiConnection): Rust
    /// revisions and services can run the Diesel query DSL on it directly,
    /// whatever the backend.
    #[derive(diesel::MultiConnection)]
    pub enum AnyConnection {
        /// A PostgreSQL connection.
        Postgres(PgConnection),
        /// A SQLite connection.
        Sqlite(SqliteConnection),
    }
}

pub use multi::{AnyConnection, MultiBackend, MultiField, MultiRawValue, MultiRow};

impl AnyConnection {
    /// The backend of this connection.
    pub fn kind(&self) -> BackendKind {
        match self {
            AnyConnection::Postgres(_) => BackendKind::Postgres,
            AnyConnection::Sqlite(_) => BackendKind::Sqlite,
        }
    }

    /// The connection as the executor sees it.
    pub(crate) fn backend(&mut self) -> &mut dyn Backend {
        match self {
            AnyConnection::Postgres(c) => c,
            AnyConnection::Sqlite(c) => c,
        }
    }
}

impl std::fmt::Debug for AnyConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AnyConnection({})", self.kind())
    }
}

/// Opens a connection from a URL: `postgres://…` or `postgresql://…`, a
/// libpq `key=value` string, `sqlite://path`, `sqlite::memory:`, or a bare
/// file path (SQLite).
///
/// Errors say which URL failed with its password replaced by `***`.
pub fn connect(url: &str) -> Result<AnyConnection, Error> {
    connect_url(&DatabaseUrl::parse(url)?)
}

/// [`connect`], for a URL already parsed.
pub fn connect_url(url: &DatabaseUrl) -> Result<AnyConnection, Error> {
    let connection = match url.kind() {
        BackendKind::Postgres => {
            PgConnection::establish(url.connect_str()).map(AnyConnection::Postgres)
        }
        BackendKind::Sqlite => sqlite::establish(url.connect_str()).map(AnyConnection::Sqlite),
        BackendKind::Mysql => {
            return Err(Error::UnsupportedBackend {
                url: url.redacted(),
            });
        }
    };
    connection.map_err(|error| Error::Connect {
        url: url.redacted(),
        reason: url.scrub(error.to_string().trim_end()),
    })
}

/// SQL text that differs between backends. Implementations are unit structs;
/// [`dialect`] gives the one for a backend.
pub trait Dialect: Sync {
    /// The backend this dialect speaks for.
    fn kind(&self) -> BackendKind;

    /// A string literal: `'it''s'`.
    fn quote_str(&self, value: &str) -> String {
        format!("'{}'", value.replace('\'', "''"))
    }

    /// An identifier: `"migrator_version"`.
    fn quote_ident(&self, ident: &str) -> String {
        format!("\"{}\"", ident.replace('"', "\"\""))
    }

    /// The column type for a UTC timestamp with microseconds.
    fn timestamp_type(&self) -> &'static str {
        "TIMESTAMP"
    }

    /// The column definition of an auto-incremented primary key.
    fn serial_primary_key(&self) -> &'static str;

    /// A query returning one row with a `BIGINT` column `n`: 1 if `table`
    /// exists (where an unqualified name would find it), else 0. Asked of the
    /// catalogue, never read from an error message, which the server may
    /// word in another language.
    fn table_exists_sql(&self, table: &str) -> String;

    /// The statements that set the statement timeout (`None`: no limit) and
    /// the lock timeout, for the current transaction when `local`, else for
    /// the session. `None` when the backend has nothing to set.
    fn timeouts_sql(
        &self,
        statement: Option<Duration>,
        lock: Duration,
        local: bool,
    ) -> Option<String>;

    /// Restores the session's own timeouts after a run changed them.
    fn reset_timeouts_sql(&self) -> &'static str;

    /// True when `message` is the database's error for a statement or lock
    /// timeout.
    fn is_timeout(&self, message: &str) -> bool;

    /// Creates `state_table` (columns `state`, `version_table`) beside the
    /// version table `table` when missing, (re)creates the trigger that
    /// empties it whenever a statement inserts, updates or deletes rows of
    /// `table`, and empties it: a digest is only ever written by a run that
    /// read the version table.
    fn state_table_sql(&self, table: &str, state_table: &str) -> String;

    /// An SQL expression, as text, naming the current incarnation of
    /// `table` (NULL when it does not exist): a table dropped and created
    /// again, or restored from a dump, gets another one, so the state row
    /// written for the old one no longer matches.
    fn table_identity_sql(&self, table: &str) -> String;

    /// Locks `table` against writers until the end of the transaction,
    /// failing at once when a writer holds it; `None` where the database
    /// admits one writer at a time anyway (SQLite).
    fn share_lock_sql(&self, table: &str) -> Option<String>;
}

/// [`Dialect::state_table_sql`] for the backends whose triggers are per
/// row: the table, `CREATE TRIGGER IF NOT EXISTS` for each of `INSERT`,
/// `UPDATE` and `DELETE` on `table` running `body` (with `{state}` replaced
/// by the quoted `state_table`), and the emptying.
pub(crate) fn row_triggers(
    d: &dyn Dialect,
    table: &str,
    state_table: &str,
    for_each: &str,
    body: &str,
) -> String {
    let state = d.quote_ident(state_table);
    let body = body.replace("{state}", &state);
    let triggers = ["insert", "update", "delete"].map(|event| {
        let name = d.quote_ident(&format!("{state_table}_reset_{event}"));
        format!(
            "CREATE TRIGGER IF NOT EXISTS {name} AFTER {} ON {} {for_each}{body};",
            event.to_uppercase(),
            d.quote_ident(table)
        )
    });
    format!(
        "CREATE TABLE IF NOT EXISTS {state} ({STATE_COLUMNS});\n{}\nDELETE FROM {state};",
        triggers.join("\n")
    )
}

/// The columns of the state table: the digest, and the identity of the
/// version table it was computed from.
pub(crate) const STATE_COLUMNS: &str =
    "state VARCHAR(100) NOT NULL, version_table VARCHAR(100) NOT NULL";

/// Milliseconds as SQL wants them: whole, at least 1, saturating.
pub(crate) fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis())
        .unwrap_or(u64::MAX)
        .max(1)
}

/// How a held run lock is released.
#[derive(Debug)]
pub(crate) enum LockHandle {
    /// A session lock on the connection itself (PostgreSQL advisory lock).
    Session,
    /// An exclusive lock on a file next to the database (SQLite); released
    /// when the file is closed.
    File(#[allow(dead_code, reason = "held for its lock; dropping it unlocks")] std::fs::File),
    /// Nothing to release: the database cannot be shared (in-memory SQLite).
    Unshared,
}

/// The dialect of `kind`.
pub fn dialect(kind: BackendKind) -> &'static dyn Dialect {
    match kind {
        BackendKind::Postgres => &postgres::Postgres,
        BackendKind::Sqlite => &sqlite::Sqlite,
        BackendKind::Mysql => &mysql::Mysql,
    }
}

/// What the executor needs from a live connection.
pub(crate) trait Backend {
    /// The SQL dialect of this connection.
    fn dialect(&self) -> &'static dyn Dialect;
    /// Runs `sql` as one batch (several statements allowed).
    fn execute(&mut self, sql: &str) -> QueryResult<()>;
    /// Opens a transaction (a savepoint when one is open).
    fn begin(&mut self) -> QueryResult<()>;
    /// Commits the innermost transaction.
    fn commit(&mut self) -> QueryResult<()>;
    /// Rolls back the innermost transaction.
    fn rollback(&mut self) -> QueryResult<()>;
    /// How many transactions and savepoints are open (0 outside any).
    fn transaction_depth(&mut self) -> u32;
    /// Runs a query that returns version-table rows.
    fn load_versions(&mut self, sql: &str) -> QueryResult<Vec<AppliedRevision>>;
    /// Runs a query that returns one row with a `BIGINT` column `n`.
    fn count(&mut self, sql: &str) -> QueryResult<i64>;
    /// Runs a query that returns audit log entries.
    fn load_audit(&mut self, sql: &str) -> QueryResult<Vec<AuditEntry>>;
    /// Runs a query that returns one text column named `value`.
    fn load_text(&mut self, sql: &str) -> QueryResult<Vec<TextRow>>;
    /// Tries once to take the run lock named `name` (the version table's
    /// name), across processes; `None` when another holder has it.
    fn try_lock(&mut self, name: &str) -> Result<Option<LockHandle>, Error>;
    /// Releases a lock taken by [`Backend::try_lock`].
    fn unlock(&mut self, name: &str, handle: LockHandle) -> QueryResult<()>;
}

/// The parts of [`Backend`] that are the same Diesel calls on every connection
/// type: implemented once here, used by each backend's `impl Backend`.
pub(crate) fn execute<C: SimpleConnection>(conn: &mut C, sql: &str) -> QueryResult<()> {
    conn.batch_execute(sql)
}

pub(crate) fn begin<C: Connection>(conn: &mut C) -> QueryResult<()> {
    C::TransactionManager::begin_transaction(conn)
}

pub(crate) fn commit<C: Connection>(conn: &mut C) -> QueryResult<()> {
    C::TransactionManager::commit_transaction(conn)
}

pub(crate) fn rollback<C: Connection>(conn: &mut C) -> QueryResult<()> {
    C::TransactionManager::rollback_transaction(conn)
}

pub(crate) fn transaction_depth<C>(conn: &mut C) -> u32
where
    C: Connection<TransactionManager = diesel::connection::AnsiTransactionManager>,
{
    use diesel::connection::TransactionManager as _;
    diesel::connection::AnsiTransactionManager::transaction_manager_status_mut(conn)
        .transaction_depth()
        .ok()
        .flatten()
        .map_or(0, std::num::NonZeroU32::get)
}

pub(crate) fn load<C, T>(conn: &mut C, sql: &str) -> QueryResult<Vec<T>>
where
    C: LoadConnection,
    for<'a> SqlQuery: LoadQuery<'a, C, T>,
{
    diesel::sql_query(sql).load(conn)
}

pub(crate) fn count<C>(conn: &mut C, sql: &str) -> QueryResult<i64>
where
    C: LoadConnection,
    for<'a> SqlQuery: LoadQuery<'a, C, Count>,
{
    Ok(load::<C, Count>(conn, sql)?.first().map_or(0, |c| c.n))
}

/// Implements the connection-independent methods of [`Backend`] by calling
/// the generic helpers above; each backend module adds its own dialect.
macro_rules! common_backend_methods {
    () => {
        fn execute(&mut self, sql: &str) -> diesel::QueryResult<()> {
            super::execute(self, sql)
        }
        fn begin(&mut self) -> diesel::QueryResult<()> {
            super::begin(self)
        }
        fn commit(&mut self) -> diesel::QueryResult<()> {
            super::commit(self)
        }
        fn rollback(&mut self) -> diesel::QueryResult<()> {
            super::rollback(self)
        }
        fn load_versions(
            &mut self,
            sql: &str,
        ) -> diesel::QueryResult<Vec<crate::store::AppliedRevision>> {
            super::load(self, sql)
        }
        fn count(&mut self, sql: &str) -> diesel::QueryResult<i64> {
            super::count(self, sql)
        }
        fn transaction_depth(&mut self) -> u32 {
            super::transaction_depth(self)
        }
        fn load_audit(&mut self, sql: &str) -> diesel::QueryResult<Vec<crate::store::AuditEntry>> {
            super::load(self, sql)
        }
        fn load_text(&mut self, sql: &str) -> diesel::QueryResult<Vec<crate::store::TextRow>> {
            super::load(self, sql)
        }
    };
}
pub(crate) use common_backend_methods;
