//! Every command, through the library and through the CLI (the `branchy`
//! binary), on SQLite, PostgreSQL and MySQL (MariaDB in CI), over the
//! `branchy` fixture: a graph with a branch and a merge, 001 → (002 | 003)
//! → 004 (merge, noop) → 005 (Rust, inserts base_t row 5) → 006
//! (`Transaction: false`, an index on left_t).
//!
//! Each test checks the database afterwards: its tables, the version table
//! (`Migrator::state`) and the audit log (`Migrator::audit_log`).

use std::path::Path;
use std::process::Command;

use diesel::connection::SimpleConnection;
use migrator_core::graph::ResolveError;
use migrator_core::model::{BackendKind, released};
use migrator_core::plan::PlanError;
use migrator_runtime::cli::{self, GlobalArgs, Settings};
use migrator_runtime::cli::{Config, exit};
use migrator_runtime::{AnyConnection, Error, Migrator, Problem, Target};
use migrator_tests::{
    Kind, TestDb, applied_ids, branchy, count, drop_index_sql, exit_code, on_every_backend, tables,
};

mod failing {
    migrator_runtime::embed_migrations!("fixtures/failing");
}
mod trailing_comment {
    migrator_runtime::embed_migrations!("fixtures/trailing_comment");
}

const BRANCHY: &str = env!("CARGO_BIN_EXE_branchy");

/// The bookkeeping tables alone.
const BOOKKEEPING: [&str; 2] = ["migrator_version", "migrator_version_audit"];

/// The tables at head (and at 004, 005).
use migrator_tests::BRANCHY_AT_HEAD as AT_HEAD;

const ALL: [&str; 6] = ["001", "002", "003", "004", "005", "006"];

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

fn migrator() -> Migrator<'static> {
    Migrator::new(&branchy::MIGRATIONS)
}

fn target(s: &str) -> Target {
    s.parse()
        .unwrap_or_else(|e| panic!("target `{s}` must parse: {e}"))
}

/// The tables, sorted bytewise (PostgreSQL's collation may sort otherwise).
fn sorted_tables(conn: &mut AnyConnection) -> Vec<String> {
    let mut names = tables(conn);
    names.sort();
    names
}

fn applied_with(migrator: &Migrator<'_>, conn: &mut AnyConnection) -> Vec<String> {
    applied_ids(migrator, conn)
}

fn applied(conn: &mut AnyConnection) -> Vec<String> {
    applied_with(&migrator(), conn)
}

fn current(conn: &mut AnyConnection) -> Vec<String> {
    migrator()
        .current(conn)
        .expect("current")
        .iter()
        .map(|r| r.id.to_string())
        .collect()
}

/// 1 when 006's index on left_t exists, 0 otherwise.
fn index_count(conn: &mut AnyConnection) -> i64 {
    let sql = match conn {
        AnyConnection::Postgres(_) => {
            "SELECT COUNT(*) AS n FROM pg_indexes WHERE indexname = 'left_t_id'"
        }
        AnyConnection::Sqlite(_) => {
            "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'index' AND name = 'left_t_id'"
        }
        AnyConnection::Mysql(_) => {
            "SELECT COUNT(DISTINCT index_name) AS n FROM information_schema.statistics \
             WHERE table_schema = DATABASE() AND index_name = 'left_t_id'"
        }
    };
    count(conn, sql)
}

/// The audit log as `(revision, action, outcome)`.
fn audit(migrator: &Migrator<'_>, conn: &mut AnyConnection) -> Vec<(String, String, String)> {
    migrator
        .audit_log(conn)
        .expect("read the audit log")
        .into_iter()
        .map(|e| (e.revision, e.action, e.outcome))
        .collect()
}

fn entries(revisions: &[&str], action: &str, outcome: &str) -> Vec<(String, String, String)> {
    revisions
        .iter()
        .map(|r| ((*r).to_owned(), action.to_owned(), outcome.to_owned()))
        .collect()
}

/// The audit log of `m` running `revisions` (in that order) `action`-wards
/// on `db`: each revision's success, after the entry `started` of its dirty
/// marker where it runs with one: a `Transaction: false` revision (006 of
/// branchy) on every backend, and every revision on MySQL, where DDL
/// commits on its own and a revision cannot be rolled back.
fn ran(
    db: &TestDb,
    m: &Migrator<'_>,
    revisions: &[&str],
    action: &str,
) -> Vec<(String, String, String)> {
    let marked = |id: &str| {
        db.kind() == Kind::Mysql
            || m.graph()
                .revisions()
                .iter()
                .any(|r| r.id.as_ref() == id && !r.transactional)
    };
    revisions
        .iter()
        .flat_map(|r| {
            let started = marked(r).then_some("started");
            started
                .into_iter()
                .chain(["success"])
                .flat_map(|outcome| entries(&[r], action, outcome))
        })
        .collect()
}

/// The audit log of `upgrade head` then `downgrade base` of branchy.
fn up_and_down(db: &TestDb) -> Vec<(String, String, String)> {
    let mut expected = ran(db, &migrator(), &ALL, "upgrade");
    let reversed: Vec<&str> = ALL.iter().rev().copied().collect();
    expected.extend(ran(db, &migrator(), &reversed, "downgrade"));
    expected
}

/// Checks the state of a database at head: tables, rows, index, order.
fn assert_at_head(conn: &mut AnyConnection) {
    assert_eq!(sorted_tables(conn), AT_HEAD);
    assert_eq!(applied(conn), ALL);
    assert_eq!(current(conn), ["006"]);
    assert_eq!(
        count(conn, "SELECT COUNT(*) AS n FROM base_t WHERE id = 5"),
        1
    );
    assert_eq!(index_count(conn), 1);
}

/// What a CLI run produced.
#[derive(Debug)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
    pid: u32,
}

impl Run {
    /// Asserts the run stopped with `code` and an error saying each of
    /// `says`.
    fn refused(&self, code: u8, says: &[&str]) {
        assert_eq!(self.code, i32::from(code), "{}", self.stderr);
        for said in says {
            assert!(self.stderr.contains(said), "{said:?} in {}", self.stderr);
        }
    }
}

impl Run {
    fn ok(&self) -> &Self {
        assert_eq!(self.code, 0, "expected success: {self:#?}");
        self
    }

    fn code(&self, code: u8) -> &Self {
        assert_eq!(self.code, i32::from(code), "{self:#?}");
        self
    }

    fn stdout_has(&self, text: &str) -> &Self {
        assert!(
            self.stdout.contains(text),
            "stdout lacks {text:?}: {self:#?}"
        );
        self
    }

    fn stderr_has(&self, text: &str) -> &Self {
        assert!(
            self.stderr.contains(text),
            "stderr lacks {text:?}: {self:#?}"
        );
        self
    }

    fn lines(&self) -> Vec<&str> {
        self.stdout.lines().collect()
    }
}

/// The `branchy` binary with `url` (if any) as `DATABASE_URL`, run in `dir`,
/// with no `MIGRATOR_*` variable from the environment.
fn branchy_command(url: Option<&str>, dir: &Path) -> Command {
    let mut command = Command::new(BRANCHY);
    command.current_dir(dir);
    command.env_remove("DATABASE_URL");
    for var in [
        "MIGRATOR_CONFIG",
        "MIGRATOR_VERSION_TABLE",
        "MIGRATOR_AUDIT_TABLE",
        "MIGRATOR_LOCK_TIMEOUT",
        "MIGRATOR_STATEMENT_TIMEOUT",
    ] {
        command.env_remove(var);
    }
    if let Some(url) = url {
        command.env("DATABASE_URL", url);
    }
    command
}

fn run(mut command: Command, args: &[&str]) -> Run {
    let child = command
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn branchy");
    let pid = child.id();
    let output = child.wait_with_output().expect("wait for branchy");
    Run {
        code: output.status.code().expect("branchy exited normally"),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        pid,
    }
}

/// Runs the CLI against `db`, in an empty working directory.
fn cli(db: &TestDb, args: &[&str]) -> Run {
    let dir = tempfile::tempdir().expect("tempdir");
    run(branchy_command(Some(db.url()), dir.path()), args)
}

/// Runs a command through the library entry point of the CLI
/// (`cli::execute`), returning its status and output.
fn execute(db: &TestDb, command: cli::Command) -> (cli::Result<u8>, String) {
    let settings = Settings::resolve(&GlobalArgs::default(), Config::default());
    let mut out = Vec::new();
    let status = cli::execute(
        &branchy::MIGRATIONS,
        db.url(),
        &settings,
        &command,
        &mut out,
    );
    (status, String::from_utf8(out).expect("UTF-8 output"))
}

fn tamper(conn: &mut AnyConnection, revision: &str) {
    conn.batch_execute(&format!(
        "UPDATE migrator_version SET checksum = 'abc123' WHERE revision = '{revision}'"
    ))
    .expect("tamper with a checksum");
}

fn insert_unknown(conn: &mut AnyConnection) {
    conn.batch_execute(
        "INSERT INTO migrator_version (revision, checksum, applied_at, execution_ms, seq) \
         VALUES ('007', 'x', '2024-01-01 00:00:00', 0, 7)",
    )
    .expect("insert a row from a newer build");
}

/// A fresh database of the same backend as `db`.
fn fresh_like(db: &TestDb) -> TestDb {
    TestDb::new(db.kind()).expect("the server was reachable a moment ago")
}

fn kind(db: &TestDb) -> BackendKind {
    db.kind().backend()
}

// ---------------------------------------------------------------------------
// upgrade
// ---------------------------------------------------------------------------

#[test]
fn library_upgrade_head_applies_everything_in_a_deterministic_order() {
    on_every_backend(|db| {
        let m = migrator();
        let mut conn = db.connect();
        let report = m.upgrade(&mut conn, Target::Head).expect("upgrade head");
        let ran: Vec<&str> = report.steps.iter().map(|s| s.revision.as_str()).collect();
        assert_eq!(ran, ALL);
        assert_at_head(&mut conn);
        // Again: nothing to do.
        assert!(
            m.upgrade(&mut conn, Target::Head)
                .expect("again")
                .steps
                .is_empty()
        );
        assert_eq!(applied(&mut conn), ALL);
    });
}

