//! Faults, load and bad input, end to end (see docs/RELIABILITY.md):
//!
//! 1. the migrator killed with SIGKILL at random moments of a long upgrade
//!    (the `long` binary: 40 revisions that create, fill and alter tables);
//!    after each kill the version table agrees with the schema, and the next
//!    run completes to head; and killed during a `Transaction: false`
//!    revision (`fixtures/dirty_kill`), the dirty marker is honest;
//! 2. sixteen processes migrating one database at once;
//! 3. revisions that fail halfway (bad SQL, constraints violated by existing
//!    rows, a timeout, a panicking Rust revision): the database stays at the
//!    previous revision, nothing else changes;
//! 4. bad input: URLs, an unreachable server, an unknown role, a role without
//!    DDL rights, a read-only SQLite database, a file that is no database.
//!
//! Trial counts: `MIGRATOR_FAULT_TRIALS` (default 5 per backend; the full
//! run uses 50) and `MIGRATOR_FAULT_SEED` (default: from the clock; always
//! printed) for the kill test.

use std::collections::{BTreeMap, BTreeSet};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use migrator_runtime::cli::exit;
use migrator_runtime::testing::{DiffOptions, SchemaDiff, Snapshot};
use migrator_runtime::{
    AnyConnection, AuditEntry, Direction, Error, Migrations, Migrator, Options, Target,
};
use migrator_tests::{
    Kind, Run, SplitMix, TestDb, applied_ids, cli_command, count, exit_code, postgres_admin_url,
    run_cli, tables,
};

mod long {
    migrator_runtime::embed_migrations!("fixtures/long");
}
mod bad_sql {
    migrator_runtime::embed_migrations!("fixtures/bad_sql");
}
mod unique_violation {
    migrator_runtime::embed_migrations!("fixtures/unique_violation");
}
mod not_null_violation {
    migrator_runtime::embed_migrations!("fixtures/not_null_violation");
}
mod statement_timeout {
    migrator_runtime::embed_migrations!("fixtures/statement_timeout");
}
mod rust_panic {
    migrator_runtime::embed_migrations!("fixtures/rust_panic");
}
mod rust_nested_panic {
    migrator_runtime::embed_migrations!("fixtures/rust_nested_panic");
}
mod nontransactional_timeout {
    migrator_runtime::embed_migrations!("fixtures/nontransactional_timeout");
}
mod dirty_kill {
    migrator_runtime::embed_migrations!("fixtures/dirty_kill");
}
mod ddl_kill {
    migrator_runtime::embed_migrations!("fixtures/ddl_kill");
}

/// The revisions of `fixtures/long`.
const LONG_REVISIONS: usize = 40;
/// The rows each table of `fixtures/long` is created with.
const LONG_ROWS: i64 = 2000;
/// A password put in URLs to check that no message prints it.
const SECRET: &str = "Hunter2Secret";

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

fn is_postgres(db: &TestDb) -> bool {
    db.kind() == Kind::Postgres
}

fn backend_name(db: &TestDb) -> &'static str {
    db.kind().name()
}

/// The `long` CLI against `url`, run in `cwd` (a bare path must not land
/// in the repository).
fn long_cli(url: &str, cwd: &Path) -> Command {
    cli_command(env!("CARGO_BIN_EXE_long"), url, cwd)
}

/// What these tests check of a run, beyond its exit status.
trait RunExt {
    /// A failure as the CLI should report one: the documented status, one
    /// `error:` message containing every needle, no panic, no secret, and
    /// nothing run.
    fn expect_failure(&self, code: u8, needles: &[&str], what: &str);
    /// How many revisions it ran.
    fn runs(&self) -> usize;
}

impl RunExt for Run {
    fn expect_failure(&self, code: u8, needles: &[&str], what: &str) {
        self.expect_code(code, what);
        assert!(
            !self.stderr.contains("panicked"),
            "{what}: it panicked\n{self}"
        );
        assert!(
            self.stderr.starts_with("error: "),
            "{what}: not an error message\n{self}"
        );
        for needle in needles {
            assert!(
                self.stderr.contains(needle),
                "{what}: no {needle:?}\n{self}"
            );
        }
        assert_no_secret(self, what);
    }

    fn runs(&self) -> usize {
        self.stdout
            .lines()
            .filter(|l| l.starts_with("Running upgrade"))
            .count()
    }
}

/// Neither output holds the password, nor a part of it.
fn assert_no_secret(run: &Run, what: &str) {
    for part in [SECRET, "Hunter2", "Secret"] {
        assert!(
            !run.stdout.contains(part) && !run.stderr.contains(part),
            "{what}: the password (or {part:?}) is printed\n{run}"
        );
    }
}

fn run_long(url: &str, args: &[&str]) -> Run {
    run_cli(env!("CARGO_BIN_EXE_long"), url, args)
}

fn strings(conn: &mut AnyConnection, sql: &str) -> Vec<String> {
    #[derive(diesel::QueryableByName)]
    struct S {
        #[diesel(sql_type = diesel::sql_types::Text)]
        s: String,
    }
    let rows: Vec<S> = match conn {
        AnyConnection::Postgres(c) => diesel::RunQueryDsl::load(diesel::sql_query(sql), c),
        AnyConnection::Sqlite(c) => diesel::RunQueryDsl::load(diesel::sql_query(sql), c),
        AnyConnection::Mysql(c) => diesel::RunQueryDsl::load(diesel::sql_query(sql), c),
    }
    .unwrap_or_else(|e| panic!("{sql}: {e}"));
    rows.into_iter().map(|r| r.s).collect()
}

/// Every `table.column` of the schema.
fn columns(conn: &mut AnyConnection) -> BTreeSet<String> {
    let sql = match conn {
        AnyConnection::Postgres(_) => {
            "SELECT (table_name || '.' || column_name)::text AS s FROM information_schema.columns \
             WHERE table_schema = current_schema()"
        }
        AnyConnection::Sqlite(_) => {
            "SELECT m.name || '.' || p.name AS s FROM sqlite_master m, pragma_table_info(m.name) p \
             WHERE m.type = 'table'"
        }
        AnyConnection::Mysql(_) => {
            "SELECT CONCAT(table_name, '.', column_name) AS s FROM information_schema.columns \
             WHERE table_schema = DATABASE()"
        }
    };
    strings(conn, sql).into_iter().collect()
}

fn applied(migrations: &Migrations, conn: &mut AnyConnection) -> Vec<String> {
    applied_ids(&Migrator::new(migrations), conn)
}

fn audit(migrations: &Migrations, conn: &mut AnyConnection) -> Vec<AuditEntry> {
    Migrator::new(migrations)
        .audit_log(conn)
        .expect("read the audit log")
}

fn env_number(var: &str) -> Option<u64> {
    std::env::var(var).ok().and_then(|v| v.trim().parse().ok())
}

/// The kill delays' generator, seeded by `MIGRATOR_FAULT_SEED` (default:
/// the clock); the seed is printed after `what`, so a run can be replayed.
fn fault_rng(what: &str) -> SplitMix {
    let seed = env_number("MIGRATOR_FAULT_SEED").unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
    });
    eprintln!("{what}, MIGRATOR_FAULT_SEED={seed}");
    SplitMix(seed)
}

// ---------------------------------------------------------------------------
// 1. Killed mid-run
// ---------------------------------------------------------------------------

/// The ID of the `i`-th revision of `fixtures/long` (1-based).
fn long_id(i: usize) -> String {
    format!("{i:03}")
}

/// What revision `i` of `fixtures/long` leaves behind: a column `table.column`
/// that exists only once it is applied, and the table whose rows it fills.
fn long_effect(i: usize) -> (String, String) {
    if i.is_multiple_of(4) {
        let table = format!("t{:03}", i - 1);
        (format!("{table}.c{i:03}"), table)
    } else {
        let table = format!("t{i:03}");
        (format!("{table}.id"), table)
    }
}

