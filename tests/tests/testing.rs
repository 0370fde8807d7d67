//! `migrator_runtime::testing`: schema snapshots and diffs on every backend
//! (SQLite, PostgreSQL, MySQL/MariaDB),
//! the reversibility stairway (passing on good fixtures, failing with a
//! readable diff on broken ones), the data check, and the tests generated
//! by `reversibility_tests!`.

use diesel::connection::SimpleConnection;
use migrator_runtime::testing::{
    self, DiffOptions, Kind, SchemaDiff, Snapshot, StairwayError, StairwayOptions, TestDb,
    on_every_backend,
};
use migrator_runtime::{Migrator, Target};

mod linear {
    migrator_runtime::embed_migrations!("fixtures/linear");
}

mod rich {
    migrator_runtime::embed_migrations!("fixtures/rich");
}

mod irreversible {
    migrator_runtime::embed_migrations!("fixtures/irreversible");
}

mod reordering {
    migrator_runtime::embed_migrations!("fixtures/reordering");
}

mod lossy {
    migrator_runtime::embed_migrations!("fixtures/lossy");
}

mod folded_now {
    migrator_runtime::embed_migrations!("fixtures/folded_now");
}

mod reused {
    migrator_runtime::embed_migrations!("fixtures/reused");
}

/// The generated tests themselves, over fixtures whose revisions are all
/// reversible: `reversible_sqlite_r001_pets`, `reversible_postgres_r002_nicknames`,
/// `reversible_mysql_r001_pets`…
mod generated {
    migrator_runtime::reversibility_tests!(
        "fixtures/rich",
        super::rich::MIGRATIONS,
        backends = [sqlite, postgres, mysql],
    );
    migrator_runtime::reversibility_tests!(
        "fixtures/branchy",
        migrator_tests::branchy::MIGRATIONS,
        backends = [sqlite, postgres, mysql],
    );
    // PostgreSQL's SQL only: `reversible_postgres_r001_posts`… and no SQLite
    // test (`'now'::timestamp` is no SQLite).
    migrator_runtime::reversibility_tests!(
        "fixtures/folded_now",
        super::folded_now::MIGRATIONS,
        backends = [postgres],
    );
}

fn snapshot_at(db: &TestDb, migrations: &migrator_runtime::Migrations, target: Target) -> Snapshot {
    let mut conn = db.connect();
    Migrator::new(migrations)
        .upgrade(&mut conn, &target)
        .expect("upgrade");
    Snapshot::take(&mut conn).expect("snapshot")
}

fn lines(snapshot: &Snapshot) -> Vec<String> {
    snapshot.lines(false).into_iter().map(|(_, l)| l).collect()
}

fn assert_has(lines: &[String], expected: &str) {
    assert!(
        lines.iter().any(|l| l == expected),
        "no line `{expected}` in:\n{}",
        lines.join("\n")
    );
}

fn assert_has_prefix(lines: &[String], prefix: &str) {
    assert!(
        lines.iter().any(|l| l.starts_with(prefix)),
        "no line starting with `{prefix}` in:\n{}",
        lines.join("\n")
    );
}

