//! No output shows a password (issue 11, item 6), checked over generated
//! URLs and `key=value` strings (`migrator_tests::secrets`): the output of
//! `redact`, the errors of connecting (a closed port, a database that does
//! not exist on the real server) as the library's `Display` and `Debug` show
//! them, and everything the CLI prints with `RUST_LOG=trace`, failing or
//! succeeding. The factory binary's share is in
//! `factory-service-db/tests/secrets.rs`.

use std::sync::LazyLock;
use std::time::Instant;

use migrator_runtime::redact;
use migrator_tests::secrets::{self, Secrets};
use migrator_tests::{Run, TestDb, cli_command};
use proptest::prelude::*;

/// Every scheme the redaction knows a userinfo for.
const ALL_SCHEMES: &[&str] = &[
    "postgres",
    "postgresql",
    "mysql",
    "mariadb",
    "sqlite",
    "file",
];
/// The schemes of servers (connecting to them creates no file).
const SERVER_SCHEMES: &[&str] = &["postgres", "postgresql", "mysql", "mariadb"];
/// Nothing listens there: the connection is refused at once.
const CLOSED: &str = "127.0.0.1:1";

/// URLs and `key=value` strings to `authority`, of `schemes`.
fn connection_strings(
    schemes: &'static [&'static str],
    authority: &str,
) -> impl Strategy<Value = Secrets> {
    prop_oneof![
        secrets::url(schemes, authority.to_owned()),
        secrets::key_value(authority),
    ]
}

/// The `long` CLI against `url` with every event traced, its output.
fn run_traced(url: &str, args: &[&str]) -> Run {
    let cwd = tempfile::tempdir().expect("a working directory");
    let start = Instant::now();
    let output = cli_command(env!("CARGO_BIN_EXE_long"), url, cwd.path())
        .env("RUST_LOG", "trace")
        .args(args)
        .output()
        .expect("run the long CLI");
    Run::from_output(output, start.elapsed())
}

