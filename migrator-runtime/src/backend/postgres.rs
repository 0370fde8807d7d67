//! PostgreSQL.

use std::time::Duration;

use diesel::PgConnection;
use diesel::result::QueryResult;

use super::{Backend, Dialect, LockHandle, STATE_COLUMNS, common_backend_methods, millis};
use crate::error::Error;
use crate::model::BackendKind;

/// PostgreSQL's SQL dialect.
pub(crate) struct Postgres;

impl Dialect for Postgres {
    fn kind(&self) -> BackendKind {
        BackendKind::Postgres
    }

    fn serial_primary_key(&self) -> &'static str {
        "BIGSERIAL PRIMARY KEY"
    }

    fn table_exists_sql(&self, table: &str) -> String {
        format!(
            "SELECT CASE WHEN to_regclass({}) IS NULL THEN 0 ELSE 1 END::BIGINT AS n",
            self.quote_str(&self.quote_ident(table))
        )
    }

    fn timeouts_sql(
        &self,
        statement: Option<Duration>,
        lock: Duration,
        local: bool,
    ) -> Option<String> {
        let set = if local { "SET LOCAL" } else { "SET" };
        let statement = statement.map_or(0, millis);
        Some(format!(
            "{set} statement_timeout = {statement}; {set} lock_timeout = {};",
            millis(lock)
        ))
    }

    fn reset_timeouts_sql(&self) -> &'static str {
        "RESET statement_timeout; RESET lock_timeout;"
    }

    fn is_timeout(&self, message: &str) -> bool {
        message.contains("canceling statement due to statement timeout")
            || message.contains("canceling statement due to lock timeout")
    }

    /// The state table goes into the version table's schema (whatever the
    /// `search_path` says of new tables), and a statement-level trigger
    /// (also on `TRUNCATE`) empties it. The trigger's function finds the
    /// state table in the version table's schema and does nothing when it is
    /// gone; it runs with its creator's rights (a role that may write the
    /// version table but not the state table still can), and nobody else may
    /// call it directly.
    fn state_table_sql(&self, table: &str, state_table: &str) -> String {
        let function = self.quote_ident(&format!("{state_table}_reset"));
        let version = self.quote_ident(table);
        let name = self.quote_str(state_table);
        let regclass = self.quote_str(&self.quote_ident(table));
        format!(
            "DO $migrator$ BEGIN\n    \
             EXECUTE format('CREATE TABLE IF NOT EXISTS %I.%I ({STATE_COLUMNS})',\n        \
             (SELECT n.nspname FROM pg_catalog.pg_class c\n         \
             JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace\n         \
             WHERE c.oid = to_regclass({regclass})), {name});\n\
             END $migrator$;\n\
             CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql\n    \
             SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $migrator$\n\
             BEGIN\n    \
             IF to_regclass(format('%I.%I', TG_TABLE_SCHEMA, {name})) IS NOT NULL THEN\n        \
             EXECUTE format('DELETE FROM %I.%I', TG_TABLE_SCHEMA, {name});\n    \
             END IF;\n    \
             RETURN NULL;\n\
             END\n\
             $migrator$;\n\
             REVOKE EXECUTE ON FUNCTION {function}() FROM PUBLIC;\n\
             DROP TRIGGER IF EXISTS {function} ON {version};\n\
             CREATE TRIGGER {function} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {version}\n    \
             FOR EACH STATEMENT EXECUTE FUNCTION {function}();\n\
             DELETE FROM {};",
            self.quote_ident(state_table)
        )
    }

    /// The table's OID.
    fn table_identity_sql(&self, table: &str) -> String {
        format!(
            "CAST(CAST(to_regclass({}) AS oid) AS text)",
            self.quote_str(&self.quote_ident(table))
        )
    }

    fn share_lock_sql(&self, table: &str) -> Option<String> {
        Some(format!(
            "LOCK TABLE {} IN SHARE MODE NOWAIT;",
            self.quote_ident(table)
        ))
    }
}

/// The advisory lock's two keys: a constant that says "migrator" and a hash
/// of the database and version table names, so that two applications with
/// their own version tables on one server do not wait for each other.
fn lock_key(name: &str) -> String {
    format!(
        "1836411250, hashtext(current_database() || '.' || {})",
        Postgres.quote_str(name)
    )
}

impl Backend for PgConnection {
    fn dialect(&self) -> &'static dyn Dialect {
        &Postgres
    }

    common_backend_methods!();

    /// A session advisory lock: it belongs to this connection, and the server
    /// releases it if the connection dies.
    fn try_lock(&mut self, name: &str) -> Result<Option<LockHandle>, Error> {
        let sql = format!(
            "SELECT CASE WHEN pg_try_advisory_lock({}) THEN 1 ELSE 0 END::BIGINT AS n",
            lock_key(name)
        );
        let taken =
            super::count(self, &sql).map_err(Error::database("taking the migration lock"))?;
        Ok((taken == 1).then_some(LockHandle::Session))
    }

    fn unlock(&mut self, name: &str, _handle: LockHandle) -> QueryResult<()> {
        super::execute(
            self,
            &format!("SELECT pg_advisory_unlock({})", lock_key(name)),
        )
    }
}
