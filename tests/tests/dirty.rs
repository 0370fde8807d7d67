//! The dirty marker (docs/RELIABILITY.md, "The dirty marker"): a revision
//! that cannot run in one transaction (`Transaction: false`) is recorded as
//! started before it runs; a failure leaves the marker; every command but
//! `current`, `history`, `show` and `stamp` then stops (exit 8) naming it;
//! `stamp` after a repair clears it. On PostgreSQL and SQLite, through the
//! CLI (`fixtures/dirty`, whose revision 002 fails on its second statement
//! until the table `needed` exists) and the library.

use diesel::connection::SimpleConnection;
use migrator_runtime::cli::exit;
use migrator_runtime::{AnyConnection, Direction, Error, Migrator, Target};
use migrator_tests::{Run, TestDb, applied_ids, count, exit_code, tables};

mod dirty {
    migrator_runtime::embed_migrations!("fixtures/dirty");
}

/// The `dirty` CLI against `db` with `args`.
fn cli(db: &TestDb, args: &[&str]) -> Run {
    migrator_tests::run_cli(env!("CARGO_BIN_EXE_dirty"), db.url(), args)
}

fn batch(conn: &mut AnyConnection, sql: &str) {
    conn.batch_execute(sql)
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// The version table's rows as `revision:checksum`, marker rows included.
fn rows(db: &TestDb) -> Vec<String> {
    let mut conn = db.connect();
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        revision: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        checksum: String,
    }
    let sql = "SELECT revision, checksum FROM migrator_version ORDER BY seq";
    let rows: Vec<Row> = match &mut conn {
        AnyConnection::Postgres(c) => diesel::RunQueryDsl::load(diesel::sql_query(sql), c),
        AnyConnection::Sqlite(c) => diesel::RunQueryDsl::load(diesel::sql_query(sql), c),
        AnyConnection::Mysql(c) => diesel::RunQueryDsl::load(diesel::sql_query(sql), c),
    }
    .expect("read the version table");
    rows.into_iter()
        .map(|r| {
            let checksum = if r.checksum.starts_with("started:") {
                r.checksum
            } else {
                "ok".to_owned()
            };
            format!("{}:{checksum}", r.revision)
        })
        .collect()
}

/// The audit log as `action outcome revision`.
fn audit(db: &TestDb) -> Vec<String> {
    Migrator::new(&dirty::MIGRATIONS)
        .audit_log(&mut db.connect())
        .expect("read the audit log")
        .into_iter()
        .map(|e| format!("{} {} {}", e.action, e.outcome, e.revision))
        .collect()
}

/// The failed upgrade: 001 applied, the marker of 002 left, its error
/// audited; returns the run.
fn fail_at_002(db: &TestDb) -> Run {
    let run = cli(db, &["upgrade", "head"]);
    run.expect_code(exit::REVISION, "the failing upgrade");
    assert!(run.stderr.contains("revision 002"), "{run}");
    assert!(run.stderr.contains("dirty marker"), "{run}");
    assert!(run.stderr.contains("needed"), "names the failure: {run}");
    assert_eq!(rows(db), ["001:ok", "002:started:upgrade"]);
    assert_eq!(
        audit(db),
        [
            "upgrade success 001",
            "upgrade started 002",
            "upgrade failure 002"
        ]
    );
    run
}

