//! Test support: one fresh database per test, on every backend, dropped
//! afterwards.
//!
//! PostgreSQL is reached at `MIGRATOR_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`). When it cannot be reached,
//! a test fails if `CI` is set, and is skipped with a loud message otherwise.

use std::sync::atomic::{AtomicU32, Ordering};

/// A graph with a branch and a merge, a slow Rust revision and a
/// non-transactional one: 001 → (002 | 003) → 004 (merge) → 005 (Rust,
/// sleeps 200 ms) → 006 (`Transaction: false`, `Timeout: 30s`). The binary
/// `branchy` runs the migrator CLI over it.
pub mod branchy {
    migrator_macros::embed_migrations!("fixtures/branchy");
}

use diesel::Connection;
use diesel::PgConnection;
use diesel::connection::SimpleConnection;
use migrator_runtime::AnyConnection;

/// The server's administrative URL for PostgreSQL tests.
pub fn postgres_admin_url() -> String {
    std::env::var("MIGRATOR_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A database that exists for one test.
pub struct TestDb {
    url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    /// The temporary directory holding the SQLite file.
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    /// The PostgreSQL database to drop.
    Postgres { name: String },
}

/// The backends a test can run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A SQLite file in a temporary directory.
    Sqlite,
    /// A database created on the local PostgreSQL server.
    Postgres,
}

impl TestDb {
    /// A fresh database of `kind`; `None` (after a loud message) when
    /// PostgreSQL is unreachable outside CI.
    pub fn new(kind: Kind) -> Option<TestDb> {
        match kind {
            Kind::Sqlite => Some(TestDb::sqlite()),
            Kind::Postgres => TestDb::postgres(),
        }
    }

    /// A fresh SQLite database file.
    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("create a temporary directory");
        let url = format!("sqlite://{}", dir.path().join("test.db").display());
        TestDb {
            url,
            cleanup: Cleanup::Sqlite(dir),
        }
    }

    /// A fresh PostgreSQL database, or `None` when the server is unreachable
    /// and `CI` is not set.
    pub fn postgres() -> Option<TestDb> {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let admin_url = postgres_admin_url();
        let mut admin = match PgConnection::establish(&admin_url) {
            Ok(conn) => conn,
            Err(error) if std::env::var_os("CI").is_none() => {
                eprintln!(
                    "\n!!! SKIPPED: PostgreSQL unreachable at {}: {error}\n!!! (in CI this fails)\n",
                    migrator_runtime::backend::redact(&admin_url)
                );
                return None;
            }
            Err(error) => panic!("PostgreSQL is required in CI and is unreachable: {error}"),
        };
        let name = format!(
            "migrator_test_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos())
        );
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create the test database");
        let url = match admin_url.rsplit_once('/') {
            Some((server, _)) => format!("{server}/{name}"),
            None => panic!("MIGRATOR_TEST_POSTGRES_URL has no database part"),
        };
        Some(TestDb {
            url,
            cleanup: Cleanup::Postgres { name },
        })
    }

    /// The database's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A new connection to it.
    pub fn connect(&self) -> AnyConnection {
        migrator_runtime::connect(&self.url).expect("connect to the test database")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Cleanup::Postgres { name } = &self.cleanup
            && let Ok(mut admin) = PgConnection::establish(&postgres_admin_url())
        {
            let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

/// Runs `test` on a fresh database of each backend (PostgreSQL skipped loudly
/// outside CI when unreachable).
pub fn on_each_backend(test: impl Fn(&TestDb)) {
    for kind in [Kind::Sqlite, Kind::Postgres] {
        if let Some(db) = TestDb::new(kind) {
            test(&db);
        }
    }
}

/// The names of the tables in the database's current schema, sorted.
pub fn tables(conn: &mut AnyConnection) -> Vec<String> {
    #[derive(diesel::QueryableByName)]
    struct Name {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
    }
    let sql = match conn {
        AnyConnection::Postgres(_) => {
            "SELECT table_name AS name FROM information_schema.tables \
             WHERE table_schema = current_schema() ORDER BY table_name"
        }
        AnyConnection::Sqlite(_) => {
            "SELECT name FROM sqlite_master WHERE type = 'table' \
             AND name NOT LIKE 'sqlite_%' ORDER BY name"
        }
    };
    let rows: Vec<Name> = match conn {
        AnyConnection::Postgres(c) => diesel::RunQueryDsl::load(diesel::sql_query(sql), c),
        AnyConnection::Sqlite(c) => diesel::RunQueryDsl::load(diesel::sql_query(sql), c),
    }
    .expect("list tables");
    rows.into_iter().map(|r| r.name).collect()
}
