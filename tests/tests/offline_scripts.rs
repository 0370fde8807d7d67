//! Offline scripts that cannot lie (`upgrade --sql`): each block checks that
//! the database is where the script expects before it runs and before it
//! records, so a script run with a client that goes on after errors records
//! nothing past a failure; the audit rows are the server's (time, client,
//! user) when the script runs.
//!
//! PostgreSQL with `psql -f`, with and without `ON_ERROR_STOP`; SQLite with
//! the `sqlite3` CLI, with and without `-bail`; MySQL (MariaDB) with the
//! `mysql` CLI, without and with `--force` (what SQLite and MySQL guarantee
//! with a client that goes on after errors is narrower: see
//! `Dialect::script_guard_sql`).

use std::path::Path;
use std::process::{Command, Stdio};

use diesel::connection::SimpleConnection;
use migrator_runtime::{AnyConnection, Migrator, Target};
use migrator_tests::{
    Kind, Run, TestDb, applied_ids, branchy, cli_command, count, tables, through_pgbouncer,
};

/// The `branchy` CLI against `db`.
fn cli(db: &TestDb, args: &[&str]) -> Run {
    let dir = tempfile::tempdir().expect("a working directory");
    let start = std::time::Instant::now();
    let output = cli_command(env!("CARGO_BIN_EXE_branchy"), db.url(), dir.path())
        .args(args)
        .output()
        .expect("run the branchy binary");
    Run::from_output(output, start.elapsed())
}

/// `upgrade 004 --sql` (001 → 002 | 003 → 004), written to a file.
fn script_to_004(db: &TestDb, dir: &Path) -> std::path::PathBuf {
    let run = cli(db, &["upgrade", "004", "--sql"]);
    run.expect_code(0, "render the script");
    let path = dir.join("upgrade.sql");
    std::fs::write(&path, &run.stdout).expect("write the script");
    path
}

/// Creates tables the script of [`script_to_004`] creates, so that it
/// fails partway (the conflict the failure tests start from).
fn make_the_script_conflict(conn: &mut AnyConnection) {
    conn.batch_execute(
        "CREATE TABLE base_t (id INTEGER NOT NULL PRIMARY KEY); \
         CREATE TABLE left_t (id INTEGER NOT NULL PRIMARY KEY);",
    )
    .expect("the conflicting tables");
}

/// Runs `client` with its output captured, its input `input` (a file) or
/// nothing (it must exist: `scripts/services.sh` installs
/// `postgresql-client`, `sqlite3` and `mariadb-client`).
fn run_client(mut client: Command, input: Option<&Path>) -> Run {
    let start = std::time::Instant::now();
    let stdin = input.map_or_else(Stdio::null, |path| {
        Stdio::from(std::fs::File::open(path).expect("open the script"))
    });
    let output = client
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap_or_else(|e| panic!("run {client:?} (install it): {e}"));
    Run::from_output(output, start.elapsed())
}

/// `psql -f script` against `url`, optionally with `ON_ERROR_STOP`.
fn psql(url: &str, script: &Path, stop_on_error: bool) -> Run {
    let mut psql = Command::new("psql");
    psql.arg(url).arg("-X").arg("-f").arg(script);
    if stop_on_error {
        psql.args(["-v", "ON_ERROR_STOP=1"]);
    }
    run_client(psql, None)
}

/// `mysql [--force] db < script` against the MySQL `db`, the password (if
/// any) in the environment, not on the command line.
fn mysql(db: &TestDb, script: &Path, force: bool) -> Run {
    let decode = |part: &str| {
        percent_encoding::percent_decode_str(part)
            .decode_utf8()
            .expect("a UTF-8 URL")
            .into_owned()
    };
    let rest = db.url().split_once("://").expect("a URL").1;
    let rest = rest.split_once('?').map_or(rest, |(rest, _)| rest);
    let (authority, database) = rest.split_once('/').expect("a database in the URL");
    let (credentials, host) = authority.rsplit_once('@').unwrap_or(("", authority));
    let (user, password) = credentials.split_once(':').unwrap_or((credentials, ""));
    let (host, port) = host.rsplit_once(':').unwrap_or((host, "3306"));
    let mut mysql = Command::new("mysql");
    mysql
        .args(["--host", host, "--port", port, "--protocol", "TCP"])
        .args(["--user", &decode(user)])
        .env("MYSQL_PWD", decode(password))
        .arg(decode(database));
    if force {
        mysql.arg("--force");
    }
    run_client(mysql, Some(script))
}

