//! Table names in the options longer than the backend keeps (64 characters
//! on MySQL/MariaDB, 63 bytes on PostgreSQL) stop a run with a message that
//! names the option, before any SQL: the database is left as it was.

use migrator_runtime::cli::exit;
use migrator_runtime::testing::{on_mysql, tables};
use migrator_runtime::{Error, LockStrategy, Migrator, Options, Target};
use migrator_tests::{TestDb, branchy, cli_command, exit_code};

/// A migrator over branchy whose version table is `version_table`.
fn with_tables(version_table: &str, audit_table: Option<&str>) -> Options {
    let mut options = Options::default();
    options.version_table = version_table.to_owned();
    options.audit_table = audit_table.map(str::to_owned);
    options
}

/// Runs `options` on `db` (upgrade and read the state) and returns the
/// upgrade's error, after checking that nothing was created.
fn refused(db: &TestDb, options: Options) -> Error {
    let migrator = Migrator::with_options(&branchy::MIGRATIONS, options);
    let mut conn = db.connect();
    let error = migrator
        .upgrade(&mut conn, Target::Head)
        .expect_err("the name is too long");
    let state = migrator.state(&mut conn).expect_err("the name is too long");
    assert_eq!(state.to_string(), error.to_string());
    assert_eq!(tables(&mut conn), Vec::<String>::new(), "nothing created");
    error
}

#[test]
fn long_table_names_are_refused_on_mysql_before_any_sql() {
    on_mysql(|db| {
        let long = "v".repeat(65);
        let error = refused(db, with_tables(&long, None));
        assert!(
            matches!(
                &error,
                Error::IdentifierTooLong {
                    what: "version table",
                    ..
                }
            ),
            "{error:?}"
        );
        assert_eq!(
            error.to_string(),
            format!(
                "the version table name `{long}` is 65 characters long, longer than mysql's \
                 limit of 64 characters (MySQL and MariaDB refuse a longer identifier); give a \
                 shorter one (`--version-table`, `MIGRATOR_VERSION_TABLE`, \
                 `Options::version_table`)"
            )
        );
        assert_eq!(exit_code(&error), exit::USAGE);

        // 60 characters fit, but not the audit log's default name after it.
        let sixty = "v".repeat(60);
        let error = refused(db, with_tables(&sixty, None));
        let message = error.to_string();
        assert!(
            message.starts_with(&format!(
                "the audit log name `{sixty}_audit` is 66 characters long"
            )),
            "{message}"
        );
        assert!(
            message.contains("or name the audit log (`--audit-table`"),
            "{message}"
        );

        // Nor the `table` lock's lease table.
        let sixty = "v".repeat(60);
        let mut options = with_tables(&sixty, Some("audit"));
        options.lock = LockStrategy::Table;
        let error = Migrator::with_options(&branchy::MIGRATIONS, options)
            .upgrade(&mut db.connect(), Target::Head)
            .expect_err("the lease table's name is too long");
        assert!(
            error.to_string().starts_with(&format!(
                "the lock table name `{sixty}_lock` is 65 characters"
            )),
            "{error}"
        );
        assert_eq!(tables(&mut db.connect()), Vec::<String>::new());

        // A name at the limit works.
        let at_limit = "v".repeat(64);
        Migrator::with_options(&branchy::MIGRATIONS, with_tables(&at_limit, Some("audit")))
            .upgrade(&mut db.connect(), Target::Head)
            .expect("64 characters are fine");
    });
}

#[test]
fn long_table_names_are_refused_on_postgres_which_would_cut_them() {
    let Some(db) = TestDb::postgres() else { return };
    let long = "v".repeat(64);
    let error = refused(&db, with_tables(&long, None));
    assert!(
        error.to_string().starts_with(&format!(
            "the version table name `{long}` is 64 bytes long, longer than postgres's limit of \
             63 bytes (PostgreSQL cuts a longer identifier"
        )),
        "{error}"
    );
    // Bytes, not characters: 32 two-byte characters are 64 bytes.
    let error = refused(&db, with_tables("migrator_version", Some(&"é".repeat(32))));
    assert!(
        error.to_string().starts_with("the audit log name `"),
        "{error}"
    );
    // SQLite has no limit.
    let sqlite = TestDb::sqlite();
    Migrator::with_options(&branchy::MIGRATIONS, with_tables(&"v".repeat(100), None))
        .upgrade(&mut sqlite.connect(), Target::Head)
        .expect("no limit on SQLite");
}

/// The CLI says the same and exits with the usage status, creating nothing.
#[test]
fn the_cli_refuses_a_long_version_table_with_the_usage_status() {
    on_mysql(|db| {
        let dir = tempfile::tempdir().expect("tempdir");
        let output = cli_command(env!("CARGO_BIN_EXE_branchy"), db.url(), dir.path())
            .env("MIGRATOR_VERSION_TABLE", "v".repeat(65))
            .args(["upgrade", "head"])
            .output()
            .expect("run branchy");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            output.status.code(),
            Some(i32::from(exit::USAGE)),
            "{stderr}"
        );
        assert!(
            stderr.contains("is 65 characters long, longer than mysql's limit of 64 characters"),
            "{stderr}"
        );
        assert_eq!(tables(&mut db.connect()), Vec::<String>::new());
    });
}
