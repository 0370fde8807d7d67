//! The few things PostgreSQL and SQLite (and, later, MySQL) do differently,
//! behind two small traits:
//!
//! - [`Dialect`]: pure SQL text (quoting, the version table's DDL, the
//!   catalogue queries). It needs no connection, so offline SQL (`--sql`)
//!   and the live run render the very same statements.
//! - [`Backend`]: what needs a live connection (run a batch, transactions,
//!   read rows, the run's lock, Rust revisions). It is implemented for each
//!   Diesel connection migrator runs on (`PgConnection`, `SqliteConnection`,
//!   `AnyConnection`, `AsyncConnectionWrapper` over a PostgreSQL connection,
//!   r2d2's pooled connections), and is the sealed half of the public
//!   [`MigrationConnection`](crate::MigrationConnection).
//!
//! The executor only sees `&mut dyn Backend`.

#[cfg(any(feature = "postgres", feature = "sqlite", feature = "mysql"))]
mod any;
#[cfg(feature = "diesel-async")]
mod async_pg;
mod mysql;
mod postgres;
mod sqlite;
#[cfg(any(feature = "postgres", feature = "sqlite", feature = "mysql"))]
mod url;

use std::any::Any;
use std::time::Duration;

use diesel::connection::{Connection, LoadConnection, SimpleConnection, TransactionManager};
use diesel::query_builder::SqlQuery;
use diesel::query_dsl::RunQueryDsl;
use diesel::query_dsl::methods::LoadQuery;
use diesel::result::QueryResult;

#[cfg(any(feature = "postgres", feature = "sqlite", feature = "mysql"))]
pub use any::{AnyConnection, MultiBackend, MultiField, MultiRawValue, MultiRow, connect};
#[cfg(any(feature = "postgres", feature = "sqlite", feature = "mysql"))]
pub(crate) use any::{DEFAULT_APPLICATION_NAME, DEFAULT_CONNECT_TIMEOUT, connect_with};
#[cfg(all(feature = "cli", any(feature = "postgres", feature = "sqlite", feature = "mysql")))]
pub use url::DatabaseUrl;
#[cfg(any(feature = "postgres", feature = "sqlite", feature = "mysql"))]
pub use url::redact;