/// The PostgreSQL server is there (in CI it must be): a fresh database,
/// dropped at once, says so, once per test binary.
fn postgres_is_up() -> bool {
    static UP: LazyLock<bool> = LazyLock::new(|| TestDb::postgres().is_some());
    *UP
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    /// `redact` hides every password, and changes nothing else: a string
    /// without one comes back as it was.
    #[test]
    fn redact_hides_every_password(secrets in connection_strings(ALL_SCHEMES, "db.example:5432")) {
        let redacted = redact(&secrets.url);
        secrets.assert_hidden(&redacted, "redact");
        if secrets.passwords.is_empty() {
            prop_assert_eq!(&redacted, &secrets.url);
        } else {
            prop_assert!(redacted.contains("***"), "{redacted}");
        }
        prop_assert_eq!(redact(&redacted), redacted, "redacting twice changes nothing");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    /// Any text, with or without multi-byte characters next to the
    /// characters the redaction looks for: it never panics.
    #[test]
    fn redact_takes_any_text(
        text in prop_oneof![
            any::<String>(),
            "[a-z:/@?&= '\\\"`é€🦀]{0,40}",
            "(postgres://|password=|sslpassword = '|\\\\|é|@|&| ){0,12}",
        ]
    ) {
        let _ = redact(&text);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// A refused connection: the library's error, shown with `Display` and
    /// `Debug`, names the URL without its passwords.
    #[test]
    fn a_refused_connection_shows_no_password(secrets in connection_strings(SERVER_SCHEMES, CLOSED)) {
        let error = migrator_runtime::connect(&secrets.url).expect_err("nothing listens on port 1");
        secrets.assert_hidden(&error.to_string(), "Display");
        secrets.assert_hidden(&format!("{error:?}"), "Debug");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The server answers and refuses: the database does not exist, or the
    /// URL is one libpq rejects (a parameter it does not know).
    #[test]
    fn a_missing_database_shows_no_password(
        secrets in connection_strings(&["postgres", "postgresql"], &secrets::postgres_authority())
    ) {
        if postgres_is_up() {
            let error = migrator_runtime::connect(&secrets.url).expect_err("no such database");
            secrets.assert_hidden(&error.to_string(), "Display");
            secrets.assert_hidden(&format!("{error:?}"), "Debug");
        }
    }

    /// The CLI, failing to connect (refused, or no such database), with
    /// `RUST_LOG=trace`: neither stdout nor stderr holds a password.
    #[test]
    fn the_cli_shows_no_password_when_connecting_fails(
        secrets in prop_oneof![
            connection_strings(SERVER_SCHEMES, CLOSED),
            connection_strings(&["postgres"], &secrets::postgres_authority()),
        ]
    ) {
        // Commands that write nothing, should a URL ever reach a database.
        for args in [&["current", "-v"][..], &["check"], &["history"]] {
            let run = run_traced(&secrets.url, args);
            let failed = if args == ["history"] {
                // `history` shows the graph alone, with a warning.
                run.code == Some(0) && run.stderr.contains("warning: ")
            } else {
                run.code.is_some_and(|code| code != 0) && run.stderr.contains("error: ")
            };
            prop_assert!(failed, "{args:?}: connecting must fail\n{run}");
            secrets.assert_hidden(&run.stdout, "stdout");
            secrets.assert_hidden(&run.stderr, "stderr");
        }
    }
}

/// A run that succeeds on a URL with passwords in its query string (the
/// server trusts the user, so it never asks for them): what `upgrade`,
/// `current -v`, `check`, `verify` and `history` print with
/// `RUST_LOG=trace` holds none of them, and the database is migrated.
#[test]
fn a_successful_run_shows_no_password() {
    let Some(db) = TestDb::postgres() else { return };
    let secrets = Secrets {
        url: format!(
            "{}{}password=Hunter2%40Secret&application_name=password-rotator&\
             sslpassword=Swordfish%2FKey&PASSWORD=Opensesame99",
            db.url(),
            if db.url().contains('?') { '&' } else { '?' }
        ),
        passwords: vec![
            "Hunter2@Secret".to_owned(),
            "Swordfish/Key".to_owned(),
            "Opensesame99".to_owned(),
        ],
    };
    // libpq refuses a parameter it does not know (`PASSWORD`): first without it.
    let known = secrets.url.replace("&PASSWORD=Opensesame99", "");
    for args in [
        &["upgrade", "head"][..],
        &["current", "-v"],
        &["check"],
        &["verify"],
        &["history"],
    ] {
        let run = run_traced(&known, args);
        run.expect_code(0, &format!("{args:?}"));
        assert!(
            run.stderr.contains("connecting"),
            "the trace shows the connection\n{run}"
        );
        secrets.assert_hidden(&run.stdout, "stdout");
        secrets.assert_hidden(&run.stderr, "stderr");
    }
    let run = run_traced(&known, &["current"]);
    assert!(run.stdout.contains("(head)"), "{run}");
    assert!(
        migrator_tests::tables(&mut db.connect()).contains(&"migrator_version".to_owned()),
        "migrated"
    );
    let run = run_traced(&secrets.url, &["upgrade", "head"]);
    assert!(
        run.stderr.contains("PASSWORD"),
        "libpq names the parameter\n{run}"
    );
    secrets.assert_hidden(&run.stdout, "stdout");
    secrets.assert_hidden(&run.stderr, "stderr");
}

/// A Redis lock URL holds a password too: `--help` does not show the value
/// of `MIGRATOR_LOCK`, and a mistyped `--lock` (or `MIGRATOR_LOCK`) is
/// refused (exit 2) without echoing it.
#[test]
fn the_cli_shows_no_redis_password() {
    let run = |args: &[&str], env: Option<&str>| {
        let cwd = tempfile::tempdir().expect("a working directory");
        let mut command = cli_command(env!("CARGO_BIN_EXE_long"), "sqlite::memory:", cwd.path());
        if let Some(lock) = env {
            command.env("MIGRATOR_LOCK", lock);
        }
        let start = Instant::now();
        let output = command.args(args).output().expect("run the long CLI");
        Run::from_output(output, start.elapsed())
    };
    let hidden = |run: &Run| {
        assert!(
            !run.stdout.contains("S3cretPw") && !run.stderr.contains("S3cretPw"),
            "{run}"
        );
    };
    let help = run(&["--help"], Some("redis://:S3cretPw@127.0.0.1:6379"));
    help.expect_code(0, "help");
    assert!(help.stdout.contains("MIGRATOR_LOCK"), "{help}");
    hidden(&help);
    for (args, env) in [
        (
            &["--lock", "redis:/:S3cretPw@127.0.0.1:6379", "current"][..],
            None,
        ),
        (&["current"][..], Some("redis:/:S3cretPw@127.0.0.1:6379")),
        (
            &["--lock", "redis:/u:S3cretPw@127.0.0.1:6379", "current"][..],
            None,
        ),
    ] {
        let refused = run(args, env);
        refused.expect_code(2, "a mistyped lock");
        assert!(
            refused.stderr.contains("unknown lock `***@127.0.0.1:6379`"),
            "{refused}"
        );
        hidden(&refused);
    }
}
