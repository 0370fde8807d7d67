//! Every PostgreSQL connection migrator opens from a URL carries an
//! `application_name` (issue 11, item 2), so that a DBA sees in
//! `pg_stat_activity` who holds or waits for a lock: `migrator` by default,
//! the CLI's `--application-name`, the URL's own when it names one. A
//! connection the caller opens and lends to the migrator keeps its own.

use std::process::{Child, Command};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection, RunQueryDsl};
use migrator_runtime::{AnyConnection, Migrator, Target};
use migrator_tests::{TestDb, cli_command};

/// The one text column `t` of the first row of `sql`.
fn text(conn: &mut PgConnection, sql: &str) -> Option<String> {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
        t: Option<String>,
    }
    let rows: Vec<Row> = diesel::sql_query(sql)
        .load(conn)
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    rows.into_iter().next().and_then(|row| row.t)
}

/// The `application_name` that `pg_stat_activity` shows for `conn`.
fn own_name(conn: &mut AnyConnection) -> Option<String> {
    let AnyConnection::Postgres(conn) = conn else {
        panic!("a PostgreSQL connection")
    };
    text(
        conn,
        "SELECT application_name AS t FROM pg_stat_activity WHERE pid = pg_backend_pid()",
    )
}

/// `db`'s URL with `parameter` added to its query string.
fn with_parameter(db: &TestDb, parameter: &str) -> String {
    let separator = if db.url().contains('?') { '&' } else { '?' };
    format!("{}{separator}{parameter}", db.url())
}

#[test]
fn connect_names_its_connections_unless_the_url_does() {
    let Some(db) = TestDb::postgres() else { return };
    let mut conn = migrator_runtime::connect(db.url()).expect("connect");
    assert_eq!(own_name(&mut conn).as_deref(), Some("migrator"));
    for (parameter, name) in [
        ("application_name=ci%2Fjob%201", "ci/job 1"),
        ("fallback_application_name=mine", "mine"),
        (
            "application_name=theirs&fallback_application_name=other",
            "theirs",
        ),
    ] {
        let mut conn = migrator_runtime::connect(&with_parameter(&db, parameter)).expect("connect");
        assert_eq!(own_name(&mut conn).as_deref(), Some(name), "{parameter}");
    }
}

/// An `@` in a query value is not the end of a userinfo (libpq ends the
/// userinfo at the first `@` before any `/`): the URL connects with its
/// name, through the library and the CLI, and is shown as it is, its
/// password (when it has one) alone masked.
#[test]
fn an_at_sign_in_a_query_value_is_no_userinfo() {
    let Some(db) = TestDb::postgres() else { return };
    let url = with_parameter(&db, "application_name=ci@job");
    assert!(url.starts_with("postgres://postgres@"), "{url}");
    let mut conn = migrator_runtime::connect(&url).expect("connect");
    assert_eq!(own_name(&mut conn).as_deref(), Some("ci@job"));
    assert_eq!(migrator_runtime::redact(&url), url);

    let dir = tempfile::tempdir().expect("tempdir");
    let output = cli_command(env!("CARGO_BIN_EXE_branchy"), &url, dir.path())
        .arg("current")
        .output()
        .expect("run branchy");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    // A refusal shows the URL exactly, the password alone masked.
    let missing = "postgres://postgres:S3cretPw@127.0.0.1:5432/no_such_db?application_name=ci@job";
    let shown = "postgres://postgres:***@127.0.0.1:5432/no_such_db?application_name=ci@job";
    assert_eq!(migrator_runtime::redact(missing), shown);
    let error = migrator_runtime::connect(missing).expect_err("no such database");
    let text = error.to_string();
    assert!(text.contains(shown), "{text}");
    assert!(!text.contains("S3cretPw"), "{text}");
    assert!(text.contains("no_such_db"), "{text}");
}

/// The caller's connection is the caller's: a run over it sets nothing.
#[test]
fn the_callers_connection_keeps_its_name() {
    let Some(db) = TestDb::postgres() else { return };
    let mut conn = PgConnection::establish(db.url()).expect("the caller's connection");
    conn.batch_execute("SET application_name = 'factory-web'")
        .expect("the caller names it");
    Migrator::new(&migrator_tests::branchy::MIGRATIONS)
        .upgrade(&mut conn, Target::Head)
        .expect("upgrade");
    assert_eq!(
        text(&mut conn, "SELECT current_setting('application_name') AS t").as_deref(),
        Some("factory-web")
    );
}

/// The CLI waits for a table lock a test holds; meanwhile `pg_stat_activity`
/// names the waiting connection: `migrator`, `--application-name`,
/// `MIGRATOR_APPLICATION_NAME`, or the URL's own.
#[test]
fn a_waiting_cli_is_named_in_pg_stat_activity() {
    let Some(db) = TestDb::postgres() else { return };
    let branchy =
        |url: &str| cli_command(env!("CARGO_BIN_EXE_branchy"), url, &std::env::temp_dir());
    let status = branchy(db.url())
        .args(["upgrade", "head"])
        .status()
        .expect("run branchy");
    assert!(status.success(), "upgrade head");
    let (AnyConnection::Postgres(mut holder), AnyConnection::Postgres(mut observer)) =
        (db.connect(), db.connect())
    else {
        panic!("PostgreSQL connections")
    };
    let url_named = with_parameter(&db, "application_name=from-the-url");
    let cases: [(Command, &str); 4] = [
        (branchy(db.url()), "migrator"),
        (
            {
                let mut command = branchy(db.url());
                command.args(["--application-name", "factory deploy"]);
                command
            },
            "factory deploy",
        ),
        (
            {
                let mut command = branchy(db.url());
                command.env("MIGRATOR_APPLICATION_NAME", "from-env");
                command
            },
            "from-env",
        ),
        (
            {
                let mut command = branchy(&url_named);
                command.args(["--application-name", "ignored"]);
                command
            },
            "from-the-url",
        ),
    ];
    for (mut command, name) in cases {
        holder
            .batch_execute("BEGIN; LOCK TABLE migrator_version IN ACCESS EXCLUSIVE MODE")
            .expect("lock the version table");
        let child = command.arg("current").spawn().expect("run branchy current");
        let waiting = waiting_name(&mut observer, child);
        holder.batch_execute("ROLLBACK").expect("release the lock");
        let (name_seen, mut child) = waiting;
        let status = child.wait().expect("branchy current ends");
        assert!(
            status.success(),
            "{name}: current fails once the lock is gone"
        );
        assert_eq!(name_seen.as_deref(), Some(name));
    }
}

/// The `application_name` of the connection that waits for a lock in the
/// database of `observer` (outside a transaction, which would see one
/// snapshot of `pg_stat_activity`), once `child` waits (it must within a
/// minute).
fn waiting_name(observer: &mut PgConnection, mut child: Child) -> (Option<String>, Child) {
    let start = Instant::now();
    loop {
        let seen = text(
            observer,
            "SELECT application_name AS t FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid() \
             AND wait_event_type = 'Lock'",
        );
        if seen.is_some() {
            return (seen, child);
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("branchy current ended ({status}) without waiting for the lock");
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "branchy current never waited for the lock"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
