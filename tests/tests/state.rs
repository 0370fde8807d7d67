//! The database's state against the build: rolling deploys (a database
//! ahead of this build), applied sets with holes, and version tables in
//! schemas. Through the library and the `branchy` binary, on real databases,
//! each checked afterwards.
//!
//! The "old build" is the `branchy` fixture (001–006, the `branchy` binary);
//! the "new build" is `branchy_next`, the same files plus 007.

use std::path::Path;

use diesel::connection::SimpleConnection;
use migrator_runtime::cli::exit;
use migrator_runtime::{AnyConnection, Error, Event, Migrator, Problem, Target};
use migrator_tests::{
    Run, TestDb, applied_ids, branchy, cli_command, count, exit_code, on_every_backend,
};

mod branchy_next {
    migrator_runtime::embed_migrations!("fixtures/branchy_next");
}

const BRANCHY: &str = env!("CARGO_BIN_EXE_branchy");

fn old() -> Migrator<'static> {
    Migrator::new(&branchy::MIGRATIONS)
}

fn new() -> Migrator<'static> {
    Migrator::new(&branchy_next::MIGRATIONS)
}

/// The `branchy` binary (the old build) against `url`.
fn cli_at(url: &str, args: &[&str]) -> Run {
    let dir = tempfile::tempdir().expect("tempdir");
    cli_in(url, dir.path(), args)
}

fn cli_in(url: &str, dir: &Path, args: &[&str]) -> Run {
    let start = std::time::Instant::now();
    let output = cli_command(BRANCHY, url, dir)
        .args(args)
        .output()
        .expect("run branchy");
    Run::from_output(output, start.elapsed())
}

fn has(run: &Run, stream: &str, needle: &str) {
    let text = if stream == "stdout" {
        &run.stdout
    } else {
        &run.stderr
    };
    assert!(text.contains(needle), "no {needle:?} in {stream}:\n{run}");
}

const OLD_ALL: [&str; 6] = ["001", "002", "003", "004", "005", "006"];
const NEW_ALL: [&str; 7] = ["001", "002", "003", "004", "005", "006", "007"];

// ---------------------------------------------------------------------------
// Rolling deploys
// ---------------------------------------------------------------------------

#[test]
fn an_old_build_on_a_database_ahead_of_it_goes_on_through_the_library() {
    on_every_backend(|db| {
        let mut conn = db.connect();
        new().upgrade(&mut conn, Target::Head).expect("new build");
        assert_eq!(applied_ids(&new(), &mut conn), NEW_ALL);
        let audit_before = old().audit_log(&mut conn).expect("audit").len();

        // upgrade head: Ok, nothing run, the report and an event say so.
        let mut seen = Vec::new();
        let report = Migrator::new(&branchy::MIGRATIONS)
            .on_event(|event| {
                if let Event::Ahead { revisions } = event {
                    seen.push(revisions.to_vec());
                }
            })
            .upgrade(&mut conn, Target::Head)
            .expect("an old build on a database ahead of it");
        assert!(report.steps.is_empty(), "{report:?}");
        assert_eq!(report.ahead, ["007"]);
        assert_eq!(seen, [vec!["007".to_owned()]]);
        // Any revision of the old build is reached: `upgrade 003` too.
        let report = old()
            .upgrade(&mut conn, "003".parse::<Target>().expect("target"))
            .expect("upgrade 003");
        assert!(report.steps.is_empty());
        assert_eq!(report.ahead, ["007"]);

        // current: the old build's head; pending: nothing; check: ahead.
        let current: Vec<String> = old()
            .current(&mut conn)
            .expect("current")
            .iter()
            .map(|r| r.id.to_string())
            .collect();
        assert_eq!(current, ["006"]);
        assert!(old().pending(&mut conn).expect("pending").is_empty());
        let check = old().check(&mut conn).expect("check");
        assert!(
            check.pending.is_empty() && check.problems.is_empty(),
            "{check:?}"
        );
        assert_eq!(check.ahead, ["007"]);

        // verify still names 007.
        let problems = old().verify(&mut conn).expect("verify");
        assert_eq!(
            problems,
            [Problem::Unknown {
                revision: "007".to_owned()
            }]
        );

        // downgrade and stamp refuse: they cannot know 007's downgrade.
        for error in [
            old().downgrade(&mut conn, "-1".parse::<Target>().expect("target")),
            old().stamp(&mut conn, Target::Head),
        ]
        .map(|r| r.expect_err("refused"))
        {
            assert!(matches!(error, Error::UnknownApplied { .. }), "{error}");
            assert_eq!(exit_code(&error), exit::MISMATCH);
        }

        // Nothing was written.
        assert_eq!(applied_ids(&new(), &mut conn), NEW_ALL);
        assert_eq!(count(&mut conn, "SELECT COUNT(*) AS n FROM extra_t"), 0);
        assert_eq!(
            old().audit_log(&mut conn).expect("audit").len(),
            audit_before
        );

        // An edited revision still stops the old build, ahead or not.
        conn.batch_execute(
            "UPDATE migrator_version SET checksum = 'abc123' WHERE revision = '002'",
        )
        .expect("edit a checksum");
        let error = old().upgrade(&mut conn, Target::Head).expect_err("edited");
        assert!(matches!(error, Error::ChecksumMismatch { .. }), "{error}");
        let check = old().check(&mut conn).expect("check");
        assert!(
            matches!(&check.problems[..], [Problem::Edited { revision, .. }] if revision == "002")
        );
    });
}

