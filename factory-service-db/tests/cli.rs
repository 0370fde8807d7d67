//! The `factory-service-db` binary, run as a user runs it, on SQLite,
//! PostgreSQL and MySQL/MariaDB (and, for issue 12's done-when, on
//! MySQL/MariaDB alone: `on_mysql_…`); each test checks the database
//! afterwards.

use std::path::Path;
use std::process::{Command, Output};

use migrator_runtime::testing::on_mysql;
use migrator_tests::{TestDb, applied_ids, count, on_every_backend, tables};

/// The tables at head.
const HEAD_TABLES: [&str; 5] = [
    "api_key_events",
    "api_key_scopes",
    "api_keys",
    "migrator_version",
    "migrator_version_audit",
];

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
    on_every_backend(|db| {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = Some(db.url());

        let out = stdout(&run(dir.path(), url, &["upgrade", "head"]));
        assert!(
            out.contains("Running upgrade <base> -> 001, Add api_keys table"),
            "{out}"
        );
        assert!(
            out.contains("Running upgrade 006, 007 -> 008, Merge the scopes and events branches"),
            "{out}"
        );
        assert_eq!(tables(&mut db.connect()), HEAD_TABLES);

        let out = stdout(&run(dir.path(), url, &["current"]));
        assert_eq!(out, "009 (head)\n");

        let out = stdout(&run(dir.path(), url, &["history"]));
        assert!(
            out.starts_with("008 -> 009 (head, applied), Index api_keys.last_used_at"),
            "{out}"
        );
        assert!(
            out.ends_with("<base> -> 001 (applied), Add api_keys table\n"),
            "{out}"
        );

        let out = stdout(&run(dir.path(), url, &["upgrade"]));
        assert!(out.contains("Nothing to do"), "{out}");

        let out = stdout(&run(dir.path(), url, &["downgrade", "base"]));
        assert!(out.contains("Running downgrade 001 -> <base>"), "{out}");
        assert!(out.contains("Running downgrade 008 -> 006, 007"), "{out}");
        assert_eq!(
            tables(&mut db.connect()),
            ["migrator_version", "migrator_version_audit",]
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
    assert_eq!(tables(&mut conn), HEAD_TABLES);
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

#[test]
fn keys_commands_migrate_first_and_work() {
    on_every_backend(|db| {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = Some(db.url());
        let output = run(dir.path(), url, &["keys", "create", "--name", "ci"]);
        let out = stdout(&output);
        assert!(
            String::from_utf8_lossy(&output.stderr)
                .contains("migrated the database to head (9 revision(s) applied)")
        );
        assert_eq!(tables(&mut db.connect()), HEAD_TABLES);
        let secret = out
            .lines()
            .find_map(|l| l.strip_prefix("Secret (shown once, store it now): "))
            .expect("the secret is printed")
            .to_owned();
        assert!(secret.starts_with("fsk_"), "{secret}");

        let out = stdout(&run(dir.path(), url, &["keys", "verify", &secret]));
        assert!(out.starts_with("valid: "), "{out}");
        let invalid = run(dir.path(), url, &["keys", "verify", "fsk_wrong"]);
        assert_eq!(invalid.status.code(), Some(1));

        let listed = stdout(&run(dir.path(), url, &["keys", "list"]));
        let prefix = &secret[4..12];
        assert!(
            listed.contains(prefix) && listed.contains("last used"),
            "{listed}"
        );

        stdout(&run(dir.path(), url, &["keys", "revoke", prefix]));
        let revoked = run(dir.path(), url, &["keys", "verify", &secret]);
        assert_eq!(revoked.status.code(), Some(1));
    });
}

#[test]
fn no_migrate_leaves_the_migration_to_a_separate_step() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("keys.db").display());
    let output = run(dir.path(), Some(&url), &["keys", "--no-migrate", "list"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("api_keys"), "{stderr}");
    assert!(
        !dir.path().join("keys.db").exists()
            || tables(&mut migrator_runtime::connect(&url).expect("open")).is_empty()
    );

    // The environment variable takes every usual spelling of a boolean: on a
    // fresh database, each truthy one leaves it unmigrated, each falsy one
    // migrates.
    let keys_list = |url: &str, value: &str| {
        Command::new(env!("CARGO_BIN_EXE_factory-service-db"))
            .args(["keys", "list"])
            .current_dir(dir.path())
            .env("DATABASE_URL", url)
            .env("FACTORY_NO_MIGRATE", value)
            .output()
            .expect("run")
    };
    for (i, value) in ["1", "true", "yes", "on"].into_iter().enumerate() {
        let fresh = format!("sqlite://{}", dir.path().join(format!("t{i}.db")).display());
        let output = keys_list(&fresh, value);
        assert!(
            !output.status.success(),
            "FACTORY_NO_MIGRATE={value} migrated"
        );
    }
    for (i, value) in ["0", "false", "no", "off"].into_iter().enumerate() {
        let fresh = format!("sqlite://{}", dir.path().join(format!("f{i}.db")).display());
        stdout(&keys_list(&fresh, value));
    }
    stdout(&run(dir.path(), Some(&url), &["upgrade"]));
    stdout(&keys_list(&url, "1"));
}

#[test]
fn the_binary_alone_carries_everything() {
    // Copied alone into an empty directory, pointed at a fresh database, it
    // migrates and works: the revisions are compiled in.
    let dir = tempfile::tempdir().expect("tempdir");
    let binary = dir.path().join("factory-service-db");
    std::fs::copy(env!("CARGO_BIN_EXE_factory-service-db"), &binary).expect("copy the binary");
    // Another test thread forking while the copy was open for writing holds
    // that descriptor until its child execs: running the copy then fails
    // with "text file busy" for a moment (a race of fork and exec in a
    // multi-threaded process, not of the binary).
    let output = (0..50)
        .find_map(|_| {
            let run = Command::new(&binary)
                .args(["keys", "create", "--name", "alone"])
                .current_dir(dir.path())
                .env_remove("DATABASE_URL")
                .output();
            match run {
                Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy => {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    None
                }
                other => Some(other),
            }
        })
        .expect("the copy stays busy for a second")
        .expect("run the copy");
    stdout(&output);
    let mut conn =
        migrator_runtime::connect(&dir.path().join("factory-service.db").to_string_lossy())
            .expect("open the database it made");
    assert_eq!(tables(&mut conn), HEAD_TABLES);
}

#[test]
fn revision_and_merge_heads_write_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let migrations = dir.path().join("migrations");
    std::fs::create_dir(&migrations).expect("mkdir");
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations");
    for entry in std::fs::read_dir(source).expect("list") {
        let path = entry.expect("entry").path();
        std::fs::copy(&path, migrations.join(path.file_name().expect("name"))).expect("copy");
    }

    let output = run(dir.path(), None, &["revision", "-m", "Add key expiry"]);
    let out = stdout(&output);
    assert_eq!(
        out,
        "Wrote migrations/010_add_key_expiry.sql: fill in its upgrade and downgrade\n"
    );
    // No database is needed, so none is mentioned or created.
    assert!(
        output.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!dir.path().join("factory-service.db").exists());
    let text = std::fs::read_to_string(migrations.join("010_add_key_expiry.sql")).expect("read");
    assert!(
        text.contains("-- Revision ID: 010\n-- Revises: 009\n"),
        "{text}"
    );

    // The unfilled revision blocks the next one, with the build's message.
    let output = run(dir.path(), None, &["revision", "-m", "more"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("[empty-section]"));

    // Two heads: `revision` refuses, `merge heads` joins them.
    std::fs::remove_file(migrations.join("010_add_key_expiry.sql")).expect("remove");
    let nine = migrations.join("009_index_last_used_at.sql");
    let text = std::fs::read_to_string(&nine)
        .expect("read")
        .replace("Revises: 008", "Revises: 007");
    std::fs::write(&nine, text).expect("write");
    let output = run(dir.path(), None, &["revision", "-m", "more"]);
    assert!(String::from_utf8_lossy(&output.stderr).contains("several heads (008, 009)"));
    let out = stdout(&run(
        dir.path(),
        None,
        &["merge", "heads", "-m", "Join the heads"],
    ));
    assert_eq!(out, "Wrote migrations/010_join_the_heads.sql\n");
    let graph = migrator_core::load_dir(&migrations, "migrations").expect("valid after the merge");
    let head = graph.head().map(|h| graph.revision(h).id.to_string());
    assert_eq!(head.as_deref(), Some("010"));
}

#[test]
fn history_ranges_open_and_reversed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("h.db").display());
    let out = stdout(&run(dir.path(), Some(&url), &["history", "-r", "008:"]));
    // From 008 to head: 009, then 008 (the merge of 006 and 007).
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(lines[0].starts_with("008 -> 009 (head),"), "{out}");
    assert!(
        lines[1].starts_with("006, 007 -> 008 (mergepoint),"),
        "{out}"
    );
    let output = run(dir.path(), Some(&url), &["history", "-r", "004:002"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("004 comes after 002"));
}

/// The revision IDs the version table holds, sorted.
fn applied(db: &migrator_tests::TestDb) -> Vec<String> {
    let mut ids: Vec<String> = factory_service_db::migrator()
        .state(&mut db.connect())
        .expect("state")
        .applied
        .into_iter()
        .map(|row| row.revision)
        .collect();
    ids.sort();
    ids
}

/// Alembic's targets and stamp on the factory's branch (006 and 007 revise
/// 005; 008 merges them), as the issue on Alembic parity states them.
#[test]
fn alembic_targets_and_stamp_on_the_factory_graph() {
    on_every_backend(|db| {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = Some(db.url());
        // `006+1` walks to the merge 008: 006, 007 and 008 are applied.
        stdout(&run(dir.path(), url, &["upgrade", "006+1"]));
        assert_eq!(
            applied(db),
            ["001", "002", "003", "004", "005", "006", "007", "008"]
        );
        stdout(&run(dir.path(), url, &["upgrade", "heads"]));
        assert_eq!(stdout(&run(dir.path(), url, &["current"])), "009 (head)\n");
        // `upgrade 006` past 006: exit 0, nothing changes.
        let out = stdout(&run(dir.path(), url, &["upgrade", "006"]));
        assert_eq!(out, "Nothing to do: the database is at or past 006\n");
        assert_eq!(stdout(&run(dir.path(), url, &["current"])), "009 (head)\n");
        // `stamp 007` after `upgrade 006` keeps 006: both are current, and
        // `upgrade head` then runs 008 and 009 only.
        stdout(&run(dir.path(), url, &["downgrade", "base"]));
        stdout(&run(dir.path(), url, &["upgrade", "006"]));
        stdout(&run(dir.path(), url, &["stamp", "007"]));
        assert_eq!(stdout(&run(dir.path(), url, &["current"])), "006\n007\n");
        let out = stdout(&run(dir.path(), url, &["upgrade", "head"]));
        assert!(!out.contains("-> 007"), "{out}");
        assert!(out.contains("006, 007 -> 008"), "{out}");
        assert_eq!(stdout(&run(dir.path(), url, &["current"])), "009 (head)\n");
        // 007 was recorded, not run: its table was never created.
        let expected: Vec<&str> = HEAD_TABLES
            .into_iter()
            .filter(|t| *t != "api_key_events")
            .collect();
        assert_eq!(tables(&mut db.connect()), expected);
    });
}

/// `history` needs no database; `--graph` draws the branch and the merge;
/// `--format dot` writes Graphviz.
#[test]
fn history_without_a_database_draws_the_graph() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = stdout(&run(dir.path(), None, &["history", "--graph"]));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 11, "{out}");
    assert!(lines[0].starts_with("* 008 -> 009 (head), "), "{out}");
    assert!(
        lines[1].starts_with("* 006, 007 -> 008 (mergepoint), "),
        "{out}"
    );
    assert_eq!(lines[2], "|\\", "{out}");
    assert!(lines[3].starts_with("| * 005 -> 007, "), "{out}");
    assert!(lines[4].starts_with("* | 005 -> 006, "), "{out}");
    assert_eq!(lines[5], "|/", "{out}");
    assert!(
        lines[6].starts_with("* 004 -> 005 (branchpoint), "),
        "{out}"
    );
    assert!(lines[10].starts_with("* <base> -> 001, "), "{out}");
    assert!(
        !dir.path().join("factory-service.db").exists(),
        "no database was created"
    );

    let dot = stdout(&run(dir.path(), None, &["history", "--format", "dot"]));
    assert!(dot.starts_with("digraph migrations {"), "{dot}");
    assert!(dot.contains("\"005\" -> \"006\";"), "{dot}");
    assert!(dot.contains("\"007\" -> \"008\";"), "{dot}");
    assert!(dot.trim_end().ends_with('}'), "{dot}");
}

