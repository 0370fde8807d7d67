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
use migrator_runtime::testing::in_ci;
use migrator_runtime::{AnyConnection, Error, Event, LockStrategy, Migrator, Target};
use migrator_tests::branchy::{ALL, MIGRATIONS, applied, assert_at_head_once};
use migrator_tests::{Kind, Run, TestDb, cli_command, count, on_each_backend, options};

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

/// Skips (loudly) or fails (in CI) when `service` is missing.
fn missing(service: &str, error: &dyn std::fmt::Display) {
    assert!(
        !in_ci(),
        "{service} is required in CI and is unreachable: {error}"
    );
    eprintln!("\n!!! SKIPPED: {service} unreachable: {error}\n!!! (in CI this fails)\n");
}

/// `db` through PgBouncer (transaction mode), or `None` when PgBouncer is
/// not there (outside CI).
fn through_pgbouncer(db: &TestDb) -> Option<String> {
    let bouncer =
        std::env::var("MIGRATOR_TEST_PGBOUNCER").unwrap_or_else(|_| "127.0.0.1:6432".to_owned());
    let (scheme, rest) = db.url().split_once("://")?;
    let (authority, path) = rest.split_once('/')?;
    let user = authority.rsplit_once('@').map_or("", |(user, _)| user);
    let url = format!("{scheme}://{user}@{bouncer}/{path}");
    match PgConnection::establish(&url).and_then(|mut c| {
        c.batch_execute("SELECT 1")
            .map_err(diesel::ConnectionError::CouldntSetupConfiguration)
    }) {
        Ok(()) => Some(url),
        Err(error) => {
            missing(&format!("PgBouncer at {bouncer}"), &error);
            None
        }
    }
}

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
    let start = Instant::now();
    let mut args = vec!["upgrade", "head"];
    args.extend_from_slice(lock_args);
    let children: Vec<_> = (0..PEERS)
        .map(|_| branchy(url, &args).spawn().expect("spawn branchy"))
        .collect();
    let runs: Vec<Run> = children
        .into_iter()
        .map(|child| Run::from_output(child.wait_with_output().expect("wait"), start.elapsed()))
        .collect();
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

/// A Redis lease held by another token times out naming it; once it
/// expires (a dead holder's lease, 300 ms here), the next run proceeds.
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
    let _: () = redis::cmd("PEXPIRE")
        .arg(&key)
        .arg(300)
        .query(&mut r)
        .expect("PEXPIRE");
    let run = Run::from_output(
        branchy(
            db.url(),
            &["upgrade", "head", "--lock", &redis, "--lock-timeout", "60s"],
        )
        .output()
        .expect("run"),
        std::time::Duration::ZERO,
    );
    run.expect_code(0, "after the dead holder's lease expired");
    assert!(
        run.stdout.contains("held by token ghost-token"),
        "the wait names the holder\n{run}"
    );
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
