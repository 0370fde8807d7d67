//! MySQL and MariaDB: the dialect only, so that offline SQL can be rendered
//! for them; connections come with the MySQL backend.

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

    /// MySQL has no transaction-local settings: session ones are set either
    /// way (and restored after a `Transaction: false` revision).
    fn timeouts_sql(
        &self,
        statement: Option<Duration>,
        lock: Duration,
        _local: bool,
    ) -> Option<String> {
        let statement = statement.map_or(0, millis);
        let lock_seconds = lock.as_secs().max(1);
        Some(format!(
            "SET SESSION max_execution_time = {statement}; \
             SET SESSION lock_wait_timeout = {lock_seconds};"
        ))
    }

    fn reset_timeouts_sql(&self) -> &'static str {
        "SET SESSION max_execution_time = DEFAULT; SET SESSION lock_wait_timeout = DEFAULT;"
    }

    fn session_timeouts_sql(&self) -> String {
        "SELECT CONCAT('SET SESSION max_execution_time = ', @@SESSION.max_execution_time, \
         '; SET SESSION lock_wait_timeout = ', @@SESSION.lock_wait_timeout, ';') AS value"
            .to_owned()
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
        } else if message.contains("maximum statement execution time exceeded") {
            Some(super::TimeoutKind::Statement)
        } else {
            None
        }
    }

    /// As on SQLite: a query that fails (an invalid JSON path) unless the
    /// condition holds.
    fn script_guard_sql(&self, condition: &str, message: &str) -> (Option<String>, String) {
        (
            None,
            format!(
                "SELECT JSON_EXTRACT('{{}}', CASE WHEN {condition} THEN '$' ELSE {} END);",
                self.quote_str(message)
            ),
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
