//! SQLite: its dialect, its run lock (a lock file beside the database), and
//! `diesel::SqliteConnection`.

use std::time::Duration;

use super::{Dialect, millis};
use crate::bookkeeping::TableName;
use crate::model::BackendKind;

/// How long a connection waits for another writer, outside a run.
const DEFAULT_BUSY_TIMEOUT: &str = "PRAGMA busy_timeout = 5000;";

/// SQLite's SQL dialect.
pub(crate) struct Sqlite;

impl Dialect for Sqlite {
    fn kind(&self) -> BackendKind {
        BackendKind::Sqlite
    }

    fn serial_primary_key(&self) -> &'static str {
        "INTEGER PRIMARY KEY AUTOINCREMENT"
    }

    /// A qualified name looks in the catalogue of that attached database
    /// (`main`, `temp`, or one the connection attached).
    fn table_exists_sql(&self, table: &TableName) -> String {
        format!(
            "SELECT COUNT(*) AS n FROM {} WHERE type = 'table' AND name = {}",
            master(self, table),
            self.quote_str(&table.name)
        )
    }

    /// SQLite has no MD5: it joins the rows, and the runtime digests them.
    /// One row to decode.
    fn digest_sql(&self, table: &TableName) -> super::DigestSql {
        super::DigestSql::Joined(format!(
            "SELECT COUNT(*) AS n, group_concat(revision || ':' || checksum, ',') AS value \
             FROM {}",
            table.quoted(self)
        ))
    }

    /// SQLite cannot limit a statement's time; the lock timeout is its busy
    /// timeout (how long a writer waits for another one).
    fn timeouts_sql(
        &self,
        _statement: Option<Duration>,
        lock: Duration,
        _local: bool,
    ) -> Option<String> {
        Some(format!("PRAGMA busy_timeout = {};", millis(lock)))
    }

    fn reset_timeouts_sql(&self) -> &'static str {
        DEFAULT_BUSY_TIMEOUT
    }

    fn session_timeouts_sql(&self) -> String {
        "SELECT 'PRAGMA busy_timeout = ' || timeout || ';' AS value FROM pragma_busy_timeout"
            .to_owned()
    }

    /// UTC as text that sorts as time (`2024-01-02 03:04:05.678`).
    fn now_sql(&self, plus: Duration) -> String {
        format!(
            "strftime('%Y-%m-%d %H:%M:%f', 'now', '+{}.{:03} seconds')",
            plus.as_secs(),
            plus.subsec_millis()
        )
    }

    /// The database file (empty for an in-memory database).
    fn database_identity_sql(&self) -> String {
        "SELECT file AS value FROM pragma_database_list WHERE name = 'main'".to_owned()
    }

    /// `SQLITE_BUSY`'s message, which SQLite never translates.
    fn timeout_kind(&self, message: &str) -> Option<super::TimeoutKind> {
        message
            .contains("database is locked")
            .then_some(super::TimeoutKind::Lock)
    }

    fn script_values(&self) -> super::ScriptValues {
        super::ScriptValues {
            at: "strftime('%Y-%m-%d %H:%M:%f', 'now')",
            elapsed_ms: "0",
            host: "'offline script'",
            pid: "0",
            detail: "'offline script'",
        }
    }

    fn legacy_state_sql(&self, table: &TableName) -> [(String, String); 2] {
        let triggers = super::legacy_row_triggers(table);
        let names: Vec<String> = triggers.iter().map(|t| self.quote_str(t)).collect();
        let state = super::legacy_state_table(table);
        let master = master(self, table);
        let schema = self.quote_str(table.schema.as_deref().unwrap_or("main"));
        [
            (
                format!(
                    "SELECT COUNT(*) AS n FROM {master} WHERE type = 'trigger' \
                     AND tbl_name = {} AND name IN ({})",
                    self.quote_str(&table.name),
                    names.join(", ")
                ),
                super::drop_triggers_sql(self, table, &triggers),
            ),
            (
                format!(
                    "SELECT COUNT(*) AS n FROM {master} WHERE type = 'table' AND name = {0} \
                     AND (SELECT group_concat(name, ',') FROM \
                     (SELECT name FROM pragma_table_info({0}, {schema}) ORDER BY cid)) \
                     = 'state,version_table'",
                    self.quote_str(&state.name)
                ),
                format!("DROP TABLE {};", state.quoted(self)),
            ),
        ]
    }
}

/// The catalogue of the database that holds `table`: `sqlite_master`, or
/// that of the attached database its name gives.
fn master(d: &Sqlite, table: &TableName) -> String {
    table.sibling("sqlite_master").quoted(d)
}

#[cfg(feature = "sqlite")]
pub(crate) use connection::establish;

#[cfg(feature = "sqlite")]
mod connection {
    use std::fs::{File, OpenOptions, TryLockError};

    use diesel::result::QueryResult;
    use diesel::sql_types::Text;
    use diesel::{Connection, ConnectionResult, QueryableByName, SqliteConnection};

    use super::{DEFAULT_BUSY_TIMEOUT, Sqlite};
    use crate::backend::{Backend, Dialect, LockHandle, common_backend_methods};
    use crate::error::Error;

    /// The main database's file, empty for an in-memory database.
    #[derive(QueryableByName)]
    struct DatabaseFile {
        #[diesel(sql_type = Text)]
        file: String,
    }

    impl Backend for SqliteConnection {
        fn dialect(&self) -> &'static dyn Dialect {
            &Sqlite
        }

        common_backend_methods!();

        /// SQLite's own locks belong to the connection holding a write
        /// transaction, and a run commits once per revision; so the run lock
        /// is an exclusive lock on a file beside the database
        /// (`<database>.<name>.lock`), which the OS releases if the process
        /// dies.
        fn try_lock(&mut self, name: &str) -> Result<Option<LockHandle>, Error> {
            let files: Vec<DatabaseFile> = crate::backend::load(
                self,
                "SELECT file FROM pragma_database_list WHERE name = 'main'",
            )
            .map_err(Error::database("finding the database file"))?;
            let Some(path) = files.into_iter().map(|f| f.file).find(|f| !f.is_empty()) else {
                return Ok(Some(LockHandle::Unshared));
            };
            // `main.x` is the table `x`: one lock file for both names.
            let name = name.strip_prefix("main.").unwrap_or(name);
            let lock_path = format!("{path}.{name}.lock");
            let file: File = OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&lock_path)
                .map_err(|source| Error::LockFile {
                    path: lock_path.clone(),
                    source,
                })?;
            match file.try_lock() {
                Ok(()) => Ok(Some(LockHandle::File(file))),
                Err(TryLockError::WouldBlock) => Ok(None),
                Err(TryLockError::Error(source)) => Err(Error::LockFile {
                    path: lock_path,
                    source,
                }),
            }
        }

        /// Closing the file releases its lock.
        fn unlock(&mut self, _name: &str, handle: LockHandle) -> QueryResult<()> {
            drop(handle);
            Ok(())
        }

        crate::backend::any::lend_via_any!(Sqlite);
    }

    /// Opens (creating if needed) a SQLite database. Foreign keys are
    /// enforced, as a service would expect, and a writer waits for a busy
    /// database instead of failing at once.
    pub(crate) fn establish(path: &str) -> ConnectionResult<SqliteConnection> {
        let mut conn = SqliteConnection::establish(path)?;
        diesel::connection::SimpleConnection::batch_execute(
            &mut conn,
            &format!("PRAGMA foreign_keys = ON; {DEFAULT_BUSY_TIMEOUT}"),
        )
        .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
        Ok(conn)
    }
}