#[test]
fn cli_upgrade_head_applies_everything_in_a_deterministic_order() {
    on_every_backend(|db| {
        let out = cli(db, &["upgrade", "head"]);
        out.ok()
            .stdout_has("Running upgrade <base> -> 001, Create base_t")
            .stdout_has("Running upgrade 002, 003 -> 004, Merge left and right")
            .stdout_has("Running upgrade 005 -> 006");
        let order: Vec<&str> = out
            .lines()
            .into_iter()
            .filter(|l| l.starts_with("Running upgrade "))
            .filter_map(|l| l.split_once(" -> "))
            .filter_map(|(_, rest)| rest.split(',').next())
            .collect();
        assert_eq!(order, ALL, "{out:#?}");
        let mut conn = db.connect();
        assert_at_head(&mut conn);

        // Default target is head; nothing to do now.
        cli(db, &["upgrade"])
            .ok()
            .stdout_has("Nothing to do: the database is already at head");
        assert_eq!(applied(&mut conn), ALL);
    });
}

#[test]
fn library_upgrade_to_an_id_and_ambiguous_prefix() {
    on_every_backend(|db| {
        let m = migrator();
        let mut conn = db.connect();
        m.upgrade(&mut conn, target("004")).expect("upgrade 004");
        assert_eq!(applied(&mut conn), ["001", "002", "003", "004"]);
        assert_eq!(current(&mut conn), ["004"]);
        assert_eq!(sorted_tables(&mut conn), AT_HEAD);
        assert_eq!(count(&mut conn, "SELECT COUNT(*) AS n FROM base_t"), 0);

        let error = m
            .upgrade(&mut conn, target("00"))
            .expect_err("`00` is ambiguous");
        match &error {
            Error::Plan(PlanError::Resolve(ResolveError::Ambiguous { candidates, .. })) => {
                assert_eq!(candidates, &ALL);
            }
            other => panic!("expected an ambiguity, got {other:?}"),
        }
        let message = error.to_string();
        for id in ALL {
            assert!(message.contains(&format!("`{id}`")), "{message}");
        }
        assert_eq!(exit_code(&error), exit::USAGE);

        // A unique full ID is also a (trivially unique) prefix.
        m.upgrade(&mut conn, target("005")).expect("upgrade 005");
        assert_eq!(applied(&mut conn), ["001", "002", "003", "004", "005"]);
        assert_eq!(count(&mut conn, "SELECT COUNT(*) AS n FROM base_t"), 1);
        assert_eq!(index_count(&mut conn), 0);
    });
}

#[test]
fn cli_upgrade_to_an_id_and_ambiguous_prefix() {
    on_every_backend(|db| {
        cli(db, &["upgrade", "004"])
            .ok()
            .stdout_has("Running upgrade 002, 003 -> 004");
        let mut conn = db.connect();
        assert_eq!(applied(&mut conn), ["001", "002", "003", "004"]);
        assert_eq!(sorted_tables(&mut conn), AT_HEAD);

        let out = cli(db, &["upgrade", "00"]);
        out.code(exit::USAGE)
            .stderr_has("`00` is ambiguous")
            .stderr_has("`001`")
            .stderr_has("`006`");
        assert_eq!(applied(&mut conn), ["001", "002", "003", "004"]);

        // Unknown revision: exit 2, nothing changes.
        cli(db, &["upgrade", "999"])
            .code(exit::USAGE)
            .stderr_has("no revision has the ID `999`");
        assert_eq!(applied(&mut conn), ["001", "002", "003", "004"]);
    });
}

#[test]
fn library_upgrade_relative_targets() {
    on_every_backend(|db| {
        let m = migrator();
        let mut conn = db.connect();
        m.upgrade(&mut conn, target("+2")).expect("+2");
        assert_eq!(applied(&mut conn), ["001", "002"]);
        m.upgrade(&mut conn, target("+1")).expect("+1");
        assert_eq!(applied(&mut conn), ["001", "002", "003"]);
        assert_eq!(current(&mut conn), ["002", "003"]);
        let error = m
            .upgrade(&mut conn, target("+4"))
            .expect_err("only 3 pending");
        assert!(
            matches!(
                error,
                Error::Plan(PlanError::TooFewPending {
                    requested: 4,
                    pending: 3
                })
            ),
            "{error}"
        );
        assert_eq!(applied(&mut conn), ["001", "002", "003"]);

        // REV+N counts in the application order: 003+1 is 004.
        m.upgrade(&mut conn, target("003+1")).expect("003+1");
        assert_eq!(applied(&mut conn), ["001", "002", "003", "004"]);
        // head-1 is 005.
        m.upgrade(&mut conn, target("head-1")).expect("head-1");
        assert_eq!(applied(&mut conn), ["001", "002", "003", "004", "005"]);
        assert_eq!(index_count(&mut conn), 0);
        // upgrade -1 is refused.
        let error = m.upgrade(&mut conn, target("-1")).expect_err("-1");
        assert!(
            matches!(error, Error::Plan(PlanError::NotForwards { .. })),
            "{error}"
        );
    });
}

#[test]
fn library_upgrade_rev_plus_n_from_base() {
    on_every_backend(|db| {
        let m = migrator();
        let mut conn = db.connect();
        // A walk along the graph, as in Alembic: 002+1 is the merge 004,
        // so 003 (its other parent) is applied too.
        m.upgrade(&mut conn, target("002+1")).expect("002+1");
        assert_eq!(applied(&mut conn), ["001", "002", "003", "004"]);
        // From 001 the walk toward the head can go to 002 or 003.
        let error = m
            .upgrade(&mut conn, target("001+3"))
            .expect_err("ambiguous");
        assert!(
            matches!(error, Error::Plan(PlanError::AmbiguousWalk { .. })),
            "{error}"
        );
        assert!(error.to_string().contains("`002` or `003`"), "{error}");
        let error = m
            .upgrade(&mut conn, target("004+9"))
            .expect_err("beyond the head");
        assert!(
            matches!(error, Error::Plan(PlanError::BeyondHead { .. })),
            "{error}"
        );
    });
}

#[test]
fn cli_upgrade_relative_targets() {
    on_every_backend(|db| {
        let mut conn = db.connect();
        cli(db, &["upgrade", "+2"]).ok();
        assert_eq!(applied(&mut conn), ["001", "002"]);
        assert_eq!(
            sorted_tables(&mut conn),
            [
                "base_t",
                "left_t",
                "migrator_version",
                "migrator_version_audit",
            ]
        );
        cli(db, &["upgrade", "+1"]).ok().stdout_has("001 -> 003");
        assert_eq!(applied(&mut conn), ["001", "002", "003"]);
        cli(db, &["upgrade", "+9"])
            .code(exit::USAGE)
            .stderr_has("only 3 revisions are pending");
        cli(db, &["upgrade", "003+1"]).ok();
        assert_eq!(applied(&mut conn), ["001", "002", "003", "004"]);
        cli(db, &["upgrade", "head-1"]).ok();
        assert_eq!(applied(&mut conn), ["001", "002", "003", "004", "005"]);
        cli(db, &["upgrade", "-1"])
            .code(exit::USAGE)
            .stderr_has("use `downgrade -1`");
        assert_eq!(applied(&mut conn), ["001", "002", "003", "004", "005"]);
    });
}

#[test]
fn library_partial_upgrade_of_one_branch_then_the_other() {
    on_every_backend(|db| {
        let m = migrator();
        let mut conn = db.connect();
        m.upgrade(&mut conn, target("002")).expect("upgrade 002");
        assert_eq!(applied(&mut conn), ["001", "002"]);
        assert_eq!(current(&mut conn), ["002"]);
        assert_eq!(
            sorted_tables(&mut conn),
            [
                "base_t",
                "left_t",
                "migrator_version",
                "migrator_version_audit",
            ]
        );

        let report = m.upgrade(&mut conn, target("003")).expect("upgrade 003");
        assert_eq!(report.steps.len(), 1);
        assert_eq!(report.steps[0].revision, "003");
        assert_eq!(applied(&mut conn), ["001", "002", "003"]);
        assert_eq!(current(&mut conn), ["002", "003"]);
        assert_eq!(
            sorted_tables(&mut conn),
            [
                "base_t",
                "left_t",
                "migrator_version",
                "migrator_version_audit",
                "right_t"
            ]
        );
        let pending: Vec<String> = m
            .pending(&mut conn)
            .expect("pending")
            .iter()
            .map(|r| r.id.to_string())
            .collect();
        assert_eq!(pending, ["004", "005", "006"]);

        // 002 is applied and nothing after it is: upgrading to it is a no-op.
        assert!(
            m.upgrade(&mut conn, target("002"))
                .expect("no-op")
                .steps
                .is_empty()
        );

        m.upgrade(&mut conn, Target::Head).expect("upgrade head");
        assert_at_head(&mut conn);
        // Past 002: nothing to do, as in Alembic ("at least 002").
        let report = m.upgrade(&mut conn, target("002")).expect("at or past 002");
        assert!(report.steps.is_empty());
        assert_at_head(&mut conn);
    });
}

#[test]
fn cli_partial_upgrade_of_one_branch_then_the_other() {
    on_every_backend(|db| {
        let mut conn = db.connect();
        cli(db, &["upgrade", "002"]).ok();
        assert_eq!(cli(db, &["current"]).ok().lines(), ["002"]);
        assert_eq!(applied(&mut conn), ["001", "002"]);

        cli(db, &["upgrade", "003"]).ok().stdout_has("001 -> 003");
        assert_eq!(cli(db, &["current"]).ok().lines(), ["002", "003"]);
        assert_eq!(applied(&mut conn), ["001", "002", "003"]);
        assert_eq!(
            sorted_tables(&mut conn),
            [
                "base_t",
                "left_t",
                "migrator_version",
                "migrator_version_audit",
                "right_t"
            ]
        );

        cli(db, &["upgrade"]).ok();
        assert_at_head(&mut conn);
        // At or past 002: exit 0, nothing changes (Alembic's "at least").
        cli(db, &["upgrade", "002"])
            .ok()
            .stdout_has("Nothing to do: the database is at or past 002");
        assert_at_head(&mut conn);
    });
}