use crate::bookkeeping::TableName;
use crate::rows::{AppliedRevision, AuditEntry, Count, DigestRow, TextRow};
use crate::error::Error;
use crate::model::BackendKind;

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
    fn table_exists_sql(&self, table: &TableName) -> String;

    /// A query returning one text column `value` (empty for none): the
    /// schema an unqualified table name means (PostgreSQL: `current_schema()`, the first schema
    /// of the search path). `None` where names are not looked up along a
    /// path.
    fn current_schema_sql(&self) -> Option<&'static str> {
        None
    }

    /// A query returning one text column `value` (`schema.table`) when the
    /// table `resolved` does not exist but `configured`, the name as given,
    /// looked up as earlier builds did (quoted as one identifier, along the
    /// search path), finds another table; no row otherwise. `None` where
    /// earlier builds looked names up as this one does.
    fn found_elsewhere_sql(&self, _resolved: &TableName, _configured: &str) -> Option<String> {
        None
    }

    /// The startup check's one query on the version table `table`: it
    /// returns one row, `n` (the number of rows) and `value`, either the sum
    /// of [`StateDigest`](crate::model::StateDigest), computed by the server,
    /// or (where the server has no MD5) the rows joined by `,`, which the
    /// runtime digests.
    fn digest_sql(&self, table: &TableName) -> DigestSql;

    /// The statements that set the statement timeout (`None`: no limit) and
    /// the lock timeout, for the current transaction when `local`, else for
    /// the session. `None` when the backend has nothing to set.
    fn timeouts_sql(
        &self,
        statement: Option<Duration>,
        lock: Duration,
        local: bool,
    ) -> Option<String>;

    /// True where [`Dialect::timeouts_sql`] can set timeouts for the current
    /// transaction only; false where it always sets them for the session
    /// (MySQL), which the run then gives back at its end.
    fn local_timeouts(&self) -> bool {
        true
    }

    /// Resets the session's timeouts to the server's defaults: what an
    /// offline script ends with, and the fallback when they could not be
    /// read.
    fn reset_timeouts_sql(&self) -> &'static str;

    /// A query returning one text column `value`: the statements that set
    /// the session's timeouts back to what they are now, to give a caller's
    /// connection back as it was.
    fn session_timeouts_sql(&self) -> String;

    /// A query returning one text column `value` per session that holds
    /// the advisory run lock named `name`, describing it (pid, application,
    /// client, since when). `None` where the lock is not in the database
    /// (SQLite's lock file).
    fn advisory_holder_sql(&self, _name: &str) -> Option<String> {
        None
    }

    /// An expression joining the text expressions `parts`.
    fn concat_sql(&self, parts: &[String]) -> String {
        parts.join(" || ")
    }

    /// `expr` (a number or a timestamp) as text.
    fn text_sql(&self, expr: &str) -> String {
        format!("CAST({expr} AS VARCHAR(40))")
    }

    /// `INSERT INTO table (columns) VALUES (values)` that, when a row with
    /// the same key (the first of `columns`, the primary key) exists,
    /// replaces its other columns only where the row's column `stale` is
    /// less than the inserted row's column `fresh`.
    fn upsert_sql(
        &self,
        table: &str,
        columns: &[&str],
        values: &[String],
        stale: &str,
        fresh: &str,
    ) -> String {
        let set = columns[1..]
            .iter()
            .map(|c| format!("{c} = excluded.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "INSERT INTO {table} ({}) VALUES ({}) ON CONFLICT ({}) DO UPDATE SET {set} \
             WHERE {table}.{stale} < excluded.{fresh}",
            columns.join(", "),
            values.join(", "),
            columns[0]
        )
    }

    /// A query returning one row with a `BIGINT` column `n`: the server
    /// process serving the connection, which must not change while a session
    /// advisory lock is held (it does behind a transaction pooler). `None`
    /// where the lock is not the session's.
    fn backend_pid_sql(&self) -> Option<&'static str> {
        None
    }

    /// An expression for the database's current time in UTC plus `plus`, of
    /// [`Dialect::timestamp_type`]: the lease of the table lock is measured
    /// by one clock, the database's, whatever the clocks of the hosts.
    fn now_sql(&self, plus: Duration) -> String;

    /// A query returning one text column `value` that names this database
    /// wherever it is reached from (the Redis lock's key).
    fn database_identity_sql(&self) -> String;

    /// Which limit a database error (its message) says fired, if any.
    /// Read from the message because Diesel passes on neither PostgreSQL's
    /// SQLSTATE (55P03 `lock_not_available`, 57014 `query_canceled`) nor
    /// SQLite's result code (`SQLITE_BUSY`): it maps a few SQLSTATEs to
    /// `DatabaseErrorKind` and the rest to `Unknown`.
    fn timeout_kind(&self, message: &str) -> Option<TimeoutKind>;

    /// A query returning one text column `value` per invalid index (left by
    /// a failed or cancelled `CREATE INDEX CONCURRENTLY`) that the migrating
    /// role could have built; `None` where the backend builds no index
    /// outside a transaction.
    fn invalid_indexes_sql(&self) -> Option<String> {
        None
    }

    /// Offline scripts: the statement, first in a step's block, that fails
    /// with `message` unless `condition` (an SQL boolean) holds.
    ///
    /// By default (SQLite, which has no procedural block and no way to end
    /// a transaction on a condition): a query that fails with the message
    /// (an invalid JSON path) when the condition does not hold. A client
    /// that goes on after errors (`sqlite3` without `-bail`) still runs the
    /// block's statements; the block's version-table and audit rows are
    /// written only where the same condition holds.
    fn script_guard_sql(&self, condition: &str, message: &str) -> String {
        format!(
            "SELECT json_extract('{{}}', CASE WHEN {condition} THEN '$' ELSE {} END);",
            self.quote_str(message)
        )
    }

    /// Offline scripts: the bookkeeping values the server supplies when the
    /// script runs, as SQL expressions.
    fn script_values(&self) -> ScriptValues;

    /// True when DDL statements run inside a transaction and roll back
    /// with it (PostgreSQL, SQLite). Where they commit on their own
    /// (MySQL), every revision runs with the version table's dirty marker,
    /// as a `Transaction: false` revision does on every backend.
    fn transactional_ddl(&self) -> bool {
        true
    }

    /// What earlier builds of migrator created beside the version table
    /// `table` (a `<table>_state` table, the triggers on `table` that
    /// emptied it and, on PostgreSQL, their function), as pairs of a query
    /// returning `n` (how many of those objects are there *and* are
    /// migrator's: the triggers on `table` by their names, the table beside
    /// `table` with exactly the columns `state, version_table`) and the
    /// statements that drop them, touching nothing that is not migrator's.
    fn legacy_state_sql(&self, table: &TableName) -> [(String, String); 2];
}

