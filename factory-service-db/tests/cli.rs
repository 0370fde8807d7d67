//! The `factory-service-db` binary, run as a user runs it, on SQLite and
//! PostgreSQL; each test checks the database afterwards.

use std::path::Path;
use std::process::{Command, Output};

use migrator_tests::{on_each_backend, tables};

fn run(dir: &Path, url: Option<&str>, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_factory-service-db"));
    command
        .args(args)
        .current_dir(dir)
        .env_remove("DATABASE_URL");
    if let Some(url) = url {
        command.env("DATABASE_URL", url);
    }
    command.output().expect("run factory-service-db")
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "failed: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn upgrade_current_history_downgrade() {
    on_each_backend(|db| {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = Some(db.url());

        let out = stdout(&run(dir.path(), url, &["upgrade", "head"]));
        assert!(
            out.contains("Running upgrade <base> -> 001, Add api_keys table"),
            "{out}"
        );
        assert_eq!(
            tables(&mut db.connect()),
            ["api_keys", "migrator_audit", "migrator_version"]
        );

        let out = stdout(&run(dir.path(), url, &["current"]));
        assert_eq!(out, "001 (head)\n");

        let out = stdout(&run(dir.path(), url, &["history"]));
        assert!(
            out.starts_with("<base> -> 001 (head, applied), Add api_keys table"),
            "{out}"
        );

        let out = stdout(&run(dir.path(), url, &["upgrade"]));
        assert!(out.contains("Nothing to do"), "{out}");

        let out = stdout(&run(dir.path(), url, &["downgrade", "base"]));
        assert!(out.contains("Running downgrade 001 -> <base>"), "{out}");
        assert_eq!(
            tables(&mut db.connect()),
            ["migrator_audit", "migrator_version"]
        );
        assert_eq!(
            stdout(&run(dir.path(), url, &["current"])),
            "base (no revision applied)\n"
        );
    });
}

#[test]
fn without_a_url_it_uses_a_sqlite_file_in_the_working_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = run(dir.path(), None, &["upgrade", "head"]);
    stdout(&output);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("factory-service.db"), "{stderr}");
    let file = dir.path().join("factory-service.db");
    assert!(file.exists());
    let mut conn = migrator_runtime::connect(&file.to_string_lossy()).expect("open the file");
    assert_eq!(
        tables(&mut conn),
        ["api_keys", "migrator_audit", "migrator_version"]
    );
}

#[test]
fn bad_input_fails_with_a_message_and_no_password() {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = run(
        dir.path(),
        Some("postgres://factory:hunter2@127.0.0.1:1/factory"),
        &["current"],
    );
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("could not connect to `postgres://factory:***@127.0.0.1:1/factory`"),
        "{stderr}"
    );
    assert!(!stderr.contains("hunter2"), "{stderr}");

    let output = run(dir.path(), Some("sqlite://x.db"), &["upgrade", "nope"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("`nope`"), "{stderr}");
}
