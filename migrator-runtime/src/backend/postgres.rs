//! PostgreSQL.

use diesel::PgConnection;

use super::{Backend, Dialect, common_backend_methods};
use crate::model::BackendKind;

/// PostgreSQL's SQL dialect.
pub(crate) struct Postgres;

impl Dialect for Postgres {
    fn kind(&self) -> BackendKind {
        BackendKind::Postgres
    }

    fn table_exists_sql(&self, table: &str) -> String {
        format!(
            "SELECT COUNT(*) AS n FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_name = {}",
            self.quote_str(table)
        )
    }
}

impl Backend for PgConnection {
    fn dialect(&self) -> &'static dyn Dialect {
        &Postgres
    }

    common_backend_methods!();
}
