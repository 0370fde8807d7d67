//! Fresh databases for tests: a SQLite file in a temporary directory, or a
//! database created on the local PostgreSQL server and dropped afterwards.

use std::sync::atomic::{AtomicU32, Ordering};

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};

use crate::backend::AnyConnection;
use crate::model::BackendKind;

/// The environment variable naming the PostgreSQL server's administrative URL
/// for tests.
pub const POSTGRES_URL_VAR: &str = "MIGRATOR_TEST_POSTGRES_URL";

/// The server's administrative URL for PostgreSQL tests:
/// `MIGRATOR_TEST_POSTGRES_URL`, by default
/// `postgres://postgres@127.0.0.1:5432/postgres`. Test databases are created
/// and dropped through it, and live on the same server.
pub fn postgres_admin_url() -> String {
    std::env::var(POSTGRES_URL_VAR)
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// True when tests run in CI (`CI` is set): there, an unreachable PostgreSQL
/// fails the test instead of skipping it.
pub fn in_ci() -> bool {
    std::env::var_os("CI").is_some()
}

/// A database that exists for one test, removed when dropped.
#[derive(Debug)]
pub struct TestDb {
    url: String,
    kind: Kind,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    /// The temporary directory holding the SQLite file.
    Sqlite(#[allow(dead_code, reason = "held for its drop")] tempfile::TempDir),
    /// The PostgreSQL database to drop.
    Postgres { name: String },
}

/// The backends a test can run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A SQLite file in a temporary directory.
    Sqlite,
    /// A database created on the local PostgreSQL server.
    Postgres,
}

impl Kind {
    /// Every backend tests run on, SQLite first.
    pub const ALL: [Kind; 2] = [Kind::Sqlite, Kind::Postgres];

    /// `sqlite` or `postgres`, as in the names of generated tests.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Sqlite => "sqlite",
            Kind::Postgres => "postgres",
        }
    }

    /// The runtime's name for this backend.
    pub fn backend(self) -> BackendKind {
        match self {
            Kind::Sqlite => BackendKind::Sqlite,
            Kind::Postgres => BackendKind::Postgres,
        }
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl TestDb {
    /// A fresh database of `kind`; `None` (after a loud message on stderr)
    /// when PostgreSQL is unreachable outside CI.
    ///
    /// # Panics
    ///
    /// When PostgreSQL is unreachable in CI, or the database cannot be
    /// created.
    pub fn new(kind: Kind) -> Option<TestDb> {
        match kind {
            Kind::Sqlite => Some(TestDb::sqlite()),
            Kind::Postgres => TestDb::postgres(),
        }
    }

    /// A fresh SQLite database file in a new temporary directory.
    ///
    /// # Panics
    ///
    /// When the temporary directory cannot be created.
    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("create a temporary directory");
        let url = format!("sqlite://{}", dir.path().join("test.db").display());
        TestDb {
            url,
            kind: Kind::Sqlite,
            cleanup: Cleanup::Sqlite(dir),
        }
    }

    /// A fresh PostgreSQL database on the server at [`postgres_admin_url`],
    /// or `None` when the server is unreachable and `CI` is not set.
    ///
    /// # Panics
    ///
    /// When the server is unreachable in CI, or the database cannot be
    /// created.
    pub fn postgres() -> Option<TestDb> {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let admin_url = postgres_admin_url();
        let mut admin = match PgConnection::establish(&admin_url) {
            Ok(conn) => conn,
            Err(error) if !in_ci() => {
                eprintln!(
                    "\n!!! SKIPPED: PostgreSQL unreachable at {}: {error}\n!!! (in CI this fails)\n",
                    crate::backend::redact(&admin_url)
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
            None => panic!("{POSTGRES_URL_VAR} has no database part"),
        };
        Some(TestDb {
            url,
            kind: Kind::Postgres,
            cleanup: Cleanup::Postgres { name },
        })
    }

    /// The database's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Its backend.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// A new connection to it.
    ///
    /// # Panics
    ///
    /// When the connection fails; [`TestDb::try_connect`] returns the error.
    pub fn connect(&self) -> AnyConnection {
        self.try_connect().expect("connect to the test database")
    }

    /// A new connection to it, or the error.
    pub fn try_connect(&self) -> crate::Result<AnyConnection> {
        crate::connect(&self.url)
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

/// Runs `test` on a fresh database of each backend, SQLite first
/// (PostgreSQL skipped loudly outside CI when unreachable).
pub fn on_each_backend(test: impl Fn(&TestDb)) {
    for kind in Kind::ALL {
        if let Some(db) = TestDb::new(kind) {
            test(&db);
        }
    }
}

/// The names of the tables in the database's current schema, sorted, the
/// migrator's own tables included (SQLite's internal `sqlite_%` tables
/// excluded).
///
/// # Panics
///
/// When the query fails.
pub fn tables(conn: &mut AnyConnection) -> Vec<String> {
    #[derive(diesel::QueryableByName)]
    struct Name {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
    }
    let sql = match conn {
        AnyConnection::Postgres(_) => {
            "SELECT table_name::text AS name FROM information_schema.tables \
             WHERE table_schema = current_schema() ORDER BY table_name"
        }
        AnyConnection::Sqlite(_) => {
            "SELECT name FROM sqlite_master WHERE type = 'table' \
             AND name NOT LIKE 'sqlite_%' ORDER BY name"
        }
    };
    let rows: Vec<Name> = match conn {
        AnyConnection::Postgres(c) => crate::backend::load(c, sql),
        AnyConnection::Sqlite(c) => crate::backend::load(c, sql),
    }
    .expect("list tables");
    rows.into_iter().map(|r| r.name).collect()
}