#[test]
fn unknown_revisions_below_this_builds_head_still_stop_the_run() {
    on_every_backend(|db| {
        let mut conn = db.connect();
        old()
            .upgrade(&mut conn, "004".parse::<Target>().expect("target"))
            .expect("upgrade 004");
        conn.batch_execute(
            "INSERT INTO migrator_version (revision, checksum, applied_at, execution_ms, seq) \
             VALUES ('999', 'x', '2024-01-01 00:00:00', 0, 5)",
        )
        .expect("a revision of another build");
        let error = old()
            .upgrade(&mut conn, Target::Head)
            .expect_err("not ahead");
        assert!(matches!(error, Error::UnknownApplied { .. }), "{error}");
        assert!(old().current(&mut conn).is_err());
        assert!(old().pending(&mut conn).is_err());
        let check = old().check(&mut conn).expect("check");
        assert!(check.ahead.is_empty());
        assert_eq!(
            check.problems,
            [Problem::Unknown {
                revision: "999".to_owned()
            }]
        );
        for args in [
            &["upgrade", "head"][..],
            &["check"],
            &["current"],
            &["verify"],
        ] {
            let run = cli_at(db.url(), args);
            run.expect_code(exit::MISMATCH, "unknown revisions below head");
            has(
                &run,
                if args == ["verify"] || args == ["check"] {
                    "stdout"
                } else {
                    "stderr"
                },
                "999",
            );
        }
        assert_eq!(
            applied_ids(&old(), &mut conn),
            ["001", "002", "003", "004", "999"]
        );
    });
}

#[test]
fn an_old_build_on_a_database_ahead_of_it_goes_on_through_the_cli() {
    on_every_backend(|db| {
        let mut conn = db.connect();
        new().upgrade(&mut conn, Target::Head).expect("new build");

        for args in [&["upgrade", "head"][..], &["upgrade"], &["check"]] {
            let run = cli_at(db.url(), args);
            run.expect_code(exit::OK, "ahead is no error");
            has(
                &run,
                "stderr",
                "warning: the database is ahead of this build",
            );
            has(&run, "stderr", "007");
        }
        let run = cli_at(db.url(), &["current"]);
        run.expect_code(exit::OK, "current");
        assert_eq!(run.stdout, "006 (head)\n", "{run}");
        has(&run, "stderr", "007");
        // --quiet keeps the warning: it is about the database.
        let run = cli_at(db.url(), &["--quiet", "upgrade"]);
        run.expect_code(exit::OK, "quiet");
        assert!(run.stdout.is_empty(), "{run}");
        has(&run, "stderr", "007");

        let run = cli_at(db.url(), &["verify"]);
        run.expect_code(exit::MISMATCH, "verify names what it does not know");
        has(&run, "stdout", "007 is applied but not part of this build");
        for args in [&["downgrade", "-1"][..], &["stamp", "head"]] {
            let run = cli_at(db.url(), args);
            run.expect_code(exit::MISMATCH, "cannot downgrade what it does not know");
            has(&run, "stderr", "007");
        }
        assert_eq!(applied_ids(&new(), &mut conn), NEW_ALL);

        // The new build downgrades its own revision: the old build is at head again.
        new()
            .downgrade(&mut conn, "-1".parse::<Target>().expect("target"))
            .expect("new build downgrades 007");
        cli_at(db.url(), &["check"]).expect_code(exit::OK, "at head");
        cli_at(db.url(), &["verify"]).expect_code(exit::OK, "nothing unknown");
        assert_eq!(applied_ids(&old(), &mut conn), OLD_ALL);
    });
}