/// `sqlite3 [-bail] file < script`.
fn sqlite3(db: &TestDb, script: &Path, bail: bool) -> Run {
    let file = db.url().trim_start_matches("sqlite://");
    let mut sqlite3 = Command::new("sqlite3");
    if bail {
        sqlite3.arg("-bail");
    }
    sqlite3.arg(file).arg(format!(".read {}", script.display()));
    run_client(sqlite3, None)
}

fn migrator() -> Migrator<'static> {
    Migrator::new(&branchy::MIGRATIONS)
}

fn audit_rows(conn: &mut AnyConnection) -> usize {
    migrator().audit_log(conn).expect("the audit log").len()
}

/// The scenario: 001 and 002 conflict with tables made by hand.
/// Whatever the client does after the first error, nothing is recorded,
/// nothing after the failure runs (on PostgreSQL not even 003's
/// `CREATE TABLE right_t`, whose block's guard aborted its transaction), and `current`
/// and `verify` tell the truth.
fn assert_nothing_past_the_failure(db: &TestDb, run: &Run, what: &str) {
    assert!(
        run.stderr.contains("already exists"),
        "{what}: the conflict\n{run}"
    );
    let mut conn = db.connect();
    assert!(
        applied_ids(&migrator(), &mut conn).is_empty(),
        "{what}\n{run}"
    );
    assert_eq!(audit_rows(&mut conn), 0, "{what}: audit\n{run}");
    let current = cli(db, &["current"]);
    current.expect_code(0, what);
    assert_eq!(
        current.stdout.trim(),
        "base (no revision applied)",
        "{what}"
    );
    let verify = cli(db, &["verify"]);
    verify.expect_code(0, what);
    assert!(
        verify.stdout.contains("OK: 0 applied revision(s)"),
        "{what}\n{verify}"
    );
}

#[test]
fn a_psql_script_records_nothing_past_a_failure_with_or_without_on_error_stop() {
    let Some(db) = TestDb::new(Kind::Postgres) else {
        return;
    };
    let dir = tempfile::tempdir().expect("a directory");
    let script = script_to_004(&db, dir.path());
    for stop_on_error in [false, true] {
        let what = format!("psql, ON_ERROR_STOP={stop_on_error}");
        let mut conn = db.connect();
        conn.batch_execute(
            "DROP TABLE IF EXISTS right_t; \
             CREATE TABLE IF NOT EXISTS base_t (id INTEGER NOT NULL PRIMARY KEY); \
             CREATE TABLE IF NOT EXISTS left_t (id INTEGER NOT NULL PRIMARY KEY);",
        )
        .expect("the conflicting tables");
        let run = psql(db.url(), &script, stop_on_error);
        assert_nothing_past_the_failure(&db, &run, &what);
        assert!(
            !tables(&mut conn).contains(&"right_t".to_owned()),
            "{what}: 003 ran after the failure\n{run}"
        );
        if !stop_on_error {
            // Every later block was refused by its guard, in so many words.
            assert!(
                run.stderr
                    .contains("the upgrade of 002 in this script expects 001 applied"),
                "{what}\n{run}"
            );
        }
    }

    // Without the conflict the same script applies everything, and the
    // audit rows are the server's when the script ran.
    let mut conn = db.connect();
    conn.batch_execute("DROP TABLE base_t; DROP TABLE left_t;")
        .expect("drop the conflicting tables");
    let before = count(
        &mut conn,
        "SELECT (extract(epoch FROM now() AT TIME ZONE 'UTC') * 1000000)::BIGINT AS n",
    );
    psql(db.url(), &script, true).expect_code(0, "the script on a clean database");
    assert_eq!(
        applied_ids(&migrator(), &mut conn),
        ["001", "002", "003", "004"]
    );
    assert!(migrator().verify(&mut conn).expect("verify").is_empty());
    let audit = migrator().audit_log(&mut conn).expect("the audit log");
    assert_eq!(audit.len(), 4, "{audit:?}");
    for entry in &audit {
        assert_eq!(entry.detail, "offline script run by postgres", "{entry:?}");
        assert_eq!(entry.host, "127.0.0.1", "the client's address: {entry:?}");
        assert_ne!(i64::from(std::process::id()), entry.pid, "{entry:?}");
        let at = entry.at.and_utc().timestamp_micros();
        assert!(
            at >= before,
            "written when the script ran, not generated: {entry:?}"
        );
    }

    // Run again on the database it brought to 004: every block refuses,
    // nothing is recorded twice.
    let again = psql(db.url(), &script, false);
    assert!(again.stderr.contains("expects 001 not applied"), "{again}");
    assert_eq!(
        applied_ids(&migrator(), &mut conn),
        ["001", "002", "003", "004"]
    );
    assert_eq!(audit_rows(&mut conn), 4);
}

