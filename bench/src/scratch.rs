//! The generated part: N revisions of realistic DDL in three forms
//! (migrator's single files, diesel's directories, plain SQL files for the
//! raw baseline), and the scratch crates that embed them.
//!
//! Every file is written only when its contents change, so running the
//! runner again does not rebuild the scratch crates.

use std::fmt::Write as _;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// The three measured tools.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    /// `migrator_runtime::embed_migrations!` + `Migrator::upgrade`.
    Migrator,
    /// `diesel_migrations::embed_migrations!` + `run_pending_migrations`.
    Diesel,
    /// The same SQL with `batch_execute`, one transaction per revision.
    Raw,
}

impl Tool {
    pub const ALL: [Tool; 3] = [Tool::Migrator, Tool::Diesel, Tool::Raw];

    pub fn short(self) -> &'static str {
        match self {
            Tool::Migrator => "mig",
            Tool::Diesel => "dsl",
            Tool::Raw => "raw",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Tool::Migrator => "migrator",
            Tool::Diesel => "diesel_migrations",
            Tool::Raw => "raw batch_execute",
        }
    }

    /// The scratch crate (and binary) for `n` revisions.
    pub fn crate_name(self, n: usize) -> String {
        format!("bench-{}-{n}", self.short())
    }

    /// The file the rebuild measurement touches: the last revision's SQL.
    pub fn touched_file(self, ws: &Path, n: usize) -> PathBuf {
        let dir = ws.join(self.crate_name(n));
        let last = revision(n);
        match self {
            Tool::Migrator => dir.join("migrations").join(last.migrator_file_name()),
            Tool::Diesel => dir
                .join("migrations")
                .join(last.diesel_dir_name())
                .join("up.sql"),
            Tool::Raw => dir.join("sql").join(format!("{:05}.sql", n)),
        }
    }
}

/// One generated revision (1-based `i`).
pub struct Rev {
    pub i: usize,
    pub slug: String,
    pub message: String,
    pub up: String,
    pub down: String,
    /// The online-safety rule migrator's header allows (`Allow:`), if any:
    /// an index on a table made earlier, as a real history has.
    pub allow: Option<&'static str>,
}

impl Rev {
    pub fn id(&self) -> String {
        format!("{:05}", self.i)
    }

    pub fn migrator_file_name(&self) -> String {
        format!("{}_{}.sql", self.id(), self.slug)
    }

    pub fn diesel_dir_name(&self) -> String {
        // 14 digits, like diesel's timestamps; byte order = numeric order.
        format!("2024{:010}_{}", self.i, self.slug)
    }
}

fn table(i: usize) -> String {
    format!("t_{i:05}")
}

/// Revision `i`: a table with several columns, a foreign key to the table
/// before it and an index; every tenth revision alters an earlier table
/// (a column and an index on it). The SQL is the same on both backends.
pub fn revision(i: usize) -> Rev {
    if i % 10 == 0 {
        // i - 7 ends in 3: always a created table.
        let t = table(i - 7);
        let column = format!("note_{i:05}");
        Rev {
            i,
            slug: format!("alter_{t}"),
            message: format!("Add {column} to {t}"),
            up: format!(
                "ALTER TABLE {t} ADD COLUMN {column} VARCHAR(255);\n\
                 CREATE INDEX ix_{t}_{column} ON {t} ({column});\n"
            ),
            down: format!(
                "DROP INDEX ix_{t}_{column};\n\
                 ALTER TABLE {t} DROP COLUMN {column};\n"
            ),
            allow: Some("require-concurrent-index-creation"),
        }
    } else {
        let t = table(i);
        let reference = match i {
            1 => String::new(),
            _ => {
                let previous = if (i - 1) % 10 == 0 { i - 2 } else { i - 1 };
                format!(",\n    ref_id BIGINT REFERENCES {} (id)", table(previous))
            }
        };
        Rev {
            i,
            slug: format!("create_{t}"),
            message: format!("Create {t}"),
            up: format!(
                "CREATE TABLE {t} (\n    \
                 id BIGINT NOT NULL PRIMARY KEY,\n    \
                 name VARCHAR(255) NOT NULL,\n    \
                 email VARCHAR(255),\n    \
                 status INTEGER NOT NULL DEFAULT 0,\n    \
                 amount NUMERIC(12, 2),\n    \
                 created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP{reference}\n\
                 );\n\
                 CREATE INDEX ix_{t}_name_status ON {t} (name, status);\n"
            ),
            down: format!("DROP TABLE {t};\n"),
            allow: None,
        }
    }
}