// ---------------------------------------------------------------------------
// Consistency
// ---------------------------------------------------------------------------

#[test]
fn a_revision_missing_below_applied_ones_is_named_everywhere() {
    on_every_backend(|db| {
        let mut conn = db.connect();
        old().upgrade(&mut conn, Target::Head).expect("upgrade");
        conn.batch_execute("DELETE FROM migrator_version WHERE revision = '004'")
            .expect("delete a middle row");

        let problems = old().verify(&mut conn).expect("verify");
        let [
            Problem::MissingAncestor {
                revision,
                descendants,
                tips,
                ..
            },
        ] = &problems[..]
        else {
            panic!("{problems:?}");
        };
        assert_eq!(revision, "004");
        assert_eq!(descendants, &["005", "006"]);
        assert_eq!(tips, &["006"]);
        let check = old().check(&mut conn).expect("check");
        assert_eq!(check.problems, problems);

        let error = old().upgrade(&mut conn, Target::Head).expect_err("a hole");
        assert!(matches!(error, Error::MissingAncestor { .. }), "{error}");
        assert_eq!(exit_code(&error), exit::MISMATCH);
        let message = error.to_string();
        for needle in [
            "004 (004_merge.sql) is not applied",
            "005, 006",
            "`stamp 006`",
        ] {
            assert!(message.contains(needle), "no {needle:?} in {message}");
        }
        let error = old()
            .downgrade(&mut conn, Target::Base)
            .expect_err("a hole stops a downgrade too");
        assert!(matches!(error, Error::MissingAncestor { .. }), "{error}");

        for args in [&["upgrade"][..], &["check"], &["verify"]] {
            let run = cli_at(db.url(), args);
            run.expect_code(exit::MISMATCH, "a hole");
            let stream = if args == ["upgrade"] {
                "stderr"
            } else {
                "stdout"
            };
            has(&run, stream, "004 (004_merge.sql) is not applied");
            has(&run, stream, "`stamp 006`");
        }
        assert_eq!(
            applied_ids(&old(), &mut conn),
            ["001", "002", "003", "005", "006"]
        );

        // The mend the message gives.
        cli_at(db.url(), &["stamp", "006"]).expect_code(exit::OK, "the mend");
        cli_at(db.url(), &["verify"]).expect_code(exit::OK, "mended");
        cli_at(db.url(), &["check"]).expect_code(exit::OK, "mended");
        let mut ids = applied_ids(&old(), &mut conn);
        ids.sort();
        assert_eq!(ids, OLD_ALL);
    });
}

#[test]
fn check_names_an_edited_checksum() {
    on_every_backend(|db| {
        let mut conn = db.connect();
        old()
            .upgrade(&mut conn, "005".parse::<Target>().expect("target"))
            .expect("upgrade");
        conn.batch_execute(
            "UPDATE migrator_version SET checksum = 'abc123' WHERE revision = '003'",
        )
        .expect("edit a checksum");
        let run = cli_at(db.url(), &["check"]);
        run.expect_code(
            exit::MISMATCH,
            "check sees the edit before the pending revision",
        );
        has(
            &run,
            "stdout",
            "003 (003_right.sql) was edited after it was applied",
        );
        has(&run, "stdout", "abc123");
        let check = old().check(&mut conn).expect("check");
        assert_eq!(check.pending.len(), 1);
        assert!(
            matches!(&check.problems[..], [Problem::Edited { revision, .. }] if revision == "003")
        );
    });
}

// ---------------------------------------------------------------------------
// Schemas (PostgreSQL)
// ---------------------------------------------------------------------------

