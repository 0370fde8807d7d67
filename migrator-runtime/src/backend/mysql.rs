//! MySQL and MariaDB: the dialect only, so that offline SQL can be rendered
//! for them; connections come with the MySQL backend.

use super::Dialect;
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

    fn table_exists_sql(&self, table: &str) -> String {
        format!(
            "SELECT COUNT(*) AS n FROM information_schema.tables \
             WHERE table_schema = DATABASE() AND table_name = {}",
            self.quote_str(table)
        )
    }
}