/// Every command but `current`, `history`, `show` and `stamp` stops with
/// exit 8, naming the revision, its failure and the stamps.
fn assert_stops(db: &TestDb, failure: Option<&str>) {
    for args in [
        &["upgrade", "head"][..],
        &["downgrade", "base"],
        &["check"],
        &["verify"],
        &["upgrade", "003"],
    ] {
        let run = cli(db, args);
        run.expect_code(exit::DIRTY, &format!("{args:?} on a dirty database"));
        for needle in [
            "upgrade of revision 002 (002_outside_a_transaction.sql)",
            "did not finish",
            "`stamp 001`",
            "`stamp 002`",
        ] {
            assert!(
                run.stderr.contains(needle),
                "{args:?}: no {needle:?}\n{run}"
            );
        }
        match failure {
            Some(failure) => assert!(run.stderr.contains(failure), "{args:?}\n{run}"),
            None => assert!(run.stderr.contains("no outcome was recorded"), "{run}"),
        }
    }
    let current = cli(db, &["current"]);
    current.expect_code(exit::OK, "current on a dirty database");
    assert!(
        current
            .stdout
            .contains("002 (dirty: its upgrade started at"),
        "{current}"
    );
    assert!(current.stdout.contains("001"), "{current}");
    cli(db, &["history"]).expect_code(exit::OK, "history on a dirty database");
    cli(db, &["show", "002"]).expect_code(exit::OK, "show on a dirty database");
    // Nothing changed.
    assert_eq!(rows(db), ["001:ok", "002:started:upgrade"]);
}

/// Repair by undoing, `stamp 001`, and the next upgrade runs 002 again.
#[test]
fn stamping_the_revision_before_clears_the_marker_and_the_upgrade_runs_it() {
    migrator_tests::on_each_backend(|db| {
        fail_at_002(db);
        assert_stops(db, Some("needed"));
        // The repair: undo what ran (on SQLite the first statement stayed;
        // PostgreSQL ran the two as one implicit transaction), and create
        // what the second statement needs.
        let mut conn = db.connect();
        batch(
            &mut conn,
            "DROP TABLE IF EXISTS half; CREATE TABLE needed (id INTEGER NOT NULL PRIMARY KEY);",
        );
        let stamp = cli(db, &["stamp", "001"]);
        stamp.expect_code(exit::OK, "stamp 001");
        assert!(
            stamp
                .stdout
                .contains("Cleared the dirty marker of upgrade 001 -> 002"),
            "{stamp}"
        );
        assert_eq!(rows(db), ["001:ok"]);
        let upgrade = cli(db, &["upgrade", "head"]);
        upgrade.expect_code(exit::OK, "the upgrade after the repair");
        assert_eq!(rows(db), ["001:ok", "002:ok", "003:ok"]);
        let mut conn = db.connect();
        assert_eq!(count(&mut conn, "SELECT COUNT(*) AS n FROM needed"), 1);
        assert!(tables(&mut conn).contains(&"half".to_owned()));
        let log = audit(db);
        assert_eq!(
            log[3..],
            [
                "stamp success 002",
                "upgrade started 002",
                "upgrade success 002",
                "upgrade success 003"
            ],
            "{log:#?}"
        );
        // The next start is the one-query start at head.
        assert!(
            Migrator::new(&dirty::MIGRATIONS)
                .upgrade(&mut db.connect(), Target::Head)
                .expect("at head")
                .steps
                .is_empty()
        );
    });
}

/// Repair by completing, `stamp 002`: recorded as applied with its
/// checksum; the upgrade runs only 003.
#[test]
fn stamping_the_revision_itself_clears_the_marker_and_records_it() {
    migrator_tests::on_each_backend(|db| {
        fail_at_002(db);
        let mut conn = db.connect();
        batch(
            &mut conn,
            "CREATE TABLE IF NOT EXISTS half (id INTEGER NOT NULL PRIMARY KEY); \
             CREATE TABLE needed (id INTEGER NOT NULL PRIMARY KEY); \
             INSERT INTO needed (id) VALUES (2);",
        );
        cli(db, &["stamp", "002"]).expect_code(exit::OK, "stamp 002");
        assert_eq!(rows(db), ["001:ok", "002:ok"]);
        let migrator = Migrator::new(&dirty::MIGRATIONS);
        assert!(
            migrator
                .verify(&mut db.connect())
                .expect("verify")
                .is_empty()
        );
        let upgrade = cli(db, &["upgrade", "head"]);
        upgrade.expect_code(exit::OK, "the upgrade after the stamp");
        assert!(upgrade.stdout.contains("002 -> 003"), "{upgrade}");
        assert!(!upgrade.stdout.contains("001 -> 002"), "{upgrade}");
        assert_eq!(
            applied_ids(&migrator, &mut db.connect()),
            ["001", "002", "003"]
        );
    });
}