#[test]
fn cli_quiet_prints_nothing_but_does_the_work() {
    on_every_backend(|db| {
        let out = cli(db, &["-q", "upgrade", "head"]);
        out.ok();
        assert_eq!(out.stdout, "", "{out:#?}");
        assert_at_head(&mut db.connect());
    });
}

// ---------------------------------------------------------------------------
// downgrade
// ---------------------------------------------------------------------------

#[test]
fn library_downgrade_minus_one_and_below_the_merge() {
    on_every_backend(|db| {
        let m = migrator();
        let mut conn = db.connect();
        m.upgrade(&mut conn, Target::Head).expect("upgrade");
        let report = m.downgrade(&mut conn, target("-1")).expect("-1");
        assert_eq!(report.steps.len(), 1);
        assert_eq!(report.steps[0].revision, "006");
        assert_eq!(applied(&mut conn), ["001", "002", "003", "004", "005"]);
        assert_eq!(index_count(&mut conn), 0);
        assert_eq!(count(&mut conn, "SELECT COUNT(*) AS n FROM base_t"), 1);

        m.downgrade(&mut conn, target("-1")).expect("-1 (005)");
        assert_eq!(current(&mut conn), ["004"]);
        assert_eq!(count(&mut conn, "SELECT COUNT(*) AS n FROM base_t"), 0);

        // Below the merge: both branch tips remain.
        m.downgrade(&mut conn, target("-1")).expect("-1 (004)");
        assert_eq!(applied(&mut conn), ["001", "002", "003"]);
        assert_eq!(current(&mut conn), ["002", "003"]);
        assert_eq!(
            sorted_tables(&mut conn),
            [
                "base_t",
                "left_t",
                "migrator_version",
                "migrator_version_audit",
                "right_t"
            ]
        );

        // -1 again takes the most recently applied: 003.
        m.downgrade(&mut conn, target("-1")).expect("-1 (003)");
        assert_eq!(current(&mut conn), ["002"]);
        assert_eq!(
            sorted_tables(&mut conn),
            [
                "base_t",
                "left_t",
                "migrator_version",
                "migrator_version_audit",
            ]
        );

        let error = m.downgrade(&mut conn, target("-5")).expect_err("-5");
        assert!(
            matches!(
                error,
                Error::Plan(PlanError::TooFewApplied {
                    requested: 5,
                    applied: 2
                })
            ),
            "{error}"
        );
        let error = m.downgrade(&mut conn, target("+1")).expect_err("+1");
        assert!(
            matches!(error, Error::Plan(PlanError::NotBackwards { .. })),
            "{error}"
        );
        assert_eq!(applied(&mut conn), ["001", "002"]);
    });
}

#[test]
fn cli_downgrade_minus_one_and_below_the_merge() {
    on_every_backend(|db| {
        let mut conn = db.connect();
        cli(db, &["upgrade", "head"]).ok();
        cli(db, &["downgrade", "-1"])
            .ok()
            .stdout_has("Running downgrade 006 -> 005");
        assert_eq!(applied(&mut conn), ["001", "002", "003", "004", "005"]);
        assert_eq!(index_count(&mut conn), 0);

        cli(db, &["downgrade", "004"]).ok().stdout_has("005 -> 004");
        assert_eq!(count(&mut conn, "SELECT COUNT(*) AS n FROM base_t"), 0);
        cli(db, &["downgrade", "-1"])
            .ok()
            .stdout_has("Running downgrade 004 -> 002, 003");
        assert_eq!(cli(db, &["current"]).ok().lines(), ["002", "003"]);
        assert_eq!(applied(&mut conn), ["001", "002", "003"]);

        cli(db, &["downgrade", "+1"])
            .code(exit::USAGE)
            .stderr_has("use `upgrade +1`");
        cli(db, &["downgrade", "-9"])
            .code(exit::USAGE)
            .stderr_has("only 3 revisions are applied");
        assert_eq!(applied(&mut conn), ["001", "002", "003"]);
    });
}

#[test]
fn library_downgrade_to_a_branch_tip_keeps_the_other_branch() {
    on_every_backend(|db| {
        let m = migrator();
        let mut conn = db.connect();
        m.upgrade(&mut conn, Target::Head).expect("upgrade");
        let report = m
            .downgrade(&mut conn, target("002"))
            .expect("downgrade 002");
        let ran: Vec<&str> = report.steps.iter().map(|s| s.revision.as_str()).collect();
        assert_eq!(ran, ["006", "005", "004"]);
        // Only 002's strict descendants are unapplied: 003 stays.
        assert_eq!(applied(&mut conn), ["001", "002", "003"]);
        assert_eq!(current(&mut conn), ["002", "003"]);
        assert_eq!(
            sorted_tables(&mut conn),
            [
                "base_t",
                "left_t",
                "migrator_version",
                "migrator_version_audit",
                "right_t"
            ]
        );
        assert_eq!(index_count(&mut conn), 0);
        assert_eq!(count(&mut conn, "SELECT COUNT(*) AS n FROM base_t"), 0);

        // 004 is no longer applied: downgrading to it is refused.
        let error = m
            .downgrade(&mut conn, target("004"))
            .expect_err("not applied");
        assert!(
            matches!(error, Error::Plan(PlanError::NotApplied { .. })),
            "{error}"
        );
    });
}

#[test]
fn cli_downgrade_to_a_branch_tip_keeps_the_other_branch() {
    on_every_backend(|db| {
        let mut conn = db.connect();
        cli(db, &["upgrade", "head"]).ok();
        let out = cli(db, &["downgrade", "003"]);
        out.ok();
        let ran: Vec<&str> = out
            .lines()
            .into_iter()
            .filter(|l| l.starts_with("Running downgrade"))
            .collect();
        assert_eq!(ran.len(), 3, "{out:#?}");
        assert!(
            ran[0].starts_with("Running downgrade 006 -> 005"),
            "{out:#?}"
        );
        assert!(
            ran[2].starts_with("Running downgrade 004 -> 002, 003"),
            "{out:#?}"
        );
        assert_eq!(applied(&mut conn), ["001", "002", "003"]);
        assert_eq!(cli(db, &["current"]).ok().lines(), ["002", "003"]);

        cli(db, &["downgrade", "005"])
            .code(exit::USAGE)
            .stderr_has("revision `005` is not applied");
        assert_eq!(applied(&mut conn), ["001", "002", "003"]);
    });
}

#[test]
fn library_downgrade_base_and_head_minus_n() {
    on_every_backend(|db| {
        let m = migrator();
        let mut conn = db.connect();
        m.upgrade(&mut conn, Target::Head).expect("upgrade");
        // head-2 is 004.
        m.downgrade(&mut conn, target("head-2")).expect("head-2");
        assert_eq!(applied(&mut conn), ["001", "002", "003", "004"]);
        assert_eq!(current(&mut conn), ["004"]);

        let report = m.downgrade(&mut conn, Target::Base).expect("base");
        let ran: Vec<&str> = report.steps.iter().map(|s| s.revision.as_str()).collect();
        assert_eq!(ran, ["004", "003", "002", "001"]);
        assert_eq!(sorted_tables(&mut conn), BOOKKEEPING);
        assert!(applied(&mut conn).is_empty());
        assert!(current(&mut conn).is_empty());
        assert!(
            m.downgrade(&mut conn, Target::Base)
                .expect("again")
                .steps
                .is_empty()
        );

        let error = m
            .downgrade(&mut conn, target("002-3"))
            .expect_err("before base");
        assert!(
            matches!(error, Error::Plan(PlanError::BeforeBase { .. })),
            "{error}"
        );
        // head-3 meets the merge 004 before its last step.
        let error = m
            .downgrade(&mut conn, target("head-3"))
            .expect_err("ambiguous");
        assert!(
            matches!(error, Error::Plan(PlanError::AmbiguousWalk { .. })),
            "{error}"
        );
    });
}

#[test]
fn cli_downgrade_base_and_head_minus_n() {
    on_every_backend(|db| {
        let mut conn = db.connect();
        cli(db, &["upgrade", "head"]).ok();
        cli(db, &["downgrade", "head-2"]).ok();
        assert_eq!(applied(&mut conn), ["001", "002", "003", "004"]);
        cli(db, &["downgrade", "base"])
            .ok()
            .stdout_has("Running downgrade 001 -> <base>");
        assert_eq!(sorted_tables(&mut conn), BOOKKEEPING);
        assert!(applied(&mut conn).is_empty());
        assert_eq!(
            cli(db, &["current"]).ok().lines(),
            ["base (no revision applied)"]
        );
        cli(db, &["downgrade", "base"])
            .ok()
            .stdout_has("Nothing to do: the database is already at base");
        // downgrade needs a target.
        cli(db, &["downgrade"]).code(exit::USAGE);
    });
}

// ---------------------------------------------------------------------------
// current, history, heads, show
// ---------------------------------------------------------------------------

#[test]
fn library_current() {
    on_every_backend(|db| {
        let m = migrator();
        let mut conn = db.connect();
        assert!(current(&mut conn).is_empty());
        // Reading the state creates nothing.
        assert!(sorted_tables(&mut conn).is_empty());
        m.upgrade(&mut conn, target("005")).expect("upgrade");
        assert_eq!(current(&mut conn), ["005"]);
        let state = m.state(&mut conn).expect("state");
        let seqs: Vec<i64> = state.applied.iter().map(|a| a.seq).collect();
        assert_eq!(seqs, [1, 2, 3, 4, 5]);
        for (row, id) in state.applied.iter().zip(ALL) {
            let revision = branchy::MIGRATIONS
                .graph()
                .revision(branchy::MIGRATIONS.graph().index_of(id).expect("known"));
            assert_eq!(row.checksum, revision.checksum);
        }
        // 005 sleeps 200 ms: its recorded time says so.
        assert!(
            state.applied[4].execution_ms >= 200,
            "{:?}",
            state.applied[4]
        );

        let (status, out) = execute(db, cli::Command::Current { verbose: true });
        assert_eq!(status.expect("current -v"), exit::OK);
        assert!(out.starts_with("005\n"), "{out}");
        assert!(out.contains("file: 005_sleepy.rs"), "{out}");
        assert!(out.contains("applied: "), "{out}");
    });
}

