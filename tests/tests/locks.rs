//! The lock strategies (`--lock advisory | table | redis://… | none`), end to
//! end: eight `branchy` processes started at once migrate exactly once with
//! `table` (PostgreSQL directly and through PgBouncer in transaction mode,
//! SQLite) and with Redis (through PgBouncer); a lease left by a dead holder
//! does not block the next run beyond its expiry; a run whose lease was taken
//! stops before the next revision; the lock-wait timeout names the holder and
//! the limit. (The advisory lock's eight processes: `concurrency.rs`.)
//!
//! PgBouncer is reached at `MIGRATOR_TEST_PGBOUNCER` (default
//! `127.0.0.1:6432`), Redis at `MIGRATOR_TEST_REDIS_URL` (default
//! `redis://127.0.0.1:6379`); `scripts/services.sh` starts both. When one is
//! missing, a test fails with `CI` set and is skipped loudly otherwise.

use std::process::Command;
use std::time::Instant;

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use migrator_runtime::{AnyConnection, Error, Event, LockStrategy, Migrator, Target};
use migrator_tests::branchy::{ALL, MIGRATIONS, applied, assert_at_head_once};
use migrator_tests::{
    Kind, Run, TestDb, cli_command, count, missing, on_each_backend, options, through_pgbouncer,
};

/// How many parallel migrators start at once.
const PEERS: usize = 8;

/// The lock table of the default version table.
const LOCK_TABLE: &str = "migrator_version_lock";

/// The name the lock goes by: the version table as the run resolves it
/// (qualified by `current_schema()` on PostgreSQL).
fn lock_name(db: &TestDb) -> &'static str {
    match db.kind() {
        Kind::Postgres => "public.migrator_version",
        Kind::Sqlite => "migrator_version",
        Kind::Mysql => unreachable!("on_each_backend runs PostgreSQL and SQLite"),
    }
}

/// A lease that never expires during a test, held by nobody running.
fn ghost(db: &TestDb) -> String {
    format!(
        "INSERT INTO migrator_version_lock \
         (name, token, host, pid, application, acquired, expires) VALUES \
         ('{}', 'ghost-token', 'ghost-host', 4242, 'ghost-app', \
         '2000-01-01 00:00:00', '2999-01-01 00:00:00')",
        lock_name(db)
    )
}

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// The Redis URL, or `None` when Redis is not there (outside CI).
fn redis_url() -> Option<String> {
    let url = std::env::var("MIGRATOR_TEST_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    match redis_conn(&url) {
        Ok(_) => Some(url),
        Err(error) => {
            missing(&format!("Redis at {url}"), &error);
            None
        }
    }
}

fn redis_conn(url: &str) -> redis::RedisResult<redis::Connection> {
    redis::Client::open(url)?.get_connection()
}

/// The Redis key of the run lock of `db` (see `lock/redis.rs`).
fn redis_key(db: &TestDb) -> String {
    #[derive(diesel::QueryableByName)]
    struct Value {
        #[diesel(sql_type = diesel::sql_types::Text)]
        value: String,
    }
    let mut conn = PgConnection::establish(db.url()).expect("connect");
    let rows: Vec<Value> = diesel::RunQueryDsl::load(
        diesel::sql_query(
            "SELECT (SELECT system_identifier::text FROM pg_control_system()) || '/' || \
             current_database() AS value",
        ),
        &mut conn,
    )
    .expect("the database's identity");
    format!("migrator:lock:{}:{}", rows[0].value, lock_name(db))
}

/// `branchy ARGS` against `url`, not waited for.
fn branchy(url: &str, args: &[&str]) -> Command {
    let mut command = cli_command(env!("CARGO_BIN_EXE_branchy"), url, &std::env::temp_dir());
    command.args(args);
    command
}

