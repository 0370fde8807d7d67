//! PostgreSQL: its dialect, its run lock (a session advisory lock), and
//! `diesel::PgConnection`.

use std::time::Duration;

use super::{Dialect, millis};
use crate::bookkeeping::TableName;
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

    fn table_exists_sql(&self, table: &TableName) -> String {
        format!(
            "SELECT CASE WHEN to_regclass({}) IS NULL THEN 0 ELSE 1 END::BIGINT AS n",
            self.quote_str(&table.quoted(self))
        )
    }

    fn current_schema_sql(&self) -> Option<&'static str> {
        Some("SELECT coalesce(current_schema()::text, '') AS value")
    }

    /// Earlier builds quoted the whole name as one identifier and let the
    /// search path find it: `migrator_version` in `public` while
    /// `current_schema()` is now `"$user"`'s schema, or a table literally
    /// named `svc_a.migrator_version`.
    fn found_elsewhere_sql(&self, resolved: &TableName, configured: &str) -> Option<String> {
        Some(format!(
            "SELECT n.nspname || '.' || c.relname AS value FROM pg_catalog.pg_class c \
             JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.oid = to_regclass({}) AND to_regclass({}) IS NULL",
            self.quote_str(&self.quote_ident(configured)),
            self.quote_str(&resolved.quoted(self))
        ))
    }

    /// The rows joined in one row, in any order (the digest is a sum):
    /// measured on a fresh connection at 1000 rows, cheaper than hashing on
    /// the server (`md5` and the casts to `bit(60)` cost about 0.8 ms more).
    /// An unqualified name is the table of `current_schema()`: the rows of a
    /// table of that name further along the search path are left out (its
    /// `tableoid` differs), so they never pass for this schema's state.
    fn digest_sql(&self, table: &TableName) -> super::DigestSql {
        let only_current = match table.schema {
            Some(_) => String::new(),
            None => format!(
                " WHERE tableoid = (SELECT to_regclass(format('%I.%I', current_schema(), {})))",
                self.quote_str(&table.name)
            ),
        };
        super::DigestSql::Joined(format!(
            "SELECT count(*)::BIGINT AS n, string_agg(revision || ':' || checksum, ',') AS value \
             FROM {}{only_current}",
            table.quoted(self)
        ))
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

    fn session_timeouts_sql(&self) -> String {
        "SELECT format('SET statement_timeout = %L; SET lock_timeout = %L;', \
         current_setting('statement_timeout'), current_setting('lock_timeout')) AS value"
            .to_owned()
    }

    /// The session holding the advisory lock, from `pg_locks` and
    /// `pg_stat_activity` (fields this role may not see say so).
    fn advisory_holder_sql(&self, name: &str) -> Option<String> {
        Some(format!(
            "SELECT format('pid %s, application %s, client %s, connected since %s, %s since %s', \
             l.pid, quote_literal(coalesce(a.application_name, '')), \
             CASE WHEN a.pid IS NULL THEN 'not visible' \
             ELSE coalesce(host(a.client_addr), 'local socket') END, \
             coalesce(a.backend_start::text, 'not visible'), \
             coalesce(a.state, 'state not visible'), \
             coalesce(a.state_change::text, 'not visible')) AS value \
             FROM pg_catalog.pg_locks l \
             LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid \
             WHERE l.locktype = 'advisory' AND l.granted \
             AND l.database = (SELECT oid FROM pg_catalog.pg_database \
             WHERE datname = current_database()) \
             AND l.classid = {LOCK_CLASS}::oid AND l.objid = {}::oid AND l.objsubid = 2",
            lock_hash(name)
        ))
    }

    fn backend_pid_sql(&self) -> Option<&'static str> {
        Some("SELECT pg_backend_pid()::BIGINT AS n")
    }

    /// UTC by the server's clock (`clock_timestamp()`, not the start of the
    /// transaction).
    fn now_sql(&self, plus: Duration) -> String {
        format!(
            "((clock_timestamp() AT TIME ZONE 'UTC') + interval '{} milliseconds')",
            plus.as_millis()
        )
    }

    /// The cluster's system identifier (the same through a pooler and on
    /// every address of the server) and the database.
    fn database_identity_sql(&self) -> String {
        "SELECT (SELECT system_identifier::text FROM pg_catalog.pg_control_system()) \
         || '/' || current_database() AS value"
            .to_owned()
    }

    /// The server's English messages (`lc_messages`, which only a superuser
    /// may change, translates them).
    fn timeout_kind(&self, message: &str) -> Option<super::TimeoutKind> {
        if message.contains("canceling statement due to lock timeout") {
            Some(super::TimeoutKind::Lock)
        } else if message.contains("canceling statement due to statement timeout") {
            Some(super::TimeoutKind::Statement)
        } else {
            None
        }
    }

    /// Invalid plain indexes (not partitioned ones, which stay invalid until
    /// every partition's index is attached) on tables the current role owns
    /// (only an owner creates or drops an index), outside the system
    /// schemas, except those another session is building right now.
    fn invalid_indexes_sql(&self) -> Option<String> {
        Some(
            "SELECT format('%I.%I', n.nspname, ic.relname) AS value \
             FROM pg_catalog.pg_index i \
             JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid \
             JOIN pg_catalog.pg_class t ON t.oid = i.indrelid \
             JOIN pg_catalog.pg_namespace n ON n.oid = ic.relnamespace \
             WHERE NOT i.indisvalid AND ic.relkind = 'i' \
             AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
             AND n.nspname NOT LIKE 'pg\\_toast%' \
             AND pg_catalog.pg_has_role(t.relowner, 'USAGE') \
             AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_stat_progress_create_index p \
             WHERE p.index_relid = i.indexrelid) \
             ORDER BY 1"
                .to_owned(),
        )
    }

    /// First in the block: an error, which aborts the block's transaction,
    /// so that everything up to its `COMMIT` is refused and nothing is
    /// recorded (the next block's guard then fails too: this block did not
    /// record). No session state: behind a transaction pooler it would stay
    /// on a server connection other clients get.
    fn script_guard_sql(&self, condition: &str, message: &str) -> String {
        format!(
            "DO $migrator$ BEGIN IF NOT ({condition}) THEN RAISE EXCEPTION '%', {}; \
             END IF; END $migrator$;",
            self.quote_str(message)
        )
    }

    fn script_values(&self) -> super::ScriptValues {
        super::ScriptValues {
            at: "(pg_catalog.now() AT TIME ZONE 'UTC')",
            elapsed_ms: "(extract(epoch FROM pg_catalog.clock_timestamp() - pg_catalog.now()) \
                         * 1000)::BIGINT",
            host: "COALESCE(pg_catalog.host(pg_catalog.inet_client_addr()), 'local socket')",
            pid: "pg_catalog.pg_backend_pid()",
            detail: "'offline script run by ' || current_user",
        }
    }

    /// The trigger on the version table, found by its name, and its
    /// function, found through the trigger (whatever schema it was created
    /// in); the table in the version table's schema.
    fn legacy_state_sql(&self, table: &TableName) -> [(String, String); 2] {
        let state = super::legacy_state_table(table).name;
        let version = self.quote_str(&table.quoted(self));
        let trigger = format!("{state}_reset");
        let trigger_where = format!(
            "tgrelid = to_regclass({version}) AND tgname = {} AND NOT tgisinternal",
            self.quote_str(&trigger)
        );
        let table_where = format!(
            "c.relname = {} AND c.relkind = 'r' \
             AND c.relnamespace = (SELECT relnamespace FROM pg_catalog.pg_class \
             WHERE oid = to_regclass({version})) \
             AND ARRAY(SELECT attname::text FROM pg_catalog.pg_attribute \
             WHERE attrelid = c.oid AND attnum > 0 AND NOT attisdropped ORDER BY attnum) \
             = ARRAY['state', 'version_table']",
            self.quote_str(&state)
        );
        [
            (
                format!(
                    "SELECT count(*)::BIGINT AS n FROM pg_catalog.pg_trigger WHERE {trigger_where}"
                ),
                format!(
                    "DO $migrator$ DECLARE f regprocedure; BEGIN\n    \
                     SELECT tgfoid::regprocedure INTO f FROM pg_catalog.pg_trigger \
                     WHERE {trigger_where};\n    \
                     IF f IS NOT NULL THEN\n        \
                     DROP TRIGGER {} ON {};\n        \
                     EXECUTE format('DROP FUNCTION %s', f);\n    \
                     END IF;\n\
                     END $migrator$;",
                    self.quote_ident(&trigger),
                    table.quoted(self)
                ),
            ),
            (
                format!(
                    "SELECT count(*)::BIGINT AS n FROM pg_catalog.pg_class c WHERE {table_where}"
                ),
                format!(
                    "DO $migrator$ DECLARE t regclass; BEGIN\n    \
                     SELECT c.oid::regclass INTO t FROM pg_catalog.pg_class c \
                     WHERE {table_where};\n    \
                     IF t IS NOT NULL THEN EXECUTE format('DROP TABLE %s', t); END IF;\n\
                     END $migrator$;"
                ),
            ),
        ]
    }
}