/// Writes `contents` to `path` unless it already holds exactly that.
pub fn write_if_changed(path: &Path, contents: &str) -> io::Result<()> {
    if fs::read_to_string(path).is_ok_and(|old| old == contents) {
        return Ok(());
    }
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    fs::write(path, contents)
}

/// Removes entries of `dir` that are not in `keep` (a previous run with
/// other file names must not leave extra revisions behind).
fn prune(dir: &Path, keep: &[String]) -> io::Result<()> {
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if !keep.contains(&name) {
                let path = entry.path();
                if path.is_dir() {
                    fs::remove_dir_all(path)?;
                } else {
                    fs::remove_file(path)?;
                }
            }
        }
    }
    Ok(())
}

/// The dependency lines of the scratch crates: diesel (each binary opens and
/// uses its own connection) and the bundled SQLite are the same for all
/// three, in the versions of the main workspace (pinned by the copied
/// Cargo.lock); migrator's crate adds `migrator-runtime` only.
fn deps(repo: &Path, tool: Tool) -> String {
    let runtime = repo.join("migrator-runtime");
    let mut s = String::from(
        "diesel = { version = \"2.3\", default-features = false, features = [\"postgres\", \"sqlite\", \"mysql\"] }\n\
         libsqlite3-sys = { version = \"0.38\", features = [\"bundled\"] }\n",
    );
    match tool {
        Tool::Migrator => {
            // What a service that migrates itself on startup writes: the
            // runtime (it re-exports `embed_migrations!`) with its backends.
            let _ = writeln!(
                s,
                "migrator-runtime = {{ path = {:?}, default-features = false, features = [\"postgres\", \"sqlite-bundled\", \"mysql\"] }}",
                runtime.display().to_string()
            );
        }
        Tool::Diesel => s.push_str(
            "diesel_migrations = { version = \"2.3\", features = [\"postgres\", \"sqlite\", \"mysql\"] }\n",
        ),
        Tool::Raw => {}
    }
    s
}

fn build_deps(repo: &Path, tool: Tool) -> String {
    match tool {
        Tool::Migrator => format!(
            "[build-dependencies]\nmigrator-runtime = {{ path = {:?}, default-features = false }}\n",
            repo.join("migrator-runtime").display().to_string()
        ),
        _ => String::new(),
    }
}

/// Writes the scratch workspace at `ws` with one crate per (tool, n).
pub fn write_workspace(ws: &Path, repo: &Path, ns: &[usize]) -> io::Result<()> {
    let mut members = Vec::new();
    for &n in ns {
        let revs: Vec<Rev> = (1..=n).map(revision).collect();
        for tool in Tool::ALL {
            members.push(tool.crate_name(n));
            write_crate(ws, repo, tool, n, &revs)?;
        }
    }
    let members: Vec<String> = members.iter().map(|m| format!("{m:?}")).collect();
    write_if_changed(
        &ws.join("Cargo.toml"),
        &format!(
            "# Generated by migrator-bench: do not edit.\n[workspace]\nresolver = \"2\"\nmembers = [{}]\n\n\
             [profile.release]\n# The default release profile; stated for the record.\nopt-level = 3\n",
            members.join(", ")
        ),
    )?;
    // Start from the pinned lock (the main workspace's), so the scratch
    // crates use the very same versions of diesel and SQLite.
    let lock = ws.join("Cargo.lock");
    if !lock.exists() {
        fs::copy(repo.join("Cargo.lock"), &lock)?;
    }
    Ok(())
}