/// Starts `PEERS` `branchy upgrade head` with `lock_args` at once; every
/// one must exit 0, the database must be at head with each revision run
/// once.
fn eight_at_once(db: &TestDb, url: &str, lock_args: &[&str]) -> Vec<Run> {
    let mut args = vec!["upgrade", "head"];
    args.extend_from_slice(lock_args);
    let runs = migrator_tests::run_together((0..PEERS).map(|_| branchy(url, &args)));
    for (i, run) in runs.iter().enumerate() {
        run.expect_code(0, &format!("process {i} of {PEERS} with {lock_args:?}"));
    }
    let ran: usize = runs
        .iter()
        .map(|r| {
            r.stdout
                .lines()
                .filter(|l| l.starts_with("Running upgrade"))
                .count()
        })
        .sum();
    assert_eq!(ran, ALL.len(), "each revision run by one process");
    assert_at_head_once(db);
    runs
}

/// Advisory locks held in `db`'s database, seen from the server.
fn advisory_locks(db: &TestDb) -> i64 {
    count(
        &mut db.connect(),
        "SELECT count(*)::BIGINT AS n FROM pg_locks l JOIN pg_database d ON d.oid = l.database \
         WHERE l.locktype = 'advisory' AND d.datname = current_database()",
    )
}

fn lease_rows(conn: &mut AnyConnection) -> i64 {
    count(conn, &format!("SELECT COUNT(*) AS n FROM {LOCK_TABLE}"))
}

/// Creates the lock table as the product does, by a run that takes and
/// releases the lease (an upgrade to 001).
fn make_lock_table(url: &str) {
    Run::from_output(
        branchy(url, &["upgrade", "001", "--lock", "table"])
            .output()
            .expect("run branchy"),
        std::time::Duration::ZERO,
    )
    .expect_code(0, "upgrade 001");
}

// ---------------------------------------------------------------------------
// Eight at once
// ---------------------------------------------------------------------------

/// "8 parallel starters migrate exactly once" with `--lock table`, on
/// PostgreSQL directly and on SQLite; the lease is released afterwards.
#[test]
fn table_lock_eight_processes_migrate_once() {
    on_each_backend(|db| {
        eight_at_once(db, db.url(), &["--lock", "table"]);
        assert_eq!(lease_rows(&mut db.connect()), 0, "the lease was released");
    });
}

/// "8 parallel `upgrade head` through PgBouncer (transaction mode) with
/// `--lock table` all exit 0, the audit log shows each revision once, and
/// no advisory lock is left in `pg_locks`."
#[test]
fn table_lock_through_pgbouncer_transaction_mode() {
    let Some(db) = TestDb::new(Kind::Postgres) else {
        return;
    };
    let Some(bouncer) = through_pgbouncer(&db) else {
        return;
    };
    eight_at_once(&db, &bouncer, &["--lock", "table"]);
    assert_eq!(advisory_locks(&db), 0, "no advisory lock left");
    assert_eq!(lease_rows(&mut db.connect()), 0, "the lease was released");
}

/// The same with `--lock redis://…`; the key is gone afterwards.
#[test]
fn redis_lock_through_pgbouncer_transaction_mode() {
    let Some(redis) = redis_url() else { return };
    let Some(db) = TestDb::new(Kind::Postgres) else {
        return;
    };
    let Some(bouncer) = through_pgbouncer(&db) else {
        return;
    };
    eight_at_once(&db, &bouncer, &["--lock", &redis]);
    assert_eq!(advisory_locks(&db), 0, "no advisory lock left");
    let key: Option<String> = redis::cmd("GET")
        .arg(redis_key(&db))
        .query(&mut redis_conn(&redis).expect("redis"))
        .expect("GET");
    assert_eq!(key, None, "the Redis lease was released");
}

/// With `MIGRATOR_LOCK=none` nothing is taken (a single instance): no lock
/// table, no advisory lock wait, and the run completes.
#[test]
fn no_lock_takes_nothing() {
    on_each_backend(|db| {
        let run = Run::from_output(
            branchy(db.url(), &["upgrade", "head"])
                .env("MIGRATOR_LOCK", "none")
                .output()
                .expect("run"),
            std::time::Duration::ZERO,
        );
        run.expect_code(0, "upgrade with no lock");
        assert_at_head_once(db);
        let tables = migrator_tests::tables(&mut db.connect());
        assert!(!tables.iter().any(|t| t == LOCK_TABLE), "{tables:?}");
    });
}

