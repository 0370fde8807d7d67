//! MySQL and MariaDB (feature `mysql`) on a real server, at
//! `MIGRATOR_TEST_MYSQL_URL` (default `mysql://root@127.0.0.1:3306/mysql`):
//! the commands, checked in `information_schema`; the `GET_LOCK` run lock
//! under eight processes; the `table` lock; the session's timeouts; and a
//! password kept out of a connection error.

use std::process::Command;
use std::time::Instant;

use migrator_runtime::testing::on_mysql;
use migrator_runtime::{AnyConnection, LockStrategy, Migrator, Target};
use migrator_tests::branchy::{ALL, MIGRATIONS, applied, assert_at_head_once, audit};
use migrator_tests::{Run, TestDb, cli_command, count, options, run_together, tables};

/// Runs `sql` on `conn`.
fn execute(conn: &mut AnyConnection, sql: &str) {
    diesel::connection::SimpleConnection::batch_execute(conn, sql)
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// The `branchy` CLI against `db`.
fn branchy(db: &TestDb) -> Command {
    cli_command(
        env!("CARGO_BIN_EXE_branchy"),
        db.url(),
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")),
    )
}

/// How many indexes named `index` the table `table` of the current database
/// has, by `information_schema`.
fn indexes(conn: &mut AnyConnection, table: &str, index: &str) -> i64 {
    count(
        conn,
        &format!(
            "SELECT COUNT(DISTINCT index_name) AS n FROM information_schema.statistics \
             WHERE table_schema = DATABASE() AND table_name = '{table}' \
             AND index_name = '{index}'"
        ),
    )
}

#[test]
fn upgrade_current_downgrade_and_stamp() {
    on_mysql(|db| {
        let migrator = Migrator::new(&MIGRATIONS);
        let mut conn = db.connect();
        migrator
            .upgrade(&mut conn, Target::Head)
            .expect("upgrade head");
        assert_at_head_once(db);
        assert_eq!(
            tables(&mut conn),
            [
                "base_t",
                "left_t",
                "migrator_version",
                "migrator_version_audit",
                "right_t"
            ]
        );
        assert_eq!(indexes(&mut conn, "left_t", "left_t_id"), 1, "006 ran");
        let current: Vec<String> = migrator
            .current(&mut conn)
            .expect("current")
            .iter()
            .map(|r| r.id.to_string())
            .collect();
        assert_eq!(current, ["006"]);
        // The bookkeeping columns, as MySQL typed them.
        assert_eq!(
            count(
                &mut conn,
                "SELECT COUNT(*) AS n FROM information_schema.columns \
                 WHERE table_schema = DATABASE() AND table_name = 'migrator_version' \
                 AND column_name = 'applied_at' AND data_type = 'datetime' \
                 AND datetime_precision = 6"
            ),
            1
        );
        // Nothing to do: no new audit entry.
        let before = audit(&mut conn).len();
        migrator
            .upgrade(&mut conn, Target::Head)
            .expect("upgrade head again");
        assert_eq!(audit(&mut conn).len(), before);

        migrator
            .downgrade(&mut conn, Target::Base)
            .expect("downgrade base");
        assert!(applied(&mut conn).is_empty());
        assert_eq!(
            tables(&mut conn),
            ["migrator_version", "migrator_version_audit"],
            "every revision's tables dropped"
        );
        let downgrades = audit(&mut conn)
            .iter()
            .filter(|e| e.action == "downgrade" && e.outcome == "success")
            .count();
        assert_eq!(downgrades, ALL.len());

        migrator
            .stamp(&mut conn, Target::Revision("004".to_owned()))
            .expect("stamp 004");
        assert_eq!(applied(&mut conn), ["001", "002", "003", "004"]);
        assert_eq!(
            tables(&mut conn),
            ["migrator_version", "migrator_version_audit"],
            "stamp runs nothing"
        );
        // The startup digest agrees with the rows stamp wrote.
        let check = migrator.check(&mut conn).expect("check");
        assert!(check.problems.is_empty(), "{:?}", check.problems);
        assert_eq!(check.pending.len(), 2, "005 and 006 pending");
    });
}

/// Eight processes started at once: each revision applied exactly once, by
/// one of them, the others waiting on `GET_LOCK` or finding nothing to do.
#[test]
fn eight_processes_migrate_once() {
    const PEERS: usize = 8;
    on_mysql(|db| {
        let runs = run_together((0..PEERS).map(|_| {
            let mut command = branchy(db);
            command.args(["upgrade", "head"]);
            command
        }));
        for (i, run) in runs.iter().enumerate() {
            run.expect_code(0, &format!("process {i} of {PEERS}"));
        }
        let log = assert_at_head_once(db);
        let pids: std::collections::BTreeSet<i64> = log.iter().map(|e| e.pid).collect();
        assert_eq!(
            pids.len(),
            1,
            "one process applied every revision: {log:#?}"
        );
        let appliers = runs
            .iter()
            .filter(|r| r.stdout.contains("Running upgrade"))
            .count();
        assert_eq!(appliers, 1);
        // The lock is free again: this connection takes it at once.
        let mut conn = db.connect();
        assert_eq!(
            count(
                &mut conn,
                "SELECT COUNT(*) AS n FROM (SELECT 1 AS x) t \
                 WHERE IS_USED_LOCK(CONCAT('migrator:', DATABASE(), '.migrator_version')) IS NULL"
            ),
            1,
            "the GET_LOCK lock was released"
        );
    });
}

/// A held `GET_LOCK` lock: the run waits, times out, and names the holder.
#[test]
fn a_held_lock_times_out_and_names_its_holder() {
    on_mysql(|db| {
        let mut holder = db.connect();
        let name = format!(
            "migrator:{}.migrator_version",
            migrator_tests::database_name(db.url())
        );
        assert_eq!(
            count(&mut holder, &format!("SELECT GET_LOCK('{name}', 0) AS n")),
            1
        );
        let migrator = Migrator::with_options(
            &MIGRATIONS,
            options(|o| o.lock_timeout = std::time::Duration::from_millis(300)),
        );
        let mut conn = db.connect();
        let error = migrator
            .upgrade(&mut conn, Target::Head)
            .expect_err("the lock is held");
        let message = error.to_string();
        assert!(
            matches!(error, migrator_runtime::Error::LockTimeout { .. }),
            "{message}"
        );
        assert!(
            message.contains("connection "),
            "names the holder: {message}"
        );
        assert!(
            message.contains("user root"),
            "from the process list: {message}"
        );
        assert!(applied(&mut conn).is_empty());
        count(&mut holder, &format!("SELECT RELEASE_LOCK('{name}') AS n"));
        migrator
            .upgrade(&mut conn, Target::Head)
            .expect("upgrade once released");
        assert_at_head_once(db);
    });
}

/// The `table` lock on MySQL (`INSERT … ON DUPLICATE KEY UPDATE`): four
/// threads, each revision once, the lease row gone afterwards; a live lease
/// of another run is respected, an expired one taken over.
#[test]
fn the_table_lock_works_on_mysql() {
    on_mysql(|db| {
        let table_lock = || options(|o| o.lock = LockStrategy::Table);
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    let mut conn = db.connect();
                    Migrator::with_options(&MIGRATIONS, table_lock())
                        .upgrade(&mut conn, Target::Head)
                        .expect("upgrade head under the table lock");
                });
            }
        });
        assert_at_head_once(db);
        let mut conn = db.connect();
        assert!(tables(&mut conn).contains(&"migrator_version_lock".to_owned()));
        assert_eq!(
            count(&mut conn, "SELECT COUNT(*) AS n FROM migrator_version_lock"),
            0,
            "the lease was released"
        );

        // A live lease of another run: waited for, then a timeout naming it.
        let lease = |expires: &str| {
            format!(
                "INSERT INTO migrator_version_lock \
                 (name, token, host, pid, application, acquired, expires) VALUES \
                 (CONCAT(DATABASE(), '.migrator_version'), 'other-token', 'elsewhere', 42, \
                 'other-app', UTC_TIMESTAMP(6), {expires})"
            )
        };
        execute(&mut conn, &lease("UTC_TIMESTAMP(6) + INTERVAL 1 HOUR"));
        let migrator = Migrator::with_options(
            &MIGRATIONS,
            options(|o| {
                o.lock = LockStrategy::Table;
                o.lock_timeout = std::time::Duration::from_millis(300);
            }),
        );
        let error = migrator
            .downgrade(&mut conn, Target::Base)
            .expect_err("the lease is another run's");
        let message = error.to_string();
        assert!(message.contains("host elsewhere, pid 42"), "{message}");
        assert_eq!(applied(&mut conn), ALL, "nothing ran");

        // Expired: taken over.
        execute(&mut conn, "DELETE FROM migrator_version_lock");
        execute(&mut conn, &lease("UTC_TIMESTAMP(6) - INTERVAL 1 SECOND"));
        migrator
            .downgrade(&mut conn, Target::Base)
            .expect("an expired lease is taken over");
        assert!(applied(&mut conn).is_empty());
        assert_eq!(
            count(&mut conn, "SELECT COUNT(*) AS n FROM migrator_version_lock"),
            0
        );
    });
}

