//! A Diesel project switched to migrator: `import diesel` of the projects
//! under `tests/fixtures/diesel/{postgres,sqlite}` (made with diesel_cli:
//! `diesel setup`, `diesel migration generate`; with a `run_in_transaction =
//! false` migration, a comment-only `down.sql`, a missing one, diesel's own
//! `00000000000000_diesel_initial_setup` on PostgreSQL), the adoption of the
//! database diesel_cli migrated, and the first upgrade after it.
//!
//! The revisions embedded here, `fixtures/diesel/<backend>_migrator`, are the
//! import's output (checked byte for byte by
//! `the_embedded_revisions_are_the_import`) plus one revision written after
//! the switch, `20300101000000_add_tags.sql`.
//!
//! diesel_cli is `$MIGRATOR_DIESEL_CLI`, or `target/diesel-cli/bin/diesel`
//! as `scripts/diesel-cli.sh` installs it; without it the tests that run it
//! are skipped loudly, and fail under `CI=1`. On MySQL (which our diesel_cli
//! is built without) the diesel run is done as diesel_migrations does it:
//! diesel's own `CREATE TABLE` of its table, each `up.sql` as one batch, its
//! version recorded.

use std::path::{Path, PathBuf};
use std::process::Command;

use diesel::connection::SimpleConnection;
use migrator_runtime::testing::{DiffOptions, SchemaDiff, Snapshot, on_mysql};
use migrator_runtime::{AnyConnection, Error, Event, Migrations, Migrator, Target};
use migrator_tests::{Kind, Run, TestDb, cli_command, count, exit_code, missing, tables, texts};

mod postgres_migrator {
    migrator_runtime::embed_migrations!("fixtures/diesel/postgres_migrator");
}

mod sqlite_migrator {
    migrator_runtime::embed_migrations!("fixtures/diesel/sqlite_migrator");
}

/// The revision written after the switch.
const NEW: &str = "20300101000000";

/// The last imported revision: where diesel left the database.
const LAST_IMPORTED: &str = "20240105000000";

/// diesel's table, as diesel_migrations names it.
const DIESEL_TABLE: &str = "__diesel_schema_migrations";

/// diesel_migrations' `CREATE TABLE` of its table (its `migration_harness`).
const DIESEL_TABLE_SQL: &str = "CREATE TABLE IF NOT EXISTS __diesel_schema_migrations (\n       \
     version VARCHAR(50) PRIMARY KEY NOT NULL,\n       \
     run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP\n);";

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/diesel")
}

/// The diesel project of a backend and the embedded revisions imported
/// from it.
fn project(kind: Kind) -> (&'static str, &'static Migrations) {
    match kind {
        Kind::Postgres => ("postgres", &postgres_migrator::MIGRATIONS),
        _ => ("sqlite", &sqlite_migrator::MIGRATIONS),
    }
}

/// The diesel_cli binary, or `None` (after a loud skip; a failure in CI).
fn diesel_cli() -> Option<PathBuf> {
    let path = std::env::var_os("MIGRATOR_DIESEL_CLI").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/diesel-cli/bin/diesel"),
        PathBuf::from,
    );
    if path.is_file() {
        return Some(path);
    }
    missing(
        "diesel_cli",
        &format!(
            "no `{}`: run `bash scripts/diesel-cli.sh` (or set MIGRATOR_DIESEL_CLI)",
            path.display()
        ),
    );
    None
}

/// Copies the files of `from` (and its subdirectories) into `to`.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("ls") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// A diesel project in a temporary directory: `diesel.toml` and a copy of
/// the fixture's migrations (diesel_cli writes its lock file there).
fn diesel_project(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("diesel.toml"),
        "[migrations_directory]\ndir = \"migrations\"\n",
    )
    .expect("diesel.toml");
    copy_tree(&fixtures().join(name), &dir.path().join("migrations"));
    dir
}

/// diesel_cli's URL of a test database (a plain path for SQLite).
fn diesel_url(db: &TestDb) -> &str {
    db.url().strip_prefix("sqlite://").unwrap_or(db.url())
}