/// The library: the error values, the state's marker, and a failed
/// downgrade's marker (the revision's own row, marked).
#[test]
fn the_library_reports_the_marker_and_a_failed_downgrade_leaves_one_too() {
    migrator_tests::on_each_backend(|db| {
        let migrator = Migrator::new(&dirty::MIGRATIONS);
        let mut conn = db.connect();
        let error = migrator
            .upgrade(&mut conn, Target::Head)
            .expect_err("002 fails");
        assert!(
            matches!(&error, Error::NonTransactional { revision, .. } if revision == "002"),
            "{error}"
        );
        let state = migrator.state(&mut conn).expect("the state");
        let marker = state.marker.expect("the marker");
        assert_eq!(
            (marker.revision.as_str(), marker.direction),
            ("002", Direction::Upgrade)
        );
        assert!(
            marker
                .error
                .as_deref()
                .is_some_and(|e| e.contains("needed"))
        );
        assert_eq!(
            state
                .applied
                .iter()
                .map(|a| a.revision.as_str())
                .collect::<Vec<_>>(),
            ["001"]
        );
        let current = migrator.current(&mut conn).expect("current");
        assert_eq!(
            current.iter().map(|r| r.id.as_ref()).collect::<Vec<&str>>(),
            ["001"]
        );
        for error in [
            migrator.upgrade(&mut conn, Target::Head).map(drop),
            migrator.pending(&mut conn).map(drop),
            migrator.check(&mut conn).map(drop),
        ] {
            let error = error.expect_err("stops");
            assert!(matches!(&error, Error::Dirty { marker, .. } if marker.revision == "002"));
            assert_eq!(exit_code(&error), exit::DIRTY);
        }

        // Complete it by hand, stamp it; then a downgrade of 002 that fails
        // on its second statement (the table `half` is gone).
        batch(
            &mut conn,
            "CREATE TABLE IF NOT EXISTS half (id INTEGER NOT NULL PRIMARY KEY); \
             CREATE TABLE needed (id INTEGER NOT NULL PRIMARY KEY); \
             INSERT INTO needed (id) VALUES (2);",
        );
        migrator
            .stamp(&mut conn, "002".parse::<Target>().expect("a target"))
            .expect("stamp");
        batch(&mut conn, "DROP TABLE half;");
        let error = migrator
            .downgrade(&mut conn, "001".parse::<Target>().expect("a target"))
            .expect_err("the downgrade fails");
        assert!(matches!(error, Error::NonTransactional { .. }), "{error}");
        assert_eq!(rows(db), ["001:ok", "002:started:downgrade"]);
        let error = migrator
            .upgrade(&mut conn, Target::Head)
            .expect_err("stops");
        let text = error.to_string();
        assert!(text.contains("downgrade of revision 002"), "{text}");
        // Undone: 002 stays applied; completed: `stamp 001`.
        assert!(text.contains("`stamp 002` (its downgrade undone"), "{text}");
        assert!(
            text.contains("`stamp 001` (its downgrade completed"),
            "{text}"
        );
        batch(
            &mut conn,
            "CREATE TABLE half (id INTEGER NOT NULL PRIMARY KEY);",
        );
        migrator
            .stamp(&mut conn, "002".parse::<Target>().expect("a target"))
            .expect("stamp");
        assert_eq!(rows(db), ["001:ok", "002:ok"]);
        migrator
            .downgrade(&mut conn, "001".parse::<Target>().expect("a target"))
            .expect("the downgrade after the repair");
        assert_eq!(rows(db), ["001:ok"]);
    });
}

