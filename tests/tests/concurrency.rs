//! Concurrency and faults, end to end: several migrators started at the same
//! moment (processes running the `branchy` CLI, and threads using the
//! library), a lock held by someone else, a lock holder that dies, a revision
//! blocked by another session, and the messages and exit statuses of each.
//!
//! Every test runs on SQLite and on PostgreSQL (see `on_each_backend`) and
//! checks the database afterwards; none asserts on timing beyond "it waited
//! at least as long as it was told to".

use std::fs::{File, OpenOptions, TryLockError};
use std::process::Command;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use migrator_runtime::{Event, Migrator, Target};
use migrator_tests::branchy::{ALL, MIGRATIONS, applied, assert_at_head_once, audit, rows_of_005};
use migrator_tests::{Run, TestDb, cli_command, on_each_backend, tables};

/// The advisory lock the product takes for the default version table (see
/// `lock_key` in `backend/postgres.rs`).
const PG_LOCK: &str = "SELECT pg_advisory_lock(1836411250, hashtext(current_database() || '.' || 'public.migrator_version'))";

/// How many parallel migrators the concurrency tests start.
const PEERS: usize = 8;

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

fn is_postgres(db: &TestDb) -> bool {
    db.url().starts_with("postgres")
}

/// The SQLite database file of `db`.
fn sqlite_path(db: &TestDb) -> &str {
    db.url()
        .strip_prefix("sqlite://")
        .expect("a SQLite test URL starts with sqlite://")
}

/// The file the product locks beside a SQLite database.
fn sqlite_lock_path(db: &TestDb) -> String {
    format!("{}.migrator_version.lock", sqlite_path(db))
}

/// The `branchy` CLI against `db`.
fn branchy(db: &TestDb) -> Command {
    cli_command(
        env!("CARGO_BIN_EXE_branchy"),
        db.url(),
        &std::env::temp_dir(),
    )
}

/// Runs `branchy ARGS` against `db` and waits for it.
fn run(db: &TestDb, args: &[&str]) -> Run {
    let start = Instant::now();
    let output = branchy(db).args(args).output().expect("run branchy");
    Run::from_output(output, start.elapsed())
}

/// The run lock, held by the test as another migrator would hold it.
enum HeldLock {
    /// A session holding the advisory lock.
    Postgres(PgConnection),
    /// The lock file, locked.
    Sqlite(File),
}

impl HeldLock {
    /// Takes the product's run lock on `db` from outside the product.
    fn take(db: &TestDb) -> HeldLock {
        if is_postgres(db) {
            let mut conn = PgConnection::establish(db.url()).expect("connect the lock holder");
            conn.batch_execute(PG_LOCK).expect("take the advisory lock");
            HeldLock::Postgres(conn)
        } else {
            let file = open_lock_file(db);
            file.lock().expect("lock the lock file");
            HeldLock::Sqlite(file)
        }
    }

    /// Releases the lock explicitly (as a migrator finishing would).
    fn release(self) {
        match self {
            HeldLock::Postgres(mut conn) => {
                conn.batch_execute(
                    "SELECT pg_advisory_unlock(1836411250, \
                     hashtext(current_database() || '.' || 'public.migrator_version'))",
                )
                .expect("release the advisory lock");
            }
            HeldLock::Sqlite(file) => file.unlock().expect("unlock the lock file"),
        }
    }
}

fn open_lock_file(db: &TestDb) -> File {
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(sqlite_lock_path(db))
        .expect("open the lock file")
}

/// Counts `-> REV,` progress lines (`Running upgrade 004 -> 005, …`) over
/// every output.
fn times_run(outputs: &[String], revision: &str) -> usize {
    let needle = format!("-> {revision},");
    outputs
        .iter()
        .flat_map(|o| o.lines())
        .filter(|line| line.starts_with("Running upgrade") && line.contains(&needle))
        .count()
}

// ---------------------------------------------------------------------------
// Many migrators at once
// ---------------------------------------------------------------------------