/// Runs diesel_cli with `args` in `project`, which must succeed.
fn diesel(cli: &Path, project: &Path, db: &TestDb, args: &[&str]) -> Run {
    let start = std::time::Instant::now();
    let output = Command::new(cli)
        .args(args)
        .arg("--database-url")
        .arg(diesel_url(db))
        .current_dir(project)
        .env_remove("DATABASE_URL")
        .output()
        .expect("run diesel_cli");
    let run = Run::from_output(output, start.elapsed());
    run.expect_code(0, &format!("diesel {}", args.join(" ")));
    run
}

/// diesel's table's versions, in order.
fn diesel_versions(conn: &mut AnyConnection) -> Vec<String> {
    texts(
        conn,
        &format!("SELECT version AS value FROM {DIESEL_TABLE} ORDER BY version"),
    )
}

/// The schema, without diesel's table.
fn schema_without_diesel(conn: &mut AnyConnection) -> Snapshot {
    let mut snapshot = Snapshot::take(conn).expect("snapshot");
    assert!(
        snapshot.tables.remove(DIESEL_TABLE).is_some(),
        "diesel's table is there"
    );
    snapshot
}

/// Panics, showing the difference, unless both schemas are the same.
fn assert_same_schema(diesel: &Snapshot, migrator: &Snapshot, what: &str) {
    let diff = SchemaDiff::between(diesel, migrator, &DiffOptions::default());
    assert!(diff.is_empty(), "{what}:\n{diff}");
}

/// Per revision of the audit log: (revision, action, outcome).
fn audit(migrations: &Migrations, conn: &mut AnyConnection) -> Vec<(String, String, String)> {
    Migrator::new(migrations)
        .audit_log(conn)
        .expect("audit log")
        .into_iter()
        .map(|e| (e.revision, e.action, e.outcome))
        .collect()
}

/// The revision IDs of `migrations`, in order.
fn ids(migrations: &Migrations) -> Vec<String> {
    let graph = migrations.graph();
    graph
        .order()
        .iter()
        .map(|&i| graph.revision(i).id.to_string())
        .collect()
}

/// The file listing the released revisions (FORMAT.md, "Released revisions").
const RELEASED: &str = "released.sum";

#[test]
fn the_embedded_revisions_are_the_import() {
    for name in ["postgres", "sqlite"] {
        let dest = tempfile::tempdir().expect("tempdir");
        let out = dest.path().join("migrations");
        let import =
            migrator_core::import::import_diesel(&fixtures().join(name), &out).expect("import");
        let committed = fixtures().join(format!("{name}_migrator"));
        let mut written = Vec::new();
        for revision in &import.revisions {
            let file = revision.path.file_name().expect("name").to_owned();
            assert_eq!(
                std::fs::read_to_string(&revision.path).expect("read"),
                std::fs::read_to_string(committed.join(&file)).expect("committed"),
                "{name}: {file:?} differs from the import's output: import again into \
                 fixtures/diesel/{name}_migrator"
            );
            written.push(file.to_string_lossy().into_owned());
        }
        // The imported history is released; the revision written after the
        // switch is not.
        assert_eq!(
            std::fs::read_to_string(out.join(RELEASED)).expect("read"),
            std::fs::read_to_string(committed.join(RELEASED)).expect("committed"),
            "{name}: released.sum differs from the import's: import again into \
             fixtures/diesel/{name}_migrator"
        );
        written.push(RELEASED.to_owned());
        let mut all: Vec<String> = std::fs::read_dir(&committed)
            .expect("ls")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        all.sort();
        written.push(format!("{NEW}_add_tags.sql"));
        written.sort();
        assert_eq!(all, written, "{name}: the import and the new revision");
        let ignored: Vec<_> = import
            .ignored
            .iter()
            .map(|p| p.file_name().expect("name").to_string_lossy().into_owned())
            .collect();
        assert_eq!(ignored, [".keep", "README.md"], "{name}");
    }
    let expected = |first: &[&str]| {
        let mut ids: Vec<String> = first.iter().map(|s| (*s).to_owned()).collect();
        ids.extend(
            [
                "20240101000001",
                "20240102000000",
                "20240103000000",
                "20240104000000",
                LAST_IMPORTED,
                NEW,
            ]
            .map(str::to_owned),
        );
        ids
    };
    assert_eq!(
        ids(&postgres_migrator::MIGRATIONS),
        expected(&["00000000000000"])
    );
    assert_eq!(ids(&sqlite_migrator::MIGRATIONS), expected(&[]));
}