/// `history` with a SQLite URL whose file does not exist shows the graph
/// and creates no file; `--graph` with `--format dot` is refused; dot labels
/// keep each node on one line.
#[test]
fn history_creates_no_database_and_writes_valid_dot() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("missing.db").display());
    let out = stdout(&run(dir.path(), Some(&url), &["history"]));
    assert!(out.starts_with("008 -> 009 (head), "), "{out}");
    assert!(
        !dir.path().join("missing.db").exists(),
        "no database was created"
    );
    let refused = run(dir.path(), None, &["history", "--graph", "--format", "dot"]);
    assert_eq!(refused.status.code(), Some(2));
    let dot = stdout(&run(dir.path(), None, &["history", "--format", "dot"]));
    for line in dot.lines().filter(|l| l.contains("label=")) {
        assert!(line.trim_end().ends_with("];"), "one line per node: {dot}");
    }
    assert!(
        dot.contains(r#"label="009\nIndex api_keys.last_used_at""#),
        "{dot}"
    );
}

/// `RUST_LOG` turns on the runtime's events on stderr; without it, stderr
/// stays quiet.
#[test]
fn rust_log_shows_the_runtimes_events() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("log.db").display());
    let output = Command::new(env!("CARGO_BIN_EXE_factory-service-db"))
        .args(["upgrade", "head"])
        .current_dir(dir.path())
        .env("DATABASE_URL", &url)
        .env("RUST_LOG", "migrator_runtime=info")
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("running") && stderr.contains("revision=009"),
        "{stderr}"
    );
    let quiet = Command::new(env!("CARGO_BIN_EXE_factory-service-db"))
        .args(["current"])
        .current_dir(dir.path())
        .env("DATABASE_URL", &url)
        .env_remove("RUST_LOG")
        .output()
        .expect("run");
    assert!(
        quiet.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&quiet.stderr)
    );
}