/// An offline script writes the marker before a `Transaction: false`
/// revision and replaces it after; a block after a failure is refused.
#[test]
fn offline_scripts_write_the_marker() {
    let migrator = Migrator::new(&dirty::MIGRATIONS);
    for kind in [
        migrator_runtime::BackendKind::Postgres,
        migrator_runtime::BackendKind::Sqlite,
    ] {
        let script = migrator
            .upgrade_sql(kind, Target::Base, Target::Head)
            .expect("a script");
        let mark = script
            .find("'started:upgrade'")
            .expect("the marker is written");
        let statement = script.find("INSERT INTO needed").expect("002's SQL");
        let finish = script
            .rfind("'started:upgrade'")
            .expect("the marker is replaced");
        assert!(mark < statement && statement < finish, "{script}");
    }
    // Run on SQLite, stopping at the first error, as documented: the
    // marker stays.
    let db = TestDb::new(migrator_runtime::testing::Kind::Sqlite).expect("a SQLite database");
    let script = migrator
        .upgrade_sql(
            migrator_runtime::BackendKind::Sqlite,
            Target::Base,
            Target::Head,
        )
        .expect("a script");
    let mut conn = db.connect();
    let outcome = conn.batch_execute(&script);
    assert!(outcome.is_err(), "002 fails");
    assert_eq!(rows(&db), ["001:ok", "002:started:upgrade"]);
}

/// The version table and audit log as the build before the marker created
/// them (its DDL, verbatim, for PostgreSQL and SQLite): the marker needs no
/// change to them. This build reads them (no marker, nothing applied),
/// writes the marker of 002 into them and replaces it by 002's row.
#[test]
fn tables_created_by_the_build_before_the_marker_are_used_unchanged() {
    migrator_tests::on_each_backend(|db| {
        let mut conn = db.connect();
        let serial = match &conn {
            AnyConnection::Postgres(_) => "BIGSERIAL PRIMARY KEY",
            _ => "INTEGER PRIMARY KEY AUTOINCREMENT",
        };
        batch(
            &mut conn,
            &format!(
                "CREATE TABLE migrator_version (
                    revision VARCHAR(64) NOT NULL PRIMARY KEY,
                    checksum VARCHAR(64) NOT NULL,
                    applied_at TIMESTAMP NOT NULL,
                    execution_ms BIGINT NOT NULL,
                    seq BIGINT NOT NULL
                );
                CREATE TABLE migrator_version_audit (
                    id {serial},
                    at TIMESTAMP NOT NULL,
                    revision VARCHAR(64) NOT NULL,
                    action VARCHAR(16) NOT NULL,
                    duration_ms BIGINT NOT NULL,
                    outcome VARCHAR(16) NOT NULL,
                    host VARCHAR(255) NOT NULL,
                    pid BIGINT NOT NULL,
                    detail TEXT NOT NULL
                );
                CREATE TABLE needed (id INTEGER NOT NULL PRIMARY KEY);"
            ),
        );
        let migrator = Migrator::new(&dirty::MIGRATIONS);
        let state = migrator.state(&mut conn).expect("read the old tables");
        assert!(
            state.applied.is_empty() && state.marker.is_none(),
            "{state:?}"
        );
        cli(db, &["upgrade", "head"]).expect_code(exit::OK, "upgrade over the old tables");
        assert_eq!(rows(db), ["001:ok", "002:ok", "003:ok"]);
        assert_eq!(
            audit(db),
            [
                "upgrade success 001",
                "upgrade started 002",
                "upgrade success 002",
                "upgrade success 003"
            ]
        );
        assert_eq!(applied_ids(&migrator, &mut conn), ["001", "002", "003"]);
    });
}