/// PostgreSQL and MySQL: waits until no other session is connected to the
/// database, so that the killed client's server process or thread (which
/// runs on until it notices) has finished or rolled back its statement
/// before the database is inspected.
fn wait_for_orphans(db: &TestDb) {
    let sql = match db.kind() {
        Kind::Sqlite => return,
        Kind::Postgres => {
            "SELECT COUNT(*)::BIGINT AS n FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()"
        }
        Kind::Mysql => {
            "SELECT COUNT(*) AS n FROM information_schema.processlist \
             WHERE db = DATABASE() AND id <> CONNECTION_ID()"
        }
    };
    let mut conn = db.connect();
    let deadline = Instant::now() + Duration::from_secs(30);
    while count(&mut conn, sql) > 0 {
        assert!(
            Instant::now() < deadline,
            "the killed migrator's session never went away"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Checks that the version table and the schema agree: the applied
/// revisions are a prefix of the chain, exactly those have their table or
/// column, every table and filled column holds all its rows, and the audit
/// log has one success per applied revision and nothing else. Returns how
/// many are applied.
fn assert_consistent(db: &TestDb, context: &str) -> usize {
    let migrations = &long::MIGRATIONS;
    let mut conn = db.connect();
    let applied = applied(migrations, &mut conn);
    let k = applied.len();
    let chain: Vec<String> = (1..=LONG_REVISIONS).map(long_id).collect();
    assert_eq!(applied, chain[..k], "{context}: not a prefix of the chain");
    let columns = columns(&mut conn);
    for i in 1..=LONG_REVISIONS {
        let (column, table) = long_effect(i);
        let recorded = i <= k;
        assert_eq!(
            columns.contains(&column),
            recorded,
            "{context}: revision {i:03} is {} but {column} {}",
            if recorded { "recorded" } else { "not recorded" },
            if recorded { "is missing" } else { "exists" },
        );
        if recorded {
            let (_, name) = column.split_once('.').expect("table.column");
            let filled = count(
                &mut conn,
                &format!("SELECT COUNT({name}) AS n FROM {table}"),
            );
            assert_eq!(filled, LONG_ROWS, "{context}: {column} half filled");
        }
    }
    // No table of the fixture beyond those recorded (e.g. a later one).
    let expected_tables: BTreeSet<String> = (1..=k)
        .filter(|i| !i.is_multiple_of(4))
        .map(|i| format!("t{i:03}"))
        .collect();
    let actual: BTreeSet<String> = tables(&mut conn)
        .into_iter()
        .filter(|t| !t.starts_with("migrator_"))
        .collect();
    assert_eq!(actual, expected_tables, "{context}: tables");
    let log = audit(migrations, &mut conn);
    let successes: Vec<&str> = log
        .iter()
        .filter(|e| e.outcome == "success" && e.action == "upgrade")
        .map(|e| e.revision.as_str())
        .collect();
    assert_eq!(
        successes,
        applied.iter().map(String::as_str).collect::<Vec<_>>(),
        "{context}: audit log {log:#?}"
    );
    assert_eq!(log.len(), k, "{context}: audit log {log:#?}");
    k
}

/// Spawns `exe upgrade head` against `db` (output discarded), kills it
/// with SIGKILL after `delay` ms and waits for its server session to go;
/// true when it had exited by itself before.
fn kill_after(exe: &str, db: &TestDb, cwd: &Path, delay: u64) -> bool {
    let mut child = cli_command(exe, db.url(), cwd)
        .args(["upgrade", "head"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {exe}: {e}"));
    std::thread::sleep(Duration::from_millis(delay));
    let exited = child.try_wait().expect("poll the migrator").is_some();
    child.kill().expect("SIGKILL the migrator");
    child.wait().expect("reap the migrator");
    wait_for_orphans(db);
    exited
}

fn kill_trials(kind: Kind, trials: u64, rng: &mut SplitMix) {
    let Some(db) = TestDb::new(kind) else { return };
    let name = backend_name(&db);
    // One full run first: how long an upgrade lasts, process start included.
    let full = run_long(db.url(), &["upgrade", "head"]);
    full.expect_code(exit::OK, "the measuring run");
    assert_eq!(assert_consistent(&db, "the measuring run"), LONG_REVISIONS);
    drop(db);
    let span = u64::try_from(full.elapsed.as_millis())
        .unwrap_or(u64::MAX)
        .max(1);
    eprintln!("{name}: one full run takes {span} ms; killing within 0..{span} ms");

    let cwd = tempfile::tempdir().expect("a working directory");
    // How many revisions were applied when each kill landed.
    let mut landed: BTreeMap<usize, u32> = BTreeMap::new();
    let mut finished_first = 0;
    let start = Instant::now();
    for trial in 0..trials {
        let db = TestDb::new(kind).expect("a fresh database");
        let delay = rng.below(usize::try_from(span).unwrap_or(usize::MAX)) as u64;
        if kill_after(env!("CARGO_BIN_EXE_long"), &db, cwd.path(), delay) {
            finished_first += 1;
        }
        let context = format!("{name}, trial {trial}, killed after {delay} ms");
        let k = assert_consistent(&db, &format!("{context}, after the kill"));
        *landed.entry(k).or_default() += 1;

        let next = run_long(db.url(), &["--lock-timeout", "30s", "upgrade", "head"]);
        next.expect_code(exit::OK, &format!("{context}: the next run"));
        assert_eq!(next.runs(), LONG_REVISIONS - k, "{context}\n{next}");
        assert_eq!(
            assert_consistent(&db, &format!("{context}, after the next run")),
            LONG_REVISIONS
        );
    }
    let mid_run: u32 = landed
        .iter()
        .filter(|(k, _)| (1..LONG_REVISIONS).contains(*k))
        .map(|(_, n)| n)
        .sum();
    eprintln!(
        "{name}: {trials} kills in {:?}: {mid_run} mid-run, {} before the first commit, {} after \
         the last ({finished_first} of them after the process exited); revisions applied at the \
         kill -> trials: {landed:?}",
        start.elapsed(),
        landed.get(&0).copied().unwrap_or(0),
        landed.get(&LONG_REVISIONS).copied().unwrap_or(0),
    );
    if trials >= 20 {
        assert!(
            mid_run * 2 >= u32::try_from(trials).unwrap_or(u32::MAX) / 2,
            "{name}: too few kills landed mid-run ({mid_run} of {trials}): {landed:?}"
        );
    }
}

/// "Killed mid-run": SIGKILL at a seeded random moment of a 40-revision
/// upgrade, `MIGRATOR_FAULT_TRIALS` times per backend.
#[test]
fn killed_mid_run_leaves_a_consistent_database_and_the_next_run_completes() {
    let trials = env_number("MIGRATOR_FAULT_TRIALS").unwrap_or(5);
    let mut rng = fault_rng(&format!("kill test: {trials} trial(s) per backend"));
    for kind in Kind::ALL {
        kill_trials(kind, trials, &mut rng);
    }
}

/// The `dirty_kill` CLI against `db`, run to its end.
fn run_dirty_kill(db: &TestDb, args: &[&str]) -> Run {
    run_cli(env!("CARGO_BIN_EXE_dirty_kill"), db.url(), args)
}

/// The rows of `slow_t` (written by the last statement of revision 002,
/// `Transaction: false`), `None` when the table does not exist.
fn slow_rows(conn: &mut AnyConnection) -> Option<i64> {
    tables(conn)
        .contains(&"slow_t".to_owned())
        .then(|| count(conn, "SELECT COUNT(*) AS n FROM slow_t"))
}

/// After a kill of `dirty_kill upgrade head`: either the version table holds
/// the marker of 002 (with 001 applied, `started` its last audit entry, and
/// the next run stopping with exit 8 naming it, `current` showing it), or
/// it holds none and agrees with the schema. Then repairs (if marked) and
/// completes the run. Returns whether the marker was there.
fn assert_marker_honest(db: &TestDb, context: &str) -> bool {
    let migrations = &dirty_kill::MIGRATIONS;
    let mut conn = db.connect();
    let state = Migrator::new(migrations)
        .state(&mut conn)
        .expect("read the version table");
    let applied: Vec<&str> = state.applied.iter().map(|a| a.revision.as_str()).collect();
    let log = audit(migrations, &mut conn);
    let started = log
        .iter()
        .filter(|e| e.outcome == "started" && e.revision == "002")
        .count();
    let marked = state.marker.is_some();
    if let Some(marker) = &state.marker {
        assert_eq!(marker.revision, "002", "{context}: {marker:?}");
        assert_eq!(marker.error, None, "{context}: a kill records no outcome");
        assert_eq!(applied, ["001"], "{context}");
        assert_eq!(
            log.last()
                .map(|e| (e.revision.as_str(), e.outcome.as_str())),
            Some(("002", "started")),
            "{context}: {log:#?}"
        );
        let next = run_dirty_kill(db, &["upgrade", "head"]);
        next.expect_failure(
            exit::DIRTY,
            &[
                "upgrade of revision 002",
                "no outcome was recorded",
                "`stamp 001`",
            ],
            &format!("{context}: the next run"),
        );
        let current = run_dirty_kill(db, &["current"]);
        current.expect_code(exit::OK, &format!("{context}: current"));
        assert!(
            current.stdout.contains("002 (dirty"),
            "{context}
{current}"
        );
        // The repair: undo what 002 may have done, record 001.
        conn.batch_execute("DROP TABLE IF EXISTS slow_t")
            .expect("drop slow_t");
        run_dirty_kill(db, &["stamp", "001"]).expect_code(exit::OK, &format!("{context}: stamp"));
    } else {
        let chain = ["001", "002", "003"];
        assert_eq!(applied, chain[..applied.len()], "{context}");
        let done = applied.contains(&"002");
        assert_eq!(
            slow_rows(&mut conn),
            done.then_some(1),
            "{context}: 002 is {} but slow_t says otherwise",
            if done { "applied" } else { "not applied" }
        );
        assert_eq!(started, usize::from(done), "{context}: {log:#?}");
    }
    let next = run_dirty_kill(db, &["--lock-timeout", "30s", "upgrade", "head"]);
    next.expect_code(exit::OK, &format!("{context}: the run after"));
    assert_eq!(
        applied_ids(&Migrator::new(migrations), &mut conn),
        ["001", "002", "003"],
        "{context}: after the run after"
    );
    assert_eq!(slow_rows(&mut conn), Some(1), "{context}");
    marked
}

/// "Killed during a `Transaction: false` revision": SIGKILL at a seeded
/// random moment of `fixtures/dirty_kill` (most of whose time is its slow
/// revision 002 outside a transaction), `MIGRATOR_FAULT_TRIALS` times per
/// backend: the marker is there exactly when 002 started and did not
/// finish, and the next run stops naming it.
#[test]
fn killed_outside_a_transaction_leaves_an_honest_dirty_marker() {
    let trials = env_number("MIGRATOR_FAULT_TRIALS").unwrap_or(5);
    let mut rng = fault_rng(&format!("marker kill test: {trials} trial(s) per backend"));
    for kind in Kind::ALL {
        let Some(db) = TestDb::new(kind) else {
            continue;
        };
        let name = backend_name(&db);
        let full = run_dirty_kill(&db, &["upgrade", "head"]);
        full.expect_code(exit::OK, "the measuring run");
        drop(db);
        let span = u64::try_from(full.elapsed.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        let cwd = tempfile::tempdir().expect("a working directory");
        let mut marked = 0;
        for trial in 0..trials {
            let db = TestDb::new(kind).expect("a fresh database");
            let delay = rng.below(usize::try_from(span).unwrap_or(usize::MAX)) as u64;
            kill_after(env!("CARGO_BIN_EXE_dirty_kill"), &db, cwd.path(), delay);
            let context = format!("{name}, trial {trial}, killed after {delay} ms of {span}");
            marked += u64::from(assert_marker_honest(&db, &context));
        }
        eprintln!("{name}: {trials} kills, {marked} left the marker of 002");
        if trials >= 20 {
            assert!(marked * 4 >= trials, "{name}: too few kills landed in 002");
        }
    }
}

/// The revisions of `fixtures/ddl_kill`.
const DDL_REVISIONS: usize = 12;

/// How many statements revision `i` of `fixtures/ddl_kill` has: odd ones
/// create a table, fill it and index it; even ones add a column to the
/// table before and fill it.
fn ddl_statements(i: usize) -> usize {
    if i % 2 == 1 { 3 } else { 2 }
}

/// How many statements of revision `i` of `fixtures/ddl_kill` are in
/// effect, as the schema and the rows show (each statement is atomic on
/// its own: MariaDB's DDL is crash-safe, an `INSERT` or `UPDATE` commits
/// whole).
fn ddl_progress(conn: &mut AnyConnection, columns: &BTreeSet<String>, i: usize) -> usize {
    if i % 2 == 1 {
        let table = format!("t{i:03}");
        if !columns.contains(&format!("{table}.id")) {
            return 0;
        }
        let rows = count(conn, &format!("SELECT COUNT(*) AS n FROM {table}"));
        let index = count(
            conn,
            &format!(
                "SELECT COUNT(*) AS n FROM information_schema.statistics \
                 WHERE table_schema = DATABASE() AND index_name = '{table}_label'"
            ),
        );
        match (rows, index) {
            (0, 0) => 1,
            (3, 0) => 2,
            (3, 1) => 3,
            other => panic!("{table}: (rows, index) {other:?} is no prefix of its statements"),
        }
    } else {
        let (table, column) = (format!("t{:03}", i - 1), format!("c{i:03}"));
        if !columns.contains(&format!("{table}.{column}")) {
            return 0;
        }
        match count(conn, &format!("SELECT COUNT({column}) AS n FROM {table}")) {
            0 => 1,
            3 => 2,
            n => panic!("{table}.{column} half filled: {n} of 3"),
        }
    }
}

/// "Consistent" after a kill where each statement commits on its own
/// (docs/RELIABILITY.md): the version table records a prefix 1..k of the
/// chain, and at most one marker, of revision k+1; revisions 1..k are
/// wholly in effect; of k+1, none of its statements when it is not marked,
/// any prefix of them when it is; nothing of the revisions after; and, of a
/// database that saw one run (`one_run`), the audit log has `started` then
/// `success` for each applied revision and `started` last for the marked
/// one. Returns k and, when marked, how many of k+1's statements are in
/// effect.
fn assert_ddl_consistent(db: &TestDb, context: &str, one_run: bool) -> (usize, Option<usize>) {
    let migrations = &ddl_kill::MIGRATIONS;
    let mut conn = db.connect();
    let state = Migrator::new(migrations)
        .state(&mut conn)
        .expect("read the version table");
    let applied: Vec<String> = state.applied.iter().map(|a| a.revision.clone()).collect();
    let k = applied.len();
    let chain: Vec<String> = (1..=DDL_REVISIONS).map(long_id).collect();
    assert_eq!(applied, chain[..k], "{context}: not a prefix of the chain");
    let marked = state.marker.as_ref().map(|marker| {
        assert_eq!(
            (marker.revision.as_str(), marker.direction),
            (long_id(k + 1).as_str(), Direction::Upgrade),
            "{context}: the marker is not of the revision after the applied ones"
        );
        assert_eq!(marker.error, None, "{context}: a kill records no outcome");
    });
    let columns = columns(&mut conn);
    let mut in_effect = None;
    for i in 1..=DDL_REVISIONS {
        let done = ddl_progress(&mut conn, &columns, i);
        let expected = if i <= k {
            ddl_statements(i)
        } else if i == k + 1 && marked.is_some() {
            in_effect = Some(done);
            done
        } else {
            0
        };
        assert_eq!(
            done,
            expected,
            "{context}: revision {i:03} has {done} statement(s) in effect, applied {k}, marked {}",
            marked.is_some()
        );
    }
    if !one_run {
        return (k, in_effect);
    }
    let log: Vec<String> = audit(migrations, &mut conn)
        .into_iter()
        .map(|e| format!("{} {}", e.outcome, e.revision))
        .collect();
    let mut expected: Vec<String> = applied
        .iter()
        .flat_map(|r| [format!("started {r}"), format!("success {r}")])
        .collect();
    if marked.is_some() {
        expected.push(format!("started {}", long_id(k + 1)));
    }
    assert_eq!(log, expected, "{context}: audit log");
    (k, in_effect)
}

/// The `ddl_kill` CLI against `db`, run to its end.
fn run_ddl_kill(db: &TestDb, args: &[&str]) -> Run {
    run_cli(env!("CARGO_BIN_EXE_ddl_kill"), db.url(), args)
}

/// "Killed mid-run where DDL commits on its own": SIGKILL at a seeded
/// random moment of a 12-revision upgrade on MySQL/MariaDB
/// (`fixtures/ddl_kill`), `MIGRATOR_FAULT_TRIALS` times (default 50). After
/// each kill the database is consistent (see [`assert_ddl_consistent`]);
/// a marked revision stops the next run (exit 8, naming it and `stamp`);
/// once its statements are undone by hand and the revision before is
/// stamped, the next run completes.
#[test]
fn killed_mid_ddl_on_mysql_leaves_version_table_marker_and_schema_consistent() {
    let trials = env_number("MIGRATOR_FAULT_TRIALS").unwrap_or(50);
    let mut rng = fault_rng(&format!("MySQL kill test: {trials} trial(s)"));
    let Some(db) = TestDb::new(Kind::Mysql) else {
        return;
    };
    let full = run_ddl_kill(&db, &["upgrade", "head"]);
    full.expect_code(exit::OK, "the measuring run");
    assert_eq!(
        assert_ddl_consistent(&db, "the measuring run", true),
        (DDL_REVISIONS, None)
    );
    drop(db);
    let span = u64::try_from(full.elapsed.as_millis())
        .unwrap_or(u64::MAX)
        .max(1);
    let cwd = tempfile::tempdir().expect("a working directory");
    let start = Instant::now();
    // (revisions applied, statements of the next in effect when marked)
    // at each kill -> trials.
    let mut landed: BTreeMap<(usize, Option<usize>), u32> = BTreeMap::new();
    for trial in 0..trials {
        let db = TestDb::new(Kind::Mysql).expect("a fresh database");
        let delay = rng.below(usize::try_from(span).unwrap_or(usize::MAX)) as u64;
        kill_after(env!("CARGO_BIN_EXE_ddl_kill"), &db, cwd.path(), delay);
        let context = format!("mysql, trial {trial}, killed after {delay} ms of {span}");
        let (k, marked) = assert_ddl_consistent(&db, &format!("{context}, after the kill"), true);
        *landed.entry((k, marked)).or_default() += 1;
        if marked.is_some() {
            let next = long_id(k + 1);
            let before = if k == 0 {
                "base".to_owned()
            } else {
                long_id(k)
            };
            run_ddl_kill(&db, &["upgrade", "head"]).expect_failure(
                exit::DIRTY,
                &[
                    &format!("upgrade of revision {next}"),
                    "no outcome was recorded",
                    &format!("`stamp {before}`"),
                ],
                &format!("{context}: the next run"),
            );
            // The repair: undo what of revision k+1 is in effect.
            let i = k + 1;
            let undo = if i % 2 == 1 {
                format!("DROP TABLE IF EXISTS t{i:03}")
            } else if columns(&mut db.connect()).contains(&format!("t{:03}.c{i:03}", i - 1)) {
                format!("ALTER TABLE t{:03} DROP COLUMN c{i:03}", i - 1)
            } else {
                "DO 0".to_owned()
            };
            db.connect()
                .batch_execute(&undo)
                .unwrap_or_else(|e| panic!("{context}: {undo}: {e}"));
            run_ddl_kill(&db, &["stamp", &before])
                .expect_code(exit::OK, &format!("{context}: stamp {before}"));
        }
        let next = run_ddl_kill(&db, &["--lock-timeout", "30s", "upgrade", "head"]);
        next.expect_code(exit::OK, &format!("{context}: the run after"));
        assert_eq!(next.runs(), DDL_REVISIONS - k, "{context}\n{next}");
        let (done, _) =
            assert_ddl_consistent(&db, &format!("{context}, after the run after"), false);
        assert_eq!(done, DDL_REVISIONS, "{context}");
    }
    let marked: u32 = landed
        .iter()
        .filter(|((_, m), _)| m.is_some())
        .map(|(_, n)| n)
        .sum();
    let between: u32 = landed
        .iter()
        .filter(|((k, m), _)| m.is_some_and(|m| m > 0 && m < ddl_statements(k + 1)))
        .map(|(_, n)| n)
        .sum();
    eprintln!(
        "mysql: {trials} kills in {:?}: {marked} left a marker, {between} of them between two \
         statements of a revision; (applied, statements of the marked one) -> trials: {landed:?}",
        start.elapsed()
    );
    if trials >= 20 {
        assert!(
            marked * 4 >= u32::try_from(trials).unwrap_or(u32::MAX),
            "too few kills landed inside a revision ({marked} of {trials}): {landed:?}"
        );
    }
}

// ---------------------------------------------------------------------------
// 2. Load
// ---------------------------------------------------------------------------

const LOAD_PROCESSES: usize = 16;

/// Sixteen processes started at once against one database: all succeed, one
/// applies every revision, the audit log has one success per revision.
#[test]
fn sixteen_processes_apply_each_revision_once() {
    migrator_tests::on_each_backend(|db| {
        let cwd = tempfile::tempdir().expect("a working directory");
        let start = Instant::now();
        let runs = migrator_tests::run_together((0..LOAD_PROCESSES).map(|_| {
            let mut command = long_cli(db.url(), cwd.path());
            command.args(["--lock-timeout", "60s", "upgrade", "head"]);
            command
        }));
        let all = runs
            .iter()
            .enumerate()
            .map(|(i, r)| format!("== process {i}\n{r}"))
            .collect::<Vec<_>>()
            .join("\n");
        for (i, run) in runs.iter().enumerate() {
            run.expect_code(exit::OK, &format!("process {i} of {LOAD_PROCESSES}"));
        }
        assert_eq!(
            runs.iter().map(Run::runs).sum::<usize>(),
            LONG_REVISIONS,
            "each revision reported as run once over all processes\n{all}"
        );
        let appliers = runs.iter().filter(|r| r.runs() > 0).count();
        assert_eq!(appliers, 1, "one process applied everything\n{all}");
        let waited = runs
            .iter()
            .filter(|r| r.stdout.contains("Waiting for another migrator"))
            .count();

        assert_eq!(assert_consistent(db, "after the load"), LONG_REVISIONS);
        let mut conn = db.connect();
        let log = audit(&long::MIGRATIONS, &mut conn);
        let mut per_revision: BTreeMap<&str, usize> = BTreeMap::new();
        for entry in &log {
            assert_eq!(
                (entry.action.as_str(), entry.outcome.as_str()),
                ("upgrade", "success")
            );
            *per_revision.entry(entry.revision.as_str()).or_default() += 1;
        }
        assert_eq!(per_revision.len(), LONG_REVISIONS);
        assert!(per_revision.values().all(|&n| n == 1), "{per_revision:?}");
        let pids: BTreeSet<i64> = log.iter().map(|e| e.pid).collect();
        assert_eq!(pids.len(), 1, "{log:#?}");
        eprintln!(
            "{}: {LOAD_PROCESSES} processes in {:?}, {waited} waited for the lock",
            backend_name(db),
            start.elapsed()
        );
    });
}

// ---------------------------------------------------------------------------
// 3. Revisions that fail halfway
// ---------------------------------------------------------------------------

/// What "nothing changed" compares: the schema, the tables, their row
/// counts, the accounts' contents, the version table.
#[derive(Debug, PartialEq, Eq)]
struct Picture {
    tables: Vec<String>,
    rows: BTreeMap<String, i64>,
    accounts: Vec<String>,
    applied: Vec<String>,
}

fn picture(migrations: &Migrations, conn: &mut AnyConnection) -> (Picture, Snapshot) {
    let tables = tables(conn);
    let rows = tables
        .iter()
        .filter(|t| t.as_str() != "migrator_version_audit")
        .map(|t| {
            (
                t.clone(),
                count(conn, &format!("SELECT COUNT(*) AS n FROM {t}")),
            )
        })
        .collect();
    let accounts = strings(
        conn,
        "SELECT id || ':' || email || ':' || COALESCE(nickname, '-') AS s FROM accounts ORDER BY id",
    );
    let applied = applied(migrations, conn);
    let snapshot = Snapshot::take(conn).expect("snapshot the schema");
    (
        Picture {
            tables,
            rows,
            accounts,
            applied,
        },
        snapshot,
    )
}

/// Upgrades `migrations` to 001, then to head: 002 must fail with exit
/// status 4, an error naming it and `needles`, and leave the database as it
/// was at 001, with one failure more in the audit log. `during` runs the
/// upgrade it is given (e.g. while holding a lock). The error, for checks
/// of its own.
fn assert_fails_cleanly(
    db: &TestDb,
    migrations: &Migrations,
    file: &str,
    needles: &[&str],
    during: impl FnOnce(&mut dyn FnMut()),
) -> Error {
    let name = backend_name(db);
    let mut conn = db.connect();
    let migrator = Migrator::new(migrations);
    migrator
        .upgrade(&mut conn, "001".parse::<Target>().expect("target"))
        .expect("upgrade to 001");
    let (before, schema_before) = picture(migrations, &mut conn);
    let log_before = audit(migrations, &mut conn);

    let mut outcome: Option<Result<usize, Error>> = None;
    during(&mut || {
        outcome = Some(
            migrator
                .upgrade(&mut conn, Target::Head)
                .map(|r| r.steps.len()),
        );
    });
    let error = match outcome.expect("the upgrade ran") {
        Ok(steps) => panic!("{name}: {file} succeeded ({steps} step(s))"),
        Err(error) => error,
    };
    let message = error.to_string();
    assert_eq!(exit_code(&error), exit::REVISION, "{name}: {message}");
    let named = format!("upgrade of revision 002 ({file})");
    for needle in std::iter::once(named.as_str()).chain(needles.iter().copied()) {
        assert!(
            message.contains(needle),
            "{name}: no {needle:?} in {message}"
        );
    }

    let mut conn = db.connect();
    let (after, schema_after) = picture(migrations, &mut conn);
    assert_eq!(after, before, "{name}: {file} changed the database");
    let diff = SchemaDiff::between(&schema_before, &schema_after, &DiffOptions::default());
    assert!(
        diff.is_empty(),
        "{name}: {file} changed the schema:\n{diff}"
    );
    assert_eq!(after.applied, ["001"]);
    let current = migrator.current(&mut conn).expect("current");
    assert_eq!(
        current.iter().map(|r| r.id.as_ref()).collect::<Vec<_>>(),
        ["001"]
    );
    let log = audit(migrations, &mut conn);
    assert_eq!(log[..log_before.len()], log_before[..], "{log:#?}");
    let new: Vec<_> = log[log_before.len()..]
        .iter()
        .map(|e| (e.revision.as_str(), e.outcome.as_str()))
        .collect();
    // The failure is audited (best effort: SQLite's timeout case writes it
    // while the other session still holds the write lock, and loses it).
    let expected: &[(&str, &str)] = if new.is_empty() && !is_postgres(db) {
        &[]
    } else {
        &[("002", "failure")]
    };
    assert_eq!(
        new, expected,
        "{name}: audit log after the failure: {log:#?}"
    );
    error
}

/// Runs the upgrade with nothing around it.
fn plainly(upgrade: &mut dyn FnMut()) {
    upgrade();
}

#[test]
fn bad_sql_halfway_leaves_the_previous_revision() {
    migrator_tests::on_each_backend(|db| {
        assert_fails_cleanly(
            db,
            &bad_sql::MIGRATIONS,
            "002_typo.sql",
            &["syntax error", "TABEL"],
            plainly,
        );
    });
}

#[test]
fn a_unique_index_over_duplicate_rows_leaves_the_previous_revision() {
    migrator_tests::on_each_backend(|db| {
        let cause = if is_postgres(db) {
            "could not create unique index"
        } else {
            "UNIQUE constraint failed"
        };
        assert_fails_cleanly(
            db,
            &unique_violation::MIGRATIONS,
            "002_unique_email.sql",
            &[cause],
            plainly,
        );
    });
}

#[test]
fn not_null_over_null_rows_leaves_the_previous_revision() {
    migrator_tests::on_each_backend(|db| {
        let cause = if is_postgres(db) {
            "contains null values"
        } else {
            "NOT NULL constraint failed"
        };
        assert_fails_cleanly(
            db,
            &not_null_violation::MIGRATIONS,
            "002_require_nickname.sql",
            &[cause],
            plainly,
        );
    });
}

/// The database's reason when a revision outruns its `Timeout:`: the
/// statement timeout on PostgreSQL, the busy timeout on SQLite (see
/// [`past_the_timeout`]).
fn timeout_cause(db: &TestDb) -> &'static str {
    if is_postgres(db) {
        "canceling statement due to statement timeout"
    } else {
        "database is locked"
    }
}

/// Runs the upgrade so that a revision's first slow statement outlasts its
/// `Timeout:`. PostgreSQL: as is (the fixture sleeps). SQLite, which has no
/// statement timeout: while another session holds the write lock.
fn past_the_timeout(db: &TestDb) -> impl FnOnce(&mut dyn FnMut()) + '_ {
    move |upgrade| {
        if is_postgres(db) {
            upgrade();
        } else {
            let mut holder = db.connect();
            holder
                .batch_execute("BEGIN IMMEDIATE;")
                .expect("take the write lock");
            upgrade();
            holder.batch_execute("ROLLBACK;").expect("release it");
        }
    }
}

/// PostgreSQL: 002 sleeps past its own `Timeout: 300ms` after four writes.
/// SQLite (no statement timeout): another session holds the write lock for
/// longer than 002's timeout.
#[test]
fn a_timeout_halfway_leaves_the_previous_revision() {
    migrator_tests::on_each_backend(|db| {
        let error = assert_fails_cleanly(
            db,
            &statement_timeout::MIGRATIONS,
            "002_slow.sql",
            &["timed out", "300ms", timeout_cause(db)],
            past_the_timeout(db),
        );
        // The revision's own limit cut it short (the server's error says
        // so): on PostgreSQL its statement timeout, once; on SQLite the
        // busy timeout, a lock timeout, so the revision ran 1 +
        // `Options::ddl_retries` (3) times (see ddl_locks.rs).
        let (lock, attempts) = if is_postgres(db) {
            (false, 1)
        } else {
            (true, 4)
        };
        assert!(
            matches!(&error, Error::Timeout { revision, limit, lock: l, attempts: a, .. }
                if revision == "002" && *limit == Duration::from_millis(300)
                    && *l == lock && *a == attempts),
            "{error:?}"
        );
    });
}

/// Guards the classification of a timeout in a `Transaction: false`
/// revision (002 of `nontransactional_timeout`, `Timeout: 300ms`).
///
/// PostgreSQL: its dirty marker is written, then 002 sleeps past its
/// statement timeout; nothing is rolled back outside a transaction, so the
/// error must be the partial-effects one (`Error::NonTransactional`, which
/// tells to check the schema and `stamp`), with the timeout as its cause,
/// not `Error::Timeout` (a timeout whose transaction was rolled back); the
/// marker stays.
///
/// SQLite (no statement timeout): another session holds the write lock, so
/// the marker itself cannot be written within the DDL lock timeout (the
/// busy timeout): nothing of 002 ran, and the error is a plain failure
/// naming the marker's write, with the database as before.
#[test]
fn a_timeout_outside_a_transaction_reports_possible_partial_effects() {
    migrator_tests::on_each_backend(|db| {
        let name = backend_name(db);
        let file = "002_slow_outside_a_transaction.sql";
        if !is_postgres(db) {
            let error = assert_fails_cleanly(
                db,
                &nontransactional_timeout::MIGRATIONS,
                file,
                &[
                    "writing its dirty marker",
                    "none of its statements ran",
                    timeout_cause(db),
                ],
                past_the_timeout(db),
            );
            assert!(
                matches!(&error, Error::Revision { revision, .. } if revision == "002"),
                "{name}: expected a plain failure, got {error:?}"
            );
            return;
        }
        let migrator = Migrator::new(&nontransactional_timeout::MIGRATIONS);
        let mut conn = db.connect();
        migrator
            .upgrade(&mut conn, "001".parse::<Target>().expect("target"))
            .expect("upgrade to 001");
        let error = migrator
            .upgrade(&mut conn, Target::Head)
            .expect_err("002 times out");
        assert!(
            matches!(&error, Error::NonTransactional { revision, .. } if revision == "002"),
            "{name}: expected the partial-effects error, got {error:?}"
        );
        assert_eq!(exit_code(&error), exit::REVISION, "{error}");
        let message = error.to_string();
        for needle in [
            "upgrade of revision 002 (002_slow_outside_a_transaction.sql)",
            "it runs outside a transaction",
            "keeps its dirty marker",
            "`stamp 002`",
            timeout_cause(db),
            // The revision's own limit cut it short.
            "of 300ms, set by `Timeout:` in its header, fired",
        ] {
            assert!(
                message.contains(needle),
                "{name}: no {needle:?} in {message}"
            );
        }
        let state = migrator.state(&mut conn).expect("the state");
        assert_eq!(
            state.marker.map(|m| (m.revision, m.direction)),
            Some(("002".to_owned(), Direction::Upgrade)),
            "{name}"
        );
        assert_eq!(
            applied(&nontransactional_timeout::MIGRATIONS, &mut conn),
            ["001"]
        );
        let log = audit(&nontransactional_timeout::MIGRATIONS, &mut conn);
        let tail: Vec<_> = log
            .iter()
            .filter(|e| e.revision == "002")
            .map(|e| e.outcome.as_str())
            .collect();
        assert_eq!(tail, ["started", "failure"], "{name}: {log:#?}");
    });
}

/// `--single-transaction` from base: 001 succeeds, 002 fails, and nothing
/// at all remains (001 included).
#[test]
fn a_failure_in_a_single_transaction_run_leaves_base() {
    migrator_tests::on_each_backend(|db| {
        let mut conn = db.connect();
        let migrator = Migrator::with_options(
            &unique_violation::MIGRATIONS,
            migrator_tests::options(|o| {
                o.single_transaction = true;
            }),
        );
        let error = migrator
            .upgrade(&mut conn, Target::Head)
            .expect_err("002 fails");
        assert_eq!(exit_code(&error), exit::REVISION, "{error}");
        assert!(error.to_string().contains("revision 002"), "{error}");
        let user_tables: Vec<String> = tables(&mut conn)
            .into_iter()
            .filter(|t| !t.starts_with("migrator_"))
            .collect();
        assert!(user_tables.is_empty(), "{user_tables:?}");
        assert!(applied(&unique_violation::MIGRATIONS, &mut conn).is_empty());
    });
}

/// Migrates `db` to 001 of `migrations` (`rust_panic` or
/// `rust_nested_panic`), then upgrades into its revision that writes and
/// panics, which must come back as that revision's error (the caller does
/// not unwind). The caller's connection, and the picture at 001.
fn run_into_the_panic(
    db: &TestDb,
    migrations: &Migrations,
    options: &Options,
) -> (AnyConnection, Picture) {
    let name = backend_name(db);
    let migrator = Migrator::with_options(migrations, options.clone());
    let mut conn = db.connect();
    migrator
        .upgrade(&mut conn, "001".parse::<Target>().expect("target"))
        .expect("upgrade to 001");
    let (before, _) = picture(migrations, &mut conn);
    // (The revision's panic message is printed: expected.)
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        migrator.upgrade(&mut conn, Target::Head)
    }));
    match outcome {
        Ok(Err(error @ Error::Revision { .. })) => {
            let message = error.to_string();
            assert!(message.contains("revision 002"), "{name}: {message}");
            assert!(message.contains("panicked"), "{name}: {message}");
        }
        other => panic!("{name}: expected the revision's error, got {other:?}"),
    }
    (conn, before)
}

/// Runs `migrations` into its panicking revision (see
/// [`run_into_the_panic`]), under a caller that catches the panic, and
/// checks that the lock is released, the database is at 001, and the
/// caller's connection is usable and not left inside the revision's
/// transaction: it sees 001, and a command run on it takes effect for
/// everyone.
fn assert_the_panic_rolls_back(migrations: &Migrations) {
    // Every backend is checked before the test fails, so that the report
    // names each one that misbehaves.
    let failures = std::sync::Mutex::new(Vec::new());
    migrator_tests::on_each_backend(|db| {
        let name = backend_name(db);
        let options = migrator_tests::options(|o| {
            o.lock_timeout = Duration::from_secs(2);
        });
        let (mut conn, before) = run_into_the_panic(db, migrations, &options);

        let failed = |what: String| failures.lock().expect("lock").push(what);
        // Another connection: the database is at 001.
        let mut other = db.connect();
        let (seen, _) = picture(migrations, &mut other);
        if seen != before {
            failed(format!("{name}: another connection sees {seen:?}"));
        }
        drop(other);
        // The caller's own connection: no half-done revision in sight.
        let (own, _) = picture(migrations, &mut conn);
        if own != before {
            failed(format!(
                "{name}: the caller's connection still sees the half-done revision: {own:?}"
            ));
        }
        // The lock is free, and the database writable: a downgrade runs
        // while the caller still holds its connection.
        let migrator = Migrator::with_options(migrations, options);
        if let Err(e) = migrator.downgrade(&mut db.connect(), Target::Base) {
            failed(format!(
                "{name}: a downgrade from another connection fails: {e}"
            ));
        }
        // The caller's connection runs the next command, and it is
        // committed: another connection sees 001 again.
        if let Err(e) = migrator.upgrade(&mut conn, "001".parse::<Target>().expect("target")) {
            failed(format!(
                "{name}: an upgrade on the caller's connection fails: {e}"
            ));
        }
        drop(conn);
        let seen = applied(migrations, &mut db.connect());
        if seen != ["001"] {
            failed(format!(
                "{name}: after an upgrade to 001 on the caller's connection, another sees {seen:?}"
            ));
        }
    });
    let failures = failures.into_inner().expect("lock");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A Rust revision that writes, then panics: the panic becomes the
/// revision's error and its transaction is rolled back.
#[test]
fn a_panicking_rust_revision_rolls_back() {
    assert_the_panic_rolls_back(&rust_panic::MIGRATIONS);
}

/// Guards the rollback of savepoints a Rust revision leaves open: 002 of
/// `rust_nested_panic` writes, then panics inside its own
/// `conn.transaction(..)`, which leaves its savepoint open. Rolling back
/// once would only undo the savepoint and leave the revision's transaction
/// (and its first write) open on the caller's connection; everything down to
/// the depth before the revision must be rolled back.
#[test]
fn a_rust_revision_panicking_in_its_own_transaction_rolls_back() {
    assert_the_panic_rolls_back(&rust_nested_panic::MIGRATIONS);
}

/// After a panicking Rust revision, checked from a fresh
/// connection once the panicking one is dropped: the database is at 001 and
/// the lock is free.
#[test]
fn a_panicking_rust_revision_leaves_the_previous_revision_once_its_connection_is_gone() {
    migrator_tests::on_each_backend(|db| {
        let name = backend_name(db);
        let migrations = &rust_panic::MIGRATIONS;
        let options = migrator_tests::options(|o| {
            o.lock_timeout = Duration::from_secs(5);
        });
        let (conn, before) = run_into_the_panic(db, migrations, &options);
        drop(conn);
        let mut fresh = db.connect();
        let (after, _) = picture(migrations, &mut fresh);
        assert_eq!(after, before, "{name}");
        Migrator::with_options(migrations, options)
            .downgrade(&mut fresh, Target::Base)
            .unwrap_or_else(|e| panic!("{name}: downgrade after the panic: {e}"));
    });
}

// ---------------------------------------------------------------------------
// 4. Bad input
// ---------------------------------------------------------------------------

/// URLs that cannot work: each gets its own message and status, no panic,
/// no password.
#[test]
fn bad_urls_get_a_clear_message_and_their_exit_status() {
    let s = SECRET;
    let cases: Vec<(String, u8, Vec<&str>)> = vec![
        // Not a database URL at all.
        (
            format!("redis://:{s}@cache/0"),
            exit::USAGE,
            vec!["unknown scheme `redis`"],
        ),
        (
            "ftp://example.com/db".into(),
            exit::USAGE,
            vec!["unknown scheme `ftp`"],
        ),
        ("://nothing".into(), exit::USAGE, vec!["unknown scheme ``"]),
        ("".into(), exit::USAGE, vec!["no database given"]),
        ("   ".into(), exit::USAGE, vec!["no database given"]),
        ("sqlite://".into(), exit::USAGE, vec!["names no file"]),
        // MySQL (this build has the backend): an unknown host.
        (
            format!("mysql://app:{s}@no-such-host.invalid/prod"),
            exit::CONNECT,
            vec!["no-such-host.invalid"],
        ),
        // postgres:// garbage: libpq refuses it before any connection.
        (
            format!("postgres://app:{s}@127.0.0.1:99999999/db"),
            exit::CONNECT,
            vec!["invalid port number"],
        ),
        (
            format!("postgres://app:{s}@[::1/db"),
            exit::CONNECT,
            vec!["IPv6"],
        ),
        (
            format!("postgres://app:{s}@h%zz/db"),
            exit::CONNECT,
            vec!["percent-encoded"],
        ),
        (
            format!("postgres://app:{s}@127.0.0.1/db?sslmode=bogus"),
            exit::CONNECT,
            vec!["sslmode"],
        ),
        (
            format!("postgres://app:{s}@127.0.0.1/db?nosuchoption=1"),
            exit::CONNECT,
            vec!["nosuchoption"],
        ),
        (
            format!("postgres://app:{s}@no-such-host.invalid/db"),
            exit::CONNECT,
            vec!["no-such-host.invalid"],
        ),
        (
            format!("postgres://127.0.0.1:1/db?user=app&password={s}"),
            exit::CONNECT,
            vec!["Connection refused"],
        ),
        // A SQLite file in a directory that does not exist.
        (
            "sqlite:///nonexistent-dir/for/sure/x.db".into(),
            exit::CONNECT,
            vec!["unable to open database file"],
        ),
    ];
    for (url, code, needles) in &cases {
        let run = run_long(url, &["upgrade", "head"]);
        run.expect_failure(*code, needles, &format!("URL {url:?}"));
    }
    // The same through --database-url, for two of them.
    let cwd = tempfile::tempdir().expect("a working directory");
    for (url, code) in [
        ("ftp://x".to_owned(), exit::USAGE),
        (format!("postgres://a:{s}@127.0.0.1:1/x"), exit::CONNECT),
    ] {
        let start = Instant::now();
        let output = long_cli("", cwd.path())
            .env_remove("DATABASE_URL")
            .args(["--database-url", &url, "upgrade", "head"])
            .output()
            .expect("run the CLI");
        Run::from_output(output, start.elapsed()).expect_failure(code, &[], &url);
    }
}

/// "An unreachable server (port 1)": exit 3, the URL without its password,
/// the driver's reason.
#[test]
fn an_unreachable_server_exits_3() {
    let url = format!("postgres://app:{SECRET}@127.0.0.1:1/factory");
    for args in [
        &["upgrade", "head"][..],
        &["current"],
        &["check"],
        &["downgrade", "base"],
    ] {
        let run = run_long(&url, args);
        run.expect_failure(
            exit::CONNECT,
            &[
                "could not connect to `postgres://app:***@127.0.0.1:1/factory`",
                "Connection refused",
            ],
            &format!("{args:?}"),
        );
    }
}

/// The server at MIGRATOR_TEST_POSTGRES_URL: `host:port` (None when it is
/// unreachable outside CI: the test is skipped).
fn postgres_server() -> Option<String> {
    let admin = postgres_admin_url();
    if PgConnection::establish(&admin).is_err() {
        assert!(
            !migrator_runtime::testing::in_ci(),
            "PostgreSQL is required in CI"
        );
        eprintln!("\n!!! SKIPPED: PostgreSQL unreachable\n");
        return None;
    }
    let rest = admin.split_once("://").map_or(admin.as_str(), |(_, r)| r);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    Some(rest.split('/').next().unwrap_or(rest).to_owned())
}

/// A role that does not exist: under the test server's trust
/// authentication, the closest thing to a wrong password (which trust never
/// checks). Exit 3, the server's reason, no password.
#[test]
fn a_nonexistent_role_exits_3() {
    let Some(server) = postgres_server() else {
        return;
    };
    let url = format!("postgres://nosuchrole:{SECRET}@{server}/postgres");
    let run = run_long(&url, &["upgrade", "head"]);
    run.expect_failure(
        exit::CONNECT,
        &[
            &format!("could not connect to `postgres://nosuchrole:***@{server}/postgres`"),
            "role \"nosuchrole\" does not exist",
        ],
        "an unknown role",
    );
}

/// A login role created for one test, dropped after its database.
struct Role {
    name: String,
}

impl Role {
    fn create() -> Role {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "migrator_fault_role_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let mut admin = PgConnection::establish(&postgres_admin_url()).expect("connect as admin");
        admin
            .batch_execute(&format!(
                "DROP ROLE IF EXISTS {name}; CREATE ROLE {name} LOGIN;"
            ))
            .expect("create the role");
        Role { name }
    }

    /// `db`'s URL, connecting as this role (with a password trust ignores).
    fn url(&self, db: &TestDb) -> String {
        let (_, rest) = db
            .url()
            .rsplit_once('@')
            .expect("user@host in the test URL");
        format!("postgres://{}:{SECRET}@{rest}", self.name)
    }
}

impl Drop for Role {
    fn drop(&mut self) {
        if let Ok(mut admin) = PgConnection::establish(&postgres_admin_url()) {
            let _ = admin.batch_execute(&format!("DROP ROLE IF EXISTS {}", self.name));
        }
    }
}

/// Grants `role` what a migrator needs on its own two tables (rows and the
/// audit log's sequence), not DDL.
fn grant_bookkeeping(conn: &mut AnyConnection, role: &Role) {
    conn.batch_execute(&format!(
        "GRANT SELECT, INSERT, UPDATE, DELETE ON migrator_version, migrator_version_audit TO {r}; \
         GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {r};",
        r = role.name
    ))
    .expect("grant the bookkeeping rights");
}

/// A role without CREATE on the public schema, on a fresh database: the run
/// stops before any revision, creating the version table, with exit 7 and
/// the server's reason; nothing is created.
#[test]
fn a_role_without_create_rights_stops_before_anything_is_applied() {
    let Some(_) = postgres_server() else { return };
    let role = Role::create();
    let db = TestDb::postgres().expect("a PostgreSQL database");
    let mut admin = db.connect();
    admin
        .batch_execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC;")
        .expect("revoke CREATE");
    let run = run_long(&role.url(&db), &["upgrade", "head"]);
    run.expect_failure(
        exit::OTHER,
        &[
            "creating the version table and audit log",
            "permission denied for schema public",
        ],
        "a role without CREATE",
    );
    assert_eq!(run.runs(), 0, "{run}");
    assert!(tables(&mut admin).is_empty(), "{:?}", tables(&mut admin));
    drop(db);
}

/// A role that may create tables but does not own the one revision 004
/// alters: 004 fails naming itself (exit 4); the database stays at 003.
#[test]
fn a_role_without_rights_on_a_table_fails_naming_the_revision() {
    let Some(_) = postgres_server() else { return };
    let role = Role::create();
    let db = TestDb::postgres().expect("a PostgreSQL database");
    let mut admin = db.connect();
    Migrator::new(&long::MIGRATIONS)
        .upgrade(&mut admin, "003".parse::<Target>().expect("target"))
        .expect("upgrade to 003 as the owner");
    admin
        .batch_execute(&format!("GRANT CREATE ON SCHEMA public TO {};", role.name))
        .expect("grant CREATE");
    grant_bookkeeping(&mut admin, &role);
    let (before, schema_before) = (
        tables(&mut admin),
        Snapshot::take(&mut admin).expect("snapshot"),
    );

    let run = run_long(&role.url(&db), &["upgrade", "head"]);
    run.expect_failure(
        exit::REVISION,
        &[
            "upgrade of revision 004 (004_add_c004.sql) failed",
            "must be owner of table t003",
        ],
        "a role that does not own t003",
    );
    assert_eq!(
        applied(&long::MIGRATIONS, &mut admin),
        ["001", "002", "003"]
    );
    assert_eq!(tables(&mut admin), before);
    let diff = SchemaDiff::between(
        &schema_before,
        &Snapshot::take(&mut admin).expect("snapshot"),
        &DiffOptions::default(),
    );
    assert!(diff.is_empty(), "{diff}");
    let last = audit(&long::MIGRATIONS, &mut admin)
        .pop()
        .expect("an audit entry");
    assert_eq!(
        (last.revision.as_str(), last.outcome.as_str()),
        ("004", "failure")
    );
    drop(db);
}

/// A role without CREATE, once an owner has created the version tables and
/// granted it their rows: the run reaches the first revision and fails
/// naming it (exit 4). (The bookkeeping tables are created only when
/// missing: `CREATE TABLE IF NOT EXISTS` would need CREATE even when they
/// exist.)
#[test]
fn a_role_without_create_rights_fails_naming_the_revision() {
    let Some(_) = postgres_server() else { return };
    let role = Role::create();
    let db = TestDb::postgres().expect("a PostgreSQL database");
    let mut admin = db.connect();
    admin
        .batch_execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC;")
        .expect("revoke CREATE");
    Migrator::new(&long::MIGRATIONS)
        .upgrade(&mut admin, "001".parse::<Target>().expect("target"))
        .expect("upgrade to 001 as the owner");
    grant_bookkeeping(&mut admin, &role);
    let run = run_long(&role.url(&db), &["upgrade", "head"]);
    run.expect_failure(
        exit::REVISION,
        &[
            "upgrade of revision 002 (002_create_t002.sql) failed",
            "permission denied for schema public",
        ],
        "a role without CREATE, version tables present",
    );
    assert_eq!(applied(&long::MIGRATIONS, &mut admin), ["001"]);
    drop(db);
}

/// A SQLite database opened read-only through a URI
/// (`sqlite://file:/path?mode=ro`, passed through to SQLite): at 001, the
/// upgrade fails at 002 naming it (exit 4); at base, creating the version
/// table fails (exit 7); read-only commands work; nothing changes.
#[test]
fn a_read_only_sqlite_database_gets_a_clear_message() {
    let db = TestDb::sqlite();
    let path = db
        .url()
        .strip_prefix("sqlite://")
        .expect("a SQLite URL")
        .to_owned();
    let read_only = format!("sqlite://file:{path}?mode=ro");

    // An empty database file, read-only.
    std::fs::File::create(&path).expect("create an empty database file");
    let run = run_long(&read_only, &["upgrade", "head"]);
    run.expect_failure(
        exit::OTHER,
        &["creating the version table", "readonly database"],
        "read-only, at base",
    );
    assert!(tables(&mut db.connect()).is_empty());

    // At 001.
    Migrator::new(&long::MIGRATIONS)
        .upgrade(&mut db.connect(), "001".parse::<Target>().expect("target"))
        .expect("upgrade to 001");
    let before = std::fs::read(&path).expect("read the database file");
    let run = run_long(&read_only, &["upgrade", "head"]);
    run.expect_failure(
        exit::REVISION,
        &[
            "upgrade of revision 002 (002_create_t002.sql) failed",
            "attempt to write a readonly database",
        ],
        "read-only, at 001",
    );
    assert_eq!(
        std::fs::read(&path).expect("read the database file"),
        before,
        "the read-only database file changed"
    );
    let current = run_long(&read_only, &["current"]);
    current.expect_code(exit::OK, "current on a read-only database");
    assert_eq!(current.stdout.trim(), "001", "{current}");
    run_long(&read_only, &["check"]).expect_code(exit::PENDING, "check: 39 pending");
    assert_eq!(applied(&long::MIGRATIONS, &mut db.connect()), ["001"]);

    // Read-only and missing: cannot open.
    let missing = format!("sqlite://file:{path}.missing?mode=ro");
    run_long(&missing, &["upgrade", "head"]).expect_failure(
        exit::CONNECT,
        &["could not connect", "unable to open database file"],
        "read-only, missing",
    );
}

/// A file that is not a SQLite database: exit 7 naming what was being done
/// and SQLite's reason; the file is left alone.
#[test]
fn a_file_that_is_not_a_database_is_left_alone() {
    let dir = tempfile::tempdir().expect("a directory");
    let path = dir.path().join("garbage.db");
    let garbage: Vec<u8> = (0..4096u32).map(|i| (i * 7919 % 251) as u8).collect();
    std::fs::write(&path, &garbage).expect("write garbage");
    for url in [
        path.display().to_string(),
        format!("sqlite://{}", path.display()),
    ] {
        let run = run_long(&url, &["upgrade", "head"]);
        run.expect_failure(
            exit::OTHER,
            &["reading the version table", "file is not a database"],
            &url,
        );
    }
    assert_eq!(std::fs::read(&path).expect("read it back"), garbage);
}

/// A target that does not exist, and a bad duration: usage errors (exit 2).
#[test]
fn bad_targets_and_options_are_usage_errors() {
    let db = TestDb::sqlite();
    for (args, needle) in [
        (&["upgrade", "nosuchrevision"][..], "nosuchrevision"),
        (&["upgrade", "+999"], "999"),
        (&["downgrade", "head+3"], "head+3"),
    ] {
        run_long(db.url(), args).expect_failure(exit::USAGE, &[needle], &format!("{args:?}"));
    }
    let run = run_long(db.url(), &["--lock-timeout", "soon", "upgrade", "head"]);
    run.expect_code(exit::USAGE, "a bad duration");
    assert!(run.stderr.contains("250ms"), "{run}");
    let mut conn = db.connect();
    assert!(applied(&long::MIGRATIONS, &mut conn).is_empty());
}

/// A password containing an unescaped `@`: the URL printed is redacted, but
/// libpq splits the authority at the first `@` and its message names the
/// "host" `Secret@127.0.0.1`, which is the end of the password: the message
/// is scrubbed of every piece of the password.
#[test]
fn an_at_sign_in_the_password_is_never_printed() {
    let run = run_long(
        "postgres://app:Hunter2@Secret@127.0.0.1:1/db",
        &["upgrade", "head"],
    );
    run.expect_failure(exit::CONNECT, &["could not connect"], "`@` in the password");
}

/// `POSTGRES://…`: schemes are case-insensitive; libpq, which only knows
/// lower-case `postgres://`, is given the lower-case form.
#[test]
fn an_upper_case_scheme_works_like_a_lower_case_one() {
    let run = run_long("POSTGRES://app@127.0.0.1:1/db", &["upgrade", "head"]);
    run.expect_failure(exit::CONNECT, &["Connection refused"], "POSTGRES://");
}

/// A libpq `key=value` connection string (`host=… password=…`) has no
/// `://`, yet it is not a SQLite file path: it reaches PostgreSQL, and never
/// becomes a file name.
#[test]
fn a_key_value_connection_string_is_not_a_sqlite_path() {
    let cwd = tempfile::tempdir().expect("a working directory");
    let url = format!("host=127.0.0.1 port=1 user=app password={SECRET} dbname=factory");
    let start = Instant::now();
    let output = long_cli(&url, cwd.path())
        .args(["upgrade", "head"])
        .output()
        .expect("run the CLI");
    let run = Run::from_output(output, start.elapsed());
    let created: Vec<_> = std::fs::read_dir(cwd.path())
        .expect("list the working directory")
        .map(|e| e.expect("an entry").file_name())
        .collect();
    assert!(created.is_empty(), "files created: {created:?}\n{run}");
    assert!(
        matches!(run.code, Some(2 | 3)),
        "a key=value string must be refused (exit 2) or reach PostgreSQL (exit 3)\n{run}"
    );
    assert_no_secret(&run, "key=value");
}
