//! Fresh databases for tests: a SQLite file in a temporary directory, or a
//! database created on the local PostgreSQL (or, with the `mysql` feature,
//! MySQL/MariaDB) server and dropped afterwards.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, PoisonError};

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

/// The environment variable naming the MySQL or MariaDB server's
/// administrative URL for tests.
#[cfg(feature = "mysql")]
pub const MYSQL_URL_VAR: &str = "MIGRATOR_TEST_MYSQL_URL";

/// The server's administrative URL for MySQL tests:
/// `MIGRATOR_TEST_MYSQL_URL`, by default
/// `mysql://root@127.0.0.1:3306/mysql`. Test databases are created and
/// dropped through it, and live on the same server.
#[cfg(feature = "mysql")]
pub fn mysql_admin_url() -> String {
    std::env::var(MYSQL_URL_VAR).unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/mysql".to_owned())
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
    /// The PostgreSQL database to drop, through the administrative URL it
    /// was created through; `later`: with others, see [`drop_later`].
    Postgres {
        name: String,
        admin_url: String,
        later: bool,
    },
    /// The MySQL database to drop, through the administrative URL it was
    /// created through.
    #[cfg(feature = "mysql")]
    Mysql { name: String, admin_url: String },
}

/// The backends a test can run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A SQLite file in a temporary directory.
    Sqlite,
    /// A database created on the local PostgreSQL server.
    Postgres,
    /// A database created on the local MySQL or MariaDB server.
    #[cfg(feature = "mysql")]
    Mysql,
}

impl Kind {
    /// SQLite and PostgreSQL, the backends the `testing` feature always
    /// builds, SQLite first ([`Kind::built`] adds MySQL).
    pub const ALL: [Kind; 2] = [Kind::Sqlite, Kind::Postgres];

    /// Every backend built in: [`Kind::ALL`], then MySQL with the `mysql`
    /// feature.
    pub fn built() -> impl Iterator<Item = Kind> {
        #[cfg(feature = "mysql")]
        let mysql = Some(Kind::Mysql);
        #[cfg(not(feature = "mysql"))]
        let mysql = None;
        Kind::ALL.into_iter().chain(mysql)
    }