/// What diesel_cli generates today imports: its skeletons (`-- Your SQL goes
/// here`, a down.sql of comments, no down.sql with `--no-down`) become
/// `-- migrate:noop` both ways, and the result builds.
#[test]
fn what_diesel_cli_generates_imports_and_builds() {
    let Some(cli) = diesel_cli() else { return };
    let project = diesel_project("sqlite");
    let db = TestDb::sqlite();
    diesel(
        &cli,
        project.path(),
        &db,
        &[
            "migration",
            "generate",
            "--version",
            "2024-02-01-000000",
            "add_things",
        ],
    );
    diesel(
        &cli,
        project.path(),
        &db,
        &[
            "migration",
            "generate",
            "--no-down",
            "--version",
            "20240202000000",
            "more-things",
        ],
    );
    let out = project.path().join("migrator");
    let import = migrator_core::import::import_diesel(&project.path().join("migrations"), &out)
        .expect("import");
    let generated: Vec<_> = import.revisions.iter().rev().take(2).collect();
    for revision in &generated {
        assert!(
            revision.noop_upgrade && revision.noop_downgrade,
            "{revision:?}"
        );
    }
    let graph = migrator_core::load_dir(&out, "migrator").expect("the import builds");
    let head = graph.revision(graph.head().expect("a head"));
    assert_eq!(head.id, "20240202000000");
    assert_eq!(head.message, "more things");
    assert_eq!(
        head.parents().collect::<Vec<_>>(),
        ["20240201000000"],
        "one chain in diesel's order"
    );
}

/// The database diesel_cli migrated is adopted (nothing runs) and
/// upgraded; the imported revisions give a fresh database the schema
/// diesel_cli gave its own.
#[test]
fn a_database_diesel_cli_migrated_is_adopted_then_upgraded() {
    let Some(cli) = diesel_cli() else { return };
    for kind in [Kind::Postgres, Kind::Sqlite] {
        let (name, migrations) = project(kind);
        let Some(by_diesel) = TestDb::new(kind) else {
            continue;
        };
        let Some(by_migrator) = TestDb::new(kind) else {
            continue;
        };
        let project = diesel_project(name);
        diesel(&cli, project.path(), &by_diesel, &["migration", "run"]);
        let mut conn = by_diesel.connect();
        let versions = diesel_versions(&mut conn);
        let imported: Vec<String> = ids(migrations).into_iter().filter(|id| id != NEW).collect();
        assert_eq!(versions, imported, "{name}: diesel's table");

        // The imported revisions build the schema diesel_cli built.
        let mut fresh = by_migrator.connect();
        let migrator = Migrator::new(migrations);
        migrator
            .upgrade(&mut fresh, LAST_IMPORTED.parse::<Target>().expect("target"))
            .expect("upgrade a fresh database");
        let diesel_schema = schema_without_diesel(&mut conn);
        assert_same_schema(
            &diesel_schema,
            &Snapshot::take(&mut fresh).expect("snapshot"),
            &format!("{name}: diesel_cli's run against the imported revisions' run"),
        );

        // Commands that only read answer as if adopted, and write nothing.
        let current: Vec<_> = migrator
            .current(&mut conn)
            .expect("current")
            .iter()
            .map(|r| r.id.to_string())
            .collect();
        assert_eq!(current, [LAST_IMPORTED], "{name}");
        let check = migrator.check(&mut conn).expect("check");
        assert!(check.problems.is_empty(), "{name}: {:?}", check.problems);
        let pending: Vec<_> = check.pending.iter().map(|r| r.id.to_string()).collect();
        assert_eq!(pending, [NEW], "{name}");
        assert!(
            !tables(&mut conn).iter().any(|t| t.starts_with("migrator")),
            "{name}: read-only commands wrote nothing"
        );

        // The first upgrade adopts, runs nothing imported, then goes on.
        let adopted = std::sync::Mutex::new(Vec::new());
        let report = Migrator::new(migrations)
            .on_event(|event| {
                if let Event::Adopted { revision } = event {
                    adopted.lock().expect("lock").push(revision.id.to_string());
                }
            })
            .upgrade(&mut conn, Target::Head)
            .expect("upgrade");
        assert_eq!(*adopted.lock().expect("lock"), imported, "{name}");
        let steps: Vec<_> = report.steps.iter().map(|s| s.revision.clone()).collect();
        assert_eq!(steps, ids(migrations), "{name}");
        let mut expected: Vec<(String, String, String)> = imported
            .iter()
            .map(|id| (id.clone(), "stamp".to_owned(), "adopted".to_owned()))
            .collect();
        expected.push((NEW.to_owned(), "upgrade".to_owned(), "success".to_owned()));
        assert_eq!(audit(migrations, &mut conn), expected, "{name}");
        let detail = &Migrator::new(migrations).audit_log(&mut conn).expect("log")[0].detail;
        assert!(detail.starts_with("adopted from diesel"), "{detail}");
        assert_eq!(
            migrator_tests::applied_ids(&migrator, &mut conn),
            ids(migrations),
            "{name}"
        );
        assert_eq!(
            diesel_versions(&mut conn),
            versions,
            "{name}: diesel's table untouched"
        );

        migrator
            .upgrade(&mut fresh, Target::Head)
            .expect("upgrade the fresh database");
        assert_same_schema(
            &schema_without_diesel(&mut conn),
            &Snapshot::take(&mut fresh).expect("snapshot"),
            &format!("{name}: adopted and upgraded against upgraded from base"),
        );
        let again = migrator.upgrade(&mut conn, Target::Head).expect("again");
        assert!(again.steps.is_empty(), "{name}: {again:?}");
        // Migrator's history now holds a run of its own: diesel's table is
        // not read again.
        let downgrade = migrator
            .downgrade(&mut conn, Target::Base)
            .expect("downgrade to base");
        assert_eq!(downgrade.steps.len(), ids(migrations).len(), "{name}");
        assert!(
            migrator.current(&mut conn).expect("current").is_empty(),
            "{name}: at base, not adopted again"
        );
    }
}