/// A server that accepts the connection and never answers: the binary gives
/// up after `--connect-timeout` with the connection's exit status, instead
/// of hanging until it is killed.
#[test]
fn a_server_that_never_answers_times_out() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    // Accept and hold every connection, without a word.
    std::thread::spawn(move || {
        let held: Vec<_> = listener.incoming().collect();
        drop(held);
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let start = std::time::Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_factory-service-db"))
        .args(["--connect-timeout", "2s", "current"])
        .current_dir(dir.path())
        .env(
            "DATABASE_URL",
            format!("postgres://postgres@127.0.0.1:{port}/x"),
        )
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run");
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if start.elapsed() > std::time::Duration::from_secs(30) {
            let _ = child.kill();
            panic!("still waiting after 30 s");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut stderr)
        .expect("read stderr");
    assert_eq!(status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("could not connect"), "{stderr}");
    assert!(
        start.elapsed() < std::time::Duration::from_secs(15),
        "{:?}",
        start.elapsed()
    );
}

/// How many rows `sql` (a `SELECT COUNT(*) AS n …`) counts on `db`.
fn count_on(db: &TestDb, sql: &str) -> i64 {
    count(&mut db.connect(), sql)
}

/// Issue 12's done-when on MariaDB (or MySQL): on an empty database,
/// `upgrade head`, `current`, `keys create`, `keys verify`, `downgrade base`,
/// the database checked after each through `information_schema` and the
/// version table.
#[test]
fn on_mysql_upgrade_current_keys_and_downgrade() {
    on_mysql(|db| {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = Some(db.url());
        let migrator = factory_service_db::migrator();
        assert_eq!(
            tables(&mut db.connect()),
            Vec::<String>::new(),
            "an empty database"
        );

        stdout(&run(dir.path(), url, &["upgrade", "head"]));
        assert_eq!(tables(&mut db.connect()), HEAD_TABLES);
        assert_eq!(
            applied_ids(&migrator, &mut db.connect()),
            [
                "001", "002", "003", "004", "005", "006", "007", "008", "009"
            ]
        );
        let columns = "SELECT COUNT(*) AS n FROM information_schema.columns \
                       WHERE table_schema = DATABASE() AND (";
        assert_eq!(
            count_on(
                db,
                &format!(
                    "{columns}(table_name = 'api_keys' AND column_name = 'id' \
                     AND column_type = 'char(36)') \
                     OR (table_name IN ('api_keys', 'api_key_events') \
                     AND column_name IN ('created_at', 'last_used_at', 'revoked_at', 'at') \
                     AND column_type = 'datetime(6)') \
                     OR (table_name = 'api_key_events' AND column_name = 'id' \
                     AND extra = 'auto_increment'))"
                )
            ),
            6,
            "the id is text, times keep microseconds, events are numbered"
        );
        let indexes = "SELECT COUNT(DISTINCT table_name, index_name) AS n \
                       FROM information_schema.statistics WHERE table_schema = DATABASE() \
                       AND index_name IN ('api_keys_key_hash', 'api_keys_last_used_at', \
                       'api_key_events_key_id')";
        assert_eq!(count_on(db, indexes), 3);
        let foreign_keys = "SELECT COUNT(*) AS n \
                            FROM information_schema.referential_constraints \
                            WHERE constraint_schema = DATABASE() \
                            AND referenced_table_name = 'api_keys' AND delete_rule = 'CASCADE'";
        assert_eq!(count_on(db, foreign_keys), 2);

        assert_eq!(stdout(&run(dir.path(), url, &["current"])), "009 (head)\n");

        let out = stdout(&run(dir.path(), url, &["keys", "create", "--name", "ci"]));
        let id = out
            .lines()
            .find_map(|l| l.strip_prefix("Created key "))
            .and_then(|l| l.strip_suffix(" (ci)"))
            .expect("the key's ID is printed")
            .to_owned();
        let secret = out
            .lines()
            .find_map(|l| l.strip_prefix("Secret (shown once, store it now): "))
            .expect("the secret is printed")
            .to_owned();
        let hash = factory_service_db::keys::hash(&secret);
        let key = |used: &str| {
            format!(
                "SELECT COUNT(*) AS n FROM api_keys WHERE id = '{id}' AND name = 'ci' \
                 AND key_hash = '{hash}' AND key_prefix = '{}' AND revoked_at IS NULL \
                 AND last_used_at {used}",
                &secret[4..12]
            )
        };
        assert_eq!(count_on(db, &key("IS NULL")), 1, "the key's row");
        let events = |event: &str| {
            format!(
                "SELECT COUNT(*) AS n FROM api_key_events WHERE key_id = '{id}' AND event = '{event}'"
            )
        };
        assert_eq!(count_on(db, &events("created")), 1);

        let out = stdout(&run(dir.path(), url, &["keys", "verify", &secret]));
        assert_eq!(out, format!("valid: {id} (ci)\n"));
        assert_eq!(count_on(db, &key("IS NOT NULL")), 1, "its use is recorded");
        assert_eq!(count_on(db, &events("used")), 1);
        assert_eq!(
            run(dir.path(), url, &["keys", "verify", "fsk_wrong"])
                .status
                .code(),
            Some(1)
        );

        let out = stdout(&run(dir.path(), url, &["downgrade", "base"]));
        assert!(out.contains("Running downgrade 001 -> <base>"), "{out}");
        assert_eq!(
            tables(&mut db.connect()),
            ["migrator_version", "migrator_version_audit"]
        );
        assert!(applied_ids(&migrator, &mut db.connect()).is_empty());
        assert_eq!(count_on(db, indexes), 0);
        assert_eq!(
            stdout(&run(dir.path(), url, &["current"])),
            "base (no revision applied)\n"
        );
    });
}
