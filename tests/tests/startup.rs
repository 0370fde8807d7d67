//! What migrator leaves in the user's database (two tables, nothing else),
//! and the start at head: one query, one round trip, no lock, nothing
//! written, and every edit of the version table seen at the next start.

use std::sync::{Arc, Mutex};

use diesel::connection::{Instrumentation, InstrumentationEvent, SimpleConnection};
use diesel::{Connection, PgConnection};
use migrator_runtime::{AnyConnection, Error, Migrator, Target};
use migrator_tests::{Kind, TestDb, branchy, count, drop_index_sql, on_every_backend, tables};

use migrator_tests::BRANCHY_AT_HEAD as AT_HEAD;

/// Records the SQL of every query the connection sends.
fn record_queries(conn: &mut impl Connection) -> Arc<Mutex<Vec<String>>> {
    let queries = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&queries);
    conn.set_instrumentation(move |event: InstrumentationEvent<'_>| {
        if let InstrumentationEvent::StartQuery { query, .. } = event {
            sink.lock().expect("queries").push(query.to_string());
        }
    });
    queries
}

/// Stops recording (the connection keeps a no-op instrumentation).
fn stop_recording(conn: &mut impl Connection) {
    conn.set_instrumentation(None::<Box<dyn Instrumentation>>);
}

/// After `upgrade head`, the database holds the app's tables, the version
/// table and the audit log: no other table, and no function or trigger.
#[test]
fn migrator_owns_two_tables_and_nothing_else() {
    on_every_backend(|db| {
        let mut conn = db.connect();
        Migrator::new(&branchy::MIGRATIONS)
            .upgrade(&mut conn, Target::Head)
            .expect("upgrade");
        let mut found = tables(&mut conn);
        found.sort();
        assert_eq!(found, AT_HEAD);
        let (functions, triggers) = match db.kind() {
            Kind::Mysql => (
                count(
                    &mut conn,
                    "SELECT COUNT(*) AS n FROM information_schema.routines \
                     WHERE routine_schema = DATABASE()",
                ),
                count(
                    &mut conn,
                    "SELECT COUNT(*) AS n FROM information_schema.triggers \
                     WHERE trigger_schema = DATABASE()",
                ),
            ),
            Kind::Postgres => (
                count(
                    &mut conn,
                    "SELECT count(*) AS n FROM pg_catalog.pg_proc p \
                     JOIN pg_catalog.pg_namespace s ON s.oid = p.pronamespace \
                     WHERE s.nspname NOT IN ('pg_catalog', 'information_schema')",
                ),
                count(
                    &mut conn,
                    "SELECT count(*) AS n FROM pg_catalog.pg_trigger WHERE NOT tgisinternal",
                ),
            ),
            Kind::Sqlite => (
                0,
                count(
                    &mut conn,
                    "SELECT count(*) AS n FROM sqlite_master WHERE type = 'trigger'",
                ),
            ),
        };
        assert_eq!((functions, triggers), (0, 0), "{}", db.kind().name());
    });
}

/// At head, `upgrade head` sends one query and nothing else: no lock, no
/// transaction, no write.
#[test]
fn at_head_a_start_is_one_query() {
    on_every_backend(|db| {
        let migrator = Migrator::new(&branchy::MIGRATIONS);
        let mut conn = db.connect();
        migrator.upgrade(&mut conn, Target::Head).expect("upgrade");
        let queries = record_queries(&mut conn);
        let report = migrator.upgrade(&mut conn, Target::Head).expect("at head");
        stop_recording(&mut conn);
        assert!(report.steps.is_empty());
        let queries = queries.lock().expect("queries").clone();
        assert_eq!(queries.len(), 1, "{queries:#?}");
        assert!(queries[0].starts_with("SELECT"), "{queries:#?}");
    });
}

