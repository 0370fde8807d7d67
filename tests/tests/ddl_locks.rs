//! Production PostgreSQL: a migration never queues traffic behind it for
//! long, and never reports success over an invalid index.
//!
//! 1. The DDL lock timeout (`Options::ddl_lock_timeout`,
//!    `--ddl-lock-timeout`) with retries of the whole revision
//!    (`Options::ddl_retries`): a revision blocked by another session's lock
//!    gives up its place in the queue after the timeout (a reader that
//!    arrived behind it goes on), is retried, and succeeds once the blocker
//!    is gone; when the blocker stays, the error names the limit that fired.
//! 2. `CREATE INDEX CONCURRENTLY` cancelled during its wait (the factory's
//!    revision 009): the revision fails naming the invalid index and the
//!    mend; running again still fails; after the advised `DROP INDEX
//!    CONCURRENTLY` it succeeds and the index is valid.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use diesel::connection::SimpleConnection;
use migrator_runtime::cli::exit;
use migrator_runtime::{AnyConnection, Error, Event, Migrator, Options, Target};
use migrator_tests::{Kind, Run, TestDb, applied_ids, cli_command, count, options};

mod ddl_lock {
    migrator_runtime::embed_migrations!("fixtures/ddl_lock");
}

mod rust_lock_timeout {
    migrator_runtime::embed_migrations!("fixtures/rust_lock_timeout");
}

fn target(rev: &str) -> Target {
    rev.parse().expect("a target")
}

/// A short DDL lock timeout, so that the tests wait little.
fn short(retries: u32) -> Options {
    options(|o| {
        o.ddl_lock_timeout = Duration::from_millis(300);
        o.ddl_retries = retries;
    })
}

/// Lock requests on table `hot` that wait (not granted).
fn queued_on_hot(conn: &mut AnyConnection) -> i64 {
    count(
        conn,
        "SELECT COUNT(*) AS n FROM pg_locks WHERE relation = to_regclass('hot') AND NOT granted",
    )
}

/// A session that holds `lock` in an open transaction.
fn blocker(db: &TestDb, lock: &str) -> AnyConnection {
    let mut blocker = db.connect();
    blocker
        .batch_execute(&format!("BEGIN; {lock}"))
        .expect("take the lock");
    blocker
}

fn has_note(conn: &mut AnyConnection) -> bool {
    count(
        conn,
        "SELECT COUNT(*) AS n FROM information_schema.columns \
         WHERE table_name = 'hot' AND column_name = 'note'",
    ) == 1
}

/// A Rust revision that runs out of the DDL lock timeout is not run again
/// (what it did outside the database would be done twice): one attempt, no
/// `Retrying` event, nothing recorded, the error names the limit.
#[test]
fn a_rust_revision_that_times_out_on_a_lock_is_not_retried() {
    let Some(db) = TestDb::new(Kind::Postgres) else {
        return;
    };
    let mut conn = db.connect();
    let m = Migrator::with_options(&rust_lock_timeout::MIGRATIONS, short(3));
    m.upgrade(&mut conn, target("001")).expect("upgrade to 001");
    let mut holder = blocker(&db, "LOCK TABLE hot IN ACCESS SHARE MODE;");
    let mut retries = 0;
    let retries_ref = &mut retries;
    let error = Migrator::with_options(&rust_lock_timeout::MIGRATIONS, short(3))
        .on_event(move |event| {
            if let Event::Retrying { .. } = event {
                *retries_ref += 1;
            }
        })
        .upgrade(&mut conn, Target::Head)
        .expect_err("the lock is held");
    holder.batch_execute("ROLLBACK;").expect("release the lock");
    assert_eq!(retries, 0, "a Rust revision is not run again: {error}");
    match &error {
        Error::Timeout { attempts, .. } => assert_eq!(*attempts, 1, "{error}"),
        other => panic!("a lock timeout: {other}"),
    }
    assert_eq!(applied_ids(&m, &mut conn), ["001"]);
    assert_eq!(count(&mut conn, "SELECT COUNT(*) AS n FROM hot"), 3);
}