/// "Eight processes started at the same moment against one database all
/// succeed, and the audit log shows each revision applied exactly once."
#[test]
fn eight_processes_migrate_once() {
    on_each_backend(|db| {
        let start = Instant::now();
        // Spawned in a tight loop: each run lasts well over 200 ms (005
        // sleeps), spawning all of them takes a few milliseconds.
        let runs = migrator_tests::run_together((0..PEERS).map(|_| {
            let mut command = branchy(db);
            command.args(["upgrade", "head"]);
            command
        }));
        for (i, run) in runs.iter().enumerate() {
            run.expect_code(0, &format!("process {i} of {PEERS}"));
        }
        let all = runs
            .iter()
            .enumerate()
            .map(|(i, r)| format!("== process {i}\n{r}"))
            .collect::<Vec<_>>()
            .join("\n");

        let log = assert_at_head_once(db);
        // One run applied everything under the lock; the others found the
        // work done (before the lock, or after waiting for it).
        let pids: std::collections::BTreeSet<i64> = log.iter().map(|e| e.pid).collect();
        assert_eq!(
            pids.len(),
            1,
            "one process applied every revision: {log:#?}"
        );

        let stdouts: Vec<String> = runs.iter().map(|r| r.stdout.clone()).collect();
        for revision in ALL {
            assert_eq!(
                times_run(&stdouts, revision),
                1,
                "{revision} reported as run exactly once\n{all}"
            );
        }
        let appliers = runs
            .iter()
            .filter(|r| r.stdout.contains("Running upgrade"))
            .count();
        assert_eq!(appliers, 1, "{all}");
        let idle = runs
            .iter()
            .filter(|r| r.stdout.contains("Nothing to do"))
            .count();
        assert_eq!(idle, PEERS - 1, "the others had nothing to do\n{all}");
        let waited = runs
            .iter()
            .filter(|r| r.stdout.contains("Waiting for another migrator"))
            .count();
        eprintln!(
            "{}: {PEERS} processes in {:?}, {waited} waited for the lock",
            if is_postgres(db) {
                "postgres"
            } else {
                "sqlite"
            },
            start.elapsed()
        );
    });
}

/// The same with threads of one process, each with its own connection and
/// its own `Migrator`: the lock works in-process too (on SQLite a file lock
/// belongs to an open file description, and each attempt opens the file).
#[test]
fn eight_threads_migrate_once() {
    on_each_backend(|db| {
        let barrier = Arc::new(Barrier::new(PEERS));
        let start = Instant::now();
        let outcomes: Vec<_> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..PEERS)
                .map(|_| {
                    let barrier = Arc::clone(&barrier);
                    scope.spawn(move || {
                        let mut conn = db.connect();
                        let waited = std::sync::atomic::AtomicBool::new(false);
                        let migrator = Migrator::new(&MIGRATIONS).on_event(|event| {
                            if matches!(event, Event::WaitingForLock { .. }) {
                                waited.store(true, std::sync::atomic::Ordering::Relaxed);
                            }
                        });
                        barrier.wait();
                        let outcome = migrator.upgrade(&mut conn, Target::Head);
                        drop(migrator);
                        (outcome, waited.into_inner())
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("a migrating thread panicked"))
                .collect()
        });
        let mut steps: Vec<String> = Vec::new();
        let mut appliers = 0;
        let mut waited = 0;
        for (i, (outcome, w)) in outcomes.into_iter().enumerate() {
            let report = outcome.unwrap_or_else(|e| panic!("thread {i} failed: {e}"));
            if !report.steps.is_empty() {
                appliers += 1;
            }
            waited += usize::from(w);
            steps.extend(report.steps.into_iter().map(|s| s.revision));
        }
        assert_eq!(steps, ALL, "every revision run once, by one thread");
        assert_eq!(appliers, 1);
        assert_at_head_once(db);
        eprintln!(
            "{}: {PEERS} threads in {:?}, {waited} waited for the lock",
            if is_postgres(db) {
                "postgres"
            } else {
                "sqlite"
            },
            start.elapsed()
        );
    });
}

// ---------------------------------------------------------------------------
// The run lock
// ---------------------------------------------------------------------------

#[test]
fn a_held_lock_times_out_with_its_own_message() {
    on_each_backend(|db| {
        let lock = HeldLock::take(db);
        let blocked = run(db, &["--lock-timeout", "500ms", "upgrade", "head"]);
        blocked.expect_code(5, "a held lock must stop the run with exit 5");
        assert!(
            blocked.stderr.contains("held by")
                && blocked.stderr.contains("waiting for the migration lock")
                && blocked.stderr.contains("--lock-timeout"),
            "{blocked}"
        );
        assert!(
            blocked.stdout.contains("Waiting for another migrator"),
            "{blocked}"
        );
        assert!(
            blocked.elapsed >= Duration::from_millis(500),
            "it waited the lock timeout\n{blocked}"
        );
        // Nothing was touched: not even the version table was created.
        let mut conn = db.connect();
        assert!(applied(&mut conn).is_empty());
        assert!(tables(&mut conn).is_empty(), "{:?}", tables(&mut conn));

        lock.release();
        run(db, &["--lock-timeout", "10s", "upgrade", "head"])
            .expect_code(0, "the lock was released");
        assert_at_head_once(db);
    });
}