#[test]
fn a_snapshot_lists_every_kind_of_object() {
    on_every_backend(|db| {
        let snapshot = snapshot_at(db, &rich::MIGRATIONS, Target::Head);
        let lines = lines(&snapshot);
        // The migrator's own tables are left out.
        assert_eq!(snapshot.table_names(), ["owners", "pets"]);
        assert_has(&lines, "table pets");
        assert_has(&lines, "primary key on pets (id)");
        assert_has(
            &lines,
            "foreign key pets (owner_id) references owners (id) on delete cascade",
        );
        assert_has(
            &lines,
            "unique index pets_owner_nickname on pets (owner_id, nickname)",
        );
        assert_has_prefix(&lines, "view pet_names: ");
        assert_has_prefix(&lines, "trigger pets_touch on pets: ");
        let pets = &snapshot.tables["pets"];
        assert!(!pets.columns["name"].nullable);
        assert!(pets.columns["updated_at"].nullable);
        if db.kind() != Kind::Mysql {
            assert_eq!(
                pets.column_order,
                ["id", "owner_id", "name", "updated_at", "nickname"]
            );
        }
        match db.kind() {
            // A unique constraint is a unique index there, named after its
            // first column unless named; defaults read as MariaDB prints
            // them, MySQL 8's normalised to that form.
            Kind::Mysql => {
                assert_has(&lines, "unique index email on owners (email)");
                assert_has(
                    &lines,
                    "column pets.name VARCHAR(100) NOT NULL DEFAULT 'rex'",
                );
                assert_has(&lines, "column owners.email VARCHAR(200) NOT NULL");
                assert_has(&lines, "column pets.id BIGINT NOT NULL AUTO_INCREMENT");
                assert_has(&lines, "column pets.updated_at TIMESTAMP");
                assert_has(
                    &lines,
                    "column pets.created_at DATETIME NOT NULL DEFAULT current_timestamp() \
                     ON UPDATE current_timestamp()",
                );
                assert_has(
                    &lines,
                    "column pets.name_length INT GENERATED ALWAYS AS (char_length(`name`)) VIRTUAL",
                );
                assert_has(
                    &lines,
                    "index pets_name_idx on pets (name(10), updated_at DESC)",
                );
                assert_has(
                    &lines,
                    "constraint on pets: CHECK (char_length(`name`) > 0)",
                );
                // The view's definition without the database's name.
                assert_has(
                    &lines,
                    "view pet_names: select `pets`.`name` AS `name` from `pets`",
                );
                assert_has(
                    &lines,
                    "trigger pets_touch on pets: BEFORE UPDATE FOR EACH ROW \
                     SET NEW.updated_at = NOW()",
                );
                assert_eq!(
                    pets.column_order,
                    [
                        "id",
                        "owner_id",
                        "name",
                        "updated_at",
                        "created_at",
                        "name_length",
                        "nickname"
                    ]
                );
                assert!(snapshot.functions.is_empty() && snapshot.sequences.is_empty());
            }
            Kind::Sqlite => {
                assert_has(&lines, "unique constraint on owners (email)");
                assert_has(&lines, "column pets.name TEXT NOT NULL DEFAULT 'rex'");
                assert_has(&lines, "column owners.email VARCHAR(200) NOT NULL");
                assert_has(
                    &lines,
                    "index pets_name_idx on pets ((expression)) where updated_at IS NOT NULL",
                );
                assert!(snapshot.functions.is_empty() && snapshot.sequences.is_empty());
            }
            Kind::Postgres => {
                assert_has(&lines, "unique constraint on owners (email)");
                assert_has(&lines, "column pets.name TEXT NOT NULL DEFAULT 'rex'::text");
                assert_has(
                    &lines,
                    "column owners.email CHARACTER VARYING(200) NOT NULL",
                );
                assert_has(
                    &lines,
                    "column pets.id BIGINT NOT NULL GENERATED BY DEFAULT AS IDENTITY",
                );
                assert_has(
                    &lines,
                    "index pets_name_idx on pets (lower(name)) where (updated_at IS NOT NULL)",
                );
                assert_has(&lines, "constraint on pets: CHECK ((length(name) > 0))");
                assert_has_prefix(&lines, "function touch_pet(): CREATE OR REPLACE FUNCTION");
                assert_has(
                    &lines,
                    "sequence ticket_seq BIGINT start 100 increment 5 min 1 max 9223372036854775807",
                );
                assert_has_prefix(&lines, "sequence owners_id_seq INTEGER start 1 increment 1");
                assert_has_prefix(&lines, "sequence pets_id_seq BIGINT");
                assert_has(
                    &lines,
                    "column owners.id INTEGER NOT NULL DEFAULT nextval('owners_id_seq'::regclass)",
                );
            }
        }
    });
}