/// At head, the start reads the version table and takes no lock: with the
/// version table locked against writers by another session (SHARE), and
/// the advisory lock held, it still answers at once.
#[test]
fn at_head_a_start_waits_for_no_lock() {
    let Some(db) = TestDb::postgres() else { return };
    let migrator = Migrator::new(&branchy::MIGRATIONS);
    let mut conn = db.connect();
    migrator.upgrade(&mut conn, Target::Head).expect("upgrade");
    let mut holder = PgConnection::establish(db.url()).expect("connect");
    holder
        .batch_execute(
            "SELECT pg_advisory_lock(1836411250, hashtext(current_database() || '.migrator_version')); \
             BEGIN; LOCK TABLE migrator_version IN SHARE MODE;",
        )
        .expect("hold the locks");
    conn.batch_execute("SET statement_timeout = '2s'")
        .expect("bound the wait");
    let report = migrator
        .upgrade(&mut conn, Target::Head)
        .expect("a start at head waits for nothing");
    assert!(report.steps.is_empty());
    holder.batch_execute("ROLLBACK").expect("unlock");
}

/// Any edit of the version table, by hand or by anything else, is seen at
/// the next start: an edited checksum stops the run; a deleted row makes
/// the revision pending again.
#[test]
fn every_edit_of_the_version_table_is_seen_at_the_next_start() {
    on_every_backend(|db| {
        let migrator = Migrator::new(&branchy::MIGRATIONS);
        let mut conn = db.connect();
        migrator.upgrade(&mut conn, Target::Head).expect("upgrade");
        conn.batch_execute(
            "UPDATE migrator_version SET checksum = 'edited' WHERE revision = '001'",
        )
        .expect("edit by hand");
        let error = migrator
            .upgrade(&mut conn, Target::Head)
            .expect_err("the edit is seen");
        assert!(matches!(error, Error::ChecksumMismatch { .. }), "{error}");
        migrator.stamp(&mut conn, Target::Head).expect("re-record");
        conn.batch_execute(&format!(
            "DELETE FROM migrator_version WHERE revision = '006'; {};",
            drop_index_sql(db.kind(), "left_t_id", "left_t")
        ))
        .expect("delete by hand");
        let report = migrator
            .upgrade(&mut conn, Target::Head)
            .expect("006 runs again");
        let ran: Vec<&str> = report.steps.iter().map(|s| s.revision.as_str()).collect();
        assert_eq!(ran, ["006"]);
    });
}

/// The state table, its triggers and (PostgreSQL) its function, which
/// earlier builds of migrator created beside the version table.
fn create_legacy_state(conn: &mut AnyConnection, kind: Kind) {
    let sql = match kind {
        Kind::Mysql => {
            "CREATE TABLE migrator_version_state (state VARCHAR(100) NOT NULL, \
                 version_table VARCHAR(100) NOT NULL);
             CREATE TRIGGER migrator_version_state_reset_insert AFTER INSERT ON migrator_version
                 FOR EACH ROW DELETE FROM migrator_version_state;
             CREATE TRIGGER migrator_version_state_reset_update AFTER UPDATE ON migrator_version
                 FOR EACH ROW DELETE FROM migrator_version_state;
             CREATE TRIGGER migrator_version_state_reset_delete AFTER DELETE ON migrator_version
                 FOR EACH ROW DELETE FROM migrator_version_state;"
        }
        Kind::Postgres => {
            "CREATE TABLE migrator_version_state (state VARCHAR(100) NOT NULL, \
                 version_table VARCHAR(100) NOT NULL);
             CREATE FUNCTION migrator_version_state_reset() RETURNS trigger LANGUAGE plpgsql
                 SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $migrator$
             BEGIN
                 IF to_regclass(format('%I.%I', TG_TABLE_SCHEMA, 'migrator_version_state')) IS NOT NULL THEN
                     EXECUTE format('DELETE FROM %I.%I', TG_TABLE_SCHEMA, 'migrator_version_state');
                 END IF;
                 RETURN NULL;
             END
             $migrator$;
             CREATE TRIGGER migrator_version_state_reset AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
                 ON migrator_version FOR EACH STATEMENT EXECUTE FUNCTION migrator_version_state_reset();"
        }
        Kind::Sqlite => {
            "CREATE TABLE migrator_version_state (state VARCHAR(100) NOT NULL, \
                 version_table VARCHAR(100) NOT NULL);
             CREATE TRIGGER migrator_version_state_reset_insert AFTER INSERT ON migrator_version
                 BEGIN DELETE FROM migrator_version_state; END;
             CREATE TRIGGER migrator_version_state_reset_update AFTER UPDATE ON migrator_version
                 BEGIN DELETE FROM migrator_version_state; END;
             CREATE TRIGGER migrator_version_state_reset_delete AFTER DELETE ON migrator_version
                 BEGIN DELETE FROM migrator_version_state; END;"
        }
    };
    conn.batch_execute(sql).expect("create the old state table");
}