    /// `sqlite`, `postgres` or `mysql`, as in the names of generated tests.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Sqlite => "sqlite",
            Kind::Postgres => "postgres",
            #[cfg(feature = "mysql")]
            Kind::Mysql => "mysql",
        }
    }

    /// The runtime's name for this backend.
    pub fn backend(self) -> BackendKind {
        match self {
            Kind::Sqlite => BackendKind::Sqlite,
            Kind::Postgres => BackendKind::Postgres,
            #[cfg(feature = "mysql")]
            Kind::Mysql => BackendKind::Mysql,
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
    #[track_caller]
    pub fn new(kind: Kind) -> Option<TestDb> {
        match kind {
            Kind::Sqlite => Some(TestDb::sqlite()),
            Kind::Postgres => TestDb::postgres(),
            #[cfg(feature = "mysql")]
            Kind::Mysql => TestDb::mysql(),
        }
    }

    /// A fresh SQLite database file in a new temporary directory.
    ///
    /// # Panics
    ///
    /// When the temporary directory cannot be created.
    #[track_caller]
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
    #[track_caller]
    pub fn postgres() -> Option<TestDb> {
        TestDb::postgres_on(&postgres_admin_url())
    }

    /// A fresh PostgreSQL database on the server whose administrative URL is
    /// `admin_url` (any form libpq takes: `postgres://…` with a query string
    /// or a socket directory as `?host=/run/postgresql`, or `key=value`
    /// pairs), or `None` when the server is unreachable and `CI` is not set.
    /// The database's URL is `admin_url` naming the new database instead of
    /// the administrative one; the database is dropped with the value, on
    /// every path (a panicking test included).
    ///
    /// # Panics
    ///
    /// When the server is unreachable in CI, `admin_url` is not a PostgreSQL
    /// URL, or the database cannot be created.
    #[track_caller]
    pub fn postgres_on(admin_url: &str) -> Option<TestDb> {
        match TestDb::create_postgres(admin_url, fresh_name("migrator_test"), None) {
            Ok(db) => db,
            Err(error) => panic!("{error}"),
        }
    }

    /// The database `name` on the server at `admin_url`, a copy of the
    /// database `template` when given; `Ok(None)` when the server is
    /// unreachable outside CI.
    pub(super) fn create_postgres(
        admin_url: &str,
        name: String,
        template: Option<&str>,
    ) -> Result<Option<TestDb>, String> {
        // The URL first: a URL that cannot name the database creates none.
        let url = database_url(admin_url, &name).map_err(|reason| {
            format!(
                "{POSTGRES_URL_VAR} `{}` cannot name a test database: {reason}",
                crate::backend::redact(admin_url)
            )
        })?;
        let mut admin = match admin_connection(admin_url) {
            Ok(conn) => conn,
            Err(error) if !in_ci() => {
                eprintln!(
                    "\n!!! SKIPPED: PostgreSQL unreachable at {}: {error}\n!!! (in CI this fails)\n",
                    crate::backend::redact(admin_url)
                );
                return Ok(None);
            }
            Err(error) => {
                return Err(format!(
                    "PostgreSQL is required in CI and is unreachable at {}: {error}",
                    crate::backend::redact(admin_url)
                ));
            }
        };
        let sql = match template {
            Some(template) => format!("CREATE DATABASE {name} TEMPLATE {template}"),
            None => format!("CREATE DATABASE {name}"),
        };
        admin
            .batch_execute(&sql)
            .map_err(|error| format!("creating the test database {name} failed: {error}"))?;
        Ok(Some(TestDb {
            url,
            kind: Kind::Postgres,
            cleanup: Cleanup::Postgres {
                name,
                admin_url: admin_url.to_owned(),
                later: false,
            },
        }))
    }

    /// The administrative URL of the PostgreSQL server the database is on.
    pub(super) fn admin_url(&self) -> Option<&str> {
        match &self.cleanup {
            Cleanup::Postgres { admin_url, .. } => Some(admin_url),
            _ => None,
        }
    }

    /// The database's name on a PostgreSQL server.
    pub(super) fn postgres_name(&self) -> Option<&str> {
        match &self.cleanup {
            Cleanup::Postgres { name, .. } => Some(name),
            _ => None,
        }
    }

    /// A fresh database on the MySQL or MariaDB server at
    /// [`mysql_admin_url`], or `None` when the server is unreachable and
    /// `CI` is not set. Its URL is the administrative URL naming the new
    /// database; it is dropped with the value.
    ///
    /// # Panics
    ///
    /// When the server is unreachable in CI, or the database cannot be
    /// created.
    #[cfg(feature = "mysql")]
    #[track_caller]
    pub fn mysql() -> Option<TestDb> {
        let admin_url = mysql_admin_url();
        let name = fresh_name("migrator_test");
        let url = mysql_database_url(&admin_url, &name).unwrap_or_else(|reason| {
            panic!(
                "{MYSQL_URL_VAR} `{}` cannot name a test database: {reason}",
                crate::backend::redact(&admin_url)
            )
        });
        let mut admin = match mysql_admin_connection(&admin_url) {
            Ok(conn) => conn,
            Err(error) if !in_ci() => {
                eprintln!(
                    "\n!!! SKIPPED: MySQL unreachable at {}: {error}\n!!! (in CI this fails)\n",
                    crate::backend::redact(&admin_url)
                );
                return None;
            }
            Err(error) => panic!(
                "MySQL is required in CI and is unreachable at {}: {error}",
                crate::backend::redact(&admin_url)
            ),
        };
        admin
            .batch_execute(&format!("CREATE DATABASE `{name}`"))
            .unwrap_or_else(|error| panic!("creating the test database {name} failed: {error}"));
        Some(TestDb {
            url,
            kind: Kind::Mysql,
            cleanup: Cleanup::Mysql { name, admin_url },
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
    #[track_caller]
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
        #[cfg(feature = "mysql")]
        if let Cleanup::Mysql { name, admin_url } = &self.cleanup
            && let Ok(mut admin) = mysql_admin_connection(admin_url)
        {
            let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS `{name}`"));
        }
        if let Cleanup::Postgres {
            name,
            admin_url,
            later,
        } = &mut self.cleanup
        {
            let name = std::mem::take(name);
            if *later {
                drop_later(admin_url, name);
            } else {
                drop_database(admin_url, &name);
            }
        }
    }
}

impl TestDb {
    /// Drops the database with others, in a batch, rather than when the
    /// value is dropped: see [`drop_later`].
    pub(super) fn drop_in_batch(mut self) -> TestDb {
        if let Cleanup::Postgres { later, .. } = &mut self.cleanup {
            *later = true;
        }
        self
    }
}

/// Databases waiting to be dropped, with the administrative URL to drop them
/// through.
static TO_DROP: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());

/// How many databases wait before they are dropped together.
const DROP_BATCH: usize = 8;

/// Drops the database `name` with others: PostgreSQL (before 16) makes every
/// `DROP DATABASE` wait for a checkpoint, and drops that run at the same
/// time share one, so databases are dropped [`DROP_BATCH`] at a time, each
/// on its own connection. What is left when the process exits is dropped by
/// [`drop_waiting`].
fn drop_later(admin_url: &str, name: String) {
    let batch = {
        let mut waiting = TO_DROP.lock().unwrap_or_else(PoisonError::into_inner);
        waiting.push((admin_url.to_owned(), name));
        if waiting.len() < DROP_BATCH {
            return;
        }
        std::mem::take(&mut *waiting)
    };
    drop_all(batch);
}

/// Drops the databases still waiting (at exit).
pub(super) fn drop_waiting() {
    let waiting = std::mem::take(&mut *TO_DROP.lock().unwrap_or_else(PoisonError::into_inner));
    drop_all(waiting);
}

/// Drops `(admin URL, name)` databases at the same time, one connection
/// each.
fn drop_all(databases: Vec<(String, String)>) {
    std::thread::scope(|scope| {
        for (admin_url, name) in databases {
            scope.spawn(move || drop_database(&admin_url, &name));
        }
    });
}

/// Drops the database `name` on the server at `admin_url`, as far as it can
/// (a test's cleanup has nobody to report to).
fn drop_database(admin_url: &str, name: &str) {
    if let Ok(mut admin) = admin_connection(admin_url) {
        let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
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

/// [`on_each_backend`], then, with the `mysql` feature, on a fresh MySQL or
/// MariaDB database too ([`Kind::built`]; a server skipped loudly outside CI
/// when unreachable).
pub fn on_every_backend(test: impl Fn(&TestDb)) {
    for kind in Kind::built() {
        if let Some(db) = TestDb::new(kind) {
            test(&db);
        }
    }
}

/// Runs `test` on a fresh MySQL (or MariaDB) database, skipped loudly
/// outside CI when the server is unreachable.
#[cfg(feature = "mysql")]
pub fn on_mysql(test: impl Fn(&TestDb)) {
    if let Some(db) = TestDb::mysql() {
        test(&db);
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
        #[cfg(feature = "mysql")]
        AnyConnection::Mysql(_) => {
            "SELECT table_name AS name FROM information_schema.tables \
             WHERE table_schema = DATABASE() ORDER BY table_name"
        }
    };
    let rows: Vec<Name> = match conn {
        AnyConnection::Postgres(c) => crate::backend::load(c, sql),
        AnyConnection::Sqlite(c) => crate::backend::load(c, sql),
        #[cfg(feature = "mysql")]
        AnyConnection::Mysql(c) => crate::backend::load(c, sql),
    }
    .expect("list tables");
    // Sorted here, by bytes: the servers' collations order `_` differently.
    let mut names: Vec<String> = rows.into_iter().map(|r| r.name).collect();
    names.sort();
    names
}

/// A connection to the server's administrative database.
pub(super) fn admin_connection(admin_url: &str) -> diesel::ConnectionResult<PgConnection> {
    PgConnection::establish(admin_url)
}

/// `prefix`, this process's ID, a counter and the clock's nanoseconds: a
/// database name no other test, run or process takes.
pub(super) fn fresh_name(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos())
    )
}

/// `admin_url` naming the database `name` instead of its own, in the same
/// form: a `postgres://` URL keeps its user, password, hosts (a socket
/// directory in `?host=` included) and query string, with `name` as its path
/// and any `dbname=` parameter left out; a `key=value` string keeps its pairs
/// but `dbname`, and ends with `dbname=name`. Parsed as libpq parses them
/// (the user information ends at the first `@` before any `/`, the hosts at
/// the first `/` or `?`, the path at `?`), never cut at the last `/`.
fn database_url(admin_url: &str, name: &str) -> Result<String, String> {
    let admin_url = admin_url.trim();
    let Some((scheme, rest)) = admin_url.split_once("://") else {
        return key_value_database_url(admin_url, name);
    };
    if !matches!(
        scheme.to_ascii_lowercase().as_str(),
        "postgres" | "postgresql"
    ) {
        return Err(format!(
            "the scheme `{scheme}` is not postgres:// or postgresql://"
        ));
    }
    let hosts_start = match rest.find(['@', '/']) {
        Some(at) if rest[at..].starts_with('@') => at + 1,
        _ => 0,
    };
    let hosts_end = rest[hosts_start..]
        .find(['/', '?'])
        .map_or(rest.len(), |end| hosts_start + end);
    let query = rest[hosts_end..]
        .split_once('?')
        .map(|(_, query)| {
            query
                .split('&')
                .filter(|pair| !pair.is_empty() && !pair.starts_with("dbname="))
                .collect::<Vec<_>>()
                .join("&")
        })
        .filter(|query| !query.is_empty());
    let mut url = format!("{scheme}://{}/{name}", &rest[..hosts_end]);
    if let Some(query) = query {
        url.push('?');
        url.push_str(&query);
    }
    Ok(url)
}

/// A connection to a MySQL server's administrative database (Diesel takes
/// `mysql://` only: `mariadb://` is the same).
#[cfg(feature = "mysql")]
fn mysql_admin_connection(admin_url: &str) -> diesel::ConnectionResult<diesel::MysqlConnection> {
    let url = admin_url.trim();
    match url.split_once("://") {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("mariadb") => {
            diesel::MysqlConnection::establish(&format!("mysql://{rest}"))
        }
        _ => diesel::MysqlConnection::establish(url),
    }
}

/// A `mysql://` or `mariadb://` `admin_url` naming the database `name`
/// instead of its own: user, password, host, port and query string kept.
#[cfg(feature = "mysql")]
fn mysql_database_url(admin_url: &str, name: &str) -> Result<String, String> {
    let admin_url = admin_url.trim();
    let (scheme, rest) = admin_url
        .split_once("://")
        .filter(|(scheme, _)| matches!(scheme.to_ascii_lowercase().as_str(), "mysql" | "mariadb"))
        .ok_or("it is not a mysql:// or mariadb:// URL")?;
    // The authority ends at the first `/` after the userinfo (a password
    // may hold a `/`: the userinfo ends at the last `@`).
    let authority_start = rest.rfind('@').map_or(0, |at| at + 1);
    let authority_end = rest[authority_start..]
        .find(['/', '?'])
        .map_or(rest.len(), |end| authority_start + end);
    let query = rest[authority_end..]
        .split_once('?')
        .map(|(_, query)| format!("?{query}"))
        .unwrap_or_default();
    Ok(format!(
        "{scheme}://{}/{name}{query}",
        &rest[..authority_end]
    ))
}

/// [`database_url`] for a libpq `key=value` string: each pair is `key`,
/// optional spaces, `=`, optional spaces, then a value that is either
/// single-quoted (with `\'` and `\\` escapes) or runs to the next space.
fn key_value_database_url(admin_url: &str, name: &str) -> Result<String, String> {
    let mut kept = Vec::new();
    let mut rest = admin_url.trim_start();
    while !rest.is_empty() {
        let equals = rest.find('=').ok_or_else(|| {
            format!(
                "`{}` has no `=`",
                rest.split_whitespace().next().unwrap_or(rest)
            )
        })?;
        let key = rest[..equals].trim();
        if key.is_empty() || key.contains(char::is_whitespace) {
            return Err(format!("`{}` is not a `key=value` pair", &rest[..equals]));
        }
        let value = rest[equals + 1..].trim_start();
        let value_len = if let Some(quoted) = value.strip_prefix('\'') {
            let mut chars = quoted.char_indices();
            let mut end = None;
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        chars.next();
                    }
                    '\'' => {
                        end = Some(i + 2);
                        break;
                    }
                    _ => {}
                }
            }
            end.ok_or_else(|| format!("the value of `{key}` has no closing quote"))?
        } else {
            value.find(char::is_whitespace).unwrap_or(value.len())
        };
        let pair_len = rest.len() - value.len() + value_len;
        if key != "dbname" {
            kept.push(&rest[..pair_len]);
        }
        rest = rest[pair_len..].trim_start();
    }
    if kept.is_empty() {
        return Err("it is neither a postgres:// URL nor `key=value` pairs".to_owned());
    }
    kept.push("");
    Ok(format!("{}dbname={name}", kept.join(" ")))
}

