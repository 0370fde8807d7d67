//! The migrator runs on the connection the service already has: a
//! `PgConnection` it opened itself, an r2d2 pooled connection, a
//! `SqliteConnection`, and diesel-async's `AsyncConnectionWrapper` (a
//! deadpool connection included). Rust revisions see the same
//! `MigrationContext` whatever the caller passed.

use diesel::connection::SimpleConnection;
use diesel::r2d2::{ConnectionManager, Pool};
use diesel::{Connection, PgConnection, SqliteConnection};
use diesel_async::AsyncPgConnection;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::pooled_connection::AsyncDieselConnectionManager;
use diesel_async::pooled_connection::deadpool::Pool as AsyncPool;
use migrator_runtime::{Error, MigrationConnection, Migrator, Target};
use migrator_tests::{Kind, TestDb, count, tables};

mod linear {
    migrator_runtime::embed_migrations!("fixtures/linear");
}

/// The factory's revisions on `conn`, checked through a second connection
/// to `db`: 005, a Rust revision written for `AnyConnection`, backfills a
/// key created at 004; `current` is the head; the downgrade to base leaves
/// migrator's two tables.
fn migrate_the_factory(conn: &mut impl MigrationConnection, db: &TestDb) {
    let migrator = factory_service_db::migrator();
    let target = |t: &str| t.parse::<Target>().expect("target");
    migrator.upgrade(conn, target("004")).expect("upgrade 004");
    let mut other = db.connect();
    other
        .batch_execute(
            "INSERT INTO api_keys (id, name, key_hash) \
             VALUES ('00000000-0000-0000-0000-000000000001', 'old', 'abcdef0123456789')",
        )
        .expect("a key from before 005");
    let report = migrator.upgrade(conn, Target::Head).expect("upgrade head");
    assert_eq!(report.steps.len(), 5, "{report:?}");
    assert_eq!(
        count(
            &mut other,
            "SELECT count(*) AS n FROM api_keys WHERE key_prefix = 'h:abcdef01'"
        ),
        1,
        "005 ran"
    );
    let current: Vec<String> = migrator
        .current(conn)
        .expect("current")
        .iter()
        .map(|r| r.id.to_string())
        .collect();
    assert_eq!(current, ["009"]);
    migrator
        .downgrade(conn, Target::Base)
        .expect("downgrade base");
    let mut left = tables(&mut other);
    left.sort();
    assert_eq!(left, ["migrator_version", "migrator_version_audit"]);
}

/// (a) A `PgConnection` the service opened itself, still usable after.
#[test]
fn a_pg_connection_of_the_service() {
    let Some(db) = TestDb::postgres() else { return };
    let mut conn = PgConnection::establish(db.url()).expect("connect");
    migrate_the_factory(&mut conn, &db);
    conn.batch_execute("SELECT 1")
        .expect("the connection is still the service's");
}

/// (b) A connection of an r2d2 pool.
#[test]
fn an_r2d2_pooled_connection() {
    let Some(db) = TestDb::postgres() else { return };
    let pool = Pool::builder()
        .max_size(1)
        .build(ConnectionManager::<PgConnection>::new(db.url()))
        .expect("pool");
    let mut conn = pool.get().expect("a pooled connection");
    migrate_the_factory(&mut conn, &db);
    drop(conn);
    let mut again = pool.get().expect("the connection went back to the pool");
    again.batch_execute("SELECT 1").expect("usable");
}

/// (c) A `SqliteConnection` the service opened itself.
#[test]
fn a_sqlite_connection_of_the_service() {
    let db = TestDb::sqlite();
    let path = db.url().trim_start_matches("sqlite://").to_owned();
    let mut conn = SqliteConnection::establish(&path).expect("connect");
    migrate_the_factory(&mut conn, &db);
}

/// (d) diesel-async: an `AsyncConnectionWrapper` around a deadpool
/// connection, migrated in `spawn_blocking` as an async service does at
/// startup; the connection goes back to the pool and serves async queries.
#[test]
fn an_async_connection_wrapper_around_a_deadpool_connection() {
    let Some(db) = TestDb::postgres() else { return };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let pool = AsyncPool::builder(AsyncDieselConnectionManager::<AsyncPgConnection>::new(
            db.url(),
        ))
        .max_size(1)
        .build()
        .expect("pool");
        let conn = pool.get().await.expect("a pooled connection");
        let mut conn: AsyncConnectionWrapper<_> = AsyncConnectionWrapper::from(conn);
        let report = tokio::task::spawn_blocking(move || {
            Migrator::new(&linear::MIGRATIONS).upgrade(&mut conn, Target::Head)
        })
        .await
        .expect("the blocking task")
        .expect("upgrade");
        assert_eq!(report.steps.len(), 3);
        let mut conn = pool.get().await.expect("the connection is back");
        diesel_async::SimpleAsyncConnection::batch_execute(&mut *conn, "SELECT 1")
            .await
            .expect("usable for async queries");
    });
    let mut check = db.connect();
    assert_eq!(count(&mut check, "SELECT count(*) AS n FROM widgets"), 2);
}

