//! `revision --autogenerate` on PostgreSQL and SQLite, through the CLI's
//! library entry point (`cli::execute`), against a real database.
//!
//! The database is migrated by `fixtures/autogen` (001: widgets); the Diesel
//! schema `fixtures/autogen_schema.rs` adds a column to widgets and the table
//! gadgets. Autogenerate must write exactly
//! `fixtures/autogen_next/002_add_gadgets_and_colour.sql` (its header's date
//! aside), which `fixtures/autogen_next` embeds (so the build's checks pass
//! on it); upgrading to it leaves no drift between schema.rs and the
//! database, autogenerate then finds no changes, and its downgrade gives back
//! the schema of 001. The MySQL sections of that file are run on MariaDB
//! and its tables and columns checked; MariaDB's own types are compared by
//! `mariadb_types_match_and_nullability_changes_keep_the_column`.

use std::path::{Path, PathBuf};

use migrator_runtime::cli::{self, AutogenerateError, Command, Config, GlobalArgs, Settings};
use migrator_runtime::testing::{DiffOptions, SchemaDiff, Snapshot, schema_drift};
use migrator_runtime::testing::{on_mysql, tables};
use migrator_runtime::{BackendKind, Migrations, Migrator, Target};
use migrator_tests::{TestDb, count, exit_code, on_each_backend, on_every_backend, options, texts};

mod before {
    migrator_runtime::embed_migrations!("fixtures/autogen");
}
mod after {
    migrator_runtime::embed_migrations!("fixtures/autogen_next");
}
#[path = "../fixtures/autogen_schema.rs"]
mod schema;

const GENERATED: &str = "002_add_gadgets_and_colour.sql";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

/// A copy of a fixture directory, as the project's migrations directory.
fn copy_of(name: &str) -> tempfile::TempDir {
    copy_dir(&fixture(name))
}

/// A copy of the directory `from`'s files.
fn copy_dir(from: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for entry in std::fs::read_dir(from).expect("directory") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), dir.path().join(entry.file_name())).expect("copy");
    }
    dir
}

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// `revision --autogenerate -m MSG --schema fixtures/autogen_schema.rs` in
/// `dir`, with the build `migrations`.
fn autogenerate(db: &TestDb, migrations: &Migrations, dir: &Path) -> (cli::Result<u8>, String) {
    let args = GlobalArgs {
        migrations_dir: Some(dir.to_owned()),
        ..GlobalArgs::default()
    };
    let settings = Settings::resolve(&args, Config::default());
    let command = Command::Revision {
        message: "Add gadgets and colour".to_owned(),
        rust: false,
        autogenerate: true,
        schema: Some(fixture("autogen_schema.rs")),
        // Every backend, so that the file is the same whichever is compared
        // (MySQL's SQL is run by `the_generated_revision_runs_on_mysql`).
        backends: BackendKind::ALL.to_vec(),
        exclude: Vec::new(),
    };
    let mut out = Vec::new();
    let status = cli::execute(migrations, db.url(), &settings, &command, &mut out);
    (status, String::from_utf8(out).expect("UTF-8 output"))
}

/// The file from its first section on, and its `Revises` line.
fn body(text: &str) -> (String, String) {
    let revises = text
        .lines()
        .find(|l| l.starts_with("-- Revises:"))
        .unwrap_or_default()
        .to_owned();
    let at = text.find("\n-- migrate:").unwrap_or(text.len());
    (revises, text[at..].to_owned())
}

fn drift(snapshot: &Snapshot) -> Vec<String> {
    let mut drift = schema_drift::<schema::widgets::table>(snapshot);
    drift.extend(schema_drift::<schema::gadgets::table>(snapshot));
    drift
}

