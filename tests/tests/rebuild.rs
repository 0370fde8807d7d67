//! FORMAT.md, "Rebuilds": editing, adding, renaming or removing a revision
//! file makes the next `cargo build` embed the new set, with nothing beyond
//! `cargo build` and the one-line `build.rs` the docs show.
//!
//! The test writes a scratch crate in a temporary directory (its own
//! workspace, path dependencies on this workspace's crates, this workspace's
//! `Cargo.lock`), changes its `migrations/` directory step by step and runs
//! `cargo run --offline` after each step; the binary prints the embedded set.
//!
//! The scratch crate is also what a PostgreSQL service adding migrator
//! looks like: one migrator dependency (`migrator-runtime` with
//! `features = ["postgres"]`, and without features for its `build.rs`),
//! migrating a `PgConnection` it opened itself.
//!
//! The scratch crate builds into `target/rebuild-scratch/` of this workspace,
//! a fixed directory, so later runs reuse the compiled dependencies (the
//! first run compiles Diesel and the bundled SQLite: a minute or two).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant, SystemTime};

/// The scratch crate and the moment its last build finished.
struct Scratch {
    dir: tempfile::TempDir,
    target: PathBuf,
    last_build: Instant,
}

/// The scratch crate's `main`: prints the embedded set and, given a
/// `DATABASE_URL`, migrates a `PgConnection` it opened itself, as a
/// PostgreSQL service does at startup.
const MAIN_RS: &str = r#"use diesel::Connection;

migrator_runtime::embed_migrations!("migrations");

fn main() {
    let graph = MIGRATIONS.graph();
    for &i in graph.order() {
        let revision = graph.revision(i);
        println!("{} {} {}", revision.id, revision.file_name, revision.message);
    }
    if let Ok(url) = std::env::var("DATABASE_URL") {
        let mut conn = diesel::PgConnection::establish(&url).expect("connect");
        let report = migrator_runtime::Migrator::new(&MIGRATIONS)
            .upgrade(&mut conn, migrator_runtime::Target::Head)
            .expect("migrate");
        println!("migrated {}", report.steps.len());
    }
}
"#;

const BUILD_RS: &str = r#"fn main() {
    migrator_runtime::build::watch("migrations");
}
"#;

/// A valid SQL revision.
fn sql_revision(message: &str, id: &str, revises: &str, table: &str) -> String {
    format!(
        "-- {message}\n\
         --\n\
         -- Revision ID: {id}\n\
         -- Revises: {revises}\n\
         -- Create Date: 2024-01-01 00:00:00\n\
         \n\
         -- migrate:upgrade\n\
         CREATE TABLE {table} (id INTEGER NOT NULL PRIMARY KEY);\n\
         \n\
         -- migrate:downgrade\n\
         DROP TABLE {table};\n"
    )
}

/// A valid Rust revision.
fn rust_revision(message: &str, id: &str, revises: &str) -> String {
    format!(
        "//! {message}\n\
         //!\n\
         //! Revision ID: {id}\n\
         //! Revises: {revises}\n\
         //! Create Date: 2024-01-03\n\
         \n\
         pub fn upgrade(db: &mut migrator_runtime::MigrationContext<'_>) -> migrator_runtime::RevisionResult {{\n\
         \x20   let _ = db;\n\
         \x20   Ok(())\n\
         }}\n\
         \n\
         pub fn downgrade(db: &mut migrator_runtime::MigrationContext<'_>) -> migrator_runtime::RevisionResult {{\n\
         \x20   let _ = db;\n\
         \x20   Ok(())\n\
         }}\n"
    )
}