#[test]
fn the_same_migrations_give_equal_snapshots_and_an_empty_diff() {
    for kind in Kind::built() {
        let (Some(a), Some(b)) = (TestDb::new(kind), TestDb::new(kind)) else {
            continue;
        };
        let first = snapshot_at(&a, &rich::MIGRATIONS, Target::Head);
        let second = snapshot_at(&b, &rich::MIGRATIONS, Target::Head);
        assert_eq!(first, second);
        let diff = SchemaDiff::between(&first, &second, &DiffOptions::default());
        assert!(diff.is_empty(), "{diff}");
        assert_eq!(diff.to_string(), "");
    }
}

#[test]
fn a_diff_shows_what_only_one_side_has() {
    on_every_backend(|db| {
        let mut conn = db.connect();
        let migrator = Migrator::new(&linear::MIGRATIONS);
        migrator
            .upgrade(&mut conn, Target::Revision("002".into()))
            .expect("upgrade");
        let before = Snapshot::take(&mut conn).expect("snapshot");
        migrator.upgrade(&mut conn, Target::Head).expect("upgrade");
        conn.batch_execute("CREATE INDEX widgets_name_idx ON widgets (name)")
            .expect("index");
        let after = Snapshot::take(&mut conn).expect("snapshot");
        let diff = SchemaDiff::between(&before, &after, &DiffOptions::default());
        let text = diff.to_string();
        assert!(text.contains("+ table gadgets\n"), "{text}");
        assert!(
            text.contains("+ foreign key gadgets (widget_id) references widgets (id)\n"),
            "{text}"
        );
        assert!(
            text.contains("+ index widgets_name_idx on widgets (name)\n"),
            "{text}"
        );
        assert!(text.lines().all(|l| l.starts_with("+ ")), "{text}");
        // Grouped by table: every gadgets line before the widgets line.
        let widgets = text.find("widgets_name_idx").expect("index line");
        assert!(
            text.rfind("gadgets.").expect("gadgets lines") < widgets,
            "{text}"
        );
        // The other way round, the same lines with `-`.
        let back = SchemaDiff::between(&after, &before, &DiffOptions::default());
        assert_eq!(back.len(), diff.len());
        assert!(back.to_string().contains("- table gadgets\n"));
    });
}

#[test]
fn the_stairway_passes_on_reversible_migrations() {
    on_every_backend(|db| {
        testing::stairway(&linear::MIGRATIONS, db).unwrap_or_else(|e| panic!("{e}"));
    });
    on_every_backend(|db| {
        testing::stairway(&rich::MIGRATIONS, db).unwrap_or_else(|e| panic!("{e}"));
    });
    on_every_backend(|db| {
        testing::stairway(&migrator_tests::branchy::MIGRATIONS, db)
            .unwrap_or_else(|e| panic!("{e}"));
    });
    on_every_backend(|db| {
        testing::stairway(&factory_service_db::MIGRATIONS, db).unwrap_or_else(|e| panic!("{e}"));
    });
}

#[test]
fn each_revision_is_checked_on_its_own_fresh_database() {
    // 004 is the merge of the branches 002 and 003: both come before it.
    for id in ["001", "002", "003", "004", "005", "006"] {
        on_every_backend(|db| {
            testing::assert_reversible(&migrator_tests::branchy::MIGRATIONS, id, db)
                .unwrap_or_else(|e| panic!("{e}"));
        });
    }
}

/// The key part of an index on the `TEXT` column `name`: MariaDB indexes
/// its first 768 characters (MySQL 8 refuses such an index).
fn indexed_name(db: &TestDb) -> &'static str {
    if db.kind() == Kind::Mysql {
        "name(768)"
    } else {
        "name"
    }
}