/// A reader (`SELECT` from a third session) that arrives while the
/// migration's `ALTER TABLE` waits in the lock queue goes on once the
/// migration gives up its place, while the blocker still holds its lock:
/// the queue behind a migration lasts at most the DDL lock timeout. The
/// blocker lets go at the first retry after the reader read (whichever
/// attempt's wait it saw: nothing here depends on how long an attempt
/// lasts); the next attempt succeeds.
#[test]
fn a_blocked_revision_gives_way_and_is_retried_until_the_blocker_is_gone() {
    let Some(db) = TestDb::new(Kind::Postgres) else {
        return;
    };
    // Retries enough that the reader sees one of the waits: a hang guard.
    let retries = 50;
    let mut conn = db.connect();
    Migrator::with_options(&ddl_lock::MIGRATIONS, short(retries))
        .upgrade(&mut conn, target("001"))
        .expect("upgrade to 001");
    // What a long report holds: ACCESS SHARE, which blocks the ALTER.
    let mut holder = blocker(&db, "LOCK TABLE hot IN ACCESS SHARE MODE;");
    let released = Arc::new(AtomicBool::new(false));

    // The reader: waits until the migration queues, then reads.
    let (read_tx, read_rx) = mpsc::channel();
    let reader = {
        let url = db.url().to_owned();
        let released = Arc::clone(&released);
        std::thread::spawn(move || {
            let mut watcher = migrator_runtime::connect(&url).expect("connect");
            while queued_on_hot(&mut watcher) == 0 {
                std::thread::sleep(Duration::from_millis(5));
            }
            let mut reader = migrator_runtime::connect(&url).expect("connect");
            let rows = count(&mut reader, "SELECT COUNT(*) AS n FROM hot");
            let _ = read_tx.send((rows, released.load(Ordering::SeqCst)));
        })
    };

    let mut watcher = db.connect();
    let mut seen = Vec::new();
    let mut read = None;
    let (seen_ref, read_ref, watcher_ref, holder_ref) =
        (&mut seen, &mut read, &mut watcher, &mut holder);
    let released_hook = Arc::clone(&released);
    let outcome = Migrator::with_options(&ddl_lock::MIGRATIONS, short(retries))
        .on_event(move |event| {
            if let Event::Retrying { retries, .. } = event {
                // Between attempts the migration waits for nothing.
                seen_ref.push((*retries, queued_on_hot(watcher_ref)));
                if read_ref.is_none()
                    && let Ok(read) = read_rx.try_recv()
                {
                    *read_ref = Some(read);
                    released_hook.store(true, Ordering::SeqCst);
                    holder_ref
                        .batch_execute("ROLLBACK;")
                        .expect("release the lock");
                }
            }
        })
        .upgrade(&mut conn, Target::Head);
    reader.join().expect("the reader");
    outcome.expect("the attempt after the release succeeds");
    assert!(
        !seen.is_empty() && seen.iter().all(|&s| s == (retries, 0)),
        "retries, nothing queued between: {seen:?}"
    );
    assert_eq!(
        read,
        Some((3, false)),
        "the reader behind the waiting ALTER read while the blocker still held its lock"
    );
    assert!(has_note(&mut conn));
    let m = Migrator::new(&ddl_lock::MIGRATIONS);
    assert_eq!(applied_ids(&m, &mut conn), ["001", "002"]);
    let audit = m.audit_log(&mut conn).expect("the audit log");
    let for_002: Vec<_> = audit.iter().filter(|e| e.revision == "002").collect();
    assert_eq!(for_002.len(), 1, "{audit:?}");
    assert_eq!(for_002[0].outcome, "success");
}