/// Creates diesel's table listing `versions`, as diesel_migrations would.
fn diesel_table(conn: &mut AnyConnection, versions: &[&str]) {
    conn.batch_execute(DIESEL_TABLE_SQL)
        .expect("diesel's table");
    for version in versions {
        conn.batch_execute(&format!(
            "INSERT INTO {DIESEL_TABLE} (version) VALUES ('{version}')"
        ))
        .expect("insert");
    }
}

/// Migrates `conn` as diesel_migrations does, with the migrations of the
/// SQLite fixture whose version `ran` keeps (the others are left as if
/// merged after the run): diesel's own `CREATE TABLE` of its table, each
/// `up.sql` as one batch, its version recorded. The versions run, in order.
fn diesel_run(conn: &mut AnyConnection, ran: impl Fn(&str) -> bool) -> Vec<String> {
    conn.batch_execute(DIESEL_TABLE_SQL)
        .expect("diesel's table");
    let project = fixtures().join("sqlite");
    let mut dirs: Vec<(String, PathBuf)> = std::fs::read_dir(&project)
        .expect("ls")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .map(|p| {
            let name = p.file_name().expect("name").to_string_lossy().into_owned();
            let version = name.split('_').next().unwrap_or_default().replace('-', "");
            (version, p)
        })
        .filter(|(version, _)| ran(version))
        .collect();
    dirs.sort();
    for (version, dir) in &dirs {
        let up = std::fs::read_to_string(dir.join("up.sql")).expect("up.sql");
        conn.batch_execute(&up).expect("up.sql");
        conn.batch_execute(&format!(
            "INSERT INTO {DIESEL_TABLE} (version) VALUES ('{version}')"
        ))
        .expect("record");
    }
    dirs.into_iter().map(|(version, _)| version).collect()
}

/// The IDs of `revisions`.
fn ids_of(revisions: &[&migrator_runtime::Revision]) -> Vec<String> {
    revisions.iter().map(|r| r.id.to_string()).collect()
}