/// `(schema, table)` of the tables named `like` (a LIKE pattern), sorted.
fn located(conn: &mut AnyConnection, like: &str) -> Vec<(String, String)> {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        s: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        t: String,
    }
    let AnyConnection::Postgres(pg) = conn else {
        panic!("PostgreSQL only")
    };
    let rows: Vec<Row> = diesel::RunQueryDsl::load(
        diesel::sql_query(format!(
            "SELECT table_schema::text AS s, table_name::text AS t FROM information_schema.tables \
             WHERE table_name LIKE '{like}' ORDER BY 1, 2"
        )),
        pg,
    )
    .expect("information_schema");
    rows.into_iter().map(|r| (r.s, r.t)).collect()
}

fn pair(s: &str, t: &str) -> (String, String) {
    (s.to_owned(), t.to_owned())
}

fn with_table(table: &str) -> Migrator<'static> {
    Migrator::with_options(
        &branchy::MIGRATIONS,
        migrator_tests::options(|o| o.version_table = table.to_owned()),
    )
}

#[test]
fn a_qualified_version_table_lives_in_its_schema() {
    let Some(db) = TestDb::postgres() else { return };
    let mut conn = db.connect();
    conn.batch_execute("CREATE SCHEMA svc_a; CREATE SCHEMA \"Svc B\"")
        .expect("schemas");

    let run = cli_at(
        db.url(),
        &[
            "--version-table",
            "svc_a.migrator_version",
            "upgrade",
            "002",
        ],
    );
    run.expect_code(exit::OK, "a qualified version table");
    assert_eq!(
        located(&mut conn, "migrator%"),
        [
            pair("svc_a", "migrator_version"),
            pair("svc_a", "migrator_version_audit")
        ]
    );
    let a = with_table("svc_a.migrator_version");
    assert_eq!(applied_ids(&a, &mut conn), ["001", "002"]);
    assert_eq!(a.audit_log(&mut conn).expect("audit").len(), 2);
    let run = cli_at(
        db.url(),
        &["--version-table", "svc_a.migrator_version", "current"],
    );
    assert_eq!(run.stdout, "002\n", "{run}");
    // Nothing in public: the default table is empty there.
    assert!(applied_ids(&old(), &mut conn).is_empty());

    // A schema and a table that need quoting, through the library.
    let b = with_table("Svc B.Versions");
    b.stamp(&mut conn, Target::Head)
        .expect("stamp in \"Svc B\"");
    assert_eq!(
        located(&mut conn, "Versions%"),
        [pair("Svc B", "Versions"), pair("Svc B", "Versions_audit")]
    );
    assert_eq!(applied_ids(&b, &mut conn), OLD_ALL);
    assert_eq!(applied_ids(&a, &mut conn), ["001", "002"]);

    // Two version tables, two states, two audit logs.
    a.upgrade(&mut conn, "003".parse::<Target>().expect("target"))
        .expect("a moves on");
    assert_eq!(a.audit_log(&mut conn).expect("audit").len(), 3);
    assert_eq!(b.audit_log(&mut conn).expect("audit").len(), 6);
}