#[test]
fn a_downgrade_that_forgets_an_index_fails_with_the_diff() {
    on_every_backend(|db| {
        let error = testing::assert_reversible(&irreversible::MIGRATIONS, "002", db)
            .expect_err("002's downgrade leaves the index");
        let message = error.to_string();
        assert!(
            message.starts_with(&format!(
                "revision 002 (002_index_names.sql) is not reversible on {}:",
                db.kind()
            )),
            "{message}"
        );
        assert!(
            message.ends_with(&format!(
                "\n+ index widgets_name_idx on widgets ({})\n",
                indexed_name(db)
            )),
            "{message}"
        );
        let StairwayError::NotReversible { revision, diff, .. } = error else {
            panic!("not NotReversible: {message}");
        };
        assert_eq!(revision, "002");
        assert_eq!(diff.len(), 1);
    });
}

#[test]
fn a_downgrade_that_forgets_a_column_fails_with_the_diff() {
    on_every_backend(|db| {
        let error = testing::assert_reversible(&irreversible::MIGRATIONS, "003", db)
            .expect_err("003's downgrade does not add the column back");
        let message = error.to_string();
        assert!(
            message.contains("revision 003 (003_drop_label.sql)"),
            "{message}"
        );
        assert!(
            message.ends_with("\n- column widgets.label TEXT\n"),
            "{message}"
        );
    });
}

#[test]
fn the_stairway_reports_every_irreversible_revision_at_once() {
    on_every_backend(|db| {
        testing::assert_reversible(&irreversible::MIGRATIONS, "001", db)
            .unwrap_or_else(|e| panic!("{e}"));
    });
    on_every_backend(|db| {
        let error = testing::stairway(&irreversible::MIGRATIONS, db).expect_err("002 and 003");
        let message = error.to_string();
        let StairwayError::Several {
            checked, failures, ..
        } = error
        else {
            panic!("not Several: {message}");
        };
        assert_eq!(checked, 3);
        let revisions: Vec<&str> = failures
            .iter()
            .map(|failure| match failure {
                StairwayError::NotReversible { revision, .. } => revision.as_str(),
                other => panic!("not NotReversible: {other}"),
            })
            .collect();
        assert_eq!(revisions, ["002", "003"], "{message}");
        assert!(
            message.starts_with(&format!(
                "2 of the 3 revisions failed the stairway on {}:\n\nrevision 002",
                db.kind()
            )),
            "{message}"
        );
        assert!(
            message.contains(&format!(
                "+ index widgets_name_idx on widgets ({})\n",
                indexed_name(db)
            )),
            "{message}"
        );
        assert!(
            message.ends_with("\n- column widgets.label TEXT\n"),
            "{message}"
        );
        // The continuation databases are gone with the stairway.
    });
}

#[test]
fn column_order_counts_only_when_asked() {
    on_every_backend(|db| {
        testing::assert_reversible(&reordering::MIGRATIONS, "002", db)
            .unwrap_or_else(|e| panic!("{e}"));
    });
    on_every_backend(|db| {
        let options = StairwayOptions {
            diff: DiffOptions { column_order: true },
            ..StairwayOptions::default()
        };
        let error = testing::assert_reversible_with(&reordering::MIGRATIONS, "002", db, &options)
            .expect_err("the column comes back at the end");
        let message = error.to_string();
        assert!(
            message.ends_with(
                "\n- column order of things: id, colour, size\n\
                 + column order of things: id, size, colour\n"
            ),
            "{message}"
        );
    });
}

#[test]
fn unknown_revisions_and_used_databases_are_refused() {
    let db = TestDb::sqlite();
    let error = testing::assert_reversible(&linear::MIGRATIONS, "999", &db).expect_err("unknown");
    assert!(
        matches!(error, StairwayError::UnknownRevision { .. }),
        "{error}"
    );
    Migrator::new(&linear::MIGRATIONS)
        .upgrade(&mut db.connect(), Target::Head)
        .expect("upgrade");
    let error = testing::stairway(&linear::MIGRATIONS, &db).expect_err("not at base");
    assert!(
        error
            .to_string()
            .contains("not at base (3 revision(s) applied)"),
        "{error}"
    );
}