/// A version in diesel's table that no revision carries stops every
/// command, names the version, and records nothing; diesel's table stays.
/// The message gives the statement that mends a squashed history.
#[test]
fn a_version_no_revision_carries_stops_the_adoption() {
    const MEND: &str =
        "DELETE FROM __diesel_schema_migrations WHERE version IN ('20991231000000');";
    let check = |db: &TestDb| {
        let migrations = &sqlite_migrator::MIGRATIONS;
        let mut conn = db.connect();
        diesel_table(&mut conn, &["20240101000001", "20991231000000"]);
        let migrator = Migrator::new(migrations);
        for error in [
            migrator
                .upgrade(&mut conn, Target::Head)
                .expect_err("upgrade"),
            migrator.stamp(&mut conn, Target::Head).expect_err("stamp"),
            migrator.current(&mut conn).expect_err("current"),
            migrator.check(&mut conn).expect_err("check"),
        ] {
            assert!(
                matches!(&error, Error::UnknownDieselVersions { versions } if versions == &["20991231000000"]),
                "{error}"
            );
            assert_eq!(exit_code(&error), 6, "{error}");
            assert!(error.to_string().contains("import diesel"), "{error}");
            assert!(error.to_string().contains(MEND), "{error}");
        }
        assert!(
            migrator.state(&mut conn).expect("state").applied.is_empty(),
            "nothing recorded"
        );
        assert_eq!(
            diesel_versions(&mut conn),
            ["20240101000001", "20991231000000"]
        );
        // The mend of a squashed history, as the message gives it.
        conn.batch_execute(MEND).expect("the mend");
        migrator
            .stamp(
                &mut conn,
                "20240101000001".parse::<Target>().expect("target"),
            )
            .expect("adopted");
        assert_eq!(
            migrator_tests::applied_ids(&migrator, &mut conn),
            ["20240101000001"]
        );
    };
    migrator_tests::on_each_backend(check);
    on_mysql(check);
}

/// `stamp` adopts first, then records its target: the adopted revisions
/// are `adopted`, the others stamped.
#[test]
fn stamp_adopts_then_stamps() {
    let db = TestDb::sqlite();
    let migrations = &sqlite_migrator::MIGRATIONS;
    let mut conn = db.connect();
    diesel_table(&mut conn, &["20240101000001", "20240102000000"]);
    let migrator = Migrator::new(migrations);
    let report = migrator
        .stamp(
            &mut conn,
            "20240104000000".parse::<Target>().expect("target"),
        )
        .expect("stamp");
    assert_eq!(report.steps.len(), 4);
    let outcomes: Vec<_> = audit(migrations, &mut conn)
        .into_iter()
        .map(|(id, _, outcome)| format!("{id} {outcome}"))
        .collect();
    assert_eq!(
        outcomes,
        [
            "20240101000001 adopted",
            "20240102000000 adopted",
            "20240103000000 success",
            "20240104000000 success"
        ]
    );
}

/// MySQL: a database diesel_migrations migrated (as it does it: its table,
/// each `up.sql` as one batch, its version) is adopted and upgraded.
#[test]
fn a_database_diesel_migrated_on_mysql_is_adopted_then_upgraded() {
    on_mysql(|db| {
        let migrations = &sqlite_migrator::MIGRATIONS;
        let mut conn = db.connect();
        let dirs = diesel_run(&mut conn, |_| true);
        let migrator = Migrator::new(migrations);
        let report = migrator.upgrade(&mut conn, Target::Head).expect("upgrade");
        assert_eq!(report.steps.len(), ids(migrations).len());
        let outcomes: Vec<_> = audit(migrations, &mut conn)
            .into_iter()
            .map(|(_, action, outcome)| format!("{action} {outcome}"))
            .collect();
        let mut expected = vec!["stamp adopted".to_owned(); dirs.len()];
        // MariaDB's DDL commits on its own: the new revision runs with its
        // dirty marker.
        expected.extend(["upgrade started".to_owned(), "upgrade success".to_owned()]);
        assert_eq!(outcomes, expected);
        assert_eq!(
            count(
                &mut conn,
                "SELECT COUNT(*) AS n FROM information_schema.tables \
                 WHERE table_schema = DATABASE() AND table_name = 'tags'"
            ),
            1
        );
        assert_eq!(diesel_versions(&mut conn).len(), dirs.len());
    });
}

