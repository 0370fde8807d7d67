//! MySQL and MariaDB: the dialect only, so that offline SQL can be rendered
//! for them; connections come with the MySQL backend.

use std::time::Duration;

use super::{Dialect, millis};
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

    fn table_exists_sql(&self, table: &str) -> String {
        format!(
            "SELECT COUNT(*) AS n FROM information_schema.tables \
             WHERE table_schema = DATABASE() AND table_name = {}",
            self.quote_str(table)
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

    fn is_timeout(&self, message: &str) -> bool {
        message.contains("maximum statement execution time exceeded")
            || message.contains("Lock wait timeout exceeded")
    }

    /// MySQL has `MD5` and `GROUP_CONCAT`, but `GROUP_CONCAT` is cut at
    /// `group_concat_max_len` (1024 bytes by default): the rows are read.
    fn digest_sql(&self, _table: &str) -> Option<String> {
        None
    }

    fn drop_legacy_state_sql(&self, table: &str) -> String {
        super::drop_legacy_row_triggers(self, table)
    }
}