fn write_crate(ws: &Path, repo: &Path, tool: Tool, n: usize, revs: &[Rev]) -> io::Result<()> {
    let name = tool.crate_name(n);
    let dir = ws.join(&name);
    write_if_changed(
        &dir.join("Cargo.toml"),
        &format!(
            "[package]\nname = {name:?}\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
             [dependencies]\n{}\n{}",
            deps(repo, tool),
            build_deps(repo, tool)
        ),
    )?;
    write_if_changed(&dir.join("src/profile.rs"), PROFILE_MOD)?;
    match tool {
        Tool::Migrator => {
            // The documented build script (added/removed files).
            write_if_changed(
                &dir.join("build.rs"),
                "fn main() {\n    migrator_runtime::build::watch(\"migrations\");\n}\n",
            )?;
            let mut names = Vec::new();
            for (k, rev) in revs.iter().enumerate() {
                let revises = if k == 0 {
                    String::new()
                } else {
                    revs[k - 1].id()
                };
                let allow = rev
                    .allow
                    .map_or(String::new(), |rule| format!("-- Allow: {rule}\n"));
                let text = format!(
                    "-- {}\n--\n-- Revision ID: {}\n-- Revises:{}{}\n-- Create Date: 2024-01-01 00:00:00\n{allow}\n\
                     -- migrate:upgrade\n{}\n-- migrate:downgrade\n{}",
                    rev.message,
                    rev.id(),
                    if revises.is_empty() { "" } else { " " },
                    revises,
                    rev.up,
                    rev.down
                );
                let file = rev.migrator_file_name();
                write_if_changed(&dir.join("migrations").join(&file), &text)?;
                names.push(file);
            }
            prune(&dir.join("migrations"), &names)?;
            write_if_changed(&dir.join("src/main.rs"), MIGRATOR_MAIN)?;
        }
        Tool::Diesel => {
            // diesel's documented build script for embed_migrations!.
            write_if_changed(
                &dir.join("build.rs"),
                "fn main() {\n    println!(\"cargo:rerun-if-changed=migrations\");\n}\n",
            )?;
            let mut names = Vec::new();
            for rev in revs {
                let sub = dir.join("migrations").join(rev.diesel_dir_name());
                write_if_changed(&sub.join("up.sql"), &rev.up)?;
                write_if_changed(&sub.join("down.sql"), &rev.down)?;
                names.push(rev.diesel_dir_name());
            }
            prune(&dir.join("migrations"), &names)?;
            write_if_changed(&dir.join("src/main.rs"), DIESEL_MAIN)?;
        }
        Tool::Raw => {
            let mut names = Vec::new();
            let mut list = String::from(
                "// Generated: the upgrade SQL of every revision, in order.\npub const SQL: &[&str] = &[\n",
            );
            for rev in revs {
                let file = format!("{:05}.sql", rev.i);
                write_if_changed(&dir.join("sql").join(&file), &rev.up)?;
                let _ = writeln!(list, "    include_str!(\"../sql/{file}\"),");
                names.push(file);
            }
            list.push_str("];\n");
            prune(&dir.join("sql"), &names)?;
            write_if_changed(&dir.join("src/sql.rs"), &list)?;
            write_if_changed(&dir.join("src/main.rs"), RAW_MAIN)?;
        }
    }
    Ok(())
}

/// Prints `elapsed_us=…` for the measured section only: the connection is
/// opened before the clock starts.
const MIGRATOR_MAIN: &str = r#"// Generated by migrator-bench.
migrator_runtime::embed_migrations!("migrations");

mod profile;

use std::time::Instant;

use diesel::connection::SimpleConnection;
use migrator_runtime::{Migrator, Target};

fn us(t: Instant) -> f64 {
    t.elapsed().as_nanos() as f64 / 1000.0
}

/// The harness's one-row table (created next to the version table).
const FLOOR_SQL: &str = "SELECT state FROM bench_floor";