#[test]
fn an_unqualified_name_means_the_first_schema_of_the_search_path() {
    let Some(db) = TestDb::postgres() else { return };
    let mut conn = db.connect();
    // public is at head; tenant_x, first on the path, has nothing yet.
    old()
        .upgrade(&mut conn, Target::Head)
        .expect("public at head");
    let name = migrator_tests::database_name(db.url()).to_owned();
    conn.batch_execute(&format!(
        "CREATE SCHEMA tenant_x; ALTER DATABASE \"{name}\" SET search_path = tenant_x, public"
    ))
    .expect("a tenant schema first on the path");

    // A new connection has the path. tenant_x has no version table, but
    // the one earlier builds found through the path is public's: no
    // command takes tenant_x for base (it would run everything again
    // beside public's history); each names both tables and the mend.
    let mut tenant = db.connect();
    match old().state(&mut tenant) {
        Err(Error::TableElsewhere {
            expected, found, ..
        }) => {
            assert_eq!(expected, "tenant_x.migrator_version");
            assert_eq!(found, "public.migrator_version");
        }
        other => panic!("expected TableElsewhere, got {other:?}"),
    }
    for args in [
        &["current"][..],
        &["check"],
        &["upgrade", "head"],
        &["stamp", "002"],
    ] {
        let run = cli_at(db.url(), args);
        run.expect_code(exit::MISMATCH, "public's table is found elsewhere");
        has(&run, "stderr", "`tenant_x.migrator_version` does not exist");
        has(&run, "stderr", "`--version-table public.migrator_version`");
    }
    assert_eq!(
        located(&mut conn, "migrator%"),
        [
            pair("public", "migrator_version"),
            pair("public", "migrator_version_audit"),
        ]
    );

    // Named, tenant_x gets its own tables; then the unqualified name is
    // tenant_x's (the startup check must not take public's rows for
    // tenant_x's).
    let tenant_x = with_table("tenant_x.migrator_version");
    tenant_x
        .stamp(&mut tenant, "002".parse::<Target>().expect("target"))
        .expect("stamp in tenant_x");
    assert_eq!(
        located(&mut conn, "migrator%"),
        [
            pair("public", "migrator_version"),
            pair("public", "migrator_version_audit"),
            pair("tenant_x", "migrator_version"),
            pair("tenant_x", "migrator_version_audit"),
        ]
    );
    let run = cli_at(db.url(), &["current"]);
    assert_eq!(run.stdout, "002\n", "{run}");
    cli_at(db.url(), &["check"]).expect_code(exit::PENDING, "tenant_x has 003.. pending");
    assert_eq!(applied_ids(&old(), &mut tenant), ["001", "002"]);
    let public = with_table("public.migrator_version");
    assert_eq!(applied_ids(&public, &mut tenant), OLD_ALL);
    // Six upgrades and the `started` entry of 006 (`Transaction: false`).
    assert_eq!(public.audit_log(&mut tenant).expect("audit").len(), 7);
    assert_eq!(old().audit_log(&mut tenant).expect("audit").len(), 2);
}

/// The regression the rule above guards against: a role with the default
/// search path (`"$user", public`) migrated into `public`; later a DBA gives
/// it its own schema, which `current_schema()` now names. Earlier builds
/// went on with `public.migrator_version`; this one must not start from
/// base in the new schema.
#[test]
fn a_new_schema_of_the_role_does_not_abandon_the_version_table_in_public() {
    // Dropped after the database (declared before it).
    let role = Role(format!("rv_app_{}", std::process::id()));
    let Some(db) = TestDb::postgres() else { return };
    let mut conn = db.connect();
    let role = role.0.as_str();
    conn.batch_execute(&format!(
        "CREATE ROLE \"{role}\" LOGIN; GRANT ALL ON SCHEMA public TO \"{role}\""
    ))
    .expect("a role with the default search path");
    let url = db.url().replacen("postgres@", &format!("{role}@"), 1);
    assert_ne!(url, db.url(), "the URL names the role");
    cli_at(&url, &["upgrade", "head"]).expect_code(exit::OK, "upgrade into public");
    conn.batch_execute(&format!(
        "CREATE SCHEMA \"{role}\" AUTHORIZATION \"{role}\""
    ))
    .expect("the role's own schema");

    for args in [
        &["current"][..],
        &["upgrade", "head"],
        &["downgrade", "base"],
    ] {
        let run = cli_at(&url, args);
        run.expect_code(exit::MISMATCH, "the version table is in public");
        has(
            &run,
            "stderr",
            &format!("`{role}.migrator_version` does not exist"),
        );
        has(&run, "stderr", "`--version-table public.migrator_version`");
    }
    // Nothing ran again, nothing was created in the new schema.
    assert_eq!(
        located(&mut conn, "migrator%"),
        [
            pair("public", "migrator_version"),
            pair("public", "migrator_version_audit"),
        ]
    );
    assert_eq!(count(&mut conn, "SELECT COUNT(*) AS n FROM base_t"), 1);
    let public = with_table("public.migrator_version");
    // Six upgrades and the `started` entry of 006 (`Transaction: false`).
    assert_eq!(public.audit_log(&mut conn).expect("audit").len(), 7);
    // The mend works.
    let run = cli_at(
        &url,
        &["--version-table", "public.migrator_version", "current"],
    );
    run.expect_code(exit::OK, "the named table");
    assert_eq!(run.stdout, "006 (head)\n", "{run}");
}

/// A login role, dropped (when there) on drop.
struct Role(String);

