//! The runtime against real databases: every test runs on SQLite,
//! PostgreSQL and MySQL (MariaDB in CI), each on a fresh database, and
//! checks the database afterwards.

use diesel::connection::SimpleConnection;
use migrator_runtime::{AnyConnection, Error, Migrator, Target};
use migrator_tests::{Kind, applied_ids, count, on_every_backend, tables};

mod linear {
    migrator_runtime::embed_migrations!("fixtures/linear");
}

mod failing {
    migrator_runtime::embed_migrations!("fixtures/failing");
}

fn ids(revisions: &[&migrator_core::model::Revision]) -> Vec<String> {
    revisions.iter().map(|r| r.id.to_string()).collect()
}

fn applied(migrator: &Migrator<'_>, conn: &mut AnyConnection) -> Vec<String> {
    applied_ids(migrator, conn)
}

#[test]
fn upgrade_to_head_and_back_to_base() {
    on_every_backend(|db| {
        let migrator = Migrator::new(&linear::MIGRATIONS);
        let mut conn = db.connect();
        assert!(migrator.current(&mut conn).expect("current").is_empty());

        let report = migrator.upgrade(&mut conn, Target::Head).expect("upgrade");
        assert_eq!(report.steps.len(), 3);
        assert_eq!(
            tables(&mut conn),
            [
                "gadgets",
                "migrator_version",
                "migrator_version_audit",
                "widgets"
            ]
        );
        // The Rust revision ran in its transaction.
        assert_eq!(count(&mut conn, "SELECT COUNT(*) AS n FROM widgets"), 2);
        assert_eq!(applied(&migrator, &mut conn), ["001", "002", "003"]);
        assert_eq!(ids(&migrator.current(&mut conn).expect("current")), ["003"]);

        // The version table records checksums and timings.
        let state = migrator.state(&mut conn).expect("state");
        for (row, revision) in state
            .applied
            .iter()
            .zip(linear::MIGRATIONS.graph().revisions())
        {
            assert_eq!(row.checksum, revision.checksum);
            assert!(row.execution_ms >= 0);
        }

        // Nothing to do the second time.
        let again = migrator
            .upgrade(&mut conn, Target::Head)
            .expect("upgrade again");
        assert!(again.steps.is_empty());

        let report = migrator
            .downgrade(&mut conn, Target::Base)
            .expect("downgrade");
        assert_eq!(report.steps.len(), 3);
        assert_eq!(
            tables(&mut conn),
            ["migrator_version", "migrator_version_audit",]
        );
        assert!(applied(&migrator, &mut conn).is_empty());
    });
}

#[test]
fn upgrade_and_downgrade_to_a_revision() {
    on_every_backend(|db| {
        let migrator = Migrator::new(&linear::MIGRATIONS);
        let mut conn = db.connect();
        let target = Target::from(linear::revisions::REV_002_SEED_WIDGETS);
        migrator
            .upgrade(&mut conn, &target)
            .expect("upgrade to 002");
        assert_eq!(applied(&migrator, &mut conn), ["001", "002"]);
        assert_eq!(
            tables(&mut conn),
            ["migrator_version", "migrator_version_audit", "widgets"]
        );

        migrator
            .upgrade(&mut conn, Target::Head)
            .expect("upgrade to head");
        migrator
            .downgrade(&mut conn, "001".parse::<Target>().expect("target"))
            .expect("downgrade to 001");
        assert_eq!(applied(&migrator, &mut conn), ["001"]);
        assert_eq!(count(&mut conn, "SELECT COUNT(*) AS n FROM widgets"), 0);
        assert_eq!(
            tables(&mut conn),
            ["migrator_version", "migrator_version_audit", "widgets"]
        );
    });
}