#[test]
fn a_dead_lock_holder_releases_the_lock() {
    on_each_backend(|db| {
        if is_postgres(db) {
            // The session holding the advisory lock goes away without
            // unlocking: the server releases it.
            let lock = HeldLock::take(db);
            run(db, &["--lock-timeout", "200ms", "upgrade", "head"])
                .expect_code(5, "the lock is held");
            drop(lock);
        } else {
            // A process holding the lock file is killed: the OS releases it.
            // `sh` opens the file on fd 9, `flock` locks that descriptor,
            // then `exec sleep` keeps it (same process, same descriptor).
            if Command::new("flock")
                .arg("--version")
                .output()
                .map_or(true, |o| !o.status.success())
            {
                eprintln!("\n!!! SKIPPED the SQLite part: no `flock` command\n");
                return;
            }
            let lock_path = sqlite_lock_path(db);
            let mut holder = Command::new("sh")
                .arg("-c")
                .arg(r#"exec 9>>"$0" && flock -x 9 && exec sleep 30"#)
                .arg(&lock_path)
                .spawn()
                .expect("spawn the lock holder");
            // Wait until the holder has it.
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                match open_lock_file(db).try_lock() {
                    Err(TryLockError::WouldBlock) => break,
                    Err(TryLockError::Error(e)) => panic!("try_lock: {e}"),
                    // Not yet: ours (dropped at once, so the holder gets it).
                    Ok(()) => {}
                }
                assert!(Instant::now() < deadline, "the holder never took the lock");
                std::thread::sleep(Duration::from_millis(20));
            }
            run(db, &["--lock-timeout", "200ms", "upgrade", "head"])
                .expect_code(5, "the lock is held");
            holder.kill().expect("SIGKILL the lock holder");
            holder.wait().expect("reap the lock holder");
        }
        run(db, &["--lock-timeout", "10s", "upgrade", "head"])
            .expect_code(0, "the dead holder's lock was released");
        assert_at_head_once(db);
    });
}

#[test]
fn nothing_to_do_takes_no_lock() {
    on_each_backend(|db| {
        let mut conn = db.connect();
        Migrator::new(&MIGRATIONS)
            .upgrade(&mut conn, Target::Head)
            .expect("upgrade to head");
        let lock = HeldLock::take(db);
        let idle = run(db, &["--lock-timeout", "200ms", "upgrade", "head"]);
        idle.expect_code(0, "at head, a run must not wait for the lock");
        assert!(idle.stdout.contains("Nothing to do"), "{idle}");
        assert!(!idle.stdout.contains("Waiting"), "{idle}");
        // Nor do the read-only commands.
        run(db, &["--lock-timeout", "200ms", "check"]).expect_code(0, "check at head");
        run(db, &["--lock-timeout", "200ms", "verify"]).expect_code(0, "verify at head");
        lock.release();
        assert_at_head_once(db);
    });
}

// ---------------------------------------------------------------------------
// Faults inside a run
// ---------------------------------------------------------------------------

