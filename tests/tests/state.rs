//! The state table: the one row that startup reads instead of the whole
//! version table. It must follow every change a run makes, be emptied by
//! every change anything else makes, be created for databases from before
//! it existed, and be all a run at head reads.

use diesel::connection::SimpleConnection;
use migrator_runtime::model::StateDigest;
use migrator_runtime::{Error, Migrator, Options, Target};
use migrator_tests::{TestDb, assert_state_agrees, branchy, on_each_backend, state_rows};

fn target(s: &str) -> Target {
    s.parse().expect("a valid target")
}

/// The digest of every branchy revision applied: what the state table holds
/// at head.
fn head_digest(migrator: &Migrator<'_>) -> String {
    StateDigest::of(
        migrator
            .graph()
            .revisions()
            .iter()
            .map(|r| (r.id.as_ref(), r.checksum.as_ref())),
    )
    .to_string()
}

/// Upgrades, downgrades, stamps and a partial upgrade of one branch each
/// leave the digest of exactly the rows they leave.
#[test]
fn the_state_follows_every_command() {
    on_each_backend(|db| {
        let migrator = Migrator::new(&branchy::MIGRATIONS);
        let mut conn = db.connect();
        for command in [
            "upgrade 002",
            "upgrade head",
            "downgrade -1",
            "downgrade 002",
            "stamp head",
            "stamp base",
        ] {
            let (verb, t) = command.split_once(' ').expect("command target");
            let t = target(t);
            match verb {
                "upgrade" => migrator.upgrade(&mut conn, &t),
                "downgrade" => migrator.downgrade(&mut conn, &t),
                _ => migrator.stamp(&mut conn, &t),
            }
            .unwrap_or_else(|e| panic!("{command}: {e}"));
            assert!(
                assert_state_agrees(&migrator, &mut conn, command),
                "{command}: no digest"
            );
            if command.ends_with("head") {
                assert_eq!(state_rows(&mut conn), [head_digest(&migrator)], "{command}");
            }
        }
    });
}

/// An offline script cannot know what the database it runs on holds: it
/// creates the state table and leaves it empty, and the first live start
/// reads the version table and writes the digest.
#[test]
fn an_offline_script_leaves_the_state_to_the_first_start() {
    on_each_backend(|db| {
        let migrator = Migrator::new(&branchy::MIGRATIONS);
        let kind = db.connect().kind();
        // The Rust revision 005 cannot be rendered: stop before it.
        let script = migrator
            .upgrade_sql(kind, &Target::Base, &target("004"))
            .expect("render");
        let mut conn = db.connect();
        conn.batch_execute(&script).expect("run the script");
        assert!(state_rows(&mut conn).is_empty(), "no digest from a script");
        migrator.upgrade(&mut conn, &Target::Head).expect("upgrade");
        assert_eq!(state_rows(&mut conn), [head_digest(&migrator)]);
    });
}

/// A single-transaction run whose second revision fails rolls the first
/// back too: the digest written afterwards is of what was committed, not
/// of the steps the run had counted.
#[test]
fn a_failed_single_transaction_run_leaves_a_true_digest() {
    on_each_backend(|db| {
        let migrator = Migrator::new(&branchy::MIGRATIONS);
        let single = Migrator::with_options(
            &branchy::MIGRATIONS,
            Options {
                single_transaction: true,
                ..Options::default()
            },
        );
        let mut conn = db.connect();
        migrator
            .upgrade(&mut conn, &target("001"))
            .expect("upgrade 001");
        // 003 creates right_t: make it fail after 002 ran in the same
        // transaction.
        conn.batch_execute("CREATE TABLE right_t (id INTEGER NOT NULL PRIMARY KEY)")
            .expect("create right_t");
        single
            .upgrade(&mut conn, &target("004"))
            .expect_err("003 fails");
        assert!(assert_state_agrees(
            &migrator,
            &mut conn,
            "after the failed run"
        ));
        assert_eq!(
            state_rows(&mut conn),
            [
                StateDigest::of([("001", migrator.graph().revision(0).checksum.as_ref())])
                    .to_string()
            ]
        );
    });
}