#[test]
fn a_failing_revision_leaves_the_previous_one() {
    on_every_backend(|db| {
        let migrator = Migrator::new(&failing::MIGRATIONS);
        let mut conn = db.connect();
        let error = migrator
            .upgrade(&mut conn, Target::Head)
            .expect_err("002 must fail");
        let message = error.to_string();
        assert!(message.contains("no_such_table"), "{message}");
        assert_eq!(applied(&migrator, &mut conn), ["001"]);
        if db.kind() == Kind::Mysql {
            // DDL commits on its own: 002's `CREATE TABLE` and the insert
            // after it stay, and the error and the version table's dirty
            // marker say so, with the mend.
            assert!(
                matches!(&error, Error::NonTransactional { revision, file, .. } if revision == "002" && file == "002_broken.sql"),
                "{message}"
            );
            for needle in [
                "each DDL statement commits on its own on MySQL and MariaDB",
                "statements before the failure may have taken effect",
                "`stamp 001`",
            ] {
                assert!(message.contains(needle), "{needle:?}: {message}");
            }
            let marker = migrator.state(&mut conn).expect("state").marker;
            assert_eq!(marker.map(|m| m.revision).as_deref(), Some("002"));
            assert_eq!(
                tables(&mut conn),
                [
                    "half_done",
                    "migrator_version",
                    "migrator_version_audit",
                    "widgets"
                ]
            );
            assert_eq!(count(&mut conn, "SELECT COUNT(*) AS n FROM widgets"), 1);
            return;
        }
        // 001 committed; nothing of 002 did.
        assert!(
            matches!(&error, Error::Revision { revision, file, .. } if revision == "002" && file == "002_broken.sql"),
            "{message}"
        );
        assert_eq!(
            tables(&mut conn),
            ["migrator_version", "migrator_version_audit", "widgets"]
        );
        assert_eq!(count(&mut conn, "SELECT COUNT(*) AS n FROM widgets"), 0);
    });
}

#[test]
fn an_edited_revision_stops_the_run() {
    on_every_backend(|db| {
        let migrator = Migrator::new(&linear::MIGRATIONS);
        let mut conn = db.connect();
        migrator
            .upgrade(&mut conn, "001".parse::<Target>().expect("target"))
            .expect("upgrade");
        conn.batch_execute(
            "UPDATE migrator_version SET checksum = 'abc123' WHERE revision = '001'",
        )
        .expect("tamper");
        let error = migrator
            .upgrade(&mut conn, Target::Head)
            .expect_err("an edited revision must stop the run");
        assert!(matches!(error, Error::ChecksumMismatch { .. }), "{error}");
        let message = error.to_string();
        assert!(message.contains("001_create_widgets.sql"), "{message}");
        assert!(message.contains("abc123"), "{message}");
        assert_eq!(applied(&migrator, &mut conn), ["001"]);
    });
}

#[test]
fn an_unknown_applied_revision_stops_the_run() {
    on_every_backend(|db| {
        let migrator = Migrator::new(&linear::MIGRATIONS);
        let mut conn = db.connect();
        migrator.upgrade(&mut conn, Target::Head).expect("upgrade");
        conn.batch_execute(
            "INSERT INTO migrator_version (revision, checksum, applied_at, execution_ms, seq) \
             VALUES ('004', 'x', '2024-01-01 00:00:00', 0, 4)",
        )
        .expect("insert a row from a newer build");
        let error = migrator
            .downgrade(&mut conn, Target::Base)
            .expect_err("an unknown revision must stop the run");
        assert!(matches!(error, Error::UnknownApplied { .. }), "{error}");
        assert!(error.to_string().contains("004"), "{error}");
        assert!(error.to_string().contains("newer build"), "{error}");
        assert_eq!(applied(&migrator, &mut conn), ["001", "002", "003", "004"]);
    });
}

#[test]
fn bad_urls_get_their_own_messages_without_passwords() {
    let error =
        migrator_runtime::connect("redis://user:hunter2@localhost/0").expect_err("bad scheme");
    assert!(matches!(error, Error::BadUrl { .. }), "{error}");
    assert!(!error.to_string().contains("hunter2"), "{error}");

    let error = migrator_runtime::connect("postgres://user:hunter2@127.0.0.1:1/nowhere")
        .expect_err("nothing listens on port 1");
    assert!(matches!(error, Error::Connect { .. }), "{error}");
    let message = error.to_string();
    assert!(!message.contains("hunter2"), "{message}");
    assert!(message.contains("user:***@127.0.0.1:1"), "{message}");
}