// ---------------------------------------------------------------------------
// Dead holders, lost leases, timeouts
// ---------------------------------------------------------------------------

/// A lease left by a holder that died (expired) does not block the next
/// run; one that is still valid makes the run wait and time out naming the
/// holder and the limit, exit 5.
#[test]
fn a_dead_holders_lease_expires_and_a_live_one_is_named() {
    on_each_backend(|db| {
        make_lock_table(db.url());
        let mut conn = db.connect();
        conn.batch_execute(&ghost(db)).expect("a ghost lease");
        let run = Run::from_output(
            branchy(
                db.url(),
                &["upgrade", "head", "--lock", "table", "--lock-timeout", "1s"],
            )
            .output()
            .expect("run"),
            std::time::Duration::ZERO,
        );
        run.expect_code(5, "a held lease");
        for needle in [
            "lock timeout 1s",
            "--lock-timeout",
            "host ghost-host, pid 4242, application ghost-app",
            "table lock",
        ] {
            assert!(run.stderr.contains(needle), "{needle:?} in\n{run}");
        }
        assert_eq!(applied(&mut conn), ALL[..1], "nothing ran");
        // The holder died: its lease expired.
        conn.batch_execute(&format!(
            "UPDATE {LOCK_TABLE} SET expires = '2000-01-01 00:00:01'"
        ))
        .expect("expire the lease");
        branchy(
            db.url(),
            &["upgrade", "head", "--lock", "table", "--lock-timeout", "1s"],
        )
        .output()
        .map(|o| Run::from_output(o, std::time::Duration::ZERO))
        .expect("run")
        .expect_code(0, "an expired lease is taken over");
        assert_eq!(applied(&mut conn), ALL);
        assert_eq!(lease_rows(&mut conn), 0, "released after the run");
    });
}

/// A Redis lease held by another token times out naming it; once it is
/// gone (a dead holder's lease expires), the run waiting for it proceeds.
#[test]
fn a_redis_lease_is_named_and_expires() {
    let Some(redis) = redis_url() else { return };
    let Some(db) = TestDb::new(Kind::Postgres) else {
        return;
    };
    let key = redis_key(&db);
    let mut r = redis_conn(&redis).expect("redis");
    let _: () = redis::cmd("SET")
        .arg(&key)
        .arg("ghost-token host ghost-host, pid 4242")
        .arg("PX")
        .arg(600_000)
        .query(&mut r)
        .expect("SET");
    let run = Run::from_output(
        branchy(
            db.url(),
            &["upgrade", "head", "--lock", &redis, "--lock-timeout", "1s"],
        )
        .output()
        .expect("run"),
        std::time::Duration::ZERO,
    );
    run.expect_code(5, "a held Redis lease");
    for needle in [
        "lock timeout 1s",
        "token ghost-token, host ghost-host, pid 4242",
        &key,
    ] {
        assert!(run.stderr.contains(needle), "{needle:?} in\n{run}");
    }
    // The next run waits for it (its "waiting" line, read as it comes),
    // then the holder's key goes, as a dead holder's lease expires.
    let mut child = branchy(
        db.url(),
        &["upgrade", "head", "--lock", &redis, "--lock-timeout", "60s"],
    )
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped())
    .spawn()
    .expect("run");
    let mut stdout = std::io::BufReader::new(child.stdout.take().expect("its stdout"));
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        let read = std::io::BufRead::read_line(&mut stdout, &mut line).expect("read its stdout");
        assert!(
            read > 0,
            "the run ended without waiting for the lease:\n{seen}"
        );
        seen.push_str(&line);
        if line.contains("held by token ghost-token") {
            break;
        }
    }
    let _: () = redis::cmd("DEL").arg(&key).query(&mut r).expect("DEL");
    std::io::Read::read_to_string(&mut stdout, &mut seen).expect("read its stdout");
    let mut output = child.wait_with_output().expect("wait for it");
    output.stdout = seen.into_bytes();
    let run = Run::from_output(output, std::time::Duration::ZERO);
    run.expect_code(0, "after the dead holder's lease was gone");
    assert_at_head_once(&db);
}