/// MySQL (MariaDB), `mysql` without `--force`: the conflict stops the
/// script at 001's `CREATE TABLE`. DDL commits on its own there, so 001's
/// block cannot be undone: the dirty marker its first block wrote stays,
/// `current` shows it, `verify` stops on it, and `stamp base`, the mend it
/// names, clears it; nothing after the failure ran or was recorded. The
/// same script on a clean database then applies everything, the audit rows
/// the server's; run again with `--force` (which goes on after errors),
/// every block is refused and nothing is recorded twice.
#[test]
fn a_mysql_script_stops_at_a_failure_and_leaves_an_honest_dirty_marker() {
    let Some(db) = TestDb::new(Kind::Mysql) else {
        return;
    };
    let dir = tempfile::tempdir().expect("a directory");
    let script = script_to_004(&db, dir.path());
    let mut conn = db.connect();
    make_the_script_conflict(&mut conn);
    let run = mysql(&db, &script, false);
    run.expect_code(1, "the conflict stops the client");
    assert!(run.stderr.contains("'base_t' already exists"), "{run}");
    assert!(applied_ids(&migrator(), &mut conn).is_empty(), "{run}");
    let marker = migrator().state(&mut conn).expect("the state").marker;
    assert_eq!(marker.map(|m| m.revision).as_deref(), Some("001"), "{run}");
    let log = migrator().audit_log(&mut conn).expect("the audit log");
    let log: Vec<_> = log
        .iter()
        .map(|e| (e.revision.as_str(), e.outcome.as_str()))
        .collect();
    assert_eq!(log, [("001", "started")], "{run}");
    assert!(!tables(&mut conn).contains(&"right_t".to_owned()), "{run}");
    let current = cli(&db, &["current"]);
    current.expect_code(0, "current shows the marker");
    assert!(
        current
            .stdout
            .starts_with("001 (dirty: its upgrade started"),
        "{current}"
    );
    let verify = cli(&db, &["verify"]);
    assert!(verify.stderr.contains("`stamp base`"), "{verify}");
    assert_ne!(verify.code, Some(0), "{verify}");
    cli(&db, &["stamp", "base"]).expect_code(0, "the mend");
    assert_eq!(migrator().state(&mut conn).expect("the state").marker, None);

    conn.batch_execute("DROP TABLE base_t; DROP TABLE left_t;")
        .expect("drop the conflicting tables");
    let before = count(
        &mut conn,
        "SELECT CAST(TIMESTAMPDIFF(MICROSECOND, '1970-01-01', UTC_TIMESTAMP(6)) AS SIGNED) AS n",
    );
    let entries_before = audit_rows(&mut conn);
    mysql(&db, &script, false).expect_code(0, "the script on a clean database");
    assert_eq!(
        applied_ids(&migrator(), &mut conn),
        ["001", "002", "003", "004"]
    );
    assert!(migrator().verify(&mut conn).expect("verify").is_empty());
    let audit = migrator().audit_log(&mut conn).expect("the audit log");
    let audit = &audit[entries_before..];
    // Each revision with its dirty marker's `started` entry first.
    let outcomes: Vec<_> = audit
        .iter()
        .map(|e| (e.revision.as_str(), e.outcome.as_str()))
        .collect();
    assert_eq!(
        outcomes,
        ["001", "002", "003", "004"]
            .iter()
            .flat_map(|r| [(*r, "started"), (*r, "success")])
            .collect::<Vec<_>>()
    );
    for entry in audit {
        if entry.outcome == "success" {
            assert!(
                entry.detail.starts_with("offline script run by root@"),
                "{entry:?}"
            );
        }
        assert_eq!(entry.host, "127.0.0.1", "the client's address: {entry:?}");
        assert_ne!(i64::from(std::process::id()), entry.pid, "{entry:?}");
        let at = entry.at.and_utc().timestamp_micros();
        assert!(
            at >= before,
            "written when the script ran, not generated: {entry:?}"
        );
    }

    let again = mysql(&db, &script, true);
    assert!(again.stderr.contains("expects 001 not applied"), "{again}");
    assert!(again.stderr.contains("expects its dirty marker"), "{again}");
    assert_eq!(
        applied_ids(&migrator(), &mut conn),
        ["001", "002", "003", "004"]
    );
    assert_eq!(audit_rows(&mut conn), entries_before + 8);
}