/// The query `upgrade` sends at head: the version table's rows joined in
/// one row (digested in Rust).
fn startup_sql(url: &str) -> &'static str {
    if url.starts_with("postgres") {
        "SELECT count(*)::BIGINT AS n, string_agg(revision || ':' || checksum, ',') AS value \
         FROM migrator_version"
    } else if url.starts_with("mysql") {
        "SELECT COUNT(*) AS n, GROUP_CONCAT(CONCAT(revision, ':', checksum) SEPARATOR ',') AS value \
         FROM migrator_version"
    } else {
        "SELECT COUNT(*) AS n, group_concat(revision || ':' || checksum, ',') AS value \
         FROM migrator_version"
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (url, mode) = (&args[1], args[2].as_str());
    if mode == "profile" {
        profile::install();
    }
    let mut conn = migrator_runtime::connect(url).expect("connect");
    match mode {
        "apply" | "startup" | "profile" => {
            profile::reset();
            let t = Instant::now();
            let report = Migrator::new(&MIGRATIONS)
                .upgrade(&mut conn, &Target::Head)
                .expect("upgrade");
            let elapsed = us(t);
            println!("elapsed_us={elapsed:.1} steps={} {}", report.steps.len(), profile::report());
        }
        // Where the startup time goes (profiling; each part timed once,
        // in the order the startup path runs them).
        "breakdown" => {
            let migrator = Migrator::new(&MIGRATIONS);
            let t = Instant::now();
            let graph = MIGRATIONS.graph();
            let graph_us = us(t);
            let t = Instant::now();
            let state = migrator.state(&mut conn).expect("state");
            let state_us = us(t);
            let t = Instant::now();
            let state2 = migrator.state(&mut conn).expect("state");
            let state2_us = us(t);
            let t = Instant::now();
            conn.batch_execute(startup_sql(url)).expect("the startup query");
            let startup_query_us = us(t);
            let t = Instant::now();
            conn.batch_execute("SELECT 1").expect("select 1");
            let select1_us = us(t);
            let t = Instant::now();
            conn.batch_execute("SELECT revision, checksum, applied_at, execution_ms, seq FROM migrator_version ORDER BY seq").expect("select");
            let batch_rows_us = us(t);
            let t = Instant::now();
            conn.batch_execute("SELECT count(*) FROM migrator_version").expect("count");
            let count_us = us(t);
            let t = Instant::now();
            let report = migrator.upgrade(&mut conn, &Target::Head).expect("upgrade");
            let upgrade_warm_us = us(t);
            println!(
                "graph_us={graph_us:.1} state_us={state_us:.1} state_warm_us={state2_us:.1} \
                 startup_query_warm_us={startup_query_us:.1} select1_us={select1_us:.1} rows_simple_protocol_us={batch_rows_us:.1} \
                 count_us={count_us:.1} upgrade_warm_us={upgrade_warm_us:.1} rows={} revisions={} steps={}",
                state.applied.len().max(state2.applied.len()),
                graph.len(),
                report.steps.len()
            );
        }
        // The floor of any startup check that reads a table: the one row of
        // a table the harness created (`bench_floor`, not migrator's) as the
        // first query on a fresh connection (simple protocol, nothing
        // decoded).
        "floor" => {
            let t = Instant::now();
            conn.batch_execute(FLOOR_SQL).expect("the one-row table");
            println!("elapsed_us={:.1} steps=0", us(t));
        }
        // migrator's own startup query at head, sent the same way: what
        // `upgrade` adds around it is the client's work.
        "startup_query" => {
            let sql = startup_sql(url);
            let t = Instant::now();
            conn.batch_execute(sql).expect("the startup query");
            println!("elapsed_us={:.1} steps=0", us(t));
        }
        other => panic!("unknown mode {other}"),
    }
}
"#;

const DIESEL_MAIN: &str = r#"// Generated by migrator-bench.
use std::time::Instant;

use diesel::connection::SimpleConnection;
use diesel::{Connection, MysqlConnection, PgConnection, SqliteConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

mod profile;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (url, mode) = (&args[1], args[2].as_str());
    assert!(matches!(mode, "apply" | "startup" | "profile"), "unknown mode {mode}");
    if mode == "profile" {
        profile::install();
    }
    let (elapsed, steps) = if url.starts_with("postgres") {
        let mut conn = PgConnection::establish(url).expect("connect");
        profile::reset();
        let t = Instant::now();
        let done = conn.run_pending_migrations(MIGRATIONS).expect("migrate").len();
        (t.elapsed(), done)
    } else if url.starts_with("mysql") {
        let mut conn = MysqlConnection::establish(url).expect("connect");
        profile::reset();
        let t = Instant::now();
        let done = conn.run_pending_migrations(MIGRATIONS).expect("migrate").len();
        (t.elapsed(), done)
    } else {
        let mut conn = SqliteConnection::establish(url).expect("connect");
        conn.batch_execute("PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;")
            .expect("pragmas");
        profile::reset();
        let t = Instant::now();
        let done = conn.run_pending_migrations(MIGRATIONS).expect("migrate").len();
        (t.elapsed(), done)
    };
    println!("elapsed_us={:.1} steps={steps} {}", elapsed.as_nanos() as f64 / 1000.0, profile::report());
}
"#;

const RAW_MAIN: &str = r#"// Generated by migrator-bench: the floor. The same SQL, one transaction
// per revision, no bookkeeping.
mod profile;
mod sql;

use std::time::Instant;

use diesel::connection::SimpleConnection;
use diesel::sql_types::Text;
use diesel::{Connection, MysqlConnection, PgConnection, QueryableByName, RunQueryDsl, SqliteConnection};

#[derive(QueryableByName)]
struct V {
    #[diesel(sql_type = Text)]
    v: String,
}

fn apply<C: Connection>(conn: &mut C) -> usize {
    for sql in sql::SQL {
        conn.transaction::<_, diesel::result::Error, _>(|c| c.batch_execute(sql))
            .expect("revision");
    }
    sql::SQL.len()
}