/// The advisory lock's timeout names the session holding it (pid,
/// application_name, client address) and the limit.
#[test]
fn an_advisory_lock_timeout_names_the_session() {
    let Some(db) = TestDb::new(Kind::Postgres) else {
        return;
    };
    let mut holder =
        PgConnection::establish(&format!("{}?application_name=lock-holder-test", db.url()))
            .expect("connect the holder");
    holder
        .batch_execute(
            "SELECT pg_advisory_lock(1836411250, \
             hashtext(current_database() || '.' || 'public.migrator_version'))",
        )
        .expect("take the advisory lock");
    let pid = count(
        &mut db.connect(),
        "SELECT pid::BIGINT AS n FROM pg_stat_activity WHERE application_name = 'lock-holder-test'",
    );
    let run = Run::from_output(
        branchy(db.url(), &["upgrade", "head", "--lock-timeout", "1s"])
            .output()
            .expect("run"),
        std::time::Duration::ZERO,
    );
    run.expect_code(5, "advisory lock held");
    for needle in [
        format!("pid {pid}, application 'lock-holder-test', client 127.0.0.1"),
        "lock timeout 1s".to_owned(),
        "advisory lock".to_owned(),
    ] {
        assert!(run.stderr.contains(&needle), "{needle:?} in\n{run}");
    }
}

/// A run whose lease is taken by another (here: a thief rewrites it after
/// revision 002) stops before the next revision with `LockLost`; the
/// thief's lease stays.
#[test]
fn a_run_whose_table_lease_was_taken_stops_before_the_next_revision() {
    on_each_backend(|db| {
        let url = db.url().to_owned();
        let migrator =
            Migrator::with_options(&MIGRATIONS, options(|o| o.lock = LockStrategy::Table))
                .on_event(move |event| {
                    if let Event::Finished { revision, .. } = event
                        && revision.id == "002"
                    {
                        let mut thief = migrator_runtime::connect(&url).expect("connect the thief");
                        thief
                            .batch_execute(&format!(
                                "UPDATE {LOCK_TABLE} SET token = 'thief', host = 'thief-host'"
                            ))
                            .expect("steal the lease");
                    }
                });
        let mut conn = db.connect();
        let error = migrator
            .upgrade(&mut conn, Target::Head)
            .expect_err("the lease was taken");
        assert!(matches!(error, Error::LockLost { .. }), "{error:?}");
        let message = error.to_string();
        assert!(message.contains("thief-host"), "{message}");
        assert!(message.contains("before upgrade of 003"), "{message}");
        assert_eq!(applied(&mut conn), ALL[..2], "stopped after 002");
        assert_eq!(
            count(
                &mut conn,
                &format!("SELECT COUNT(*) AS n FROM {LOCK_TABLE} WHERE token = 'thief'")
            ),
            1,
            "the thief's lease was not deleted by the loser"
        );
    });
}