impl Scratch {
    /// A scratch crate named `name`: each test its own binary, all of them
    /// one target directory (the dependencies are compiled once).
    fn new(name: &str) -> Scratch {
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("the tests crate is in the workspace")
            .to_path_buf();
        let dir = tempfile::tempdir().expect("create the scratch crate's directory");
        let manifest = format!(
            r#"[package]
name = "{name}"
version = "0.0.0"
edition = "2024"
publish = false

# Not a member of the migrator workspace.
[workspace]

# One migrator dependency, PostgreSQL only.
[dependencies]
migrator-runtime = {{ path = {runtime:?}, default-features = false, features = ["postgres"] }}
diesel = {{ version = "2.3", default-features = false, features = ["postgres"] }}

[build-dependencies]
migrator-runtime = {{ path = {runtime:?}, default-features = false }}
"#,
            runtime = workspace.join("migrator-runtime").display().to_string(),
        );
        let scratch = Scratch {
            dir,
            target: workspace.join("target").join("rebuild-scratch"),
            last_build: Instant::now(),
        };
        scratch.write("Cargo.toml", &manifest);
        scratch.write("build.rs", BUILD_RS);
        scratch.write("src/main.rs", MAIN_RS);
        fs::copy(
            workspace.join("Cargo.lock"),
            scratch.dir.path().join("Cargo.lock"),
        )
        .expect("copy the workspace's Cargo.lock");
        fs::create_dir_all(scratch.dir.path().join("migrations")).expect("create migrations/");
        scratch
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    fn write(&self, relative: &str, contents: &str) {
        let path = self.path(relative);
        fs::create_dir_all(path.parent().expect("a file has a parent")).expect("create parent");
        fs::write(&path, contents).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    }

    /// Waits until a change is surely later than the last build's outputs,
    /// whatever the file system's mtime granularity.
    fn settle(&self) {
        let wait = Duration::from_millis(1100);
        let elapsed = self.last_build.elapsed();
        if elapsed < wait {
            std::thread::sleep(wait - elapsed);
        }
    }

    /// Writes a migration file after the last build, and makes sure its mtime
    /// is later than that build.
    fn write_migration(&self, name: &str, contents: &str) {
        self.settle();
        let relative = format!("migrations/{name}");
        self.write(&relative, contents);
        let file = fs::File::options()
            .write(true)
            .open(self.path(&relative))
            .expect("reopen the migration");
        file.set_modified(SystemTime::now()).expect("set mtime");
    }

    fn remove_migration(&self, name: &str) {
        self.settle();
        let path = self.path(&format!("migrations/{name}"));
        fs::remove_file(&path).unwrap_or_else(|e| panic!("remove {}: {e}", path.display()));
    }

    fn rename_migration(&self, from: &str, to: &str) {
        self.settle();
        let dir = self.path("migrations");
        fs::rename(dir.join(from), dir.join(to))
            .unwrap_or_else(|e| panic!("rename {from} to {to}: {e}"));
    }

    fn cargo(&mut self, subcommand: &str) -> Output {
        self.cargo_with(&[subcommand], None)
    }

    /// `cargo ARGS`, with `DATABASE_URL` set to `url` or unset.
    fn cargo_with(&mut self, args: &[&str], url: Option<&str>) -> Output {
        let subcommand = args.join(" ");
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut command = Command::new(cargo);
        match url {
            Some(url) => command.env("DATABASE_URL", url),
            None => command.env_remove("DATABASE_URL"),
        };
        command
            .args(args)
            .args(["--offline", "--quiet"])
            .current_dir(self.dir.path())
            .env("CARGO_TARGET_DIR", &self.target);
        // What `cargo test` sets for this test must not leak into the
        // scratch build.
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy();
            if key.starts_with("CARGO_PKG_")
                || key.starts_with("CARGO_MANIFEST_")
                || matches!(
                    &*key,
                    "CARGO_CRATE_NAME" | "CARGO_PRIMARY_PACKAGE" | "CARGO_TARGET_TMPDIR"
                )
            {
                command.env_remove(&*key);
            }
        }
        let started = Instant::now();
        let output = command
            .output()
            .unwrap_or_else(|e| panic!("run `cargo {subcommand}`: {e}"));
        eprintln!(
            "cargo {subcommand}: {:.1?} ({})",
            started.elapsed(),
            output.status
        );
        self.last_build = Instant::now();
        output
    }

    /// `cargo run`, which must succeed: the lines the binary printed.
    fn run(&mut self, step: &str) -> Vec<String> {
        let output = self.cargo("run");
        assert!(
            output.status.success(),
            "{step}: `cargo run` failed ({}); migrations/ holds {:?}\n--- stderr ---\n{}",
            output.status,
            self.listing(),
            String::from_utf8_lossy(&output.stderr),
        );
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(str::to_owned)
            .collect()
    }

    fn assert_embeds(&mut self, step: &str, expected: &[&str]) {
        let printed = self.run(step);
        assert_eq!(
            printed,
            expected,
            "{step}: the binary embeds a stale set (`id file message` per line); \
             migrations/ holds {:?}",
            self.listing(),
        );
    }