/// A revision blocked by another session past the lock timeout fails with a
/// timeout naming it; the database stays at the revision before it.
#[test]
fn a_blocked_revision_times_out_and_leaves_the_previous_one() {
    on_each_backend(|db| {
        let mut conn = db.connect();
        Migrator::new(&MIGRATIONS)
            .upgrade(&mut conn, "001".parse::<Target>().expect("target"))
            .expect("upgrade to 001");
        let postgres = is_postgres(db);

        // PostgreSQL: a session holds base_t, which only 005 touches (002,
        // 003, 004 commit first). SQLite: a session holds the write lock, so
        // the first revision to write (002) times out.
        let mut holder = db.connect();
        if postgres {
            holder
                .batch_execute("BEGIN; LOCK TABLE base_t IN ACCESS EXCLUSIVE MODE;")
                .expect("lock base_t");
        } else {
            holder
                .batch_execute("BEGIN IMMEDIATE;")
                .expect("take the write lock");
        }
        // The DDL lock timeout, not the wait for another migrator; no
        // retries (see ddl_locks.rs for them).
        let failed = run(
            db,
            &[
                "--ddl-lock-timeout",
                "300ms",
                "--ddl-retries",
                "0",
                "upgrade",
                "head",
            ],
        );
        holder.batch_execute("ROLLBACK;").expect("release");
        drop(holder);

        failed.expect_code(4, "a timed-out revision is a failed revision (exit 4)");
        let (revision, file, before, cause) = if postgres {
            (
                "005",
                "005_sleepy.rs",
                &ALL[..4],
                "canceling statement due to lock timeout",
            )
        } else {
            ("002", "002_left.sql", &ALL[..1], "database is locked")
        };
        for needle in [
            &format!("upgrade of revision {revision} ({file})"),
            "timed out after 1 attempt(s)",
            "DDL lock timeout (how long a statement may wait for a table lock) of 300ms",
            "--ddl-lock-timeout",
            cause,
        ] {
            assert!(failed.stderr.contains(needle), "no {needle:?} in\n{failed}");
        }
        assert_eq!(applied(&mut conn), before, "{failed}");
        assert_eq!(rows_of_005(&mut conn), 0);
        let expected_tables: &[&str] = if postgres {
            &[
                "base_t",
                "left_t",
                "migrator_version",
                "migrator_version_audit",
                "right_t",
            ]
        } else {
            &["base_t", "migrator_version", "migrator_version_audit"]
        };
        assert_eq!(tables(&mut conn), expected_tables);
        let log = audit(&mut conn);
        if postgres {
            // The failure is in the audit log (on SQLite the other session
            // still held the write lock when it was written: best effort).
            let last = log.last().expect("an audit entry");
            assert_eq!(
                (last.revision.as_str(), last.outcome.as_str()),
                ("005", "failure"),
                "{log:#?}"
            );
            assert!(last.detail.contains("timed out"), "{log:#?}");
        }

        // Once the other session is gone, the run completes.
        run(db, &["upgrade", "head"]).expect_code(0, "the blocker is gone");
        assert_eq!(applied(&mut conn), ALL);
        assert_eq!(rows_of_005(&mut conn), 1);
    });
}

/// "A revision that fails halfway leaves the database at the previous
/// revision and the error names it": 006 runs outside a transaction, and
/// says so.
#[test]
fn a_failing_revision_outside_a_transaction_names_itself() {
    on_each_backend(|db| {
        let mut conn = db.connect();
        Migrator::new(&MIGRATIONS)
            .upgrade(&mut conn, "005".parse::<Target>().expect("target"))
            .expect("upgrade to 005");
        conn.batch_execute("CREATE INDEX left_t_id ON left_t (id);")
            .expect("create the index 006 creates");
        let failed = run(db, &["upgrade", "head"]);
        failed.expect_code(4, "a failed revision exits 4");
        for needle in [
            "upgrade of revision 006 (006_index.sql) failed",
            "left_t_id",
            "outside a transaction",
            "stamp 006",
        ] {
            assert!(failed.stderr.contains(needle), "no {needle:?} in\n{failed}");
        }
        assert_eq!(applied(&mut conn), ALL[..5]);
        let last = audit(&mut conn).pop().expect("an audit entry");
        assert_eq!(
            (last.revision.as_str(), last.outcome.as_str()),
            ("006", "failure")
        );
    });
}

/// An edited applied revision and an unknown applied revision each stop the
/// CLI with exit 6 and their own message, before anything runs.
#[test]
fn a_database_that_disagrees_with_the_build_stops_the_cli() {
    on_each_backend(|db| {
        let mut conn = db.connect();
        Migrator::new(&MIGRATIONS)
            .upgrade(&mut conn, "004".parse::<Target>().expect("target"))
            .expect("upgrade to 004");

        conn.batch_execute(
            "UPDATE migrator_version SET checksum = 'abc123' WHERE revision = '002'",
        )
        .expect("tamper with 002's checksum");
        let edited = run(db, &["upgrade", "head"]);
        edited.expect_code(6, "an edited revision");
        for needle in ["revision 002 (002_left.sql) was edited", "abc123", "stamp"] {
            assert!(edited.stderr.contains(needle), "no {needle:?} in\n{edited}");
        }
        assert_eq!(applied(&mut conn), ALL[..4]);
        run(db, &["stamp", "004"]).expect_code(0, "stamp re-records checksums");

        conn.batch_execute(
            "INSERT INTO migrator_version (revision, checksum, applied_at, execution_ms, seq) \
             VALUES ('999', 'x', '2024-01-01 00:00:00', 0, 99)",
        )
        .expect("record a revision from a newer build");
        let unknown = run(db, &["upgrade", "head"]);
        unknown.expect_code(6, "an unknown applied revision");
        for needle in ["999", "newer build"] {
            assert!(
                unknown.stderr.contains(needle),
                "no {needle:?} in\n{unknown}"
            );
        }
        assert_eq!(applied(&mut conn), ["001", "002", "003", "004", "999"]);
        assert_eq!(rows_of_005(&mut conn), 0);
    });
}