/// The same with Redis: the key overwritten by another owner stops the run
/// before the next revision, and the loser does not delete it.
#[test]
fn a_run_whose_redis_lease_was_taken_stops_before_the_next_revision() {
    let Some(redis) = redis_url() else { return };
    let Some(db) = TestDb::new(Kind::Postgres) else {
        return;
    };
    let key = redis_key(&db);
    let (thief_url, thief_key) = (redis.clone(), key.clone());
    let migrator = Migrator::with_options(
        &MIGRATIONS,
        options(|o| o.lock = LockStrategy::Redis(redis.clone())),
    )
    .on_event(move |event| {
        if let Event::Finished { revision, .. } = event
            && revision.id == "002"
        {
            let _: () = redis::cmd("SET")
                .arg(&thief_key)
                .arg("thief-token host thief-host")
                .query(&mut redis_conn(&thief_url).expect("redis"))
                .expect("steal the lease");
        }
    });
    let mut conn = db.connect();
    let error = migrator
        .upgrade(&mut conn, Target::Head)
        .expect_err("the lease was taken");
    assert!(matches!(error, Error::LockLost { .. }), "{error:?}");
    assert!(error.to_string().contains("thief-host"), "{error}");
    assert_eq!(applied(&mut conn), ALL[..2], "stopped after 002");
    let mut r = redis_conn(&redis).expect("redis");
    let value: Option<String> = redis::cmd("GET").arg(&key).query(&mut r).expect("GET");
    assert_eq!(value.as_deref(), Some("thief-token host thief-host"));
    let _: () = redis::cmd("DEL").arg(&key).query(&mut r).expect("DEL");
}

/// `--lock advisory` (the default) through PgBouncer in transaction mode: a
/// session lock there sits on whichever server connection took it, so runs
/// that both believe they hold it are possible. Eight runs at once: each
/// finishes, or stops (exit 7, naming the pooler when the server process
/// changed under the lock or the unlock reached a session that did not hold
/// it), or times out behind a lock such a run left on a server session
/// (exit 5); no revision ever runs twice (each is committed with its
/// version-table row, whose primary key refuses a second), and a run with
/// `--lock table` then brings the database to head with each revision once.
#[test]
fn advisory_lock_through_pgbouncer_stops_or_is_safe() {
    let Some(db) = TestDb::new(Kind::Postgres) else {
        return;
    };
    let Some(bouncer) = through_pgbouncer(&db) else {
        return;
    };
    let start = Instant::now();
    let args = [
        "upgrade",
        "head",
        "--lock",
        "advisory",
        "--lock-timeout",
        "3s",
    ];
    let children: Vec<_> = (0..PEERS)
        .map(|_| branchy(&bouncer, &args).spawn().expect("spawn branchy"))
        .collect();
    let runs: Vec<Run> = children
        .into_iter()
        .map(|child| Run::from_output(child.wait_with_output().expect("wait"), start.elapsed()))
        .collect();
    for run in &runs {
        assert!(
            matches!(run.code, Some(0 | 5 | 7)),
            "neither done nor stopped:\n{run}"
        );
        if run.stderr.contains("advisory lock") && run.code == Some(7) {
            assert!(run.stderr.contains("use --lock table or redis"), "{run}");
        }
    }
    Run::from_output(
        branchy(&bouncer, &["upgrade", "head", "--lock", "table"])
            .output()
            .expect("run branchy"),
        start.elapsed(),
    )
    .expect_code(0, "the rest with --lock table");
    // Each revision applied once; a run stopped by the pooler check leaves
    // a failure entry naming it, and nothing else fails.
    let mut conn = db.connect();
    assert_eq!(applied(&mut conn), ALL, "version table");
    let log = migrator_tests::branchy::audit(&mut conn);
    for revision in ALL {
        let successes = log
            .iter()
            .filter(|e| e.revision == revision && e.action == "upgrade" && e.outcome == "success")
            .count();
        assert_eq!(successes, 1, "{revision} applied once: {log:#?}");
    }
    for failure in log.iter().filter(|e| e.outcome == "failure") {
        assert!(
            failure.detail.contains("use --lock table or redis"),
            "only the pooler check fails a run: {failure:#?}"
        );
    }
}

mod ddl_lock {
    migrator_runtime::embed_migrations!("fixtures/ddl_lock");
}