/// A marker while another run holds the run lock is that run's, still in
/// progress (a long `CREATE INDEX CONCURRENTLY` on another replica): `check`,
/// `verify` and `pending` wait for it (here: time out, exit 5, naming the
/// lock) instead of calling it dirt; once no run holds the lock, the same
/// marker stops them as dirty.
#[test]
fn a_live_runs_marker_is_not_dirt_for_the_commands_that_read() {
    let Some(db) = TestDb::new(migrator_runtime::testing::Kind::Postgres) else {
        return;
    };
    let short = Migrator::with_options(
        &dirty::MIGRATIONS,
        migrator_tests::options(|o| o.lock_timeout = std::time::Duration::from_millis(200)),
    );
    let mut conn = db.connect();
    short
        .upgrade(&mut conn, "001".parse::<Target>().expect("a target"))
        .expect("upgrade to 001");
    // What a run that is applying 002 right now has written and holds.
    batch(
        &mut conn,
        "INSERT INTO migrator_version (revision, checksum, applied_at, execution_ms, seq) \
         VALUES ('002', 'started:upgrade', CURRENT_TIMESTAMP, 0, 2)",
    );
    let mut live = db.connect();
    batch(
        &mut live,
        "SELECT pg_advisory_lock(1836411250, \
         hashtext(current_database() || '.' || 'migrator_version'))",
    );
    let waits = |error: Error| matches!(error, Error::LockTimeout { .. });
    assert!(waits(
        short.check(&mut conn).expect_err("a run holds the lock")
    ));
    assert!(waits(
        short.verify(&mut conn).expect_err("a run holds the lock")
    ));
    assert!(waits(
        short.pending(&mut conn).expect_err("a run holds the lock")
    ));

    // The run died (its session ended) and left its marker: dirt.
    drop(live);
    let dirty = |error: Error| matches!(error, Error::Dirty { .. });
    assert!(dirty(
        short.check(&mut conn).expect_err("a dead run's marker")
    ));
    assert!(dirty(
        short.verify(&mut conn).expect_err("a dead run's marker")
    ));
    assert!(dirty(
        short.pending(&mut conn).expect_err("a dead run's marker")
    ));
}

/// A revision whose dirty marker went while it ran (another run took the
/// lease over and ran `stamp`; here the revision deletes it itself): its
/// record matches no row, so the run fails naming it and the stamps (exit
/// 6), the version table stays at 001 with no marker, the failure is in
/// the audit log. (Recorded by a blind `UPDATE … WHERE checksum = marker`,
/// it reported success with nothing recorded.)
#[test]
fn a_marker_gone_while_its_revision_ran_is_not_reported_as_recorded() {
    mod marker_taken {
        migrator_runtime::embed_migrations!("fixtures/marker_taken");
    }
    let check = |db: &TestDb| {
        let migrator = Migrator::new(&marker_taken::MIGRATIONS);
        let mut conn = db.connect();
        let error = migrator
            .upgrade(&mut conn, Target::Head)
            .expect_err("the marker is gone");
        let message = error.to_string();
        assert!(
            matches!(error, Error::MarkerLost { matched: 0, .. }),
            "{message}"
        );
        for needle in [
            "upgrade of revision 002 (002_marker_removed_meanwhile.sql) ran to its end",
            "matched 0 row(s)",
            "nothing was recorded",
            "`stamp 002`",
            "`stamp 001`",
        ] {
            assert!(message.contains(needle), "{needle:?} in {message}");
        }
        assert_eq!(exit_code(&error), exit::MISMATCH);
        assert_eq!(rows(db), ["001:ok"]);
        assert!(tables(&mut conn).contains(&"taken_t".to_owned()));
        let log: Vec<String> = migrator
            .audit_log(&mut conn)
            .expect("read the audit log")
            .into_iter()
            .map(|e| format!("{} {} {}", e.action, e.outcome, e.revision))
            .collect();
        assert_eq!(
            log.last().map(String::as_str),
            Some("upgrade failure 002"),
            "{log:#?}"
        );
    };
    migrator_tests::on_each_backend(check);
    migrator_runtime::testing::on_mysql(check);
}
