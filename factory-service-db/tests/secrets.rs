//! The factory binary never prints a password: over generated URLs and
//! `key=value` strings (`migrator_tests::secrets`) that fail to connect (a
//! closed port, a database that does not exist), whatever it prints with
//! `RUST_LOG=trace` holds none of their passwords, for the migration
//! commands and for `keys`.

use std::process::{Command, Stdio};
use std::sync::LazyLock;

use migrator_tests::TestDb;
use migrator_tests::secrets::{self, Secrets};
use proptest::prelude::*;

/// The binary against `secrets`' URL, every event traced: its stdout and
/// stderr, after checking that it failed.
fn run(secrets: &Secrets, args: &[&str]) -> (String, String) {
    let dir = tempfile::tempdir().expect("a working directory");
    let output = Command::new(env!("CARGO_BIN_EXE_factory-service-db"))
        .args(args)
        .current_dir(dir.path())
        .env("DATABASE_URL", &secrets.url)
        .env("RUST_LOG", "trace")
        .env_remove("MIGRATOR_CONFIG")
        .stdin(Stdio::null())
        .output()
        .expect("run factory-service-db");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        !output.status.success() && stderr.contains("error: "),
        "{args:?} on {:?} must fail to connect\n{stdout}\n{stderr}",
        secrets.url
    );
    (stdout, stderr)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn no_output_holds_a_password(
        secrets in prop_oneof![
            secrets::url(&["postgres", "postgresql", "mysql", "mariadb"], "127.0.0.1:1".to_owned()),
            secrets::key_value("127.0.0.1:1"),
            secrets::url(&["postgres"], secrets::postgres_authority()),
            secrets::key_value(&secrets::postgres_authority()),
        ]
    ) {
        // The server must be there for the second half (in CI it must be).
        static UP: LazyLock<bool> = LazyLock::new(|| TestDb::postgres().is_some());
        let _ = *UP;
        // Commands that write nothing, should a URL ever reach a database.
        for args in [&["current", "-v"][..], &["check"], &["keys", "--no-migrate", "list"]] {
            let (stdout, stderr) = run(&secrets, args);
            secrets.assert_hidden(&stdout, "stdout");
            secrets.assert_hidden(&stderr, "stderr");
        }
    }
}