/// A version table replaced behind migrator's back (a restore of an older
/// dump, here a copy of its first two rows put in its place) has another
/// identity: the state row written for the old one does not vouch for it,
/// and `upgrade head` reads the version table and tries to apply 003.
#[test]
fn a_replaced_version_table_is_not_trusted() {
    on_each_backend(|db| {
        let migrator = Migrator::new(&branchy::MIGRATIONS);
        let mut conn = db.connect();
        migrator.upgrade(&mut conn, &Target::Head).expect("upgrade");
        conn.batch_execute(
            "CREATE TABLE older AS SELECT * FROM migrator_version WHERE revision IN ('001', '002'); \
             DROP TABLE migrator_version; \
             ALTER TABLE older RENAME TO migrator_version;",
        )
        .expect("replace the version table");
        assert_eq!(state_rows(&mut conn), [head_digest(&migrator)], "untouched");
        let error = migrator
            .upgrade(&mut conn, &Target::Head)
            .expect_err("003 runs again and finds right_t");
        assert!(error.to_string().contains("003"), "{error}");
    });
}

/// Editing the version table by hand (here a checksum; a deleted row is the
/// same) empties the state table through its trigger: the next start reads
/// the whole table and sees the edit, instead of trusting a stale digest.
#[test]
fn a_hand_edit_empties_the_state_and_the_next_run_sees_it() {
    on_each_backend(|db| {
        let migrator = Migrator::new(&branchy::MIGRATIONS);
        let mut conn = db.connect();
        migrator.upgrade(&mut conn, &Target::Head).expect("upgrade");
        conn.batch_execute(
            "UPDATE migrator_version SET checksum = 'edited' WHERE revision = '001'",
        )
        .expect("edit by hand");
        assert!(state_rows(&mut conn).is_empty(), "the trigger empties it");
        let error = migrator
            .upgrade(&mut conn, &Target::Head)
            .expect_err("the edit is seen");
        assert!(matches!(error, Error::ChecksumMismatch { .. }), "{error}");
    });
}

/// A database migrated before the state table existed (dropped here, with
/// its trigger): the next start at head reads the whole version table,
/// creates the state table and writes the digest, so the start after that
/// reads one row.
#[test]
fn a_database_from_before_the_state_table_gets_one() {
    on_each_backend(|db| {
        let migrator = Migrator::new(&branchy::MIGRATIONS);
        let mut conn = db.connect();
        migrator.upgrade(&mut conn, &Target::Head).expect("upgrade");
        let drop = match db.kind() {
            migrator_tests::Kind::Postgres => {
                "DROP FUNCTION migrator_version_state_reset() CASCADE; \
                 DROP TABLE migrator_version_state;"
            }
            migrator_tests::Kind::Sqlite => {
                "DROP TRIGGER migrator_version_state_reset_insert; \
                 DROP TRIGGER migrator_version_state_reset_update; \
                 DROP TRIGGER migrator_version_state_reset_delete; \
                 DROP TABLE migrator_version_state;"
            }
        };
        conn.batch_execute(drop).expect("drop the state table");
        let report = migrator.upgrade(&mut conn, &Target::Head).expect("upgrade");
        assert!(report.steps.is_empty());
        assert_eq!(state_rows(&mut conn), [head_digest(&migrator)]);
        // And its trigger is back.
        conn.batch_execute("DELETE FROM migrator_version WHERE revision = '006'")
            .expect("delete by hand");
        assert!(state_rows(&mut conn).is_empty());
    });
}

/// At head, `upgrade head` reads the state table and nothing else: with
/// the version table locked by another session it still answers at once,
/// where reading the version table (`current`) waits out the statement
/// timeout.
#[test]
fn at_head_startup_reads_only_the_state_table() {
    let Some(db) = TestDb::postgres() else { return };
    let migrator = Migrator::new(&branchy::MIGRATIONS);
    let mut conn = db.connect();
    migrator.upgrade(&mut conn, &Target::Head).expect("upgrade");
    let mut holder = db.connect();
    holder
        .batch_execute("BEGIN; LOCK TABLE migrator_version IN ACCESS EXCLUSIVE MODE;")
        .expect("lock the version table");
    conn.batch_execute("SET statement_timeout = '2s'")
        .expect("bound the wait");
    let report = migrator
        .upgrade(&mut conn, &Target::Head)
        .expect("the state table answers");
    assert!(report.steps.is_empty());
    let error = migrator
        .current(&mut conn)
        .expect_err("the version table is locked");
    assert!(error.to_string().contains("statement timeout"), "{error}");
    holder.batch_execute("ROLLBACK").expect("unlock");
}
