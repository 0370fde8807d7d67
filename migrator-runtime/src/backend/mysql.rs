//! MySQL and MariaDB: their dialect, their run lock (`GET_LOCK`), and
//! `diesel::MysqlConnection`.
//!
//! One dialect serves both servers: where their settings differ (the
//! statement timeout is MySQL's `max_execution_time`, in milliseconds and
//! for `SELECT`s only, and MariaDB's `max_statement_time`, in seconds),
//! each is written in an executable comment only its server runs:
//! `/*!80000 … */` runs on MySQL 8 and later (MariaDB ignores versions from
//! 5.7 on), `/*M!100108 … */` on MariaDB only.

use std::time::Duration;

use super::{Dialect, millis};
use crate::bookkeeping::TableName;
use crate::model::BackendKind;

/// MySQL's SQL dialect.
pub(crate) struct Mysql;

impl Dialect for Mysql {
    fn kind(&self) -> BackendKind {
        BackendKind::Mysql
    }

    /// MySQL treats a backslash in a string literal as an escape.
    fn quote_str(&self, value: &str) -> String {
        format!("'{}'", value.replace('\\', "\\\\").replace('\'', "''"))
    }

    fn quote_ident(&self, ident: &str) -> String {
        format!("`{}`", ident.replace('`', "``"))
    }

