//! The few things PostgreSQL and SQLite (and, later, MySQL) do differently,
//! behind two small traits:
//!
//! - [`Dialect`]: pure SQL text (quoting, the version table's DDL, the
//!   catalogue query). It needs no connection, so offline SQL (`--sql`) and
//!   the live run render the very same statements.
//! - [`Backend`]: what needs a live connection (run a batch, transactions,
//!   read rows, the run's lock and timeouts).
//!
//! The executor only sees `&mut dyn Backend`; the one `match` over the
//! connection kinds is [`AnyConnection::backend`].

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

pub use url::{DatabaseUrl, redact};

use crate::error::Error;
use crate::model::BackendKind;
use crate::store::{AppliedRevision, Count};

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

/// Opens a connection from a URL: `postgres://…` or `postgresql://…`,
/// `sqlite://path`, `sqlite::memory:`, or a bare file path (SQLite).
///
/// Errors say which URL failed with its password replaced by `***`.
pub fn connect(url: &str) -> Result<AnyConnection, Error> {
    let parsed = DatabaseUrl::parse(url)?;
    let connection = match parsed.kind() {
        BackendKind::Postgres => {
            PgConnection::establish(parsed.connect_str()).map(AnyConnection::Postgres)
        }
        BackendKind::Sqlite => sqlite::establish(parsed.connect_str()).map(AnyConnection::Sqlite),
        BackendKind::Mysql => {
            return Err(Error::UnsupportedBackend {
                url: parsed.redacted(),
            });
        }
    };
    connection.map_err(|source| Error::Connect {
        url: parsed.redacted(),
        source,
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

    /// A query returning one row with a `BIGINT` column `n`: 1 if `table`
    /// exists in the current schema, else 0.
    fn table_exists_sql(&self, table: &str) -> String;
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
    /// Runs a query that returns version-table rows.
    fn load_versions(&mut self, sql: &str) -> QueryResult<Vec<AppliedRevision>>;
    /// Runs a query that returns one row with a `BIGINT` column `n`.
    fn count(&mut self, sql: &str) -> QueryResult<i64>;
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
    };
}
pub(crate) use common_backend_methods;