/// The CLI: `import diesel` writes the revisions and refuses to overwrite
/// them (exit 2); `current` on a diesel database shows where adoption puts
/// it; a version no revision carries stops `upgrade` with exit 6.
#[test]
fn the_cli_imports_and_adopts() {
    let dest = tempfile::tempdir().expect("tempdir");
    let db = TestDb::sqlite();
    let branchy = || {
        let mut command = cli_command(env!("CARGO_BIN_EXE_branchy"), db.url(), dest.path());
        command.arg("--migrations-dir").arg("imported");
        command
    };
    let run = |mut command: Command, args: &[&str]| {
        let start = std::time::Instant::now();
        Run::from_output(
            command.args(args).output().expect("run the CLI"),
            start.elapsed(),
        )
    };
    let src = fixtures().join("sqlite");
    let src = src.to_str().expect("utf-8 path");
    let first = run(branchy(), &["import", "diesel", src]);
    first.expect_code(0, "import");
    assert!(
        first.stdout.contains("Imported 5 diesel migration(s)")
            && first.stdout.contains("README.md"),
        "{first}"
    );
    // The revisions without a downgrade are warned about, on stdout.
    assert!(
        first
            .stdout
            .contains("Warning: 2 revision(s) have no downgrade (20240104000000, 20240105000000)"),
        "{first}"
    );
    let written = std::fs::read_dir(dest.path().join("imported"))
        .expect("ls")
        .count();
    assert_eq!(written, 5 + 1, "five revisions and released.sum");
    let second = run(branchy(), &["import", "diesel", src]);
    second.expect_code(2, "import again");
    assert!(
        second.stderr.contains("already holds revision files"),
        "{second}"
    );

    // The branchy build's revisions are 001…006: a diesel table listing
    // 001 and 002 is adopted to 002.
    let mut conn = db.connect();
    diesel_table(&mut conn, &["001", "002"]);
    let current = run(branchy(), &["current"]);
    current.expect_code(0, "current");
    assert!(current.stdout.contains("002"), "{current}");
    // `verify` counts as if adopted too.
    let verify = run(branchy(), &["verify"]);
    verify.expect_code(0, "verify");
    assert!(
        verify
            .stdout
            .contains("OK: 2 applied revision(s) match this build"),
        "{verify}"
    );
    assert!(
        !tables(&mut conn).iter().any(|t| t.starts_with("migrator")),
        "`current` and `verify` wrote nothing"
    );
    conn.batch_execute(&format!(
        "INSERT INTO {DIESEL_TABLE} (version) VALUES ('20240101000001')"
    ))
    .expect("insert");
    let upgrade = run(branchy(), &["upgrade"]);
    upgrade.expect_code(6, "upgrade with a version no revision carries");
    assert!(upgrade.stderr.contains("20240101000001"), "{upgrade}");
    assert!(
        !tables(&mut conn).iter().any(|t| t.starts_with("migrator")),
        "nothing recorded"
    );
}

