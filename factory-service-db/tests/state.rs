//! The factory binary and library on a version table edited by hand, on
//! real PostgreSQL: a middle row deleted, a checksum edited. Each case
//! checks the exit status, the message and the database afterwards.

use std::process::Command;

use diesel::connection::SimpleConnection;
use migrator_runtime::cli::exit;
use migrator_runtime::{Error, Problem, Target};
use migrator_tests::{Run, TestDb, applied_ids, count, exit_code};

fn factory(url: &str, args: &[&str]) -> Run {
    let dir = tempfile::tempdir().expect("tempdir");
    let start = std::time::Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_factory-service-db"))
        .args(args)
        .current_dir(dir.path())
        .env("DATABASE_URL", url)
        .env_remove("MIGRATOR_VERSION_TABLE")
        .env_remove("MIGRATOR_AUDIT_TABLE")
        .env_remove("MIGRATOR_CONFIG")
        .output()
        .expect("run factory-service-db");
    Run::from_output(output, start.elapsed())
}

const ALL: [&str; 9] = [
    "001", "002", "003", "004", "005", "006", "007", "008", "009",
];

#[test]
fn a_deleted_middle_row_is_named_and_nothing_runs_after_its_children() {
    let Some(db) = TestDb::postgres() else { return };
    let m = factory_service_db::migrator();
    factory(db.url(), &["upgrade", "head"]).expect_code(exit::OK, "upgrade");
    let mut conn = db.connect();
    conn.batch_execute("DELETE FROM migrator_version WHERE revision = '005'")
        .expect("delete 005's row by hand");
    let audit = m.audit_log(&mut conn).expect("audit").len();

    for args in [
        &["verify"][..],
        &["check"],
        &["upgrade", "head"],
        &["keys", "list"],
    ] {
        let run = factory(db.url(), args);
        run.expect_code(exit::MISMATCH, "005 is missing below 006-009");
        let text = format!("{}{}", run.stdout, run.stderr);
        for needle in [
            "revision 005 (005_backfill_key_prefix.rs) is not applied",
            "006, 007, 008, 009",
            "`stamp 009`",
        ] {
            assert!(text.contains(needle), "no {needle:?} in\n{run}");
        }
    }
    // Through the library: the same problem, and upgrade refuses.
    let problems = m.verify(&mut conn).expect("verify");
    assert!(
        matches!(&problems[..], [Problem::MissingAncestor { revision, tips, .. }]
            if revision == "005" && tips == &["009"]),
        "{problems:?}"
    );
    assert_eq!(m.check(&mut conn).expect("check").problems, problems);
    let error = m.upgrade(&mut conn, Target::Head).expect_err("refused");
    assert!(matches!(error, Error::MissingAncestor { .. }), "{error}");
    assert_eq!(exit_code(&error), exit::MISMATCH);
    // 005 did not run after its children: no row, no audit entry.
    assert_eq!(m.audit_log(&mut conn).expect("audit").len(), audit);
    assert_eq!(
        applied_ids(&m, &mut conn),
        ["001", "002", "003", "004", "006", "007", "008", "009"]
    );

    // The mend: 005's changes are in the schema, so the stamp the message names.
    factory(db.url(), &["stamp", "009"]).expect_code(exit::OK, "stamp 009");
    factory(db.url(), &["verify"]).expect_code(exit::OK, "mended");
    factory(db.url(), &["check"]).expect_code(exit::OK, "mended");
    let mut ids = applied_ids(&m, &mut conn);
    ids.sort();
    assert_eq!(ids, ALL);
}

#[test]
fn an_edited_checksum_fails_check_verify_and_upgrade() {
    let Some(db) = TestDb::postgres() else { return };
    let m = factory_service_db::migrator();
    factory(db.url(), &["upgrade", "008"]).expect_code(exit::OK, "upgrade 008");
    let mut conn = db.connect();
    conn.batch_execute("UPDATE migrator_version SET checksum = 'abc123' WHERE revision = '003'")
        .expect("edit 003's checksum by hand");

    for args in [&["check"][..], &["verify"], &["upgrade", "head"]] {
        let run = factory(db.url(), args);
        run.expect_code(exit::MISMATCH, "003 was edited");
        let text = format!("{}{}", run.stdout, run.stderr);
        for needle in [
            "003 (003_key_usage.sql) was edited after it was applied",
            "abc123",
        ] {
            assert!(text.contains(needle), "no {needle:?} in\n{run}");
        }
    }
    let check = m.check(&mut conn).expect("check");
    assert_eq!(check.pending.len(), 1);
    assert!(
        matches!(&check.problems[..], [Problem::Edited { revision, .. }] if revision == "003"),
        "{check:?}"
    );
    // 009 did not run.
    assert_eq!(
        count(
            &mut conn,
            "SELECT COUNT(*) AS n FROM pg_indexes WHERE indexname = 'api_keys_last_used_at'"
        ),
        0
    );
    assert_eq!(applied_ids(&m, &mut conn).len(), 8);
}