#[test]
fn upgrades_that_keep_the_rows_pass_the_data_check() {
    on_every_backend(|db| {
        testing::assert_data_survives(&linear::MIGRATIONS, db).unwrap_or_else(|e| panic!("{e}"));
        let counts = testing::row_counts(&mut db.connect(), &Default::default()).expect("counts");
        assert_eq!(
            counts.into_iter().collect::<Vec<_>>(),
            [("gadgets".to_owned(), 0), ("widgets".to_owned(), 2)]
        );
    });
}

#[test]
fn an_upgrade_that_loses_rows_fails_the_data_check() {
    on_every_backend(|db| {
        let error = testing::assert_data_survives(&lossy::MIGRATIONS, db).expect_err("003 deletes");
        assert_eq!(
            error.to_string(),
            format!(
                "revision 003 (003_forget_cogs.sql) loses rows on {}: table widgets had 3 row(s) \
                 before the upgrade and 2 after it",
                db.kind()
            )
        );
        // Its schema is reversible all the same.
    });
    on_every_backend(|db| {
        testing::stairway(&lossy::MIGRATIONS, db).unwrap_or_else(|e| panic!("{e}"));
    });
}

/// PostgreSQL folds `'now'` into views and defaults as the literal time of
/// their creation: created again later, they read differently, and the
/// snapshot shows both as `'<time of creation>'`. A fixed date still counts.
#[test]
fn times_folded_at_creation_do_not_count_and_fixed_dates_do() {
    let Some(db) = TestDb::postgres() else { return };
    testing::stairway(&folded_now::MIGRATIONS, &db).unwrap_or_else(|e| panic!("{e}"));

    let Some(db) = TestDb::postgres() else { return };
    let mut conn = db.connect();
    let migrator = Migrator::new(&folded_now::MIGRATIONS);
    let raw_view = |conn: &mut migrator_runtime::AnyConnection| {
        let migrator_runtime::AnyConnection::Postgres(pg) = conn else {
            unreachable!("a PostgreSQL database")
        };
        #[derive(diesel::QueryableByName)]
        struct Definition {
            #[diesel(sql_type = diesel::sql_types::Text)]
            definition: String,
        }
        let rows: Vec<Definition> = diesel::RunQueryDsl::load(
            diesel::sql_query("SELECT pg_get_viewdef('recent_posts'::regclass) AS definition"),
            pg,
        )
        .expect("the view's definition");
        rows.into_iter().next().expect("one row").definition
    };
    migrator
        .upgrade(&mut conn, Target::Revision("001".into()))
        .expect("upgrade");
    let first = raw_view(&mut conn);
    let before = Snapshot::take(&mut conn).expect("snapshot");
    migrator.upgrade(&mut conn, Target::Head).expect("upgrade");
    migrator
        .downgrade(&mut conn, Target::Revision("001".into()))
        .expect("downgrade");
    let again = raw_view(&mut conn);
    let after = Snapshot::take(&mut conn).expect("snapshot");
    // The view was created twice, at two times PostgreSQL wrote into it…
    assert_ne!(first, again, "the literal times are the same: {first}");
    assert!(!first.contains("'now'"), "{first}");
    // …and the snapshots agree.
    let diff = SchemaDiff::between(&before, &after, &DiffOptions::default());
    assert!(diff.is_empty(), "{diff}");
    let lines = lines(&after);
    assert_has(
        &lines,
        "view recent_posts: SELECT posts.id, posts.published FROM posts WHERE posts.published > \
         ('<time of creation>'::timestamp without time zone - '1 day'::interval);",
    );
    assert_has(
        &lines,
        "column posts.published TIMESTAMP WITHOUT TIME ZONE NOT NULL DEFAULT \
         '<time of creation>'::timestamp without time zone",
    );
    assert_has(
        &lines,
        "column posts.day DATE NOT NULL DEFAULT '<time of creation>'::date",
    );
    assert_has(
        &lines,
        "view old_posts: SELECT posts.id FROM posts WHERE posts.day < '2020-01-01'::date;",
    );
    assert_has(
        &lines,
        "constraint on posts: CHECK ((published > '2000-01-01 00:00:00'::timestamp without time zone))",
    );

    // A fixed date that a downgrade changes is a difference.
    conn.batch_execute(
        "CREATE OR REPLACE VIEW old_posts AS SELECT id FROM posts WHERE day < '2020-01-02'::date",
    )
    .expect("replace the view");
    let changed = Snapshot::take(&mut conn).expect("snapshot");
    let diff = SchemaDiff::between(&after, &changed, &DiffOptions::default());
    assert_eq!(
        diff.to_string(),
        "- view old_posts: SELECT posts.id FROM posts WHERE posts.day < '2020-01-01'::date;\n\
         + view old_posts: SELECT posts.id FROM posts WHERE posts.day < '2020-01-02'::date;\n"
    );
}