/// The run sets the session's timeouts for each revision and gives the
/// caller's back at its end.
#[test]
fn the_sessions_timeouts_are_given_back() {
    on_mysql(|db| {
        let mut conn = db.connect();
        execute(
            &mut conn,
            "SET SESSION lock_wait_timeout = 77, SESSION innodb_lock_wait_timeout = 33",
        );
        let migrator = Migrator::with_options(
            &MIGRATIONS,
            options(|o| o.ddl_lock_timeout = std::time::Duration::from_millis(2500)),
        );
        migrator
            .upgrade(&mut conn, Target::Head)
            .expect("upgrade head");
        assert_eq!(
            count(
                &mut conn,
                "SELECT @@SESSION.lock_wait_timeout * 1000 + @@SESSION.innodb_lock_wait_timeout \
                 AS n"
            ),
            77_033
        );
    });
}

/// A password in a `mysql://` URL never shows in the connection error.
#[test]
fn a_password_is_kept_out_of_the_connect_error() {
    for url in [
        "mysql://root:Secr3t-Pw@127.0.0.1:3306/migrator_no_such_db",
        "mariadb://nobody:Secr3t-Pw@127.0.0.1:3306/mysql",
        "mysql://root:Secr3t-Pw@127.0.0.1:1/mysql",
    ] {
        let error = migrator_runtime::connect(url).expect_err("a wrong password or port");
        let message = error.to_string();
        assert!(!message.contains("Secr3t"), "{message}");
        assert!(
            message.contains(":***@127.0.0.1"),
            "names the URL: {message}"
        );
    }
}