impl Drop for Role {
    fn drop(&mut self) {
        let admin = <diesel::PgConnection as diesel::Connection>::establish(
            &migrator_tests::postgres_admin_url(),
        );
        if let Ok(mut admin) = admin {
            let _ = admin.batch_execute(&format!("DROP ROLE IF EXISTS \"{}\"", self.0));
        }
    }
}

/// Earlier builds quoted a dotted name as one identifier: the table
/// `"svc_a.migrator_version"` in `public`. Now that the name means the table
/// of the schema `svc_a`, that history is not silently left behind.
#[test]
fn a_dotted_table_of_earlier_builds_is_not_left_behind() {
    let Some(db) = TestDb::postgres() else { return };
    let mut conn = db.connect();
    conn.batch_execute(
        "CREATE SCHEMA svc_a; CREATE TABLE public.\"svc_a.migrator_version\" (\
         revision VARCHAR(64) NOT NULL PRIMARY KEY, checksum VARCHAR(64) NOT NULL, \
         applied_at TIMESTAMP NOT NULL, execution_ms BIGINT NOT NULL, seq BIGINT NOT NULL)",
    )
    .expect("an earlier build's dotted table");
    let run = cli_at(
        db.url(),
        &[
            "--version-table",
            "svc_a.migrator_version",
            "upgrade",
            "head",
        ],
    );
    run.expect_code(exit::MISMATCH, "the dotted table of earlier builds");
    has(&run, "stderr", "`svc_a.migrator_version` does not exist");
    has(&run, "stderr", "`public.svc_a.migrator_version` does");
    assert_eq!(
        located(&mut conn, "%migrator%"),
        [pair("public", "svc_a.migrator_version")]
    );
}

#[test]
fn the_startup_check_does_not_take_another_schemas_rows() {
    let Some(db) = TestDb::postgres() else { return };
    let mut conn = db.connect();
    old()
        .stamp(&mut conn, Target::Head)
        .expect("public stamped at head");
    conn.batch_execute("CREATE SCHEMA tenant_y; SET search_path = tenant_y, public")
        .expect("path");
    // On this connection tenant_y is first: the digest of public's rows must
    // not pass for tenant_y at head (which has no table: refused, see
    // above); nor once tenant_y has its own table, at 001.
    assert!(matches!(
        old().upgrade(&mut conn, Target::Head),
        Err(Error::TableElsewhere { .. })
    ));
    with_table("tenant_y.migrator_version")
        .upgrade(&mut conn, "001".parse::<Target>().expect("target"))
        .expect("tenant_y at 001");
    let report = old()
        .upgrade(&mut conn, Target::Head)
        .expect("upgrade tenant_y");
    assert_eq!(report.steps.len(), 5);
    assert_eq!(
        count(
            &mut conn,
            "SELECT COUNT(*) AS n FROM tenant_y.migrator_version"
        ),
        6
    );
    assert_eq!(
        count(&mut conn, "SELECT COUNT(*) AS n FROM tenant_y.base_t"),
        1
    );
}

#[test]
fn version_tables_in_two_schemas_have_their_own_locks() {
    let Some(db) = TestDb::postgres() else { return };
    let mut holder = db.connect();
    holder
        .batch_execute("CREATE SCHEMA svc_a; CREATE SCHEMA svc_b")
        .expect("schemas");
    // A lock held on svc_a's key (taken as a run takes it) does not stop a
    // run on svc_b; it does stop one on svc_a.
    holder
        .batch_execute(
            "SELECT pg_advisory_lock(1836411250, hashtext(current_database() || '.' || \
             'svc_a.migrator_version'))",
        )
        .expect("hold svc_a's lock");
    let run = cli_at(
        db.url(),
        &[
            "--version-table",
            "svc_b.migrator_version",
            "upgrade",
            "001",
        ],
    );
    run.expect_code(exit::OK, "svc_b's lock is its own");
    let run = cli_at(
        db.url(),
        &[
            "--version-table",
            "svc_a.migrator_version",
            "--lock-timeout",
            "200ms",
            "upgrade",
            "001",
        ],
    );
    run.expect_code(exit::LOCKED, "svc_a's lock is held");
}

