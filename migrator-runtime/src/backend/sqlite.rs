//! SQLite.

use diesel::{Connection, ConnectionResult, SqliteConnection};

use super::{Backend, Dialect, common_backend_methods};
use crate::model::BackendKind;

/// SQLite's SQL dialect.
pub(crate) struct Sqlite;

impl Dialect for Sqlite {
    fn kind(&self) -> BackendKind {
        BackendKind::Sqlite
    }

    fn table_exists_sql(&self, table: &str) -> String {
        format!(
            "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = {}",
            self.quote_str(table)
        )
    }
}

impl Backend for SqliteConnection {
    fn dialect(&self) -> &'static dyn Dialect {
        &Sqlite
    }

    common_backend_methods!();
}

/// Opens (creating if needed) a SQLite database. Foreign keys are enforced, as
/// a service would expect, and a writer waits for a busy database instead of
/// failing at once.
pub(crate) fn establish(path: &str) -> ConnectionResult<SqliteConnection> {
    let mut conn = SqliteConnection::establish(path)?;
    diesel::connection::SimpleConnection::batch_execute(
        &mut conn,
        "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;",
    )
    .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
    Ok(conn)
}