/// The first of the advisory lock's two keys: a constant that says
/// "migrator".
const LOCK_CLASS: u32 = 1_836_411_250;

/// The second key: a hash of the database and version table names, so that
/// two applications with their own version tables on one server do not wait
/// for each other.
fn lock_hash(name: &str) -> String {
    format!(
        "hashtext(current_database() || '.' || {})",
        Postgres.quote_str(name)
    )
}

/// The run lock on any PostgreSQL connection (libpq's or diesel-async's).
#[cfg(any(feature = "postgres", feature = "diesel-async"))]
pub(crate) mod lock {
    use diesel::connection::LoadConnection;
    use diesel::pg::Pg;
    use diesel::result::QueryResult;

    use super::{LOCK_CLASS, lock_hash};
    use crate::backend::LockHandle;
    use crate::error::Error;

    /// The advisory lock's two keys, as arguments of `pg_try_advisory_lock`.
    /// `name` is the schema-qualified name (`svc_a.migrator_version`; an
    /// unqualified name was qualified by `current_schema()` before the lock,
    /// see `Store::resolve`), so the same table name in two schemas has two
    /// locks; or, taken first, the unqualified name earlier builds locked
    /// (see `Store::lock_names`).
    fn lock_key(name: &str) -> String {
        format!("{LOCK_CLASS}, {}", lock_hash(name))
    }