/// The blocker stays: after the retries the run fails with an error that
/// names the limit, its value, where it is set and the mend; 002 is not
/// applied and the failure is audited.
#[test]
fn a_revision_blocked_past_its_retries_fails_naming_the_limit() {
    let Some(db) = TestDb::new(Kind::Postgres) else {
        return;
    };
    let mut conn = db.connect();
    Migrator::with_options(&ddl_lock::MIGRATIONS, short(2))
        .upgrade(&mut conn, target("001"))
        .expect("upgrade to 001");
    let _holder = blocker(&db, "LOCK TABLE hot IN ACCESS SHARE MODE;");
    let mut retries = Vec::new();
    let error = Migrator::with_options(&ddl_lock::MIGRATIONS, short(2))
        .on_event(|event| {
            if let Event::Retrying { retry, .. } = event {
                retries.push(*retry);
            }
        })
        .upgrade(&mut conn, Target::Head)
        .expect_err("blocked throughout");
    assert_eq!(retries, [1, 2]);
    assert!(
        matches!(
            &error,
            Error::Timeout { lock: true, attempts: 3, limit, .. } if *limit == Duration::from_millis(300)
        ),
        "{error:?}"
    );
    let message = error.to_string();
    for needle in [
        "upgrade of revision 002 (002_add_note.sql) timed out after 3 attempt(s)",
        "DDL lock timeout",
        "300ms",
        "--ddl-lock-timeout",
        "canceling statement due to lock timeout",
        "pg_locks",
        "--ddl-retries",
    ] {
        assert!(message.contains(needle), "{needle:?} in {message}");
    }
    assert_eq!(queued_on_hot(&mut conn), 0, "the migration left the queue");
    let m = Migrator::new(&ddl_lock::MIGRATIONS);
    assert_eq!(applied_ids(&m, &mut conn), ["001"]);
    assert!(!has_note(&mut conn));
    let audit = m.audit_log(&mut conn).expect("the audit log");
    let last = audit.last().expect("an entry");
    assert_eq!(
        (last.revision.as_str(), last.outcome.as_str()),
        ("002", "failure")
    );
    assert!(last.detail.contains("DDL lock timeout"), "{last:?}");
}

/// The flags reach the run: `--ddl-lock-timeout 200ms --ddl-retries 1`
/// against a session that locks the version table (the revision's own
/// bookkeeping waits): one retry shown, exit 4, the limit named.
#[test]
fn the_cli_takes_the_ddl_lock_timeout_and_retries() {
    let Some(db) = TestDb::new(Kind::Postgres) else {
        return;
    };
    let dir = tempfile::tempdir().expect("a directory");
    let cli = |args: &[&str]| {
        let start = std::time::Instant::now();
        let output = cli_command(env!("CARGO_BIN_EXE_branchy"), db.url(), dir.path())
            .args(args)
            .output()
            .expect("run branchy");
        Run::from_output(output, start.elapsed())
    };
    cli(&["upgrade", "001"]).expect_code(exit::OK, "upgrade to 001");
    let holder = blocker(&db, "LOCK TABLE migrator_version IN EXCLUSIVE MODE;");
    let run = cli(&[
        "--ddl-lock-timeout",
        "200ms",
        "--ddl-retries",
        "1",
        "upgrade",
        "002",
    ]);
    run.expect_code(exit::REVISION, "blocked");
    assert!(run.stdout.contains("retry 1 of 1"), "{run}");
    assert!(run.stderr.contains("timed out after 2 attempt(s)"), "{run}");
    assert!(
        run.stderr
            .contains("DDL lock timeout (how long a statement may wait for a table lock) of 200ms"),
        "{run}"
    );
    drop(holder);
    let mut conn = db.connect();
    assert_eq!(
        applied_ids(
            &Migrator::new(&migrator_tests::branchy::MIGRATIONS),
            &mut conn
        ),
        ["001"]
    );
}