/// The `table` lease is renewed first in each revision's transaction, so
/// its row stays locked until the revision commits: a run that tries to
/// take the lease while the holder's revision runs waits for that commit,
/// even when the lease had expired just before the revision began (set in
/// the past by another session, as a revision longer than the lease would
/// let it expire), then finds it renewed, waits for its release and has
/// nothing left to do. (Before, the lease was renewed only between
/// revisions: the second run took it and ran the same revision.)
#[test]
fn a_table_lease_stays_held_while_a_revision_runs() {
    let Some(db) = TestDb::new(Kind::Postgres) else {
        return;
    };
    // Long limits: hang guards only, nothing waits for them.
    let table = || {
        options(|o| {
            o.lock = LockStrategy::Table;
            o.lock_timeout = std::time::Duration::from_secs(120);
            o.ddl_lock_timeout = std::time::Duration::from_secs(120);
        })
    };
    let mut conn = db.connect();
    Migrator::with_options(&ddl_lock::MIGRATIONS, table())
        .upgrade(&mut conn, "001".parse::<Target>().expect("a target"))
        .expect("upgrade to 001");
    // 002's `ALTER TABLE hot` waits behind this session's lock.
    let mut blocker = db.connect();
    blocker
        .batch_execute("BEGIN; LOCK TABLE hot IN ACCESS SHARE MODE;")
        .expect("take the lock");

    let holder = {
        let url = db.url().to_owned();
        let table = table();
        std::thread::spawn(move || {
            let mut conn = migrator_runtime::connect(&url).expect("connect");
            let mut expirer = migrator_runtime::connect(&url).expect("connect");
            Migrator::with_options(&ddl_lock::MIGRATIONS, table)
                .on_event(move |event| {
                    if let Event::Started { revision, .. } = event
                        && revision.id == "002"
                    {
                        expirer
                            .batch_execute(&format!(
                                "UPDATE {LOCK_TABLE} SET expires = '2000-01-01 00:00:00'"
                            ))
                            .expect("expire the lease");
                    }
                })
                .upgrade(&mut conn, Target::Head)
        })
    };
    let mut watcher = db.connect();
    while count(
        &mut watcher,
        "SELECT COUNT(*) AS n FROM pg_locks WHERE relation = to_regclass('hot') AND NOT granted",
    ) == 0
    {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }

    let contender = {
        let url = format!("{}?application_name=lease-contender", db.url());
        let table = table();
        std::thread::spawn(move || {
            let mut conn = migrator_runtime::connect(&url).expect("connect");
            Migrator::with_options(&ddl_lock::MIGRATIONS, table).upgrade(&mut conn, Target::Head)
        })
    };
    // The contender's first wait: on the lease's row (its take), not on
    // `hot` (a revision it should never have started).
    // 1: waiting on the lease's take; 2: waiting on anything else.
    let waiting = loop {
        let waiting = count(
            &mut watcher,
            &format!(
                "SELECT COALESCE(MAX(CASE WHEN query LIKE 'INSERT INTO %{LOCK_TABLE}%' THEN 1 \
                 ELSE 2 END), 0)::BIGINT AS n FROM pg_stat_activity \
                 WHERE application_name = 'lease-contender' AND wait_event_type = 'Lock'"
            ),
        );
        if waiting != 0 {
            break waiting;
        }
        assert!(
            !contender.is_finished(),
            "the contender ended without waiting"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    blocker.batch_execute("ROLLBACK;").expect("release hot");
    let held = holder.join().expect("the holder");
    let other = contender.join().expect("the contender");
    assert_eq!(
        waiting, 1,
        "the contender waited on the lease's row (1), not on `hot` (2)\n\
         holder: {held:?}\ncontender: {other:?}"
    );
    let held = held.expect("the holder applies 002");
    assert_eq!(held.steps.len(), 1, "{held:?}");
    let other = other.expect("the contender");
    assert!(other.steps.is_empty(), "nothing left to do: {other:?}");
    let m = Migrator::new(&ddl_lock::MIGRATIONS);
    assert_eq!(migrator_tests::applied_ids(&m, &mut conn), ["001", "002"]);
    let audit = m.audit_log(&mut conn).expect("the audit log");
    assert_eq!(
        audit.iter().filter(|e| e.revision == "002").count(),
        1,
        "{audit:?}"
    );
    assert_eq!(lease_rows(&mut conn), 0, "the lease was released");
}

/// A lease shorter than the floor (5 s) would exclude nothing (`0s` expires
/// as it is taken): refused before anything is taken or run, naming the
/// setting.
#[test]
fn a_lease_below_the_floor_is_refused() {
    on_each_backend(|db| {
        let mut conn = db.connect();
        for lock in [
            LockStrategy::Table,
            LockStrategy::Redis("redis://127.0.0.1:6379".into()),
        ] {
            let error = Migrator::with_options(
                &MIGRATIONS,
                options(|o| {
                    o.lock = lock.clone();
                    o.lock_lease = std::time::Duration::ZERO;
                }),
            )
            .upgrade(&mut conn, Target::Head)
            .expect_err("a lease of 0s");
            let message = error.to_string();
            assert!(
                matches!(error, Error::Lock { .. })
                    && message.contains("lease of 0ns is shorter than 5s")
                    && message.contains("`--lock-lease`"),
                "{message}"
            );
        }
        assert!(applied(&mut conn).is_empty(), "nothing ran");
    });
}

/// The `table` lease through a revision outside a transaction that outlasts
/// it (`fixtures/long_outside`: 002 sleeps 8 s, the lease is 5 s), on
/// PostgreSQL and MySQL, with a second run starting 1 s in. With the
/// heartbeat (`lock_heartbeat_url`), the second run waits and then finds
/// nothing to do. Without it, the lease runs out during 002 and the second
/// run takes it over and calls the live run's marker dirty: the bug the
/// heartbeat fixes, shown on its own database at the same time.
#[test]
fn the_heartbeat_keeps_the_table_lease_through_a_revision_longer_than_it() {
    mod long_outside {
        migrator_runtime::embed_migrations!("fixtures/long_outside");
    }
    let lease = std::time::Duration::from_secs(5);
    let migrator = |db: &TestDb, heartbeat: bool| {
        Migrator::with_options(
            &long_outside::MIGRATIONS,
            options(|o| {
                o.lock = LockStrategy::Table;
                o.lock_lease = lease;
                o.lock_timeout = std::time::Duration::from_secs(30);
                o.lock_heartbeat_url = heartbeat.then(|| db.url().to_owned());
            }),
        )
    };
    // The first run's outcome and the second's.
    let race = |db: &TestDb, heartbeat: bool| {
        std::thread::scope(|scope| {
            let first =
                scope.spawn(|| migrator(db, heartbeat).upgrade(&mut db.connect(), Target::Head));
            std::thread::sleep(std::time::Duration::from_secs(1));
            let second = migrator(db, heartbeat).upgrade(&mut db.connect(), Target::Head);
            (first.join().expect("the first run"), second)
        })
    };
    let kinds = [Kind::Postgres, Kind::Mysql];
    for kind in kinds {
        let (Some(with), Some(without)) = (TestDb::new(kind), TestDb::new(kind)) else {
            continue;
        };
        let ((first, second), (bare_first, bare_second)) = std::thread::scope(|scope| {
            let bare = scope.spawn(|| race(&without, false));
            (
                race(&with, true),
                bare.join().expect("the run without heartbeat"),
            )
        });
        let first = first.expect("the first run, with its heartbeat");
        assert_eq!(first.steps.len(), 2, "{kind}: the first run applied both");
        let second = second.expect("the second run waited for the lease");
        assert!(
            second.steps.is_empty(),
            "{kind}: nothing left for the second run"
        );
        let mut conn = with.connect();
        assert_eq!(
            count(
                &mut conn,
                &format!("SELECT COUNT(*) AS n FROM {LOCK_TABLE}")
            ),
            0,
            "{kind}: the lease was released"
        );
        // Without the heartbeat: the lease ran out under the live run.
        bare_first.expect("the first run, without heartbeat, still finishes 002");
        let error = bare_second.expect_err("the second run took the lease over");
        assert!(matches!(error, Error::Dirty { .. }), "{kind}: {error}");
    }
}