#[test]
fn cli_current_plain_and_verbose() {
    on_every_backend(|db| {
        assert_eq!(
            cli(db, &["current"]).ok().lines(),
            ["base (no revision applied)"]
        );
        // `current` creates nothing.
        assert!(sorted_tables(&mut db.connect()).is_empty());

        cli(db, &["upgrade"]).ok();
        assert_eq!(cli(db, &["current"]).ok().lines(), ["006 (head)"]);
        let out = cli(db, &["current", "--verbose"]);
        out.ok()
            .stdout_has("006 (head)\n    Index left_t outside a transaction\n")
            .stdout_has("    file: 006_index.sql\n")
            .stdout_has("    applied: ");
        assert!(out.stdout.contains(" UTC ("), "{out:#?}");
        assert_eq!(cli(db, &["current", "-v"]).ok().lines().len(), 4);
        assert_eq!(applied(&mut db.connect()), ALL);
    });
}

#[test]
fn library_history() {
    on_every_backend(|db| {
        let mut conn = db.connect();
        migrator()
            .upgrade(&mut conn, target("004"))
            .expect("upgrade");
        let order: Vec<&str> = branchy::MIGRATIONS
            .graph()
            .order()
            .iter()
            .map(|&i| branchy::MIGRATIONS.graph().revision(i).id.as_ref())
            .collect();
        assert_eq!(order, ALL);

        let (status, out) = execute(
            db,
            cli::Command::History {
                verbose: false,
                rev_range: Some("002:004".to_owned()),
                graph: false,
                format: cli::HistoryFormat::Text,
            },
        );
        assert_eq!(status.expect("history"), exit::OK);
        assert_eq!(
            out.lines().collect::<Vec<_>>(),
            [
                "002, 003 -> 004 (mergepoint, applied), Merge left and right",
                "001 -> 003 (applied), Right branch",
                "001 -> 002 (applied), Left branch",
            ]
        );
        assert_eq!(applied(&mut conn), ["001", "002", "003", "004"]);
    });
}

#[test]
fn cli_history_plain_verbose_and_range() {
    on_every_backend(|db| {
        cli(db, &["upgrade", "002"]).ok();
        assert_eq!(
            cli(db, &["history"]).ok().lines(),
            [
                "005 -> 006 (head), Index left_t outside a transaction",
                "004 -> 005, A slow data migration",
                "002, 003 -> 004 (mergepoint), Merge left and right",
                "001 -> 003, Right branch",
                "001 -> 002 (applied), Left branch",
                "<base> -> 001 (branchpoint, applied), Create base_t",
            ]
        );
        cli(db, &["history", "--verbose"])
            .ok()
            .stdout_has("004 -> 005, A slow data migration\n    file: 005_sleepy.rs\n")
            .stdout_has("    file: 006_index.sql");
        assert_eq!(
            cli(db, &["history", "-r", "002:004"]).ok().lines(),
            [
                "002, 003 -> 004 (mergepoint), Merge left and right",
                "001 -> 003, Right branch",
                "001 -> 002 (applied), Left branch",
            ]
        );
        assert_eq!(
            cli(db, &["history", "-r", "005:head"]).ok().lines().len(),
            2
        );
        cli(db, &["history", "-r", "nonsense"]).code(exit::USAGE);
        cli(db, &["history", "-r", "00:004"])
            .code(exit::USAGE)
            .stderr_has("ambiguous");
        assert_eq!(applied(&mut db.connect()), ["001", "002"]);
    });
}

#[test]
fn library_heads_and_show() {
    on_every_backend(|db| {
        let graph = migrator().graph();
        let head = graph.head().expect("a head");
        assert_eq!(graph.revision(head).id.as_ref(), "006");
        let merge = graph.resolve("004").expect("004");
        let parents: Vec<&str> = graph
            .parents(merge)
            .iter()
            .map(|&i| graph.revision(i).id.as_ref())
            .collect();
        assert_eq!(parents, ["002", "003"]);
        assert!(!graph.revision(head).transactional);

        let (status, out) = execute(db, cli::Command::Heads);
        assert_eq!(status.expect("heads"), exit::OK);
        assert_eq!(out, "006 (head)\n");
        let (status, out) = execute(
            db,
            cli::Command::Show {
                revision: "004".to_owned(),
            },
        );
        assert_eq!(status.expect("show"), exit::OK);
        assert!(
            out.contains("Revises: 002, 003\nRevised by: 005\n"),
            "{out}"
        );
        // Neither touches the database.
        assert!(sorted_tables(&mut db.connect()).is_empty());
    });
}

#[test]
fn cli_heads() {
    on_every_backend(|db| {
        assert_eq!(cli(db, &["heads"]).ok().lines(), ["006 (head)"]);
        assert!(sorted_tables(&mut db.connect()).is_empty());
    });
}

#[test]
fn cli_show_an_id_head_and_a_rust_revision() {
    on_every_backend(|db| {
        cli(db, &["show", "004"])
            .ok()
            .stdout_has("Revision ID: 004\n")
            .stdout_has("Revises: 002, 003\n")
            .stdout_has("Revised by: 005\n")
            .stdout_has("Message: Merge left and right\n")
            .stdout_has("File: 004_merge.sql\n")
            .stdout_has("Transaction: true\n")
            .stdout_has("-- migrate:noop");
        cli(db, &["show", "head"])
            .ok()
            .stdout_has("Revision ID: 006\n")
            .stdout_has("Transaction: false\n")
            .stdout_has("Timeout: 30s")
            .stdout_has("-- migrate:upgrade postgres\nCREATE INDEX CONCURRENTLY left_t_id")
            .stdout_has("-- migrate:upgrade sqlite\nCREATE INDEX left_t_id");
        cli(db, &["show", "005"])
            .ok()
            .stdout_has("Revision ID: 005\n")
            .stdout_has("File: 005_sleepy.rs\n")
            .stdout_has("Message: A slow data migration\n")
            .stdout_has("(Rust revision: pub fn upgrade / pub fn downgrade)");
        cli(db, &["show", "base"])
            .ok()
            .stdout_has("Revision ID: 001\n");
        cli(db, &["show", "00"])
            .code(exit::USAGE)
            .stderr_has("`00` is ambiguous");
        cli(db, &["show", "777"]).code(exit::USAGE);
        assert!(sorted_tables(&mut db.connect()).is_empty());
    });
}

// ---------------------------------------------------------------------------
// check, verify
// ---------------------------------------------------------------------------

#[test]
fn library_check_and_verify() {
    on_every_backend(|db| {
        let m = migrator();
        let mut conn = db.connect();
        m.upgrade(&mut conn, target("004")).expect("upgrade");
        let (status, out) = execute(db, cli::Command::Check);
        assert_eq!(status.expect("check"), exit::PENDING);
        assert_eq!(
            out,
            "2 revision(s) pending:\n  005, A slow data migration\n  006, Index left_t outside a transaction\n"
        );
        assert!(m.verify(&mut conn).expect("verify").is_empty());

        m.upgrade(&mut conn, Target::Head).expect("upgrade");
        assert!(m.pending(&mut conn).expect("pending").is_empty());
        let (status, _) = execute(db, cli::Command::Check);
        assert_eq!(status.expect("check"), exit::OK);

        tamper(&mut conn, "002");
        let problems = m.verify(&mut conn).expect("verify");
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            matches!(&problems[0], Problem::Edited { revision, recorded, .. } if revision == "002" && recorded == "abc123"),
            "{problems:?}"
        );
        let (status, out) = execute(db, cli::Command::Verify);
        assert_eq!(status.expect("verify"), exit::MISMATCH);
        assert!(out.contains("002 (002_left.sql) was edited"), "{out}");

        // A run stops with its own error, exit 6, and changes nothing.
        let error = m.downgrade(&mut conn, Target::Base).expect_err("edited");
        assert!(matches!(error, Error::ChecksumMismatch { .. }), "{error}");
        assert_eq!(exit_code(&error), exit::MISMATCH);
        assert_at_head(&mut conn);

        // ignore_checksums lets it run.
        let lenient = Migrator::with_options(
            &branchy::MIGRATIONS,
            migrator_tests::options(|o| {
                o.ignore_checksums = true;
            }),
        );
        lenient
            .downgrade(&mut conn, target("-1"))
            .expect("ignore checksums");
        assert_eq!(applied(&mut conn), ["001", "002", "003", "004", "005"]);

        insert_unknown(&mut conn);
        let problems = m.verify(&mut conn).expect("verify");
        assert!(
            problems
                .iter()
                .any(|p| matches!(p, Problem::Unknown { revision } if revision == "007")),
            "{problems:?}"
        );
        let error = m.upgrade(&mut conn, Target::Head).expect_err("unknown");
        assert!(matches!(error, Error::UnknownApplied { .. }), "{error}");
        assert_eq!(exit_code(&error), exit::MISMATCH);
        assert_eq!(index_count(&mut conn), 0);
    });
}

#[test]
fn cli_check() {
    on_every_backend(|db| {
        let out = cli(db, &["check"]);
        out.code(exit::PENDING)
            .stdout_has("6 revision(s) pending:\n  001, Create base_t\n");
        assert_eq!(out.lines().len(), 7, "{out:#?}");
        // check creates nothing.
        assert!(sorted_tables(&mut db.connect()).is_empty());

        cli(db, &["upgrade", "003"]).ok();
        cli(db, &["check"]).code(exit::PENDING).stdout_has(
            "4 revision(s) pending:\n  002, Left branch\n  004, Merge left and right\n",
        );
        cli(db, &["upgrade"]).ok();
        cli(db, &["check"])
            .ok()
            .stdout_has("Up to date: the database is at 006 (head)");
        // Applied in the order asked: 001, 003 first, then the rest in order.
        assert_eq!(
            applied(&mut db.connect()),
            ["001", "003", "002", "004", "005", "006"]
        );
    });
}