/// How many server connections PgBouncer keeps per database and user
/// (`default_pool_size` in `scripts/services.sh`).
const PGBOUNCER_POOL: usize = 4;

/// The same failing script run through PgBouncer in transaction mode, with
/// a client that goes on after errors: it changes no session state, so no
/// server connection of the pool is left read-only (or otherwise changed)
/// for the clients that get it next. Every server connection of the pool
/// is checked: as many transactions as the pool has, open at once.
#[test]
fn a_failing_script_through_pgbouncer_leaves_no_server_connection_read_only() {
    let Some(db) = TestDb::new(Kind::Postgres) else {
        return;
    };
    let Some(bouncer) = through_pgbouncer(&db) else {
        return;
    };
    let dir = tempfile::tempdir().expect("a directory");
    let script = script_to_004(&db, dir.path());
    let mut conn = db.connect();
    make_the_script_conflict(&mut conn);
    let run = psql(&bouncer, &script, false);
    assert_nothing_past_the_failure(&db, &run, "psql through PgBouncer");
    for round in 0..5 {
        let mut clients: Vec<AnyConnection> = (0..PGBOUNCER_POOL)
            .map(|_| migrator_runtime::connect(&bouncer).expect("connect through PgBouncer"))
            .collect();
        for (i, client) in clients.iter_mut().enumerate() {
            client.batch_execute("BEGIN").expect("BEGIN");
            let read_only = count(
                client,
                "SELECT CASE WHEN current_setting('transaction_read_only') = 'on' \
                 OR current_setting('default_transaction_read_only') = 'on' \
                 THEN 1 ELSE 0 END::BIGINT AS n",
            );
            assert_eq!(
                read_only, 0,
                "round {round}: a read-only server connection\n{run}"
            );
            client
                .batch_execute(&format!(
                    "CREATE TABLE written_after_{i} (id INTEGER); DROP TABLE written_after_{i};"
                ))
                .expect("a write through PgBouncer after the script");
        }
        for client in &mut clients {
            client.batch_execute("COMMIT").expect("COMMIT");
        }
    }
}

/// A downgrade script run on a database that is not where it expects (at
/// 002 instead of 004) refuses every block: nothing is removed. PostgreSQL
/// with `psql` going on after errors (each block's guard aborts its
/// transaction); MySQL with `mysql` stopping at the first error, the
/// guard's (with `--force` it would go on to the blocks' `DROP TABLE`s,
/// though record nothing: see `Dialect::script_guard_sql`).
#[test]
fn a_downgrade_script_on_the_wrong_revision_removes_nothing() {
    for kind in [Kind::Postgres, Kind::Mysql] {
        let Some(db) = TestDb::new(kind) else {
            continue;
        };
        let dir = tempfile::tempdir().expect("a directory");
        let run = cli(&db, &["downgrade", "base", "--sql", "--from", "004"]);
        run.expect_code(0, "render the downgrade");
        let script = dir.path().join("down.sql");
        std::fs::write(&script, &run.stdout).expect("write it");
        let mut conn = db.connect();
        migrator()
            .upgrade(&mut conn, "002".parse::<Target>().expect("a target"))
            .expect("upgrade to 002");
        let audit_before = audit_rows(&mut conn);
        let down = match kind {
            Kind::Mysql => mysql(&db, &script, false),
            Kind::Postgres | Kind::Sqlite => psql(db.url(), &script, false),
        };
        assert!(
            down.stderr.contains("expects 004 applied"),
            "{kind:?}: {down}"
        );
        assert_eq!(applied_ids(&migrator(), &mut conn), ["001", "002"]);
        assert_eq!(audit_rows(&mut conn), audit_before, "{kind:?}: {down}");
        let names = tables(&mut conn);
        assert!(names.contains(&"left_t".to_owned()), "{kind:?}: {down}");
        assert!(names.contains(&"base_t".to_owned()), "{kind:?}: {down}");
    }
}