#[test]
fn an_added_table_and_column_round_trip() {
    on_each_backend(|db| {
        let conn = &mut db.connect();
        Migrator::new(&before::MIGRATIONS)
            .upgrade(conn, Target::Head)
            .expect("upgrade to 001");
        let at_001 = Snapshot::take(conn).expect("snapshot");
        assert!(!drift(&at_001).is_empty(), "schema.rs is ahead of 001");

        let dir = copy_of("autogen");
        let (status, out) = autogenerate(db, &before::MIGRATIONS, dir.path());
        assert_eq!(status.expect("autogenerate"), cli::exit::OK, "{out}");
        let written = dir.path().join(GENERATED);
        assert!(
            out.starts_with(&format!("Wrote {} (2 change(s))", written.display())),
            "{out}"
        );
        // What it wrote is the fixture the `after` build embeds.
        let text = std::fs::read_to_string(&written).expect("written");
        let expected =
            std::fs::read_to_string(fixture("autogen_next").join(GENERATED)).expect("fixture");
        assert_eq!(body(&text), body(&expected), "{text}");
        migrator_core::load_dir(dir.path(), "migrations").expect("the build accepts it");

        let after = Migrator::new(&after::MIGRATIONS);
        after.upgrade(conn, Target::Head).expect("upgrade to 002");
        let at_002 = Snapshot::take(conn).expect("snapshot");
        assert_eq!(drift(&at_002), Vec::<String>::new(), "{}", db.kind());

        // At head with nothing left to do: no file.
        let next = copy_of("autogen_next");
        let (status, out) = autogenerate(db, &after::MIGRATIONS, next.path());
        assert_eq!(status.expect("no changes"), cli::exit::OK);
        assert!(out.starts_with("No changes:"), "{out}");
        assert_eq!(files(next.path()), files(&fixture("autogen_next")));

        after
            .downgrade(conn, "001".parse::<Target>().expect("target"))
            .expect("downgrade to 001");
        let back = Snapshot::take(conn).expect("snapshot");
        let diff = SchemaDiff::between(&at_001, &back, &DiffOptions::default());
        assert!(diff.is_empty(), "{}: {diff}", db.kind());
    });
}

#[test]
fn refuses_a_database_that_is_not_at_head() {
    on_each_backend(|db| {
        let conn = &mut db.connect();
        let after = Migrator::new(&after::MIGRATIONS);
        after
            .upgrade(conn, "001".parse::<Target>().expect("target"))
            .expect("upgrade to 001");
        let dir = copy_of("autogen_next");
        let (status, _) = autogenerate(db, &after::MIGRATIONS, dir.path());
        let error = status.expect_err("not at head");
        assert!(
            matches!(
                &error,
                cli::Error::Autogenerate(e) if matches!(
                    e.as_ref(),
                    AutogenerateError::NotAtHead { current, head, .. }
                        if current == "001" && head == "002"
                )
            ),
            "{error}"
        );
        assert!(
            error.to_string().contains("run `upgrade head` first"),
            "{error}"
        );
        assert_eq!(exit_code(&error), cli::exit::MISMATCH);
        assert_eq!(files(dir.path()), files(&fixture("autogen_next")));

        // A directory ahead of the binary (a revision added, not rebuilt).
        Migrator::new(&before::MIGRATIONS)
            .upgrade(conn, Target::Head)
            .expect("at 001");
        let (status, _) = autogenerate(db, &before::MIGRATIONS, dir.path());
        let error = status.expect_err("stale build");
        assert!(error.to_string().contains("rebuild it"), "{error}");
        assert_eq!(files(dir.path()), files(&fixture("autogen_next")));
    });
}

/// The factory service's own schema.rs (a custom `Uuid` type, composite
/// key, `joinable!`) agrees with its migrations at head: no false changes,
/// on MariaDB too (its `DATETIME(6)` columns are schema.rs's `Timestamp`).
#[test]
fn the_factory_schema_matches_its_migrations_at_head() {
    on_every_backend(|db| {
        let conn = &mut db.connect();
        Migrator::new(&factory_service_db::MIGRATIONS)
            .upgrade(conn, Target::Head)
            .expect("upgrade");
        // A copy: a regression must not write into the real directory.
        let dir = copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations"));
        let args = GlobalArgs {
            migrations_dir: Some(dir.path().to_owned()),
            ..GlobalArgs::default()
        };
        let settings = Settings::resolve(&args, Config::default());
        let command = Command::Revision {
            message: "nothing".to_owned(),
            rust: false,
            autogenerate: true,
            schema: Some(
                Path::new(env!("CARGO_MANIFEST_DIR")).join("../factory-service-db/src/schema.rs"),
            ),
            backends: Vec::new(),
            exclude: Vec::new(),
        };
        let mut out = Vec::new();
        let status = cli::execute(
            &factory_service_db::MIGRATIONS,
            db.url(),
            &settings,
            &command,
            &mut out,
        );
        let out = String::from_utf8(out).expect("UTF-8");
        assert_eq!(status.expect("autogenerate"), cli::exit::OK, "{out}");
        assert!(out.starts_with("No changes:"), "{}: {out}", db.kind());
    });
}