#[test]
fn cli_verify() {
    on_every_backend(|db| {
        let mut conn = db.connect();
        cli(db, &["verify"])
            .ok()
            .stdout_has("OK: 0 applied revision(s) match this build");
        cli(db, &["upgrade"]).ok();
        cli(db, &["verify"])
            .ok()
            .stdout_has("OK: 6 applied revision(s) match this build");

        tamper(&mut conn, "003");
        cli(db, &["verify"]).code(exit::MISMATCH).stdout_has(
            "003 (003_right.sql) was edited after it was applied: recorded checksum abc123",
        );
        // An edited revision stops upgrade and downgrade: exit 6.
        cli(db, &["downgrade", "base"])
            .code(exit::MISMATCH)
            .stderr_has("revision 003 (003_right.sql) was edited after it was applied");
        cli(db, &["upgrade"]).code(exit::MISMATCH);
        assert_at_head(&mut conn);
        // --ignore-checksums runs anyway.
        cli(db, &["downgrade", "-1", "--ignore-checksums"]).ok();
        assert_eq!(applied(&mut conn), ["001", "002", "003", "004", "005"]);

        // An unknown revision.
        let other = fresh_like(db);
        let mut other_conn = other.connect();
        cli(&other, &["upgrade", "004"]).ok();
        insert_unknown(&mut other_conn);
        cli(&other, &["verify"])
            .code(exit::MISMATCH)
            .stdout_has("007 is applied but not part of this build");
        cli(&other, &["upgrade"])
            .code(exit::MISMATCH)
            .stderr_has("revision(s) 007 applied, which this build does not know");
        assert_eq!(
            applied(&mut other_conn),
            ["001", "002", "003", "004", "007"]
        );
        assert_eq!(
            count(&mut other_conn, "SELECT COUNT(*) AS n FROM base_t"),
            0
        );
    });
}

// ---------------------------------------------------------------------------
// stamp
// ---------------------------------------------------------------------------

#[test]
fn library_stamp_head_base_and_re_record() {
    on_every_backend(|db| {
        let m = migrator();
        let mut conn = db.connect();
        let report = m.stamp(&mut conn, Target::Head).expect("stamp head");
        assert_eq!(report.steps.len(), 6);
        assert_eq!(applied(&mut conn), ALL);
        // Nothing ran: only the bookkeeping tables exist.
        assert_eq!(sorted_tables(&mut conn), BOOKKEEPING);
        assert_eq!(audit(&m, &mut conn), entries(&ALL, "stamp", "success"));
        assert!(m.verify(&mut conn).expect("verify").is_empty());

        m.stamp(&mut conn, target("002")).expect("stamp 002");
        assert_eq!(applied(&mut conn), ["001", "002"]);
        m.stamp(&mut conn, Target::Base).expect("stamp base");
        assert!(applied(&mut conn).is_empty());
        assert_eq!(sorted_tables(&mut conn), BOOKKEEPING);
        let log = audit(&m, &mut conn);
        assert_eq!(log.len(), 6 + 4 + 2, "{log:?}");
        assert!(
            log.iter().all(|(_, action, _)| action == "stamp"),
            "{log:?}"
        );

        let error = m.stamp(&mut conn, target("+1")).expect_err("relative");
        assert!(
            matches!(error, Error::Plan(PlanError::RelativeStamp { .. })),
            "{error}"
        );

        // Re-recording an edited checksum.
        m.upgrade(&mut conn, Target::Head).expect("upgrade");
        tamper(&mut conn, "001");
        assert_eq!(m.verify(&mut conn).expect("verify").len(), 1);
        m.stamp(&mut conn, Target::Head).expect("stamp head again");
        assert!(m.verify(&mut conn).expect("verify").is_empty());
        assert_at_head(&mut conn);

        // An unknown row stops a stamp; a purging stamp removes it.
        insert_unknown(&mut conn);
        let error = m
            .stamp(&mut conn, Target::Head)
            .expect_err("007 is unknown");
        assert!(matches!(error, Error::UnknownApplied { .. }), "{error}");
        m.stamp_purge(&mut conn, Target::Head)
            .expect("stamp --purge removes 007");
        assert_eq!(applied(&mut conn), ALL);
    });
}

#[test]
fn cli_stamp_head_base_and_re_record() {
    on_every_backend(|db| {
        let m = migrator();
        let mut conn = db.connect();
        let out = cli(db, &["stamp", "head"]);
        out.ok()
            .stdout_has("Stamped upgrade <base> -> 001, Create base_t");
        assert_eq!(out.lines().len(), 6, "{out:#?}");
        assert_eq!(applied(&mut conn), ALL);
        assert_eq!(sorted_tables(&mut conn), BOOKKEEPING);
        assert_eq!(audit(&m, &mut conn), entries(&ALL, "stamp", "success"));
        cli(db, &["current"]).ok().stdout_has("006 (head)");

        cli(db, &["stamp", "base"])
            .ok()
            .stdout_has("Stamped downgrade 001 -> <base>");
        assert!(applied(&mut conn).is_empty());
        assert_eq!(sorted_tables(&mut conn), BOOKKEEPING);
        assert_eq!(audit(&m, &mut conn).len(), 12);

        cli(db, &["stamp", "-1"]).code(exit::USAGE);
        cli(db, &["stamp", "00"])
            .code(exit::USAGE)
            .stderr_has("ambiguous");

        cli(db, &["upgrade"]).ok();
        tamper(&mut conn, "004");
        cli(db, &["verify"]).code(exit::MISMATCH);
        cli(db, &["stamp", "head"]).ok();
        cli(db, &["verify"]).ok();
        assert!(m.verify(&mut conn).expect("verify").is_empty());
        assert_at_head(&mut conn);
    });
}

#[test]
fn cli_stamp_that_re_records_a_checksum_says_so() {
    on_every_backend(|db| {
        let mut conn = db.connect();
        cli(db, &["upgrade"]).ok();
        tamper(&mut conn, "002");
        let entries_before = audit(&migrator(), &mut conn).len();
        let out = cli(db, &["stamp", "head"]);
        out.ok();
        assert!(!out.stdout.contains("Nothing to do"), "{out:#?}");
        out.stdout_has("002");
        cli(db, &["verify"]).ok();
        let log = audit(&migrator(), &mut conn);
        assert_eq!(log.len(), entries_before + 1, "{log:?}");
        assert_eq!(log.last().expect("an entry").1, "stamp");
    });
}

// ---------------------------------------------------------------------------
// --sql
// ---------------------------------------------------------------------------

#[test]
fn library_upgrade_sql_is_runnable_as_is() {
    on_every_backend(|db| {
        let m = migrator();
        let script = m
            .upgrade_sql(kind(db), &Target::Base, target("004"))
            .expect("render");
        assert!(
            script.starts_with("-- migrator: 4 revision(s) for "),
            "{script}"
        );
        assert!(script.contains("CREATE TABLE base_t"), "{script}");
        assert!(script.contains("CREATE TABLE right_t"), "{script}");
        // Rendering touched no database.
        let mut conn = db.connect();
        assert!(sorted_tables(&mut conn).is_empty());

        conn.batch_execute(&script).expect("the script runs as is");
        assert_eq!(sorted_tables(&mut conn), AT_HEAD);
        assert_eq!(applied(&mut conn), ["001", "002", "003", "004"]);
        assert!(m.verify(&mut conn).expect("verify").is_empty());
        assert_eq!(
            audit(&m, &mut conn),
            ran(db, &m, &["001", "002", "003", "004"], "upgrade")
        );
        // The live migrator takes over where the script stopped.
        m.upgrade(&mut conn, Target::Head)
            .expect("upgrade the rest");
        assert_at_head(&mut conn);

        // A downgrade script from 004 back to base, run on this database
        // after going back to 004.
        m.downgrade(&mut conn, target("004")).expect("back to 004");
        let down = m
            .downgrade_sql(kind(db), target("004"), &Target::Base)
            .expect("render the downgrade");
        conn.batch_execute(&down)
            .expect("the downgrade script runs");
        assert_eq!(sorted_tables(&mut conn), BOOKKEEPING);
        assert!(applied(&mut conn).is_empty());

        // A Rust revision in the range: a clear error.
        let error = m
            .upgrade_sql(kind(db), &Target::Base, &Target::Head)
            .expect_err("005 is Rust");
        let message = error.to_string();
        assert!(
            message.contains("revision 005 (005_sleepy.rs) is a Rust revision"),
            "{message}"
        );
        assert!(message.contains("cannot be rendered as SQL"), "{message}");
        let error = m
            .downgrade_sql(kind(db), &Target::Head, &Target::Base)
            .expect_err("005 is Rust");
        assert!(error.to_string().contains("005_sleepy.rs"), "{error}");
    });
}

/// Guards where `--sql` puts the `;` it adds after a section: 001 of
/// `trailing_comment` ends with a statement without `;` and then a comment
/// line (002, a comment on the statement's own line). Appended to the
/// comment, the `;` would be commented out and the revision's statement
/// glued to the version-table row after it; the script must run as is.
#[test]
fn library_upgrade_sql_after_a_trailing_comment_is_runnable_as_is() {
    on_every_backend(|db| {
        let m = Migrator::new(&trailing_comment::MIGRATIONS);
        let script = m
            .upgrade_sql(kind(db), &Target::Base, &Target::Head)
            .expect("render");
        assert!(
            script.contains("-- the last line of the section is this comment"),
            "{script}"
        );
        let mut conn = db.connect();
        conn.batch_execute(&script)
            .unwrap_or_else(|e| panic!("the script must run as is: {e}\n{script}"));
        assert_eq!(
            sorted_tables(&mut conn),
            [
                "gadgets",
                "migrator_version",
                "migrator_version_audit",
                "widgets"
            ]
        );
        assert_eq!(applied_with(&m, &mut conn), ["001", "002"]);
        assert!(m.verify(&mut conn).expect("verify").is_empty());
        assert_eq!(
            audit(&m, &mut conn),
            ran(db, &m, &["001", "002"], "upgrade")
        );
    });
}