/// SQLite: the DDL lock timeout is the busy timeout; a revision that waits
/// for another connection's write transaction is retried.
#[test]
fn sqlite_retries_a_revision_that_waited_for_the_write_lock() {
    let db = TestDb::sqlite();
    let mut conn = db.connect();
    Migrator::with_options(&ddl_lock::MIGRATIONS, short(3))
        .upgrade(&mut conn, target("001"))
        .expect("upgrade to 001");
    let mut holder = blocker(&db, "");
    holder
        .batch_execute("INSERT INTO hot (id) VALUES (4);")
        .expect("hold the write lock");
    let mut seen = Vec::new();
    Migrator::with_options(&ddl_lock::MIGRATIONS, short(3))
        .on_event(|event| {
            if let Event::Retrying { retry, .. } = event {
                seen.push(*retry);
                holder.batch_execute("COMMIT;").expect("let go");
            }
        })
        .upgrade(&mut conn, Target::Head)
        .expect("the retry succeeds");
    assert_eq!(seen, [1]);
    let m = Migrator::new(&ddl_lock::MIGRATIONS);
    assert_eq!(applied_ids(&m, &mut conn), ["001", "002"]);
    assert_eq!(count(&mut conn, "SELECT COUNT(*) AS n FROM hot"), 4);
}

/// The index `api_keys_last_used_at`: 1 valid, 0 invalid, -1 missing.
fn last_used_index(conn: &mut AnyConnection) -> i64 {
    count(
        conn,
        "SELECT COALESCE((SELECT CASE WHEN indisvalid THEN 1 ELSE 0 END FROM pg_index \
         WHERE indexrelid = to_regclass('api_keys_last_used_at')), -1)::BIGINT AS n",
    )
}

/// The error of a `Transaction: false` revision (009) refused before it
/// ran over the invalid index `index`.
fn expect_refused(error: &Error, index: &str) {
    assert!(
        matches!(error, Error::InvalidIndexesBefore { revision, indexes, .. }
            if revision == "009" && indexes == &[index]),
        "{error:?}"
    );
    let message = error.to_string();
    for needle in [
        format!(
            "upgrade of revision 009 (009_index_last_used_at.sql) was refused before it ran: \
             the database already has invalid index(es) {index}"
        ),
        format!("`DROP INDEX CONCURRENTLY {index};`"),
        "nothing ran and nothing was recorded".to_owned(),
    ] {
        assert!(message.contains(&needle), "{needle:?} in {message}");
    }
    assert_eq!(migrator_tests::exit_code(error), exit::REVISION);
}

/// An invalid index that is not the revision's (a unique index built
/// concurrently over duplicates, as a DBA's failed build or `REINDEX
/// CONCURRENTLY` leaves one) refuses 009 before it runs: its index is not
/// built, nothing is recorded; once it is dropped, 009 runs. (Before, 009
/// ran, then failed over the other index and was not recorded.)
#[test]
fn an_invalid_index_already_there_refuses_a_concurrent_index_revision_before_it_runs() {
    let Some(db) = TestDb::new(Kind::Postgres) else {
        return;
    };
    let m = factory_service_db::migrator();
    let mut conn = db.connect();
    m.upgrade(&mut conn, target("008")).expect("upgrade to 008");
    migrator_tests::leave_invalid_index(&mut conn);
    let error = m.upgrade(&mut conn, Target::Head).expect_err("refused");
    expect_refused(&error, "public.dup_v");
    assert_eq!(last_used_index(&mut conn), -1, "009 did not run");
    assert!(!applied_ids(&m, &mut conn).contains(&"009".to_owned()));
    // Refused before its dirty marker: nothing stops the next run.
    assert_eq!(
        m.state(&mut conn).expect("the state").marker,
        None,
        "no marker"
    );
    conn.batch_execute("DROP INDEX CONCURRENTLY public.dup_v;")
        .expect("the mend");
    m.upgrade(&mut conn, Target::Head)
        .expect("runs once dropped");
    assert_eq!(last_used_index(&mut conn), 1, "built and valid");
    assert!(applied_ids(&m, &mut conn).contains(&"009".to_owned()));
}