    /// A session advisory lock: it belongs to this connection, and the
    /// server releases it if the connection dies.
    pub(crate) fn try_lock<C: LoadConnection<Backend = Pg>>(
        conn: &mut C,
        name: &str,
    ) -> Result<Option<LockHandle>, Error> {
        // Not re-entrant: a session that holds it already (left there by a
        // run whose unlock a transaction pooler sent to another session)
        // is another holder, not this run.
        let sql = format!(
            "SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_locks l \
             WHERE l.locktype = 'advisory' AND l.pid = pg_backend_pid() AND l.granted \
             AND l.database = (SELECT oid FROM pg_catalog.pg_database \
             WHERE datname = current_database()) \
             AND l.classid = {LOCK_CLASS}::oid AND l.objid = {}::oid AND l.objsubid = 2) \
             THEN 0 WHEN pg_try_advisory_lock({}) THEN 1 ELSE 0 END::BIGINT AS n",
            lock_hash(name),
            lock_key(name)
        );
        let taken = crate::backend::count(conn, &sql)
            .map_err(Error::database("taking the migration lock"))?;
        Ok((taken == 1).then_some(LockHandle::Session))
    }

    /// Releases the lock; fails when this server session did not hold it,
    /// which is what a transaction pooler does to a session lock (the
    /// unlock reaches another server connection than the lock did).
    pub(crate) fn unlock<C: LoadConnection<Backend = Pg>>(
        conn: &mut C,
        name: &str,
    ) -> QueryResult<()> {
        let sql = format!(
            "SELECT CASE WHEN pg_advisory_unlock({}) THEN 1 ELSE 0 END::BIGINT AS n",
            lock_key(name)
        );
        if crate::backend::count(conn, &sql)? == 1 {
            return Ok(());
        }
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::Unknown,
            Box::new(format!(
                "the server session did not hold the advisory lock `{name}` it took: the \
                 connection reached another server session, as a transaction pooler \
                 (PgBouncer in transaction mode) does; the lock may stay held on the first \
                 session until it closes: use --lock table or redis behind such a pooler"
            )),
        ))
    }
}

#[cfg(feature = "postgres")]
mod connection {
    use diesel::PgConnection;
    use diesel::result::QueryResult;

    use super::{Postgres, lock};
    use crate::backend::{Backend, Dialect, LockHandle, common_backend_methods};
    use crate::error::Error;

    impl Backend for PgConnection {
        fn dialect(&self) -> &'static dyn Dialect {
            &Postgres
        }

        common_backend_methods!();

        fn try_lock(&mut self, name: &str) -> Result<Option<LockHandle>, Error> {
            lock::try_lock(self, name)
        }

        fn unlock(&mut self, name: &str, _handle: LockHandle) -> QueryResult<()> {
            lock::unlock(self, name)
        }

        crate::backend::any::lend_via_any!(Postgres);
    }
}