#[test]
fn cli_upgrade_sql_prints_a_script_and_touches_nothing() {
    on_every_backend(|db| {
        let out = cli(db, &["upgrade", "004", "--sql"]);
        out.ok()
            .stdout_has("-- migrator: 4 revision(s)")
            .stdout_has("BEGIN;")
            .stdout_has("COMMIT;")
            .stdout_has("CREATE TABLE left_t");
        // Nothing happened to the database.
        let mut conn = db.connect();
        assert!(sorted_tables(&mut conn).is_empty());
        assert!(applied(&mut conn).is_empty());

        // Piped into a fresh database, it runs as is.
        let fresh = fresh_like(db);
        let mut fresh_conn = fresh.connect();
        fresh_conn
            .batch_execute(&out.stdout)
            .expect("run the script");
        assert_eq!(sorted_tables(&mut fresh_conn), AT_HEAD);
        assert_eq!(applied(&mut fresh_conn), ["001", "002", "003", "004"]);
        assert_eq!(cli(&fresh, &["current"]).ok().lines(), ["004"]);
        cli(&fresh, &["verify"]).ok();

        // --from: the rest of a partial upgrade.
        let partial = fresh_like(db);
        let mut partial_conn = partial.connect();
        cli(&partial, &["upgrade", "002"]).ok();
        let rest = cli(db, &["upgrade", "004", "--sql", "--from", "002"]);
        rest.ok().stdout_has("-- migrator: 2 revision(s)");
        assert!(!rest.stdout.contains("CREATE TABLE left_t"), "{rest:#?}");
        partial_conn
            .batch_execute(&rest.stdout)
            .expect("run the rest");
        assert_eq!(applied(&mut partial_conn), ["001", "002", "003", "004"]);
        assert_eq!(sorted_tables(&mut partial_conn), AT_HEAD);

        // A Rust revision in the range: a clear error, no script.
        let rust = cli(db, &["upgrade", "--sql"]);
        assert_ne!(rust.code, 0, "{rust:#?}");
        rust.stderr_has(
            "revision 005 (005_sleepy.rs) is a Rust revision: it cannot be rendered as SQL",
        );
        assert!(!rust.stdout.contains("CREATE TABLE"), "{rust:#?}");

        // --single-transaction: one BEGIN and one COMMIT for the revisions,
        // runnable as is; on MySQL, whose DDL commits on its own, refused.
        let single = cli(db, &["upgrade", "004", "--sql", "--single-transaction"]);
        if db.kind() == Kind::Mysql {
            single
                .code(exit::USAGE)
                .stderr_has("a single transaction cannot hold a run on mysql");
            assert!(single.stdout.is_empty(), "{single:#?}");
        } else {
            single.ok();
            assert_eq!(single.stdout.matches("BEGIN;").count(), 1, "{single:#?}");
            assert_eq!(single.stdout.matches("COMMIT;").count(), 1, "{single:#?}");
            let one = fresh_like(db);
            let mut one_conn = one.connect();
            one_conn
                .batch_execute(&single.stdout)
                .expect("run the single script");
            assert_eq!(applied(&mut one_conn), ["001", "002", "003", "004"]);
            assert_eq!(sorted_tables(&mut one_conn), AT_HEAD);
        }

        // --from without --sql is a usage error.
        cli(db, &["upgrade", "--from", "002"]).code(exit::USAGE);
        assert!(sorted_tables(&mut conn).is_empty());
    });
}

#[test]
fn cli_downgrade_sql_prints_a_script_and_touches_nothing() {
    on_every_backend(|db| {
        let mut conn = db.connect();
        cli(db, &["upgrade", "004"]).ok();
        let out = cli(db, &["downgrade", "base", "--sql", "--from", "004"]);
        out.ok()
            .stdout_has("-- migrator: 4 revision(s)")
            .stdout_has("DROP TABLE right_t");
        // The database is untouched by rendering...
        assert_eq!(applied(&mut conn), ["001", "002", "003", "004"]);
        assert_eq!(sorted_tables(&mut conn), AT_HEAD);
        // ...and the script brings it to base.
        conn.batch_execute(&out.stdout)
            .expect("run the downgrade script");
        assert_eq!(sorted_tables(&mut conn), BOOKKEEPING);
        assert!(applied(&mut conn).is_empty());

        // From head (the default), the Rust revision 005 is in the way.
        cli(db, &["downgrade", "base", "--sql"])
            .stderr_has("revision 005 (005_sleepy.rs) is a Rust revision");
        // Only 006: fine, and non-transactional: one transaction that
        // writes its dirty marker, its SQL outside any transaction, then one
        // transaction that checks again and replaces the marker.
        let only = cli(db, &["downgrade", "005", "--sql"]);
        only.ok()
            .stdout_has("-- migrator: 1 revision(s)")
            .stdout_has("DROP INDEX");
        assert_eq!(only.stdout.matches("BEGIN;").count(), 2, "{only:#?}");
        let drop_at = only.stdout.find("DROP INDEX").unwrap_or(usize::MAX);
        let mark_at = only.stdout.find("SET checksum = 'started:downgrade'");
        assert!(mark_at.is_some_and(|mark| mark < drop_at), "{only:#?}");
        assert!(
            only.stdout
                .rfind("BEGIN;")
                .is_some_and(|begin| begin > drop_at),
            "{only:#?}"
        );
        assert!(applied(&mut conn).is_empty());
    });
}

// ---------------------------------------------------------------------------
// --single-transaction
// ---------------------------------------------------------------------------

#[test]
fn library_single_transaction_is_all_or_nothing() {
    on_every_backend(|db| {
        let single = Migrator::with_options(
            &failing::MIGRATIONS,
            migrator_tests::options(|o| {
                o.single_transaction = true;
            }),
        );
        let mut conn = db.connect();
        if db.kind() == Kind::Mysql {
            // MySQL's DDL commits on its own: no transaction can hold the
            // run, which is refused before any revision runs.
            let error = single
                .upgrade(&mut conn, Target::Head)
                .expect_err("refused on MySQL");
            assert!(
                matches!(error, Error::SingleTransactionUnsupported { .. }),
                "{error}"
            );
            assert_eq!(exit_code(&error), exit::USAGE);
            assert!(
                error
                    .to_string()
                    .contains("run without a single transaction"),
                "{error}"
            );
            assert!(applied_with(&single, &mut conn).is_empty());
            assert!(single.audit_log(&mut conn).expect("audit").is_empty());
            assert!(!sorted_tables(&mut conn).contains(&"widgets".to_owned()));
            return;
        }
        let error = single
            .upgrade(&mut conn, Target::Head)
            .expect_err("002 fails");
        assert!(
            matches!(&error, Error::Revision { revision, .. } if revision == "002"),
            "{error}"
        );
        assert_eq!(exit_code(&error), exit::REVISION);
        // Not even 001 is applied.
        assert!(applied_with(&single, &mut conn).is_empty());
        assert_eq!(sorted_tables(&mut conn), BOOKKEEPING);
        let log = single.audit_log(&mut conn).expect("audit");
        assert_eq!(log.len(), 1, "{log:?}");
        assert_eq!(log[0].revision, "002");
        assert_eq!(log[0].outcome, "failure");
        assert!(log[0].detail.contains("no_such_table"), "{log:?}");

        // Without it, 001 stays.
        let per_revision = Migrator::new(&failing::MIGRATIONS);
        per_revision
            .upgrade(&mut conn, Target::Head)
            .expect_err("002 fails");
        assert_eq!(applied_with(&per_revision, &mut conn), ["001"]);

        // branchy: 006 is `Transaction: false`, refused up front.
        let other = fresh_like(db);
        let mut other_conn = other.connect();
        let branchy_single = Migrator::with_options(
            &branchy::MIGRATIONS,
            migrator_tests::options(|o| {
                o.single_transaction = true;
            }),
        );
        let error = branchy_single
            .upgrade(&mut other_conn, Target::Head)
            .expect_err("006 cannot run in a single transaction");
        assert!(
            matches!(error, Error::NotInSingleTransaction { .. }),
            "{error}"
        );
        assert!(error.to_string().contains("006_index.sql"), "{error}");
        assert!(applied(&mut other_conn).is_empty());
        assert!(!sorted_tables(&mut other_conn).contains(&"base_t".to_owned()));
        // Up to 005 it works, Rust revision included.
        branchy_single
            .upgrade(&mut other_conn, target("005"))
            .expect("single transaction up to 005");
        assert_eq!(
            applied(&mut other_conn),
            ["001", "002", "003", "004", "005"]
        );
    });
}

#[test]
fn cli_single_transaction_is_all_or_nothing() {
    on_every_backend(|db| {
        let mut conn = db.connect();
        if db.kind() == Kind::Mysql {
            // DDL commits on its own: refused before anything runs, either
            // way (see library_single_transaction_is_all_or_nothing).
            cli(db, &["upgrade", "004", "--single-transaction"])
                .code(exit::USAGE)
                .stderr_has("a single transaction cannot hold a run on mysql");
            assert!(applied(&mut conn).is_empty());
            assert!(!sorted_tables(&mut conn).contains(&"base_t".to_owned()));
            cli(db, &["upgrade", "004"]).ok();
            cli(db, &["downgrade", "base", "--single-transaction"])
                .code(exit::USAGE)
                .stderr_has("run without a single transaction");
            assert_eq!(applied(&mut conn), ["001", "002", "003", "004"]);
            assert_eq!(sorted_tables(&mut conn), AT_HEAD);
            return;
        }
        // Make 002 fail: left_t exists already.
        conn.batch_execute("CREATE TABLE left_t (id INTEGER NOT NULL PRIMARY KEY)")
            .expect("create left_t");
        cli(db, &["upgrade", "004", "--single-transaction"])
            .code(exit::REVISION)
            .stderr_has("upgrade of revision 002 (002_left.sql) failed");
        assert!(applied(&mut conn).is_empty());
        assert!(!sorted_tables(&mut conn).contains(&"base_t".to_owned()));
        let log = audit(&migrator(), &mut conn);
        assert_eq!(log, entries(&["002"], "upgrade", "failure"));

        // Without it: 001 committed, exit 4.
        cli(db, &["upgrade", "004"])
            .code(exit::REVISION)
            .stderr_has("002 (002_left.sql) failed");
        assert_eq!(applied(&mut conn), ["001"]);
        assert!(sorted_tables(&mut conn).contains(&"base_t".to_owned()));

        // 006 in the plan: refused before anything runs.
        let other = fresh_like(db);
        let mut other_conn = other.connect();
        cli(&other, &["upgrade", "--single-transaction"])
            .code(exit::USAGE)
            .stderr_has("revision 006 (006_index.sql) says `Transaction: false`");
        assert!(applied(&mut other_conn).is_empty());
        cli(&other, &["upgrade", "005", "--single-transaction"]).ok();
        assert_eq!(
            applied(&mut other_conn),
            ["001", "002", "003", "004", "005"]
        );
        cli(&other, &["upgrade", "--single-transaction"]).code(exit::USAGE);
        cli(&other, &["upgrade"]).ok();
        assert_at_head(&mut other_conn);
        cli(&other, &["downgrade", "base", "--single-transaction"])
            .code(exit::USAGE)
            .stderr_has("006");
        assert_at_head(&mut other_conn);
    });
}