/// The MySQL sections of the generated revision (written from a PostgreSQL
/// or SQLite comparison with `--backend mysql`) run on MariaDB, both ways.
#[test]
fn the_generated_revision_runs_on_mysql() {
    on_mysql(|db| {
        let conn = &mut db.connect();
        let after = Migrator::new(&after::MIGRATIONS);
        after.upgrade(conn, Target::Head).expect("upgrade to 002");
        let columns = |conn: &mut migrator_runtime::AnyConnection, table: &str| {
            count(
                conn,
                &format!(
                    "SELECT COUNT(*) AS n FROM information_schema.columns \
                     WHERE table_schema = DATABASE() AND table_name = '{table}'"
                ),
            )
        };
        assert!(tables(conn).contains(&"gadgets".to_owned()));
        assert_eq!(columns(conn, "gadgets"), 5);
        assert_eq!(columns(conn, "widgets"), 4);
        after
            .downgrade(conn, "001".parse::<Target>().expect("target"))
            .expect("downgrade to 001");
        assert!(!tables(conn).contains(&"gadgets".to_owned()));
        assert_eq!(columns(conn, "widgets"), 3);
    });
}

/// A column's type and nullability changed in schema.rs: on PostgreSQL the
/// generated SQL changes them on the database and its downgrade gives back
/// 001's schema; SQLite cannot do it in place, and autogenerate says so and
/// writes nothing.
#[test]
fn changed_columns_alter_on_postgres_and_are_refused_on_sqlite() {
    const CHANGED: &str = "diesel::table! {\n    widgets (id) {\n        id -> Int4,\n        \
                           name -> Nullable<Varchar>,\n        made_at -> Timestamptz,\n    }\n}\n";
    on_each_backend(|db| {
        let conn = &mut db.connect();
        let before = Migrator::new(&before::MIGRATIONS);
        before.upgrade(conn, Target::Head).expect("upgrade to 001");
        let at_001 = Snapshot::take(conn).expect("snapshot");
        let dir = copy_of("autogen");
        let src = tempfile::tempdir().expect("tempdir");
        let schema_rs = src.path().join("schema.rs");
        std::fs::write(&schema_rs, CHANGED).expect("write schema.rs");
        let outcome = cli::autogenerate(
            &before,
            conn,
            &schema_rs,
            dir.path(),
            "Change widgets",
            &[],
            &[],
        );
        if db.kind() == migrator_runtime::testing::Kind::Sqlite {
            // TIMESTAMP and TIMESTAMPTZ have the same affinity: the same
            // type on SQLite. The nullability is a change.
            let error = outcome.expect_err("SQLite cannot alter columns");
            assert_eq!(
                error.to_string(),
                "autogenerate cannot write this revision; nothing was written:\n  - column \
                 widgets.name: SQLite cannot change its nullability in place; write this change \
                 by hand with SQLite's table rebuild \
                 (https://www.sqlite.org/lang_altertable.html#otheralter), or leave sqlite out \
                 (`--backend`)"
            );
            assert!(!dir.path().join("002_change_widgets.sql").exists());
            return;
        }
        let written = outcome.expect("written");
        assert!(matches!(
            written,
            cli::Autogenerated::Written {
                changes: 2,
                drops: 0,
                ..
            }
        ));
        // The type change rewrites the table under an exclusive lock: where
        // the online-safety lint is built, the build stops on it until the
        // author allows it, as they would here.
        let file = dir.path().join("002_change_widgets.sql");
        if let Err(found) = migrator_core::load_dir(dir.path(), "migrations") {
            assert!(
                found
                    .iter()
                    .all(|d| d.rule.code() == "changing-column-type"),
                "{found}"
            );
        }
        let text = std::fs::read_to_string(&file).expect("read");
        let allowed = text.replacen(
            "-- Revises: 001\n",
            "-- Revises: 001\n-- Allow: changing-column-type\n",
            1,
        );
        assert_ne!(allowed, text, "{text}");
        std::fs::write(&file, allowed).expect("write");
        let graph = migrator_core::load_dir(dir.path(), "migrations").expect("builds");
        let revision = graph.revision(graph.index_of("002").expect("002"));
        let run = |conn: &mut migrator_runtime::AnyConnection, direction| {
            let sql = revision
                .sql(direction, BackendKind::Postgres)
                .expect("postgres SQL");
            diesel::connection::SimpleConnection::batch_execute(conn, sql).expect("runs");
        };
        run(conn, migrator_runtime::Direction::Upgrade);
        let changed = Snapshot::take(conn).expect("snapshot");
        let widgets = &changed.tables["widgets"];
        assert!(widgets.columns["name"].nullable);
        assert_eq!(
            widgets.columns["made_at"].data_type,
            "TIMESTAMP WITH TIME ZONE"
        );
        run(conn, migrator_runtime::Direction::Downgrade);
        let back = Snapshot::take(conn).expect("snapshot");
        let diff = SchemaDiff::between(&at_001, &back, &DiffOptions::default());
        assert!(diff.is_empty(), "{diff}");
    });
}