fn run<C>(mut conn: C, mode: &str, arg: Option<&String>)
where
    C: Connection + diesel::connection::LoadConnection,
    for<'a> diesel::query_builder::SqlQuery: diesel::query_dsl::methods::LoadQuery<'a, C, V>,
{
    match mode {
        "apply" | "profile" => {
            profile::reset();
            let t = Instant::now();
            let steps = apply(&mut conn);
            println!("elapsed_us={:.1} steps={steps} {}", t.elapsed().as_nanos() as f64 / 1000.0, profile::report());
        }
        // The reference of the startup target: one `SELECT 1` round trip,
        // the first query on a fresh connection (as the startup check is);
        // then the same on the warm connection.
        "startup" => {
            let t = Instant::now();
            conn.batch_execute("SELECT 1").expect("select 1");
            let first = t.elapsed();
            let t = Instant::now();
            conn.batch_execute("SELECT 1").expect("select 1");
            let warm = t.elapsed();
            println!(
                "elapsed_us={:.1} warm_us={:.1} steps=0",
                first.as_nanos() as f64 / 1000.0,
                warm.as_nanos() as f64 / 1000.0
            );
        }
        "exec" => conn.batch_execute(arg.expect("sql")).expect("exec"),
        "query" => {
            let rows: Vec<V> = diesel::sql_query(arg.expect("sql").as_str()).load(&mut conn).expect("query");
            for row in rows {
                println!("{}", row.v);
            }
        }
        other => panic!("unknown mode {other}"),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (url, mode, arg) = (&args[1], args[2].as_str(), args.get(3));
    if mode == "profile" {
        profile::install();
    }
    if url.starts_with("postgres") {
        run(PgConnection::establish(url).expect("connect"), mode, arg);
    } else if url.starts_with("mysql") {
        run(MysqlConnection::establish(url).expect("connect"), mode, arg);
    } else {
        let mut conn = SqliteConnection::establish(url).expect("connect");
        conn.batch_execute("PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;")
            .expect("pragmas");
        run(conn, mode, arg);
    }
}
"#;

/// Mode `profile`: diesel's instrumentation times every statement the
/// measured section sends (from the start to the end of the call, on the
/// client), by kind; what is left of the total is client-side work.
const PROFILE_MOD: &str = r#"// Generated by migrator-bench.
use std::sync::Mutex;
use std::time::Instant;

use diesel::connection::{InstrumentationEvent, set_default_instrumentation};

static STATS: Mutex<Vec<(&'static str, f64, u64)>> = Mutex::new(Vec::new());
static OPEN: Mutex<Option<(Instant, &'static str)>> = Mutex::new(None);
static ON: Mutex<bool> = Mutex::new(false);

fn kind(sql: &str) -> &'static str {
    let s = sql.trim_start();
    if s.starts_with("BEGIN") || s.starts_with("SAVEPOINT") {
        "begin"
    } else if s.starts_with("COMMIT") || s.starts_with("RELEASE") {
        "commit"
    } else if s.contains("statement_timeout") || s.contains("busy_timeout") {
        "timeouts"
    } else if s.starts_with("INSERT") && (s.contains("migrator_version") || s.contains("__diesel_schema_migrations")) {
        "record"
    } else if s.starts_with("CREATE TABLE t_") || s.starts_with("ALTER TABLE t_") {
        "revision_sql"
    } else {
        "other"
    }
}

pub fn install() {
    *ON.lock().unwrap() = true;
    set_default_instrumentation(|| {
        Some(Box::new(|event: InstrumentationEvent<'_>| match event {
            InstrumentationEvent::StartQuery { query, .. } => {
                let k = kind(&query.to_string());
                *OPEN.lock().unwrap() = Some((Instant::now(), k));
            }
            InstrumentationEvent::FinishQuery { .. } => {
                let now = Instant::now();
                if let Some((t, k)) = OPEN.lock().unwrap().take() {
                    let us = (now - t).as_nanos() as f64 / 1000.0;
                    let mut stats = STATS.lock().unwrap();
                    match stats.iter_mut().find(|e| e.0 == k) {
                        Some(e) => {
                            e.1 += us;
                            e.2 += 1;
                        }
                        None => stats.push((k, us, 1)),
                    }
                }
            }
            _ => {}
        }))
    })
    .expect("instrumentation");
}

pub fn reset() {
    STATS.lock().unwrap().clear();
}

/// `prof_<kind>_us=… prof_<kind>_n=…` for every kind seen.
pub fn report() -> String {
    if !*ON.lock().unwrap() {
        return String::new();
    }
    let stats = STATS.lock().unwrap();
    stats
        .iter()
        .map(|(k, us, n)| format!("prof_{k}_us={us:.1} prof_{k}_n={n}"))
        .collect::<Vec<_>>()
        .join(" ")
}
"#;