// ---------------------------------------------------------------------------
// Table names and the configuration file
// ---------------------------------------------------------------------------

#[test]
fn library_custom_table_names() {
    on_every_backend(|db| {
        let m = Migrator::with_options(
            &branchy::MIGRATIONS,
            migrator_tests::options(|o| {
                o.version_table = "my_versions".to_owned();
                o.audit_table = Some("my_audit".to_owned());
            }),
        );
        let mut conn = db.connect();
        m.upgrade(&mut conn, target("004")).expect("upgrade");
        assert_eq!(
            sorted_tables(&mut conn),
            ["base_t", "left_t", "my_audit", "my_versions", "right_t"]
        );
        assert_eq!(applied_with(&m, &mut conn), ["001", "002", "003", "004"]);
        assert_eq!(
            audit(&m, &mut conn),
            ran(db, &m, &["001", "002", "003", "004"], "upgrade")
        );
        // The default tables know nothing.
        assert!(applied(&mut conn).is_empty());
    });
}

#[test]
fn cli_custom_table_names_and_config_file() {
    on_every_backend(|db| {
        let mut conn = db.connect();
        cli(
            db,
            &[
                "--version-table",
                "my_versions",
                "--audit-table",
                "my_audit",
                "upgrade",
                "002",
            ],
        )
        .ok();
        assert_eq!(
            sorted_tables(&mut conn),
            ["base_t", "left_t", "my_audit", "my_versions",]
        );
        let custom = Migrator::with_options(
            &branchy::MIGRATIONS,
            migrator_tests::options(|o| {
                o.version_table = "my_versions".to_owned();
                o.audit_table = Some("my_audit".to_owned());
            }),
        );
        assert_eq!(applied_with(&custom, &mut conn), ["001", "002"]);
        assert_eq!(
            audit(&custom, &mut conn),
            ran(db, &custom, &["001", "002"], "upgrade")
        );
        cli(db, &["current", "--version-table", "my_versions"])
            .ok()
            .stdout_has("002");

        // A migrator.toml in the working directory.
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("migrator.toml"),
            "version_table = \"cfg_versions\"\naudit_table = \"cfg_audit\"\n",
        )
        .expect("write migrator.toml");
        run(
            branchy_command(Some(db.url()), dir.path()),
            &["stamp", "001"],
        )
        .ok();
        let cfg = Migrator::with_options(
            &branchy::MIGRATIONS,
            migrator_tests::options(|o| {
                o.version_table = "cfg_versions".to_owned();
                o.audit_table = Some("cfg_audit".to_owned());
            }),
        );
        assert_eq!(applied_with(&cfg, &mut conn), ["001"]);
        assert!(sorted_tables(&mut conn).contains(&"cfg_audit".to_owned()));

        // The flag wins over the file.
        run(
            branchy_command(Some(db.url()), dir.path()),
            &["--version-table", "flag_versions", "stamp", "003"],
        )
        .ok();
        let flag = Migrator::with_options(
            &branchy::MIGRATIONS,
            migrator_tests::options(|o| {
                o.version_table = "flag_versions".to_owned();
                o.audit_table = Some("cfg_audit".to_owned());
            }),
        );
        assert_eq!(applied_with(&flag, &mut conn), ["001", "003"]);
        assert_eq!(applied_with(&cfg, &mut conn), ["001"]);

        // The environment wins over the file too.
        let mut command = branchy_command(Some(db.url()), dir.path());
        command.env("MIGRATOR_VERSION_TABLE", "env_versions");
        run(command, &["stamp", "002"]).ok();
        let env = Migrator::with_options(
            &branchy::MIGRATIONS,
            migrator_tests::options(|o| {
                o.version_table = "env_versions".to_owned();
            }),
        );
        assert_eq!(applied_with(&env, &mut conn), ["001", "002"]);

        // MIGRATOR_CONFIG names a file anywhere; it may give the URL too.
        let elsewhere = tempfile::tempdir().expect("tempdir");
        let config = elsewhere.path().join("custom.toml");
        std::fs::write(
            &config,
            format!(
                "database_url = \"{}\"\nversion_table = \"named_versions\"\n",
                db.url()
            ),
        )
        .expect("write custom.toml");
        let mut command = branchy_command(None, dir.path());
        command.env("MIGRATOR_CONFIG", &config);
        run(command, &["stamp", "head"]).ok();
        let named = Migrator::with_options(
            &branchy::MIGRATIONS,
            migrator_tests::options(|o| {
                o.version_table = "named_versions".to_owned();
            }),
        );
        assert_eq!(applied_with(&named, &mut conn), ALL);
        // The file in the working directory was not read: its version table is unchanged.
        assert_eq!(applied_with(&cfg, &mut conn), ["001"]);

        // A broken configuration file: exit 2.
        std::fs::write(dir.path().join("migrator.toml"), "version_tabel = \"x\"\n").expect("write");
        run(branchy_command(Some(db.url()), dir.path()), &["current"])
            .code(exit::USAGE)
            .stderr_has("version_tabel");
        let mut command = branchy_command(Some(db.url()), dir.path());
        command.env("MIGRATOR_CONFIG", elsewhere.path().join("missing.toml"));
        run(command, &["current"]).code(exit::USAGE);
    });
}

// ---------------------------------------------------------------------------
// The audit log
// ---------------------------------------------------------------------------

#[test]
fn library_audit_log_of_upgrade_and_downgrade() {
    on_every_backend(|db| {
        let m = migrator();
        let mut conn = db.connect();
        assert!(m.audit_log(&mut conn).expect("empty log").is_empty());
        m.upgrade(&mut conn, Target::Head).expect("upgrade");
        m.downgrade(&mut conn, Target::Base).expect("downgrade");
        let log = m.audit_log(&mut conn).expect("audit");
        assert_eq!(audit(&m, &mut conn), up_and_down(db));
        for entry in &log {
            assert!(!entry.host.is_empty(), "{entry:?}");
            assert_eq!(entry.pid, i64::from(std::process::id()), "{entry:?}");
            assert_eq!(
                entry.detail.is_empty(),
                entry.outcome != "started",
                "{entry:?}"
            );
            assert!(entry.duration_ms >= 0, "{entry:?}");
        }
        let sleepy = log
            .iter()
            .find(|e| e.revision == "005" && e.action == "upgrade" && e.outcome == "success")
            .expect("005's entry");
        assert!(sleepy.duration_ms >= 200, "{sleepy:?}");
        assert!(log.windows(2).all(|w| w[0].at <= w[1].at), "{log:?}");
        assert_eq!(sorted_tables(&mut conn), BOOKKEEPING);
    });
}

#[test]
fn cli_audit_log_of_upgrade_and_downgrade() {
    on_every_backend(|db| {
        let m = migrator();
        let up = cli(db, &["upgrade", "head"]);
        up.ok();
        let down = cli(db, &["downgrade", "base"]);
        down.ok();
        let mut conn = db.connect();
        let log = m.audit_log(&mut conn).expect("audit");
        assert_eq!(audit(&m, &mut conn), up_and_down(db));
        let upgrades = ran(db, &m, &ALL, "upgrade").len();
        for (i, entry) in log.iter().enumerate() {
            assert!(!entry.host.is_empty(), "{entry:?}");
            let pid = if i < upgrades { up.pid } else { down.pid };
            assert_eq!(entry.pid, i64::from(pid), "{entry:?}");
        }
        assert_eq!(sorted_tables(&mut conn), BOOKKEEPING);
    });
}

// ---------------------------------------------------------------------------
// Exit codes
// ---------------------------------------------------------------------------

#[test]
fn library_errors_map_to_exit_codes() {
    on_every_backend(|db| {
        let m = migrator();
        let mut conn = db.connect();
        assert!("no/pe".parse::<Target>().is_err());
        let error = m.upgrade(&mut conn, target("nope")).expect_err("unknown");
        assert_eq!(exit_code(&error), exit::USAGE, "{error}");
        assert!(sorted_tables(&mut conn).is_empty());

        let error = Migrator::new(&failing::MIGRATIONS)
            .upgrade(&mut conn, Target::Head)
            .expect_err("002 fails");
        assert_eq!(exit_code(&error), exit::REVISION, "{error}");
    });
    let error = migrator_runtime::connect("redis://u:hunter2@localhost/0").expect_err("scheme");
    assert_eq!(exit_code(&error), exit::USAGE);
    assert!(!error.to_string().contains("hunter2"), "{error}");
    let error =
        migrator_runtime::connect("postgres://x:secret@127.0.0.1:1/db").expect_err("port 1");
    assert_eq!(exit_code(&error), exit::CONNECT);
    assert!(!error.to_string().contains("secret"), "{error}");
}