/// `revision --autogenerate` (library entry point) from the schema.rs
/// `schema_text`, the database at the head of `migrator`, into a copy of
/// fixtures/autogen; the copy is returned with the outcome.
fn autogenerate_from(
    migrator: &Migrator<'_>,
    conn: &mut migrator_runtime::AnyConnection,
    schema_text: &str,
) -> (
    Result<cli::Autogenerated, AutogenerateError>,
    tempfile::TempDir,
) {
    let dir = copy_of("autogen");
    let src = tempfile::tempdir().expect("tempdir");
    let schema_rs = src.path().join("schema.rs");
    std::fs::write(&schema_rs, schema_text).expect("write schema.rs");
    let outcome = cli::autogenerate(migrator, conn, &schema_rs, dir.path(), "next", &[], &[]);
    (outcome, dir)
}

/// Runs the SQL of the revision 002 autogenerate wrote into `dir`, in
/// `direction`, for the database's backend.
fn run_002(
    conn: &mut migrator_runtime::AnyConnection,
    dir: &Path,
    backend: BackendKind,
    direction: migrator_runtime::Direction,
) {
    let graph = migrator_core::load_dir(dir, "migrations").expect("builds");
    let revision = graph.revision(graph.index_of("002").expect("002"));
    let sql = revision.sql(direction, backend).expect("SQL");
    diesel::connection::SimpleConnection::batch_execute(conn, sql)
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// widgets (fixtures/autogen's 001) as `diesel print-schema` writes it.
const WIDGETS: &str = "diesel::table! {\n    widgets (id) {\n        id -> Integer,\n        \
                       #[max_length = 40]\n        name -> Varchar,\n        made_at -> Timestamp,\n    \
                       }\n}\n";

/// A MariaDB table of the types Diesel's MySQL print-schema names
/// (BOOLEAN, JSON, DATETIME(6), MEDIUMTEXT, DECIMAL(10,2), UNSIGNED) is no
/// change; a nullability-only change keeps each column's type and default,
/// both ways.
#[test]
fn mariadb_types_match_and_nullability_changes_keep_the_column() {
    const FLAGS: &str = "CREATE TABLE flags (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, \
                         active BOOLEAN NOT NULL DEFAULT 1, doc JSON NOT NULL, \
                         at DATETIME(6) NULL, body MEDIUMTEXT NULL, \
                         price DECIMAL(10,2) NOT NULL DEFAULT 0.00, n INT UNSIGNED NOT NULL)";
    let flags = |at: &str, body: &str, price: &str| {
        format!(
            "{WIDGETS}diesel::table! {{\n    flags (id) {{\n        id -> Integer,\n        \
             active -> Bool,\n        doc -> Json,\n        at -> {at},\n        \
             body -> {body},\n        price -> {price},\n        n -> Unsigned<Integer>,\n    \
             }}\n}}\n"
        )
    };
    on_mysql(|db| {
        let conn = &mut db.connect();
        let before = Migrator::new(&before::MIGRATIONS);
        before.upgrade(conn, Target::Head).expect("upgrade to 001");
        diesel::connection::SimpleConnection::batch_execute(conn, FLAGS).expect("flags");
        let columns = |conn: &mut migrator_runtime::AnyConnection| {
            texts(
                conn,
                "SELECT CONCAT(column_name, ' ', column_type, ' ', is_nullable, ' ', \
                 COALESCE(column_default, '-'), ' ', extra) AS value \
                 FROM information_schema.columns WHERE table_schema = DATABASE() \
                 AND table_name = 'flags' ORDER BY ordinal_position",
            )
        };
        let original = columns(conn);

        let (outcome, _dir) = autogenerate_from(
            &before,
            conn,
            &flags("Nullable<Datetime>", "Nullable<Mediumtext>", "Decimal"),
        );
        assert_eq!(outcome.expect("compares"), cli::Autogenerated::NoChanges);

        let (outcome, dir) = autogenerate_from(
            &before,
            conn,
            &flags("Datetime", "Mediumtext", "Nullable<Decimal>"),
        );
        assert!(
            matches!(
                outcome.expect("written"),
                cli::Autogenerated::Written { changes: 3, .. }
            ),
            "{}",
            db.kind()
        );
        run_002(
            conn,
            dir.path(),
            BackendKind::Mysql,
            migrator_runtime::Direction::Upgrade,
        );
        let changed = columns(conn);
        for (column, expected) in [
            (3, "at datetime(6) NO - "),
            (4, "body mediumtext NO - "),
            (5, "price decimal(10,2) YES 0.00 "),
        ] {
            assert_eq!(changed[column], expected, "{changed:?}");
        }
        assert_eq!(changed[0], original[0], "AUTO_INCREMENT kept");
        run_002(
            conn,
            dir.path(),
            BackendKind::Mysql,
            migrator_runtime::Direction::Downgrade,
        );
        assert_eq!(columns(conn), original);
    });
}

/// migrator's tables, which `diesel print-schema` prints once they exist,
/// and the `table` lock's lease table are no change; SQLite's
/// `INTEGER PRIMARY KEY AUTOINCREMENT`, which print-schema writes as
/// `Nullable<Integer>`, is no change; on PostgreSQL reserved words as names
/// run both ways.
#[test]
fn own_tables_sqlite_keys_and_reserved_words() {
    const OWN: &str = "diesel::table! {\n    migrator_version (revision) {\n        \
                       revision -> Text,\n    }\n}\n\
                       diesel::table! {\n    migrator_version_audit (id) {\n        \
                       id -> Int8,\n    }\n}\n";
    on_each_backend(|db| {
        let conn = &mut db.connect();
        let before = Migrator::with_options(
            &before::MIGRATIONS,
            options(|o| o.lock = migrator_runtime::LockStrategy::Table),
        );
        before.upgrade(conn, Target::Head).expect("upgrade to 001");
        assert!(tables(conn).contains(&"migrator_version_lock".to_owned()));
        let (outcome, _dir) = autogenerate_from(&before, conn, &format!("{WIDGETS}{OWN}"));
        assert_eq!(
            outcome.expect("compares"),
            cli::Autogenerated::NoChanges,
            "{}",
            db.kind()
        );
        let at_001 = Snapshot::take(conn).expect("snapshot");
        assert!(!at_001.tables.contains_key("migrator_version_lock"));

        if db.kind() == migrator_runtime::testing::Kind::Sqlite {
            diesel::connection::SimpleConnection::batch_execute(
                conn,
                "CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL)",
            )
            .expect("t");
            let schema = format!(
                "{WIDGETS}diesel::table! {{\n    t (id) {{\n        id -> Nullable<Integer>,\n        \
                 name -> Text,\n    }}\n}}\n"
            );
            let (outcome, _dir) = autogenerate_from(&before, conn, &schema);
            assert_eq!(outcome.expect("compares"), cli::Autogenerated::NoChanges);
            return;
        }
        let schema = format!(
            "{WIDGETS}diesel::table! {{\n    events (id) {{\n        id -> Int4,\n        \
             end -> Timestamptz,\n        order -> Nullable<Int4>,\n        \
             user -> Text,\n    }}\n}}\n"
        );
        let (outcome, dir) = autogenerate_from(&before, conn, &schema);
        outcome.expect("written");
        run_002(
            conn,
            dir.path(),
            BackendKind::Postgres,
            migrator_runtime::Direction::Upgrade,
        );
        let events = Snapshot::take(conn).expect("snapshot").tables["events"].clone();
        assert_eq!(events.column_order, ["id", "end", "order", "user"]);
        run_002(
            conn,
            dir.path(),
            BackendKind::Postgres,
            migrator_runtime::Direction::Downgrade,
        );
        let back = Snapshot::take(conn).expect("snapshot");
        let diff = SchemaDiff::between(&at_001, &back, &DiffOptions::default());
        assert!(diff.is_empty(), "{diff}");
    });
}