/// SQLite, `sqlite3 -bail`: the conflict stops everything. Without `-bail`
/// SQLite runs every statement after an error (no procedural block can stop
/// it), but a block records only where the database is where it expects:
/// a script run on a database at another revision records nothing there.
#[test]
fn a_sqlite3_script_records_nothing_past_a_failure() {
    let db = TestDb::sqlite();
    let dir = tempfile::tempdir().expect("a directory");
    let script = script_to_004(&db, dir.path());
    let mut conn = db.connect();
    make_the_script_conflict(&mut conn);
    let run = sqlite3(&db, &script, true);
    assert_nothing_past_the_failure(&db, &run, "sqlite3 -bail");
    assert!(!tables(&mut conn).contains(&"right_t".to_owned()), "{run}");

    // Without -bail, a script for 003 and 004 (`--from 002`) run on an
    // empty database: both blocks refuse with the guard's message and
    // record nothing (003's `CREATE TABLE` itself still runs: SQLite cannot
    // skip statements).
    let other = TestDb::sqlite();
    let rest = cli(&other, &["upgrade", "004", "--sql", "--from", "002"]);
    rest.expect_code(0, "render the rest");
    let rest_script = dir.path().join("rest.sql");
    std::fs::write(&rest_script, &rest.stdout).expect("write it");
    let run = sqlite3(&other, &rest_script, false);
    assert!(
        run.stderr
            .contains("the upgrade of 003 in this script expects 001 applied"),
        "{run}"
    );
    assert!(
        run.stderr
            .contains("the upgrade of 004 in this script expects"),
        "{run}"
    );
    let mut conn = other.connect();
    assert!(applied_ids(&migrator(), &mut conn).is_empty(), "{run}");
    assert_eq!(audit_rows(&mut conn), 0, "{run}");
}

/// A `Transaction: false` block (the factory's 009, `CREATE INDEX
/// CONCURRENTLY`) is recorded only where no invalid index is left: with one
/// in the database (a unique index built concurrently over duplicates), the
/// script's record is refused, whatever the client does after the error,
/// and its dirty marker stays: the script refuses to run again until
/// `stamp 008` clears it.
#[test]
fn a_script_does_not_record_a_concurrent_index_revision_over_an_invalid_index() {
    let Some(db) = TestDb::new(Kind::Postgres) else {
        return;
    };
    let m = factory_service_db::migrator();
    let mut conn = db.connect();
    m.upgrade(&mut conn, "008".parse::<Target>().expect("a target"))
        .expect("upgrade to 008");
    let script = m
        .upgrade_sql(
            migrator_runtime::BackendKind::Postgres,
            "008".parse::<Target>().expect("a target"),
            Target::Head,
        )
        .expect("render 009");
    let dir = tempfile::tempdir().expect("a directory");
    let path = dir.path().join("009.sql");
    std::fs::write(&path, &script).expect("write it");
    migrator_tests::leave_invalid_index(&mut conn);
    let marker = |conn: &mut AnyConnection| {
        m.state(conn)
            .expect("the state")
            .marker
            .map(|marker| marker.revision)
    };
    for stop_on_error in [false, true] {
        let run = psql(db.url(), &path, stop_on_error);
        let context = format!("ON_ERROR_STOP={stop_on_error}\n{run}");
        for needle in [
            "revision 009 left an invalid index",
            "keeps its dirty marker",
            "`stamp 008`",
        ] {
            assert!(run.stderr.contains(needle), "{needle:?}: {context}");
        }
        assert!(
            !applied_ids(&m, &mut conn).contains(&"009".to_owned()),
            "{context}"
        );
        assert_eq!(marker(&mut conn).as_deref(), Some("009"), "{context}");
        // The script again, before the mend: refused at its first block,
        // which expects no marker.
        let again = psql(db.url(), &path, true);
        again.expect_code(3, "refused over the marker");
        assert!(
            again.stderr.contains("009 not applied and no dirty marker"),
            "{again}"
        );
        m.stamp(&mut conn, "008".parse::<Target>().expect("a target"))
            .expect("stamp 008 clears the marker");
        assert_eq!(marker(&mut conn), None);
    }
    // The mend, as the message says it (the marker is already cleared).
    conn.batch_execute("DROP INDEX CONCURRENTLY dup_v;")
        .expect("the mend");
    psql(db.url(), &path, true).expect_code(0, "once dropped");
    assert!(applied_ids(&m, &mut conn).contains(&"009".to_owned()));
}