/// Which limit fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutKind {
    /// A statement waited for a lock for longer than the lock timeout
    /// (PostgreSQL `lock_timeout`, SQLite's busy timeout).
    Lock,
    /// A statement ran for longer than the statement timeout.
    Statement,
}

/// SQL expressions for the bookkeeping values of an offline script, read
/// by the server when the script runs (not when it was generated).
#[derive(Debug, Clone, Copy)]
pub struct ScriptValues {
    /// The time, in UTC.
    pub at: &'static str,
    /// Milliseconds since the step's transaction began (0 where unknown).
    pub elapsed_ms: &'static str,
    /// The client the script runs from.
    pub host: &'static str,
    /// The server process serving it (0 where there is none).
    pub pid: &'static str,
    /// The audit entry's detail: that a script wrote it, and by whom.
    pub detail: &'static str,
}

/// The startup check's query, and what its `value` is.
#[derive(Debug)]
pub enum DigestSql {
    /// The digest's sum, computed by the server.
    Sum(String),
    /// The rows joined by `,`, which the runtime digests.
    Joined(String),
}

/// The name of the side table that earlier builds of migrator kept beside
/// the version table.
pub(crate) fn legacy_state_table(table: &TableName) -> TableName {
    table.sibling(&format!("{}_state", table.name))
}

/// The names of the row triggers on the version table that emptied the old
/// state table (SQLite, MySQL).
pub(crate) fn legacy_row_triggers(table: &TableName) -> [String; 3] {
    let state = legacy_state_table(table).name;
    ["insert", "update", "delete"].map(|event| format!("{state}_reset_{event}"))
}

/// `DROP TRIGGER IF EXISTS` for each of `triggers`, in the schema of `table`.
pub(crate) fn drop_triggers_sql(d: &dyn Dialect, table: &TableName, triggers: &[String]) -> String {
    triggers
        .iter()
        .map(|t| format!("DROP TRIGGER IF EXISTS {};", table.sibling(t).quoted(d)))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Milliseconds as SQL wants them: whole, at least 1, saturating.
pub(crate) fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis())
        .unwrap_or(u64::MAX)
        .max(1)
}