/// Earlier builds locked the unqualified name (`migrator_version`); this one
/// locks `public.migrator_version` too, but takes the earlier key first:
/// during a rolling deploy an old and a new build still exclude each other.
#[test]
fn an_earlier_builds_lock_still_excludes_this_build() {
    let Some(db) = TestDb::postgres() else { return };
    let mut holder = db.connect();
    holder
        .batch_execute(
            "SELECT pg_advisory_lock(1836411250, hashtext(current_database() || '.' || \
             'migrator_version'))",
        )
        .expect("hold the key of earlier builds");
    let run = cli_at(db.url(), &["--lock-timeout", "300ms", "upgrade", "head"]);
    run.expect_code(exit::LOCKED, "an earlier build holds its key");
    has(&run, "stderr", "timed out");
    assert!(applied_ids(&old(), &mut holder).is_empty(), "nothing ran");
    // Neither key is left held by the run that gave up.
    assert_eq!(
        count(
            &mut holder,
            "SELECT count(*)::BIGINT AS n FROM pg_locks l JOIN pg_database d ON d.oid = \
             l.database WHERE l.locktype = 'advisory' AND d.datname = current_database() \
             AND l.pid <> pg_backend_pid()"
        ),
        0
    );
    holder
        .batch_execute("SELECT pg_advisory_unlock_all()")
        .expect("release");
    cli_at(db.url(), &["upgrade", "head"]).expect_code(exit::OK, "free again");
    assert_eq!(applied_ids(&old(), &mut holder), OLD_ALL);
    assert_eq!(
        count(
            &mut holder,
            "SELECT count(*)::BIGINT AS n FROM pg_locks l JOIN pg_database d ON d.oid = \
             l.database WHERE l.locktype = 'advisory' AND d.datname = current_database()"
        ),
        0,
        "both keys released"
    );
}

// ---------------------------------------------------------------------------
// The audit log of earlier builds
// ---------------------------------------------------------------------------

#[test]
fn the_audit_log_of_earlier_builds_is_kept() {
    on_every_backend(|db| {
        let mut conn = db.connect();
        // As an earlier build left it: history in `migrator_audit`.
        let legacy = Migrator::with_options(
            &branchy::MIGRATIONS,
            migrator_tests::options(|o| o.audit_table = Some("migrator_audit".to_owned())),
        );
        legacy
            .upgrade(&mut conn, "002".parse::<Target>().expect("target"))
            .expect("an earlier build's run");

        // The default now: `migrator_version_audit` is not there, so
        // `migrator_audit` is used, history and all.
        let run = cli_at(db.url(), &["upgrade", "003"]);
        run.expect_code(exit::OK, "upgrade");
        let log = old().audit_log(&mut conn).expect("audit");
        // (On MySQL each also has the `started` entry of its dirty marker.)
        let revisions: Vec<&str> = log
            .iter()
            .filter(|e| e.outcome == "success")
            .map(|e| e.revision.as_str())
            .collect();
        assert_eq!(revisions, ["001", "002", "003"]);
        let mut names = migrator_tests::tables(&mut conn);
        names.sort();
        assert!(names.contains(&"migrator_audit".to_owned()), "{names:?}");
        assert!(
            !names.contains(&"migrator_version_audit".to_owned()),
            "{names:?}"
        );

        // Renamed by hand, as the docs say, it is the default log.
        conn.batch_execute("ALTER TABLE migrator_audit RENAME TO migrator_version_audit")
            .expect("rename");
        old().upgrade(&mut conn, Target::Head).expect("upgrade");
        // Six upgrades and the `started` entries of the dirty markers.
        branchy::assert_at_head_once(db);
    });
}

#[test]
fn sqlite_main_qualified_is_the_main_database() {
    let db = TestDb::sqlite();
    let mut conn = db.connect();
    let main = with_table("main.migrator_version");
    main.upgrade(&mut conn, "002".parse::<Target>().expect("target"))
        .expect("main.migrator_version");
    // The same table as the unqualified name, and its audit log beside it.
    assert_eq!(applied_ids(&old(), &mut conn), ["001", "002"]);
    assert_eq!(old().audit_log(&mut conn).expect("audit").len(), 2);
    old().upgrade(&mut conn, Target::Head).expect("upgrade");
    assert_eq!(applied_ids(&main, &mut conn), OLD_ALL);
}