/// A failing reversibility test's panic points at the test (the line that
/// invokes the macro, or calls `reversibility_test`), not into
/// `migrator_runtime::testing`.
#[test]
#[allow(unnameable_test_items, reason = "the generated test is called by hand")]
fn a_failing_reversibility_test_points_at_the_test() {
    use std::panic::{AssertUnwindSafe, catch_unwind};
    use std::sync::{Arc, Mutex};

    type Seen = Arc<Mutex<Vec<(String, u32, String)>>>;
    /// Runs `f`, which must panic, and returns where (file, line) and what.
    fn panic_site(f: impl FnOnce()) -> (String, u32, String) {
        let seen: Seen = Arc::default();
        let me = std::thread::current().id();
        let previous = Arc::new(std::panic::take_hook());
        let (record, forward) = (Arc::clone(&seen), Arc::clone(&previous));
        std::panic::set_hook(Box::new(move |info| {
            if std::thread::current().id() != me {
                return forward(info);
            }
            let location = info.location().expect("a location");
            let message = info
                .payload()
                .downcast_ref::<String>()
                .cloned()
                .unwrap_or_default();
            record.lock().expect("lock").push((
                location.file().to_owned(),
                location.line(),
                message,
            ));
        }));
        let outcome = catch_unwind(AssertUnwindSafe(f));
        drop(std::panic::take_hook());
        assert!(outcome.is_err(), "no panic");
        let seen = seen.lock().expect("lock");
        seen.first().cloned().expect("the hook saw the panic")
    }

    let line = line!() + 2;
    let (file, at, message) = panic_site(|| {
        testing::reversibility_test(&irreversible::MIGRATIONS, "002", Kind::Sqlite);
    });
    assert_eq!((file.as_str(), at), (file!(), line), "{message}");
    assert!(
        message.starts_with("revision 002 (002_index_names.sql) is not reversible on sqlite"),
        "{message}"
    );

    // What the macro generates: the panic is at the macro's invocation.
    let line = line!() + 1;
    migrator_runtime::reversibility_tests!(
        "fixtures/irreversible",
        irreversible::MIGRATIONS,
        backends = [sqlite]
    );
    let (file, at, message) = panic_site(reversible_sqlite_r003_drop_label);
    assert_eq!((file.as_str(), at), (file!(), line), "{message}");
    assert!(message.contains("revision 003"), "{message}");
}