/// A migration diesel has not run while it ran later ones (an older
/// version merged after the database was migrated) is pending, as diesel
/// would run it: the adoption records what diesel lists, the read-only
/// commands report the rest as pending and no problem, and `upgrade` runs
/// it, also after a run that only adopted.
#[test]
fn a_migration_diesel_has_not_run_before_ones_it_ran_is_pending() {
    const MERGED_LATE: &str = "20240103000000";
    let check = |db: &TestDb| {
        let migrations = &sqlite_migrator::MIGRATIONS;
        let mut conn = db.connect();
        let ran = diesel_run(&mut conn, |version| version != MERGED_LATE);
        let migrator = Migrator::new(migrations);
        let check = migrator.check(&mut conn).expect("check");
        assert!(check.problems.is_empty(), "{:?}", check.problems);
        assert_eq!(ids_of(&check.pending), [MERGED_LATE, NEW]);
        assert!(migrator.verify(&mut conn).expect("verify").is_empty());
        // The applied revisions no applied revision revises: the one before
        // the gap too.
        assert_eq!(
            ids_of(&migrator.current(&mut conn).expect("current")),
            ["20240102000000", LAST_IMPORTED]
        );

        // A run that only adopts (its target is applied) leaves the gap.
        let first = "20240101000001".parse::<Target>().expect("target");
        let report = migrator.upgrade(&mut conn, first).expect("adopt");
        assert_eq!(report.steps.len(), ran.len());
        assert_eq!(migrator_tests::applied_ids(&migrator, &mut conn), ran);
        let check = migrator.check(&mut conn).expect("check after the adoption");
        assert!(check.problems.is_empty(), "{:?}", check.problems);
        assert_eq!(ids_of(&check.pending), [MERGED_LATE, NEW]);

        let report = migrator.upgrade(&mut conn, Target::Head).expect("upgrade");
        let steps: Vec<_> = report.steps.iter().map(|s| s.revision.clone()).collect();
        assert_eq!(steps, [MERGED_LATE, NEW]);
        let upgraded: Vec<_> = audit(migrations, &mut conn)
            .into_iter()
            .filter(|(_, action, outcome)| action == "upgrade" && outcome == "success")
            .map(|(id, _, _)| id)
            .collect();
        assert_eq!(upgraded, [MERGED_LATE, NEW]);
        let mut applied = migrator_tests::applied_ids(&migrator, &mut conn);
        applied.sort();
        assert_eq!(applied, ids(migrations));
        assert!(migrator.verify(&mut conn).expect("verify").is_empty());
        assert!(
            migrator
                .upgrade(&mut conn, Target::Head)
                .expect("again")
                .steps
                .is_empty(),
            "at head"
        );
    };
    migrator_tests::on_each_backend(check);
    on_mysql(check);
}

/// The adoption is done once, in one transaction: once the version table
/// holds rows, diesel's table is history, even when the audit log is
/// pruned. A revision downgraded after the adoption is not adopted again,
/// and a version diesel recorded after the adoption is not adopted.
#[test]
fn a_database_is_adopted_once() {
    let check = |db: &TestDb| {
        let migrations = &sqlite_migrator::MIGRATIONS;
        let mut conn = db.connect();
        diesel_run(&mut conn, |_| true);
        let migrator = Migrator::new(migrations);
        migrator
            .upgrade(&mut conn, Target::Head)
            .expect("adopt and upgrade");
        // The last imported revision's upgrade is an `UPDATE`: run again.
        let second = "20240104000000";
        migrator
            .downgrade(&mut conn, second.parse::<Target>().expect("target"))
            .expect("downgrade");
        // Retention pruning, or another `--audit-table`.
        conn.batch_execute("DELETE FROM migrator_version_audit")
            .expect("prune the audit log");
        assert_eq!(
            ids_of(&migrator.current(&mut conn).expect("current")),
            [second],
            "not adopted again"
        );
        let check = migrator.check(&mut conn).expect("check");
        assert!(check.problems.is_empty(), "{:?}", check.problems);
        assert_eq!(ids_of(&check.pending), [LAST_IMPORTED, NEW]);
        let report = migrator.upgrade(&mut conn, Target::Head).expect("upgrade");
        assert_eq!(report.steps.len(), 2);
        assert!(
            !audit(migrations, &mut conn)
                .iter()
                .any(|(_, _, outcome)| outcome == "adopted"),
            "run, not adopted"
        );
    };
    migrator_tests::on_each_backend(check);
    on_mysql(check);

    // A later row in diesel's table (an old build's diesel run) is not
    // adopted either.
    let db = TestDb::sqlite();
    let migrator = Migrator::new(&sqlite_migrator::MIGRATIONS);
    let mut conn = db.connect();
    diesel_table(&mut conn, &["20240101000001"]);
    let first = "20240101000001".parse::<Target>().expect("target");
    let report = migrator.upgrade(&mut conn, first).expect("adopt");
    assert_eq!(report.steps.len(), 1);
    conn.batch_execute(&format!(
        "INSERT INTO {DIESEL_TABLE} (version) VALUES ('20240102000000')"
    ))
    .expect("insert");
    assert_eq!(
        ids_of(&migrator.current(&mut conn).expect("current")),
        ["20240101000001"],
        "not adopted"
    );
}