/// A revision with no SQL for MySQL fails before its dirty marker is
/// written (nothing ran, nothing to repair): the next run fails the same
/// way, not as a dirty database; and a single transaction, which MySQL's
/// DDL would commit out of, is refused before anything runs.
#[test]
fn what_cannot_run_on_mysql_is_refused_before_the_marker() {
    mod not_null_violation {
        migrator_runtime::embed_migrations!("fixtures/not_null_violation");
    }
    on_mysql(|db| {
        let mut conn = db.connect();
        let single = Migrator::with_options(&MIGRATIONS, options(|o| o.single_transaction = true));
        let error = single
            .upgrade(&mut conn, Target::Head)
            .expect_err("a single transaction on MySQL");
        assert!(
            matches!(
                error,
                migrator_runtime::Error::SingleTransactionUnsupported { .. }
            ),
            "{error}"
        );
        assert!(applied(&mut conn).is_empty(), "nothing of branchy ran");
        let migrator = Migrator::new(&not_null_violation::MIGRATIONS);
        for attempt in ["first", "second"] {
            let error = migrator
                .upgrade(&mut conn, Target::Head)
                .expect_err("002 has no MySQL section");
            assert!(
                matches!(error, migrator_runtime::Error::NoSqlForBackend { .. }),
                "{attempt} run: {error}"
            );
        }
        let state = migrator.state(&mut conn).expect("the state");
        assert!(state.marker.is_none(), "no dirty marker: {state:?}");
    });
}

/// A `mysql://` URL whose server never answers (a listening socket that
/// nobody accepts on: the system completes the TCP handshake, and the
/// client waits for a greeting that never comes, as it would for a host
/// that drops packets): the CLI gives up after its connect timeout, exit
/// 3, naming the URL without its password and the timeout. (Diesel's
/// MySQL connection has no connect timeout of its own.)
#[test]
fn a_silent_server_fails_within_the_connect_timeout() {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("a listening socket");
    let port = silent.local_addr().expect("its port").port();
    let url = format!("mysql://root:Secr3t-Pw@127.0.0.1:{port}/app");
    let cwd = tempfile::tempdir().expect("a working directory");
    let start = Instant::now();
    let output = cli_command(env!("CARGO_BIN_EXE_branchy"), &url, cwd.path())
        .args(["--connect-timeout", "1s", "current"])
        .output()
        .expect("run branchy");
    let run = Run::from_output(output, start.elapsed());
    run.expect_code(migrator_runtime::cli::exit::CONNECT, "a silent server");
    for needle in [
        &format!("could not connect to `mysql://root:***@127.0.0.1:{port}/app`"),
        "did not answer within the connect timeout of 1s",
    ] {
        assert!(run.stderr.contains(needle), "{needle:?}\n{run}");
    }
    assert!(!run.stderr.contains("Secr3t"), "{run}");
    drop(silent);
}