    fn listing(&self) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(self.path("migrations"))
            .expect("list migrations/")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

#[test]
fn adding_editing_renaming_and_removing_files_rebuilds() {
    let mut scratch = Scratch::new("rebuild-scratch");

    // 1. The initial set.
    scratch.write_migration(
        "001_first.sql",
        &sql_revision("Create alpha", "001", "", "alpha"),
    );
    scratch.assert_embeds("initial", &["001 001_first.sql Create alpha"]);

    // 2. An edit of the message, same length, so only the mtime tells.
    scratch.write_migration(
        "001_first.sql",
        &sql_revision("Create omega", "001", "", "alpha"),
    );
    scratch.assert_embeds("edit 001", &["001 001_first.sql Create omega"]);

    // 3. An added file.
    scratch.write_migration(
        "002_second.sql",
        &sql_revision("Create beta", "002", "001", "beta"),
    );
    scratch.assert_embeds(
        "add 002",
        &[
            "001 001_first.sql Create omega",
            "002 002_second.sql Create beta",
        ],
    );

    // 4. A renamed file: same ID, new file name.
    scratch.rename_migration("002_second.sql", "002_renamed.sql");
    scratch.assert_embeds(
        "rename 002",
        &[
            "001 001_first.sql Create omega",
            "002 002_renamed.sql Create beta",
        ],
    );

    // 5. An added Rust revision, then an edit of it.
    scratch.write_migration("003_third.rs", &rust_revision("Seed gamma", "003", "002"));
    scratch.assert_embeds(
        "add 003 (Rust)",
        &[
            "001 001_first.sql Create omega",
            "002 002_renamed.sql Create beta",
            "003 003_third.rs Seed gamma",
        ],
    );
    scratch.write_migration("003_third.rs", &rust_revision("Seed delta", "003", "002"));
    scratch.assert_embeds(
        "edit 003 (Rust)",
        &[
            "001 001_first.sql Create omega",
            "002 002_renamed.sql Create beta",
            "003 003_third.rs Seed delta",
        ],
    );

    // 6. Removed files.
    scratch.remove_migration("003_third.rs");
    scratch.remove_migration("002_renamed.sql");
    scratch.assert_embeds("remove 003 and 002", &["001 001_first.sql Create omega"]);

    // 7. A broken file fails the build, naming the file and the rule; once it
    // is gone the build passes again.
    let broken = sql_revision("Create broken", "002", "001", "broken");
    let broken = &broken[..broken
        .find("-- migrate:downgrade")
        .expect("the template has a downgrade")];
    scratch.write_migration("002_broken.sql", broken);
    let output = scratch.cargo("build");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "add broken 002: `cargo build` passed, but 002_broken.sql has no downgrade\n\
         --- stderr ---\n{stderr}"
    );
    assert!(
        stderr.contains("002_broken.sql") && stderr.contains("[missing-downgrade]"),
        "add broken 002: the error must name 002_broken.sql and [missing-downgrade]\n\
         --- stderr ---\n{stderr}"
    );
    scratch.remove_migration("002_broken.sql");
    scratch.assert_embeds("remove broken 002", &["001 001_first.sql Create omega"]);

    // 8. released.sum is read and tracked: adding it with the right checksum
    // builds, an edit of it to another checksum fails the next build.
    let text = fs::read_to_string(scratch.path("migrations/001_first.sql")).expect("read 001");
    let released = format!("001 {}\n", migrator_core::model::checksum(&text));
    scratch.write_migration("released.sum", &released);
    scratch.assert_embeds("release 001", &["001 001_first.sql Create omega"]);
    scratch.write_migration("released.sum", &format!("001 {}\n", "0".repeat(64)));
    let output = scratch.cargo("build");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success() && stderr.contains("[released-edited]"),
        "edit released.sum: the build must fail with [released-edited]\n--- stderr ---\n{stderr}"
    );
    scratch.write_migration("released.sum", &released);
    scratch.assert_embeds("restore released.sum", &["001 001_first.sql Create omega"]);
}

/// A crate outside the workspace whose only migrator dependency is
/// `migrator-runtime` with the `postgres` feature builds with the
/// re-exported `embed_migrations!`, migrates a `PgConnection` it opened
/// itself, and carries no CLI, configuration file, Rust parser or SQLite.
#[test]
fn an_outside_postgres_service_names_one_crate() {
    let Some(db) = migrator_tests::TestDb::postgres() else {
        return;
    };
    let mut scratch = Scratch::new("postgres-service");
    scratch.write_migration(
        "001_first.sql",
        &sql_revision("First", "001", "", "first_t"),
    );
    scratch.write_migration("002_second.rs", &rust_revision("Second", "002", "001"));
    let output = scratch.cargo_with(&["run"], Some(db.url()));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("migrated 2"),
        "{}\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let mut tables = migrator_tests::tables(&mut db.connect());
    tables.sort();
    assert_eq!(
        tables,
        ["first_t", "migrator_version", "migrator_version_audit"]
    );
    // What the service's binary links: no CLI, no configuration file, no
    // Rust parser, no SQLite (the macro's own build-time dependencies are
    // not linked, and not listed without proc-macros).
    let tree = scratch.cargo_with(
        &["tree", "-e", "normal,no-proc-macro", "--prefix", "none"],
        None,
    );
    assert!(
        tree.status.success(),
        "{}",
        String::from_utf8_lossy(&tree.stderr)
    );
    let tree = String::from_utf8_lossy(&tree.stdout);
    for unwanted in ["clap ", "toml ", "serde ", "syn ", "libsqlite3-sys "] {
        assert!(
            !tree.lines().any(|line| line.starts_with(unwanted)),
            "{unwanted}in the tree:\n{tree}"
        );
    }
}