#[test]
fn cli_bad_target_is_a_usage_error() {
    on_every_backend(|db| {
        cli(db, &["upgrade", "no/pe"])
            .code(exit::USAGE)
            .stderr_has("`no/pe` is not a target");
        cli(db, &["downgrade", "base+1"]).code(exit::USAGE);
        cli(db, &["upgrade", "nope"])
            .code(exit::USAGE)
            .stderr_has("no revision has the ID `nope`");
        cli(db, &["frobnicate"]).code(exit::USAGE);
        assert!(applied(&mut db.connect()).is_empty());
        assert!(!sorted_tables(&mut db.connect()).contains(&"base_t".to_owned()));
    });
}

#[test]
fn cli_bad_and_unreachable_urls() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run(
        branchy_command(None, dir.path()),
        &["--database-url", "redis://u:hunter2@localhost/0", "current"],
    );
    out.code(exit::USAGE).stderr_has("unknown scheme `redis`");
    assert!(!out.stderr.contains("hunter2"), "{out:#?}");

    let out = run(
        branchy_command(Some("postgres://x:secret@127.0.0.1:1/db"), dir.path()),
        &["upgrade"],
    );
    out.code(exit::CONNECT)
        .stderr_has("could not connect to `postgres://x:***@127.0.0.1:1/db`");
    assert!(!out.stderr.contains("secret"), "{out:#?}");
    assert!(!out.stdout.contains("secret"), "{out:#?}");

    // No URL at all.
    run(branchy_command(None, dir.path()), &["current"])
        .code(exit::USAGE)
        .stderr_has("no database given");
}

/// A stamp re-records the checksums of the target and its ancestors only:
/// an edited revision on another branch, which the stamp keeps, is still
/// reported by `verify`. Each change is audited with what it did.
#[test]
fn library_stamp_keeps_other_branches_and_their_checks() {
    on_every_backend(|db| {
        let m = migrator();
        let mut conn = db.connect();
        m.upgrade(&mut conn, target("002")).expect("upgrade 002");
        m.upgrade(&mut conn, target("003")).expect("upgrade 003");
        tamper(&mut conn, "002");
        tamper(&mut conn, "003");
        let report = m.stamp(&mut conn, target("003")).expect("stamp 003");
        let ran: Vec<&str> = report.steps.iter().map(|s| s.revision.as_str()).collect();
        assert_eq!(ran, ["003"], "only 003's checksum is re-recorded");
        let problems = m.verify(&mut conn).expect("verify");
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].to_string().starts_with("002 "), "{problems:?}");
        assert_eq!(current(&mut conn), ["002", "003"]);
        let log = m.audit_log(&mut conn).expect("audit");
        let last = log.last().expect("an entry");
        assert_eq!(
            (
                last.revision.as_str(),
                last.action.as_str(),
                last.detail.as_str()
            ),
            ("003", "stamp", "checksum re-recorded by `stamp 003`")
        );
        m.stamp_purge(&mut conn, target("002"))
            .expect("stamp --purge 002");
        assert_eq!(current(&mut conn), ["002"]);
        let log = m.audit_log(&mut conn).expect("audit");
        assert!(
            log.iter()
                .any(|e| e.detail == "recorded as not applied by `stamp --purge 002`"),
            "{log:#?}"
        );
    });
}

/// The repair advice of a failed `Transaction: false` step names the stamp
/// that records it as done: the revision itself after an upgrade, its parent
/// after a downgrade (006's downgrade fails once its index is gone).
#[test]
fn library_non_transactional_failures_name_the_right_stamp() {
    on_every_backend(|db| {
        let m = migrator();
        let mut conn = db.connect();
        m.upgrade(&mut conn, Target::Head).expect("upgrade");
        conn.batch_execute(&drop_index_sql(db.kind(), "left_t_id", "left_t"))
            .expect("drop 006's index by hand");
        let error = m
            .downgrade(&mut conn, target("-1"))
            .expect_err("006's downgrade fails");
        assert!(
            matches!(&error, Error::NonTransactional { revision, .. } if revision == "006"),
            "{error:?}"
        );
        let message = error.to_string();
        assert!(
            message.contains("record the downgrade as done with `stamp 005`"),
            "{message}"
        );
        // That stamp is the mend: 006 recorded as reverted, 005 current.
        m.stamp(&mut conn, target("005")).expect("stamp 005");
        assert_eq!(current(&mut conn), ["005"]);
    });
}

// ---------------------------------------------------------------------------
// release
// ---------------------------------------------------------------------------

/// The `(ID, checksum)` lines of `dir/migrations/released.sum`, which must
/// parse.
fn released_lines(dir: &Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(dir.join("migrations").join(released::FILE_NAME))
        .expect("released.sum written");
    let (entries, bad) = released::parse(&text);
    assert!(bad.is_empty(), "{bad:?} in {text}");
    entries.into_iter().map(|e| (e.id, e.checksum)).collect()
}

/// The lines `release` should have written for `ids`: this build's checksums.
fn build_lines(ids: &[&str]) -> Vec<(String, String)> {
    let graph = migrator().graph();
    ids.iter()
        .map(|id| {
            let revision = graph.revision(graph.index_of(id).expect("a revision"));
            (id.to_string(), revision.checksum.to_string())
        })
        .collect()
}

#[test]
fn release_appends_what_the_database_applied_then_up_to_head() {
    on_every_backend(|db| {
        let mut conn = db.connect();
        migrator()
            .upgrade(&mut conn, target("002"))
            .expect("upgrade to 002");
        let dir = tempfile::tempdir().expect("tempdir");
        branchy::copy_files(&dir.path().join("migrations"));

        // Against the database: what it applied, in application order.
        let released = run(
            branchy_command(Some(db.url()), dir.path()),
            &["release", "current"],
        );
        assert_eq!(released.code, 0, "{}", released.stderr);
        assert!(released.stdout.contains("001 001_"), "{}", released.stdout);
        assert_eq!(released_lines(dir.path()), build_lines(&["001", "002"]));

        // Up to head: the rest, needing no database, in application order.
        let released = run(branchy_command(None, dir.path()), &["release"]);
        assert_eq!(released.code, 0, "{}", released.stderr);
        assert_eq!(
            released_lines(dir.path()),
            build_lines(&["001", "002", "003", "004", "005", "006"])
        );
        let again = run(branchy_command(None, dir.path()), &["release", "head"]);
        assert_eq!(again.code, 0, "{}", again.stderr);
        assert!(
            again.stdout.contains("Nothing to release"),
            "{}",
            again.stdout
        );

        // The database was only read.
        assert_eq!(applied(&mut conn), ["001", "002"]);

        // An applied revision edited since: nothing is released.
        let other = tempfile::tempdir().expect("tempdir");
        branchy::copy_files(other.path());
        tamper(&mut conn, "001");
        let error = migrator()
            .release_applied(&mut conn, other.path())
            .expect_err("an edited revision");
        assert!(matches!(error, Error::ChecksumMismatch { .. }), "{error}");
        assert!(!other.path().join(released::FILE_NAME).exists());

        // The library, to a target: 003 and its ancestors.
        let released = migrator()
            .release(other.path(), &target("003"))
            .expect("release 003");
        let ids: Vec<&str> = released.iter().map(|r| r.id.as_ref()).collect();
        assert_eq!(ids, ["001", "003"]);
    });
}

#[test]
fn release_refuses_a_listed_revision_with_another_checksum() {
    let dir = tempfile::tempdir().expect("tempdir");
    branchy::copy_files(&dir.path().join("migrations"));
    let sum = dir.path().join("migrations").join(released::FILE_NAME);
    std::fs::write(&sum, format!("001 {}\n", "0".repeat(64))).expect("released.sum");
    run(branchy_command(None, dir.path()), &["release"])
        .refused(exit::MISMATCH, &["lists revision `001` with checksum"]);
    assert_eq!(
        std::fs::read_to_string(&sum).expect("released.sum"),
        format!("001 {}\n", "0".repeat(64))
    );
}

/// `release` writes only into the directory the binary embeds, as built:
/// not into another project's directory, not without a directory, not with
/// a file edited since the build (the binary records stale checksums).
#[test]
fn release_refuses_a_directory_that_is_not_the_build_s() {
    on_every_backend(|db| {
        let mut conn = db.connect();
        migrator()
            .upgrade(&mut conn, target("002"))
            .expect("upgrade to 002");
        let dir = tempfile::tempdir().expect("tempdir");
        let migrations = dir.path().join("migrations");
        let sum = migrations.join(released::FILE_NAME);

        // No directory: named, with the flag that names another.
        run(branchy_command(None, dir.path()), &["release"]).refused(
            exit::USAGE,
            &[
                "`migrations` has no file `001_",
                "it is not the migrations directory this build embeds",
                "`--migrations-dir`",
            ],
        );

        // Another project's directory, against the database too.
        std::fs::create_dir(&migrations).expect("migrations dir");
        std::fs::write(migrations.join("zzz_other.sql"), "-- Revision ID: zzz\n").expect("file");
        for args in [&["release"][..], &["release", "current"]] {
            run(branchy_command(Some(db.url()), dir.path()), args)
                .refused(exit::USAGE, &["has no file `001_"]);
            assert!(!sum.exists(), "{args:?}");
        }

        // The build's directory, a file edited since the build.
        branchy::copy_files(&migrations);
        let edited = std::fs::read_dir(&migrations)
            .expect("migrations")
            .map(|e| e.expect("entry").path())
            .find(|p| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("002_"))
            })
            .expect("002's file");
        let text = std::fs::read_to_string(&edited).expect("002");
        std::fs::write(&edited, format!("{text}\n-- edited\n")).expect("edit 002");
        run(
            branchy_command(Some(db.url()), dir.path()),
            &["release", "current"],
        )
        .refused(
            exit::MISMATCH,
            &[
                "is not revision `002` as this build embeds it",
                "rebuild it, then release",
            ],
        );
        assert!(!sum.exists());

        // As built: released.
        std::fs::write(&edited, text).expect("restore 002");
        let released = run(
            branchy_command(Some(db.url()), dir.path()),
            &["release", "current"],
        );
        assert_eq!(released.code, 0, "{}", released.stderr);
        assert_eq!(released_lines(dir.path()), build_lines(&["001", "002"]));
        assert_eq!(applied(&mut conn), ["001", "002"]);
    });
}