    fn timestamp_type(&self) -> &'static str {
        "DATETIME(6)"
    }

    fn serial_primary_key(&self) -> &'static str {
        "BIGINT AUTO_INCREMENT PRIMARY KEY"
    }

    fn table_exists_sql(&self, table: &TableName) -> String {
        format!(
            "SELECT COUNT(*) AS n FROM information_schema.tables \
             WHERE table_schema = {} AND table_name = {}",
            schema(self, table),
            self.quote_str(&table.name)
        )
    }

    fn current_schema_sql(&self) -> Option<&'static str> {
        Some("SELECT COALESCE(DATABASE(), '') AS value")
    }

    /// MySQL has no transaction-local settings: session ones are set either
    /// way, and given back at the end of the run. The lock timeout is both
    /// `lock_wait_timeout` (metadata locks: DDL behind a reader) and
    /// `innodb_lock_wait_timeout` (row locks), in whole seconds rounded up;
    /// the statement timeout MySQL's `max_execution_time` (which limits
    /// `SELECT`s only) or MariaDB's `max_statement_time` (every statement).
    fn timeouts_sql(
        &self,
        statement: Option<Duration>,
        lock: Duration,
        _local: bool,
    ) -> Option<String> {
        let statement_ms = statement.map_or(0, millis);
        let lock_seconds = (lock.as_secs() + u64::from(lock.subsec_nanos() > 0)).max(1);
        Some(format!(
            "SET SESSION lock_wait_timeout = {lock_seconds}, \
             SESSION innodb_lock_wait_timeout = {lock_seconds} \
             /*!80000 , SESSION max_execution_time = {statement_ms} */ \
             /*M!100108 , SESSION max_statement_time = {}.{:03} */;",
            statement_ms / 1000,
            statement_ms % 1000
        ))
    }

    fn local_timeouts(&self) -> bool {
        false
    }

    fn reset_timeouts_sql(&self) -> &'static str {
        "SET SESSION lock_wait_timeout = DEFAULT, SESSION innodb_lock_wait_timeout = DEFAULT \
         /*!80000 , SESSION max_execution_time = DEFAULT */ \
         /*M!100108 , SESSION max_statement_time = DEFAULT */;"
    }

    fn session_timeouts_sql(&self) -> String {
        "SELECT CONCAT('SET SESSION lock_wait_timeout = ', @@SESSION.lock_wait_timeout, \
         ', SESSION innodb_lock_wait_timeout = ', @@SESSION.innodb_lock_wait_timeout \
         /*!80000 , ', SESSION max_execution_time = ', @@SESSION.max_execution_time */ \
         /*M!100108 , ', SESSION max_statement_time = ', @@SESSION.max_statement_time */, \
         ';') AS value"
            .to_owned()
    }

    /// The connection holding the lock (`IS_USED_LOCK`), described from
    /// the process list; a role without the `PROCESS` privilege sees only
    /// its own connections there, and is told so.
    fn advisory_holder_sql(&self, name: &str) -> Option<String> {
        Some(format!(
            "SELECT CONCAT('connection ', l.id, COALESCE(CONCAT(', user ', p.USER, \
             ', client ', p.HOST, ', database ', COALESCE(p.DB, 'none'), ', ', p.COMMAND, \
             ' for ', p.TIME, ' s'), \
             ' (not in the process list this role sees: it needs the PROCESS privilege)')) \
             AS value FROM (SELECT IS_USED_LOCK({}) AS id) l \
             LEFT JOIN information_schema.PROCESSLIST p ON p.ID = l.id \
             WHERE l.id IS NOT NULL",
            lock_name(name)
        ))
    }

    fn concat_sql(&self, parts: &[String]) -> String {
        format!("CONCAT({})", parts.join(", "))
    }

    fn text_sql(&self, expr: &str) -> String {
        format!("CAST({expr} AS CHAR)")
    }

    /// `ON DUPLICATE KEY UPDATE`: each column takes the new value only where
    /// the row's `stale` column is older, and `stale` is assigned last, as
    /// MySQL assigns left to right and later assignments see earlier ones.
    fn upsert_sql(
        &self,
        table: &str,
        columns: &[&str],
        values: &[String],
        stale: &str,
        fresh: &str,
    ) -> String {
        let mut updated: Vec<&str> = columns[1..].iter().copied().filter(|c| *c != stale).collect();
        updated.push(stale);
        let set = updated
            .iter()
            .map(|c| format!("{c} = IF({stale} < VALUES({fresh}), VALUES({c}), {c})"))
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "INSERT INTO {table} ({}) VALUES ({}) ON DUPLICATE KEY UPDATE {set}",
            columns.join(", "),
            values.join(", ")
        )
    }

    fn now_sql(&self, plus: Duration) -> String {
        format!(
            "(UTC_TIMESTAMP(6) + INTERVAL {} MICROSECOND)",
            plus.as_micros()
        )
    }

    /// Every DDL statement commits the transaction it is in.
    fn transactional_ddl(&self) -> bool {
        false
    }

    fn database_identity_sql(&self) -> String {
        "SELECT CONCAT(@@server_uuid, '/', DATABASE()) AS value".to_owned()
    }

    fn timeout_kind(&self, message: &str) -> Option<super::TimeoutKind> {
        if message.contains("Lock wait timeout exceeded") {
            Some(super::TimeoutKind::Lock)
        } else if message.contains("maximum statement execution time exceeded")
            || message.contains("max_statement_time exceeded")
        {
            Some(super::TimeoutKind::Statement)
        } else {
            None
        }
    }

    /// A query that returns no row where the condition holds, and
    /// otherwise fails on an unsigned overflow (the message's length and 1
    /// added to the largest `BIGINT UNSIGNED`): an error on MySQL and
    /// MariaDB whatever the SQL mode, whose text quotes the expression, and
    /// with it the message, first. (SQLite's invalid JSON path is only a
    /// warning on MariaDB, and `SIGNAL` needs a stored program on MySQL.)
    /// The server may cut the quoted expression (MySQL 8 prints at most 192
    /// characters of it, by its message format): the whole message is also
    /// in a comment on the line before, which the script shows beside the
    /// error. It cannot end the block's transaction: a client that goes on
    /// after errors (`mysql --force`) still runs the block's statements;
    /// the block's version-table and audit rows are written only where the
    /// same condition holds.
    fn script_guard_sql(&self, condition: &str, message: &str) -> String {
        format!(
            "-- {}\nSELECT 1 FROM DUAL WHERE CASE WHEN {condition} THEN 0 \
             ELSE CHAR_LENGTH({}) + 1 + 18446744073709551615 END = 1;",
            message.replace(['\n', '\r'], " "),
            self.quote_str(message)
        )
    }

    fn script_values(&self) -> super::ScriptValues {
        super::ScriptValues {
            at: "UTC_TIMESTAMP(6)",
            elapsed_ms: "0",
            host: "SUBSTRING_INDEX(USER(), '@', -1)",
            pid: "CONNECTION_ID()",
            detail: "CONCAT('offline script run by ', CURRENT_USER())",
        }
    }

    /// Computed by the server, as on PostgreSQL.
    fn digest_sql(&self, table: &TableName) -> super::DigestSql {
        super::DigestSql::Sum(format!(
            "SELECT COUNT(*) AS n, CAST(COALESCE(SUM(CAST(CONV(SUBSTR(MD5(CONCAT(revision, ':', \
             checksum)), 1, 15), 16, 10) AS UNSIGNED)), 0) AS CHAR) AS value FROM {}",
            table.quoted(self)
        ))
    }

    fn legacy_state_sql(&self, table: &TableName) -> [(String, String); 2] {
        let triggers = super::legacy_row_triggers(table);
        let names: Vec<String> = triggers.iter().map(|t| self.quote_str(t)).collect();
        let state = super::legacy_state_table(table);
        let db = schema(self, table);
        [
            (
                format!(
                    "SELECT COUNT(*) AS n FROM information_schema.triggers \
                     WHERE trigger_schema = {db} AND event_object_table = {} \
                     AND trigger_name IN ({})",
                    self.quote_str(&table.name),
                    names.join(", ")
                ),
                super::drop_triggers_sql(self, table, &triggers),
            ),
            (
                format!(
                    "SELECT COUNT(*) AS n FROM information_schema.tables t \
                     WHERE t.table_schema = {db} AND t.table_name = {0} \
                     AND (SELECT GROUP_CONCAT(c.column_name ORDER BY c.ordinal_position) \
                     FROM information_schema.columns c WHERE c.table_schema = {db} \
                     AND c.table_name = {0}) = 'state,version_table'",
                    self.quote_str(&state.name)
                ),
                format!("DROP TABLE {};", state.quoted(self)),
            ),
        ]
    }
}