/// How a held run lock is released.
#[derive(Debug)]
pub enum LockHandle {
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

/// What the executor needs from a live connection. Public only as the sealed
/// supertrait of [`MigrationConnection`](crate::MigrationConnection): this
/// module is private, so no other crate can name or implement it.
pub trait Backend: Any {
    /// The SQL dialect of this connection.
    fn dialect(&self) -> &'static dyn Dialect;
    /// Runs `sql` as one batch (several statements allowed).
    fn execute(&mut self, sql: &str) -> QueryResult<()>;
    /// Runs the one statement `sql` (an `UPDATE` or `DELETE`) and returns
    /// how many rows it matched.
    fn changed(&mut self, sql: &str) -> QueryResult<usize>;
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
    /// Runs [`Dialect::digest_sql`].
    fn load_digest(&mut self, sql: &str) -> QueryResult<Vec<DigestRow>>;
    /// Runs a query that returns one text column named `value`.
    fn load_text(&mut self, sql: &str) -> QueryResult<Vec<TextRow>>;
    /// Tries once to take the run lock named `name` (the version table's
    /// name), across processes; `None` when another holder has it.
    fn try_lock(&mut self, name: &str) -> Result<Option<LockHandle>, Error>;
    /// Releases a lock taken by [`Backend::try_lock`].
    fn unlock(&mut self, name: &str, handle: LockHandle) -> QueryResult<()>;
    /// Lends the connection to `f` as a Rust revision sees it: itself, or
    /// (a `PgConnection` or `SqliteConnection`) moved into an
    /// `AnyConnection` for the length of the call.
    fn lend(&mut self, f: &mut dyn FnMut(&mut dyn Backend));
    /// The connection as `Any`, for `MigrationContext::connection`.
    fn as_any_mut(&mut self) -> &mut dyn Any;
    /// The connection's Rust type, for error messages.
    fn type_name(&self) -> &'static str {
        std::any::type_name::<Self>()
    }
}

/// The parts of [`Backend`] that are the same Diesel calls on every connection
/// type: implemented once here, used by each backend's `impl Backend`.
pub(crate) fn execute<C: SimpleConnection>(conn: &mut C, sql: &str) -> QueryResult<()> {
    conn.batch_execute(sql)
}

pub(crate) fn changed<C>(conn: &mut C, sql: &str) -> QueryResult<usize>
where
    C: Connection,
    SqlQuery: diesel::query_builder::QueryFragment<C::Backend> + diesel::query_builder::QueryId,
{
    diesel::sql_query(sql).execute(conn)
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

pub(crate) fn transaction_depth<C: Connection>(conn: &mut C) -> u32 {
    C::TransactionManager::transaction_manager_status_mut(conn)
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
/// the generic helpers above; each backend module adds its dialect, its lock
/// and how Rust revisions see the connection.
macro_rules! common_backend_methods {
    () => {
        fn execute(&mut self, sql: &str) -> diesel::QueryResult<()> {
            $crate::backend::execute(self, sql)
        }
        fn changed(&mut self, sql: &str) -> diesel::QueryResult<usize> {
            $crate::backend::changed(self, sql)
        }
        fn begin(&mut self) -> diesel::QueryResult<()> {
            $crate::backend::begin(self)
        }
        fn commit(&mut self) -> diesel::QueryResult<()> {
            $crate::backend::commit(self)
        }
        fn rollback(&mut self) -> diesel::QueryResult<()> {
            $crate::backend::rollback(self)
        }
        fn transaction_depth(&mut self) -> u32 {
            $crate::backend::transaction_depth(self)
        }
        fn load_versions(
            &mut self,
            sql: &str,
        ) -> diesel::QueryResult<Vec<$crate::rows::AppliedRevision>> {
            $crate::backend::load(self, sql)
        }
        fn count(&mut self, sql: &str) -> diesel::QueryResult<i64> {
            $crate::backend::count(self, sql)
        }
        fn load_audit(
            &mut self,
            sql: &str,
        ) -> diesel::QueryResult<Vec<$crate::rows::AuditEntry>> {
            $crate::backend::load(self, sql)
        }
        fn load_digest(
            &mut self,
            sql: &str,
        ) -> diesel::QueryResult<Vec<$crate::rows::DigestRow>> {
            $crate::backend::load(self, sql)
        }
        fn load_text(&mut self, sql: &str) -> diesel::QueryResult<Vec<$crate::rows::TextRow>> {
            $crate::backend::load(self, sql)
        }
        fn as_any_mut(&mut self) -> &mut dyn std::any::Any {
            self
        }
    };
    // A connection that Rust revisions see as it is.
    (lend itself) => {
        $crate::backend::common_backend_methods!();
        fn lend(&mut self, f: &mut dyn FnMut(&mut dyn $crate::backend::Backend)) {
            f(self)
        }
    };
}
pub(crate) use common_backend_methods;