#[cfg(test)]
mod tests {
    use super::database_url;

    #[test]
    fn the_database_is_named_in_every_form_of_admin_url() {
        let url = |admin: &str| database_url(admin, "t1");
        let ok = |admin: &str| url(admin).unwrap_or_else(|e| panic!("{admin}: {e}"));
        assert_eq!(
            ok("postgres://postgres@127.0.0.1:5432/postgres"),
            "postgres://postgres@127.0.0.1:5432/t1"
        );
        assert_eq!(
            ok("postgres://postgres@127.0.0.1:5432/postgres?application_name=ci/job"),
            "postgres://postgres@127.0.0.1:5432/t1?application_name=ci/job"
        );
        assert_eq!(
            ok("postgres://postgres@/postgres?host=/var/run/postgresql"),
            "postgres://postgres@/t1?host=/var/run/postgresql"
        );
        assert_eq!(
            ok("postgresql:///postgres?host=/var/run/postgresql&user=postgres"),
            "postgresql:///t1?host=/var/run/postgresql&user=postgres"
        );
        assert_eq!(
            ok("postgres://u:p%2Fw?@h:1,h2:2/db"),
            "postgres://u:p%2Fw?@h:1,h2:2/t1"
        );
        assert_eq!(
            ok("postgres://h?dbname=x&sslmode=disable"),
            "postgres://h/t1?sslmode=disable"
        );
        assert_eq!(
            ok("postgres://[::1]:5432/db?dbname=x"),
            "postgres://[::1]:5432/t1"
        );
        assert_eq!(
            ok("host=127.0.0.1 user=postgres dbname=postgres"),
            "host=127.0.0.1 user=postgres dbname=t1"
        );
        assert_eq!(
            ok("host = /var/run/postgresql dbname = 'a b' password='x \\' y' port=5432"),
            "host = /var/run/postgresql password='x \\' y' port=5432 dbname=t1"
        );
        assert!(url("mysql://h/db").is_err());
        #[cfg(feature = "mysql")]
        {
            let my = |admin: &str| super::mysql_database_url(admin, "t1");
            assert_eq!(
                my("mysql://root@127.0.0.1:3306/mysql").as_deref(),
                Ok("mysql://root@127.0.0.1:3306/t1")
            );
            assert_eq!(
                my("mariadb://u:p/w@h/db?ssl_mode=required").as_deref(),
                Ok("mariadb://u:p/w@h/t1?ssl_mode=required")
            );
            assert_eq!(my("mysql://h").as_deref(), Ok("mysql://h/t1"));
            assert!(my("postgres://h/db").is_err());
        }
        assert!(url("host='unclosed").is_err());
        assert!(url("just-a-word").is_err());
    }
}