/// A plain `AsyncConnectionWrapper<AsyncPgConnection>`, and a Rust revision
/// that asks for `AnyConnection`, which an async wrapper is not: the
/// revision fails with an error naming both types, and the database stays
/// at the revision before it.
#[test]
fn a_rust_revision_asking_for_another_connection_type_fails_clearly() {
    let Some(db) = TestDb::postgres() else { return };
    let url = db.url().to_owned();
    let error = std::thread::spawn(move || {
        let mut conn =
            AsyncConnectionWrapper::<AsyncPgConnection>::establish(&url).expect("connect");
        factory_service_db::migrator()
            .upgrade(&mut conn, Target::Head)
            .expect_err("005 asks for AnyConnection")
    })
    .join()
    .expect("the thread");
    assert!(
        matches!(&error, Error::Revision { revision, .. } if revision == "005"),
        "{error}"
    );
    let message = error.to_string();
    assert!(message.contains("AnyConnection"), "{message}");
    assert!(message.contains("AsyncConnectionWrapper"), "{message}");
    let current: Vec<String> = factory_service_db::migrator()
        .current(&mut db.connect())
        .expect("current")
        .iter()
        .map(|r| r.id.to_string())
        .collect();
    assert_eq!(current, ["004"]);
    assert_eq!(db.kind(), Kind::Postgres);
}

/// The caller's session timeouts are given back as they were after a run
/// that set its own (branchy's 006 runs outside a transaction, with
/// session-level timeouts), not reset to the server's defaults.
#[test]
fn the_callers_session_timeouts_are_given_back() {
    if let Some(db) = TestDb::postgres() {
        let mut conn = PgConnection::establish(db.url()).expect("connect");
        conn.batch_execute("SET statement_timeout = '7s'; SET lock_timeout = '3s'")
            .expect("the service's own timeouts");
        Migrator::new(&migrator_tests::branchy::MIGRATIONS)
            .upgrade(&mut conn, Target::Head)
            .expect("upgrade");
        #[derive(diesel::QueryableByName)]
        struct Setting {
            #[diesel(sql_type = diesel::sql_types::Text)]
            value: String,
        }
        let settings: Vec<Setting> = diesel::RunQueryDsl::load(
            diesel::sql_query(
                "SELECT current_setting('statement_timeout') || ' ' || \
                 current_setting('lock_timeout') AS value",
            ),
            &mut conn,
        )
        .expect("read the settings");
        assert_eq!(settings[0].value, "7s 3s");
    }
    let db = TestDb::sqlite();
    let path = db.url().trim_start_matches("sqlite://").to_owned();
    let mut conn = SqliteConnection::establish(&path).expect("connect");
    conn.batch_execute("PRAGMA busy_timeout = 1234")
        .expect("the service's own busy timeout");
    Migrator::new(&migrator_tests::branchy::MIGRATIONS)
        .upgrade(&mut conn, Target::Head)
        .expect("upgrade");
    #[derive(diesel::QueryableByName)]
    struct Busy {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        timeout: i64,
    }
    let busy: Vec<Busy> = diesel::RunQueryDsl::load(
        diesel::sql_query("SELECT timeout FROM pragma_busy_timeout"),
        &mut conn,
    )
    .expect("read the busy timeout");
    assert_eq!(busy[0].timeout, 1234);
}

/// A connection inside a transaction is refused before anything runs: each
/// revision commits on its own, and the lock would go before the caller's
/// commit.
#[test]
fn a_connection_inside_a_transaction_is_refused() {
    let Some(db) = TestDb::postgres() else { return };
    let mut conn = PgConnection::establish(db.url()).expect("connect");
    conn.begin_test_transaction().expect("begin");
    let error = Migrator::new(&linear::MIGRATIONS)
        .upgrade(&mut conn, Target::Head)
        .expect_err("inside a transaction");
    assert!(matches!(error, Error::InTransaction), "{error}");
    assert!(tables(&mut db.connect()).is_empty());
}