/// The generated tests start from the database the check of the revision
/// before left (run here in order on one thread, as the harness runs them):
/// a revision that fails is reported for itself, the ones after it still
/// pass, and a revision that fails only on a reused database (003: the row
/// 002 leaves behind is there twice) passes, as on a fresh one.
#[test]
fn reused_databases_report_each_failure_for_its_own_revision() {
    for kind in Kind::ALL {
        if kind == Kind::Postgres && TestDb::postgres().is_none() {
            continue;
        }
        let mut failed = Vec::new();
        for id in ["001", "002", "003", "004", "005", "006"] {
            let outcome = std::panic::catch_unwind(|| {
                testing::reversibility_test(&reused::MIGRATIONS, id, kind);
            });
            if let Err(panic) = outcome {
                let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
                failed.push((id, message));
            }
        }
        let ids: Vec<&str> = failed.iter().map(|(id, _)| *id).collect();
        assert_eq!(ids, ["004"], "{kind}: {failed:#?}");
        let message = &failed[0].1;
        assert!(
            message.starts_with(&format!(
                "revision 004 (004_index_tag_names.sql) is not reversible on {kind}"
            )),
            "{message}"
        );
        assert!(message.contains("tags_name_idx"), "{message}");
    }
}

/// The name of the database `conn` is connected to.
fn current_database(conn: &mut migrator_runtime::AnyConnection) -> String {
    let migrator_runtime::AnyConnection::Postgres(pg) = conn else {
        unreachable!("a PostgreSQL database")
    };
    #[derive(diesel::QueryableByName)]
    struct Name {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
    }
    let rows: Vec<Name> = diesel::RunQueryDsl::load(
        diesel::sql_query("SELECT current_database()::text AS name"),
        pg,
    )
    .expect("current_database()");
    rows.into_iter().next().expect("one row").name
}

/// Whether the server at the default administrative URL has database `name`.
fn database_exists(name: &str) -> bool {
    let mut admin =
        migrator_runtime::connect(&migrator_tests::postgres_admin_url()).expect("admin");
    migrator_tests::count(
        &mut admin,
        &format!("SELECT COUNT(*) AS n FROM pg_database WHERE datname = '{name}'"),
    ) == 1
}

/// Test databases are made from the administrative URL by parsing it, in
/// each form libpq takes, and dropped with the value, a panic included.
#[test]
fn test_databases_are_made_from_every_form_of_admin_url_and_dropped() {
    if std::env::var_os(testing::POSTGRES_URL_VAR).is_some() {
        eprintln!("\n!!! SKIPPED: the admin URL forms name the default server\n");
        return;
    }
    let Some(probe) = TestDb::postgres() else {
        return;
    };
    drop(probe);
    for admin in [
        "postgres://postgres@127.0.0.1:5432/postgres?application_name=ci/job",
        "postgres://postgres@/postgres?host=/var/run/postgresql",
        "postgresql:///postgres?host=/var/run/postgresql&user=postgres&application_name=a/b",
        "host=127.0.0.1 user=postgres dbname=postgres",
        "host=/var/run/postgresql user=postgres dbname = 'postgres' application_name='ci job'",
    ] {
        let db = TestDb::postgres_on(admin).expect("the server is reachable");
        let name = current_database(&mut db.connect());
        assert!(name.starts_with("migrator_test_"), "{admin}: in {name}");
        assert!(database_exists(&name), "{admin}: {name}");
        // Migrations run there, not in the administrative database.
        Migrator::new(&linear::MIGRATIONS)
            .upgrade(&mut db.connect(), Target::Head)
            .expect("upgrade");
        drop(db);
        assert!(!database_exists(&name), "{admin}: {name} is left");
    }
    // A panicking test drops its database too.
    let name = std::sync::Mutex::new(String::new());
    let outcome = std::panic::catch_unwind(|| {
        let db = TestDb::postgres_on("host=127.0.0.1 user=postgres dbname=postgres")
            .expect("the server is reachable");
        *name.lock().expect("lock") = current_database(&mut db.connect());
        panic!("the test fails");
    });
    assert!(outcome.is_err());
    let name = name.into_inner().expect("lock");
    assert!(name.starts_with("migrator_test_"), "{name}");
    assert!(!database_exists(&name), "{name} is left after a panic");
}