/// A database migrated by earlier builds of migrator has a state table, a trigger
/// and a function beside the version table: the next run that takes the
/// lock drops them.
#[test]
fn the_state_table_of_older_versions_is_dropped() {
    on_every_backend(|db| {
        let migrator = Migrator::new(&branchy::MIGRATIONS);
        let mut conn = db.connect();
        migrator
            .upgrade(&mut conn, "004".parse::<Target>().expect("target"))
            .expect("upgrade");
        create_legacy_state(&mut conn, db.kind());
        assert!(tables(&mut conn).contains(&"migrator_version_state".to_owned()));
        migrator
            .upgrade(&mut conn, Target::Head)
            .expect("upgrade head");
        let mut found = tables(&mut conn);
        found.sort();
        assert_eq!(found, AT_HEAD);
        let leftovers = match db.kind() {
            Kind::Mysql => count(
                &mut conn,
                "SELECT COUNT(*) AS n FROM information_schema.triggers \
                 WHERE trigger_schema = DATABASE()",
            ),
            Kind::Postgres => count(
                &mut conn,
                "SELECT (SELECT count(*) FROM pg_catalog.pg_trigger WHERE NOT tgisinternal) \
                 + (SELECT count(*) FROM pg_catalog.pg_proc \
                    WHERE proname = 'migrator_version_state_reset') AS n",
            ),
            Kind::Sqlite => count(
                &mut conn,
                "SELECT count(*) AS n FROM sqlite_master WHERE type = 'trigger'",
            ),
        };
        assert_eq!(leftovers, 0, "{}", db.kind().name());
    });
}

/// In a database that publishes all its tables for logical replication
/// (Debezium's default), every table that is updated or deleted from needs
/// a replica identity: migrator's two have primary keys, so the factory's
/// revisions go up, down and up again.
#[test]
fn a_publication_for_all_tables_does_not_stop_a_run() {
    let Some(db) = TestDb::postgres() else { return };
    let mut conn = db.connect();
    conn.batch_execute("CREATE PUBLICATION migrator_test_all FOR ALL TABLES")
        .expect("create the publication");
    let migrator = factory_service_db::migrator();
    migrator.upgrade(&mut conn, Target::Head).expect("upgrade");
    migrator
        .downgrade(&mut conn, Target::Base)
        .expect("downgrade");
    migrator
        .upgrade(&mut conn, Target::Head)
        .expect("upgrade again");
    migrator.stamp(&mut conn, Target::Base).expect("stamp base");
    assert!(migrator.current(&mut conn).expect("current").is_empty());
    conn.batch_execute("DROP PUBLICATION migrator_test_all")
        .expect("drop the publication");
}

/// A table of the user's that happens to be named like the old state table
/// (`<version table>_state`) but is not migrator's (other columns) is left
/// alone, with its rows.
#[test]
fn a_users_table_named_like_the_old_state_table_is_left_alone() {
    on_every_backend(|db| {
        let migrator = Migrator::new(&branchy::MIGRATIONS);
        let mut conn = db.connect();
        migrator
            .upgrade(&mut conn, "004".parse::<Target>().expect("target"))
            .expect("upgrade");
        conn.batch_execute(
            "CREATE TABLE migrator_version_state (id INTEGER NOT NULL PRIMARY KEY, note VARCHAR(20)); \
             INSERT INTO migrator_version_state (id, note) VALUES (1, 'mine');",
        )
        .expect("the user's table");
        migrator
            .upgrade(&mut conn, Target::Head)
            .expect("upgrade head");
        assert_eq!(
            count(
                &mut conn,
                "SELECT count(*) AS n FROM migrator_version_state"
            ),
            1
        );
    });
}