/// The case: 009's `CREATE INDEX CONCURRENTLY` waits for an open
/// write transaction on `api_keys` and is cancelled (`pg_cancel_backend`),
/// leaving the index invalid.
#[test]
fn a_cancelled_concurrent_index_fails_the_revision_until_it_is_dropped() {
    let Some(db) = TestDb::new(Kind::Postgres) else {
        return;
    };
    let m = factory_service_db::migrator();
    let mut conn = db.connect();
    m.upgrade(&mut conn, target("008")).expect("upgrade to 008");
    let mut writer = blocker(&db, "LOCK TABLE api_keys IN ROW EXCLUSIVE MODE;");
    let canceller = {
        let url = db.url().to_owned();
        std::thread::spawn(move || {
            let mut admin = migrator_runtime::connect(&url).expect("connect");
            let waiting = "SELECT COUNT(*) AS n FROM pg_stat_activity \
                           WHERE query LIKE 'CREATE INDEX CONCURRENTLY%' AND wait_event_type = 'Lock'";
            while count(&mut admin, waiting) == 0 {
                std::thread::sleep(Duration::from_millis(5));
            }
            admin
                .batch_execute(
                    "SELECT pg_cancel_backend(pid) FROM pg_stat_activity \
                     WHERE query LIKE 'CREATE INDEX CONCURRENTLY%' AND wait_event_type = 'Lock'",
                )
                .expect("cancel the index build");
        })
    };
    let error = m.upgrade(&mut conn, Target::Head).expect_err("cancelled");
    canceller.join().expect("the canceller");
    writer.batch_execute("ROLLBACK;").expect("end the writer");
    assert!(
        matches!(&error, Error::InvalidIndexes { revision, indexes, cause: Some(_), .. }
            if revision == "009" && indexes == &["public.api_keys_last_used_at"]),
        "{error:?}"
    );
    let message = error.to_string();
    for needle in [
        "upgrade of revision 009 (009_index_last_used_at.sql) left invalid index(es) \
         public.api_keys_last_used_at",
        "`DROP INDEX CONCURRENTLY public.api_keys_last_used_at;`",
        "then record the upgrade as not done with `stamp 008` (which clears the marker), then \
         run it again",
    ] {
        assert!(message.contains(needle), "{needle:?} in {message}");
    }
    assert_eq!(migrator_tests::exit_code(&error), exit::REVISION);
    assert!(
        error
            .to_string()
            .contains("canceling statement due to user request"),
        "{error}"
    );
    assert_eq!(last_used_index(&mut conn), 0, "left invalid");
    assert!(!applied_ids(&m, &mut conn).contains(&"009".to_owned()));

    // Running again, as a hurried operator would: 009 ran outside a
    // transaction and left its dirty marker, so the run stops before it
    // (`CREATE INDEX CONCURRENTLY IF NOT EXISTS` would do nothing over the
    // invalid index), naming the revision, its error and the mend.
    let again = m
        .upgrade(&mut conn, Target::Head)
        .expect_err("stopped by the marker");
    assert!(
        matches!(&again, Error::Dirty { marker, .. } if marker.revision == "009"),
        "{again:?}"
    );
    assert_eq!(migrator_tests::exit_code(&again), exit::DIRTY);
    let message = again.to_string();
    for needle in [
        "upgrade of revision 009 (009_index_last_used_at.sql)",
        "`DROP INDEX CONCURRENTLY public.api_keys_last_used_at;`",
        "`stamp 008`",
    ] {
        assert!(message.contains(needle), "{needle:?} in {message}");
    }
    assert_eq!(last_used_index(&mut conn), 0, "still invalid");
    assert!(!applied_ids(&m, &mut conn).contains(&"009".to_owned()));

    // The mend, as the errors say it: drop the index, `stamp 008` (which
    // clears the marker), run again.
    conn.batch_execute("DROP INDEX CONCURRENTLY public.api_keys_last_used_at;")
        .expect("drop the invalid index");
    m.stamp(&mut conn, target("008"))
        .expect("stamp 008 clears the marker");
    assert_eq!(
        m.state(&mut conn).expect("the state").marker,
        None,
        "the marker is cleared"
    );
    m.upgrade(&mut conn, Target::Head)
        .expect("runs once dropped and stamped");
    assert_eq!(last_used_index(&mut conn), 1, "built and valid");
    assert!(applied_ids(&m, &mut conn).contains(&"009".to_owned()));
}