/// The database that holds `table`, as SQL: the one its name gives, or the
/// connection's.
fn schema(d: &Mysql, table: &TableName) -> String {
    table
        .schema
        .as_deref()
        .map_or_else(|| "DATABASE()".to_owned(), |s| d.quote_str(s))
}

/// The name of the `GET_LOCK` lock guarding the version table `name`, as an
/// SQL expression. `GET_LOCK` names are the server's, not a database's, so an
/// unqualified name (the one earlier builds of other backends locked, see
/// `Store::lock_names`) is qualified by `DATABASE()`: `migrator:<db.table>`
/// when it fits MySQL's 64 characters, else `migrator:` and the start of its
/// SHA-256.
fn lock_name(name: &str) -> String {
    const PREFIX: &str = "migrator:";
    let qualified = if name.contains('.') {
        Mysql.quote_str(name)
    } else {
        format!("CONCAT(DATABASE(), '.', {})", Mysql.quote_str(name))
    };
    format!(
        "IF(CHAR_LENGTH({qualified}) <= {fits}, CONCAT('{PREFIX}', {qualified}), \
         CONCAT('{PREFIX}', LEFT(SHA2({qualified}, 256), {fits})))",
        fits = 64 - PREFIX.len()
    )
}

#[cfg(feature = "mysql")]
mod connection {
    use diesel::MysqlConnection;
    use diesel::result::QueryResult;

    use super::{Mysql, lock_name};
    use crate::backend::{Backend, Dialect, LockHandle, common_backend_methods};
    use crate::error::Error;

    impl Backend for MysqlConnection {
        fn dialect(&self) -> &'static dyn Dialect {
            &Mysql
        }

        common_backend_methods!();

        /// A named lock (`GET_LOCK`, not waiting): it belongs to this
        /// connection, and the server releases it if the connection dies.
        fn try_lock(&mut self, name: &str) -> Result<Option<LockHandle>, Error> {
            let sql = format!("SELECT COALESCE(GET_LOCK({}, 0), 0) AS n", lock_name(name));
            let taken = crate::backend::count(self, &sql)
                .map_err(Error::database("taking the migration lock"))?;
            Ok((taken == 1).then_some(LockHandle::Session))
        }

        fn unlock(&mut self, name: &str, _handle: LockHandle) -> QueryResult<()> {
            let sql = format!("SELECT COALESCE(RELEASE_LOCK({}), 0) AS n", lock_name(name));
            crate::backend::count(self, &sql).map(drop)
        }

        crate::backend::any::lend_via_any!(Mysql);
    }
}

#[cfg(test)]
mod tests {
    use super::lock_name;

    #[test]
    fn lock_names_fit_in_64_characters() {
        assert_eq!(
            lock_name("db.migrator_version"),
            "IF(CHAR_LENGTH('db.migrator_version') <= 55, \
             CONCAT('migrator:', 'db.migrator_version'), \
             CONCAT('migrator:', LEFT(SHA2('db.migrator_version', 256), 55)))"
        );
        assert!(lock_name("migrator_version").contains("CONCAT(DATABASE(), '.', 'migrator_version')"));
    }
}
