//! `import diesel SRC`: a diesel_migrations directory converted into
//! revision files, one per Diesel migration, forming one chain.
//!
//! A Diesel migrations directory holds one subdirectory per migration,
//! `<version>_<name>/` with `up.sql`, usually `down.sql`, and sometimes a
//! `metadata.toml` (`run_in_transaction = false`). The conversion follows
//! what diesel_migrations itself does with that directory (its
//! `migrations_internals` and `FileBasedMigrations`, 2.x):
//!
//! - the version is the directory name up to the first `_`, with its `-`
//!   removed (`2024-01-01-123456_create_users` has version
//!   `20240101123456`): exactly what diesel writes in
//!   `__diesel_schema_migrations`, so the revision ID is the version and a
//!   database diesel migrated is adopted by ID (see the runtime's adoption);
//! - migrations run in the order of their version strings (diesel compares
//!   them as strings, so `10` comes before `9`): that order is the chain;
//! - `metadata.toml` as diesel reads it (`TomlMetadata::read_from_file(…)
//!   .unwrap_or_default()`): `run_in_transaction` as it says, and `false`
//!   when it does not say (diesel's `#[serde(default)]` on a `bool`); a file
//!   that is not valid TOML, or whose `run_in_transaction` is not a boolean,
//!   is ignored by diesel (`true`, its default), and so here, with a comment
//!   saying so; no file: `true`;
//! - subdirectories and files whose name starts with `.` and plain files at
//!   the top are ignored by diesel: they are reported and left, as are files
//!   of a migration directory other than `up.sql`, `down.sql` and
//!   `metadata.toml`; a subdirectory without `up.sql` is refused (diesel
//!   refuses it too).
//!
//! Each revision's header says where it came from. An upgrade with no
//! statement (an empty `up.sql`, or only comments such as diesel's
//! `-- Your SQL goes here`) and a missing, empty or comment-only `down.sql`
//! become `-- migrate:noop` sections with a comment saying so (a downgrade
//! through such a revision changes nothing in the database: the comment
//! warns, and so does the CLI). Released
//! history is history: an upgrade the build's destructive rule flags (the
//! very rule the build runs, not a second detector) gets `Allow:
//! destructive`, with a comment naming what it drops. Every imported
//! revision is appended, with its checksum, to the destination's
//! `released.sum`: the build then refuses edits to that history and does
//! not hold it to the PostgreSQL online-safety rules (it already ran).
//!
//! Nothing is written unless the whole result passes the build's checks
//! (every file rule and graph rule, run on the text about to be written as
//! the released history it is, so a name too long for a backend the project
//! never ran on is no error), the destination holds no revision yet, is not
//! the diesel directory or inside it, and no file to write exists; a
//! problem in a migration's SQL is reported at its line of `up.sql` or
//! `down.sql`. The
//! output depends on the source directory only: importing twice gives the
//! same bytes.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use chrono::NaiveDateTime;

use crate::graph::Graph;
use crate::model::{self, Diagnostics, is_revision_id, normalise};
use crate::scaffold::slug;

/// Why a Diesel directory could not be imported. Nothing was written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// Reading the source or writing the destination failed.
    #[error("cannot {action} `{path}`: {source}")]
    Io {
        /// What was being done: `read`, `write`, `create`.
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A subdirectory has no `up.sql`: diesel refuses such a directory too.
    #[error(
        "`{0}` has no `up.sql`, so it is not a diesel migration (diesel refuses the directory \
         too): remove it, or add its `up.sql`, and import again"
    )]
    NotAMigration(PathBuf),
    /// A directory or file name is not UTF-8, or a file's text is not.
    #[error("`{0}` is not UTF-8 text: rename it (or re-encode the file) and import again")]
    NotUtf8(PathBuf),
    /// A version cannot be a revision ID (1 to 64 letters or digits).
    #[error(
        "the version `{version}` of `{dir}` cannot be a revision ID (1 to 64 letters or digits, \
         the version being the name up to the first `_`, without `-`): it is also the version \
         diesel recorded, so the import stops here and writes nothing; rename the directory \
         to a version of digits and letters (`<digits>_<name>`) and, if diesel ran it, update \
         its row in `__diesel_schema_migrations` to that version (`UPDATE \
         __diesel_schema_migrations SET version = '<new>' WHERE version = '<old>';`), then \
         import again"
    )]
    BadVersion {
        /// The migration directory.
        dir: PathBuf,
        /// Its version.
        version: String,
    },
    /// Two migration directories have the same version.
    #[error(
        "`{first}` and `{second}` have the same version `{version}` (diesel removes the `-`): \
         diesel records one row for both; give one of them the version its database row says, \
         and import again"
    )]
    SameVersion {
        /// The version.
        version: String,
        /// The first directory.
        first: PathBuf,
        /// The second.
        second: PathBuf,
    },
    /// The destination is the source, or inside it: the build refuses
    /// subdirectories, and diesel refuses a subdirectory without `up.sql`.
    #[error(
        "`{dest}` is the diesel directory `{src}` or inside it (diesel would refuse it as an \
         invalid migration directory, and the build refuses subdirectories): import into a \
         directory outside it (pass `--migrations-dir`), then remove the diesel one; nothing \
         was written"
    )]
    InsideSource {
        /// The destination.
        dest: PathBuf,
        /// The diesel directory.
        src: PathBuf,
    },
    /// The destination already holds revisions.
    #[error(
        "`{dir}` already holds revision files (`{file}`): import into an empty directory; \
         nothing was written"
    )]
    NotEmpty {
        /// The destination.
        dir: PathBuf,
        /// One of its revision files.
        file: String,
    },
    /// The result would not pass the build's checks (e.g. an `up.sql` with
    /// a `-- migrate:` line of its own).
    #[error(
        "the imported revisions would not build, so nothing was written; fix these lines of the \
         diesel migrations and import again:\n{0}"
    )]
    Invalid(Diagnostics),
    /// The imported revisions could not be listed in the destination's
    /// `released.sum` (the revision files written were taken back).
    #[error("{0}; nothing was imported")]
    Released(model::released::ReleaseError),
}

/// One Diesel migration, as imported.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ImportedRevision {
    /// The revision ID: the migration's version.
    pub id: String,
    /// The Diesel migration's directory.
    pub source: PathBuf,
    /// The revision file written.
    pub path: PathBuf,
    /// False when `metadata.toml` made it run outside a transaction
    /// (`Transaction: false`).
    pub transactional: bool,
    /// True when its upgrade had no statement (`-- migrate:noop`).
    pub noop_upgrade: bool,
    /// True when it had no downgrade (`down.sql` missing, empty or only
    /// comments; `-- migrate:noop`): a downgrade through it changes nothing
    /// in the database.
    pub noop_downgrade: bool,
    /// True when its `metadata.toml` is not valid TOML or its
    /// `run_in_transaction` is not a boolean: diesel ignores such a file
    /// (the migration runs in a transaction), and so does the import.
    pub metadata_ignored: bool,
    /// What its upgrade drops, when the destructive rule flags it (it then
    /// has `Allow: destructive`).
    pub destructive: Vec<String>,
}

/// What [`import_diesel`] did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct DieselImport {
    /// The revisions written, in the chain's order.
    pub revisions: Vec<ImportedRevision>,
    /// The entries diesel ignores, left as they are: plain files at the
    /// top, entries starting with `.`, files of a migration other than
    /// `up.sql`, `down.sql` and `metadata.toml`.
    pub ignored: Vec<PathBuf>,
}

/// One revision file about to be written.
struct Converted {
    file_name: String,
    text: String,
    revision: ImportedRevision,
    /// Where `up.sql` and `down.sql` are in `text`: the file, the first
    /// line it fills, and how many lines (for diagnostics).
    blocks: Vec<(PathBuf, u32, u32)>,
}

/// Converts the Diesel migrations directory `src` into revision files in
/// `dest` (created if missing), one chain in diesel's order. See the
/// [module docs](self) for the rules. The revisions are appended to
/// `dest`'s `released.sum`: they ran in production. Refuses (writing
/// nothing) when `dest`
/// is `src`, already holds `.sql` or `.rs` revision files, or the result
/// would not build.
pub fn import_diesel(src: &Path, dest: &Path) -> Result<DieselImport, ImportError> {
    if inside(dest, src) {
        return Err(ImportError::InsideSource {
            dest: dest.to_path_buf(),
            src: src.to_path_buf(),
        });
    }
    let (converted, ignored) = convert(src)?;
    let released = check_builds(&converted, dest)?;
    let created = !dest.exists();
    if !created && let Some(file) = revision_files(dest)?.into_iter().next() {
        return Err(ImportError::NotEmpty {
            dir: dest.to_path_buf(),
            file,
        });
    }
    std::fs::create_dir_all(dest).map_err(io("create", dest))?;
    // All or nothing: a refusal takes back what was written, and the
    // directory when the import made it.
    let take_back = |written: &[PathBuf]| {
        for path in written {
            let _ = std::fs::remove_file(path);
        }
        if created {
            let _ = std::fs::remove_dir(dest);
        }
    };
    let mut written: Vec<PathBuf> = Vec::new();
    let mut revisions = Vec::with_capacity(converted.len());
    for Converted {
        file_name,
        text,
        mut revision,
        ..
    } in converted
    {
        let path = dest.join(&file_name);
        if let Err(error) = write_new(&path, &text) {
            // A file that could not be written (or appeared meanwhile).
            take_back(&written);
            return Err(error);
        }
        written.push(path.clone());
        revision.path = path;
        revisions.push(revision);
    }
    // The history ran in production: released, so the build refuses edits
    // to it and does not hold it to the online-safety rules it predates.
    if let Err(error) = model::released::append(dest, &released) {
        take_back(&written);
        return Err(ImportError::Released(error));
    }
    Ok(DieselImport { revisions, ignored })
}

/// Reads `src` and converts every migration, in diesel's order; also the
/// entries diesel ignores.
fn convert(src: &Path) -> Result<(Vec<Converted>, Vec<PathBuf>), ImportError> {
    let mut ignored = Vec::new();
    let mut migrations = Vec::new();
    for entry in sorted_entries(src)? {
        let path = src.join(&entry);
        if entry.starts_with('.') || !path.is_dir() {
            ignored.push(path);
            continue;
        }
        if !path.join("up.sql").is_file() {
            return Err(ImportError::NotAMigration(path));
        }
        let version = entry.split('_').next().unwrap_or_default().replace('-', "");
        if !is_revision_id(&version) {
            return Err(ImportError::BadVersion { dir: path, version });
        }
        migrations.push((version, entry, path));
    }
    // Diesel's order: the version strings, compared as strings.
    migrations.sort();
    for pair in migrations.windows(2) {
        if pair[0].0 == pair[1].0 {
            return Err(ImportError::SameVersion {
                version: pair[0].0.clone(),
                first: pair[0].2.clone(),
                second: pair[1].2.clone(),
            });
        }
    }
    let mut converted = Vec::with_capacity(migrations.len());
    let mut previous: Option<&str> = None;
    for (version, entry, path) in &migrations {
        for file in sorted_entries(path)? {
            if !matches!(file.as_str(), "up.sql" | "down.sql" | "metadata.toml") {
                ignored.push(path.join(file));
            }
        }
        converted.push(convert_one(version, entry, path, previous)?);
        previous = Some(version);
    }
    Ok((converted, ignored))
}

/// One migration directory as a revision file revising `previous`.
fn convert_one(
    version: &str,
    entry: &str,
    dir: &Path,
    previous: Option<&str>,
) -> Result<Converted, ImportError> {
    let name = entry.split_once('_').map_or("", |(_, name)| name);
    let up = read(&dir.join("up.sql"))?.unwrap_or_default();
    let down = read(&dir.join("down.sql"))?;
    let (transactional, metadata_ignored) = match read(&dir.join("metadata.toml"))? {
        Some(toml) => run_in_transaction(&toml),
        None => (true, false),
    };
    let up = normalise(&up).trim_end().to_owned();
    let noop_upgrade = !model::has_statement(&up);
    let down_text = down.as_deref().map(|d| normalise(d).trim_end().to_owned());
    let noop_downgrade = !down_text.as_deref().is_some_and(model::has_statement);
    let destructive = model::destructive_findings(&up);

    let message = message(name, version);
    let mut text = String::new();
    let mut line = |l: &str| {
        let _ = writeln!(text, "{}", format!("-- {l}").trim_end());
    };
    line(&message);
    line("");
    line(&format!("Imported from the diesel migration `{entry}`."));
    if !transactional {
        line("Its metadata.toml ran it outside a transaction, as this revision runs.");
    }
    if metadata_ignored {
        line(
            "Its metadata.toml is not valid TOML, or its run_in_transaction is not a boolean: \
             diesel ignores such a file and runs the migration in a transaction, as this \
             revision runs.",
        );
    }
    if !destructive.is_empty() {
        line(&format!(
            "Its upgrade {}; it already ran under diesel, so this header allows destructive \
             upgrades.",
            destructive.join(", ")
        ));
    }
    line("");
    line(&format!("Revision ID: {version}"));
    line(&format!("Revises: {}", previous.unwrap_or_default()));
    if let Some(date) = create_date(version) {
        line(&format!("Create Date: {date}"));
    }
    if !transactional {
        line("Transaction: false");
    }
    if !destructive.is_empty() {
        line("Allow: destructive");
    }
    text.push_str("\n-- migrate:upgrade\n");
    let mut blocks = Vec::new();
    push_block(&mut text, &up, dir.join("up.sql"), &mut blocks);
    if noop_upgrade {
        text.push_str(
            "-- The diesel migration's up.sql was empty or held only comments.\n-- migrate:noop\n",
        );
    }
    text.push_str("\n-- migrate:downgrade\n");
    let no_downgrade = |why: &str| {
        format!(
            "-- The diesel migration had no downgrade ({why}).\n\
             -- WARNING: a downgrade through this revision changes nothing in the database; it\n\
             -- only records the revision as not applied. To give it one, before the first\n\
             -- deploy: remove its line from released.sum, write the SQL in place of the noop\n\
             -- line, rebuild, then run `release` (it lists it again with its new checksum).\n\
             -- migrate:noop\n"
        )
    };
    match &down_text {
        Some(down) if !noop_downgrade => {
            push_block(&mut text, down, dir.join("down.sql"), &mut blocks);
        }
        Some(down) => {
            push_block(&mut text, down, dir.join("down.sql"), &mut blocks);
            text.push_str(&no_downgrade(
                "its down.sql was empty or held only comments",
            ));
        }
        None => text.push_str(&no_downgrade("it had no down.sql")),
    }
    let slug = slug(name).unwrap_or_else(|| "diesel_migration".to_owned());
    Ok(Converted {
        file_name: format!("{version}_{slug}.sql"),
        text,
        revision: ImportedRevision {
            id: version.to_owned(),
            source: dir.to_path_buf(),
            path: PathBuf::new(),
            transactional,
            noop_upgrade,
            noop_downgrade,
            metadata_ignored,
            destructive,
        },
        blocks,
    })
}

/// Appends `block` (trimmed at its end) and a newline, unless it is empty,
/// and where it went to `blocks` (`file` is where it came from).
fn push_block(
    text: &mut String,
    block: &str,
    file: PathBuf,
    blocks: &mut Vec<(PathBuf, u32, u32)>,
) {
    if !block.trim().is_empty() {
        let count = |s: &str| u32::try_from(s.lines().count()).unwrap_or(u32::MAX);
        blocks.push((file, count(text) + 1, count(block)));
        text.push_str(block);
        text.push('\n');
    }
}

/// The header's message: the migration's name in words (`create_users` →
/// `create users`), or `Diesel migration <version>` when it has none. No
/// `:` (a message must not read as a header field) and no control
/// characters.
fn message(name: &str, version: &str) -> String {
    let words: Vec<&str> = name
        .split(|c: char| c == '_' || c == '-' || c == ':' || c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect();
    if words.is_empty() {
        format!("Diesel migration {version}")
    } else {
        words.join(" ")
    }
}

/// `Create Date` of a timestamp version: diesel's `2024-01-01-123456` and
/// `20240101123456` (both `20240101123456` once the `-` are removed).
fn create_date(version: &str) -> Option<String> {
    if version.len() != 14 || !version.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    NaiveDateTime::parse_from_str(version, "%Y%m%d%H%M%S")
        .ok()
        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
}

/// `run_in_transaction` as diesel_migrations 2.x reads `metadata.toml`
/// (`TomlMetadata::read_from_file(…).unwrap_or_default()`, the field
/// `#[serde(default)]`): the top-level key's boolean, `false` without it;
/// `true` (diesel's default) when the file does not deserialize: not valid
/// TOML, or the value not a boolean. The second value says the file was
/// ignored that way.
fn run_in_transaction(toml: &str) -> (bool, bool) {
    match toml::from_str::<toml::Table>(toml) {
        Ok(table) => match table.get("run_in_transaction") {
            None => (false, false),
            Some(toml::Value::Boolean(value)) => (*value, false),
            Some(_) => (true, true),
        },
        Err(_) => (true, true),
    }
}

/// Runs every file rule and graph rule of the build on the files about to
/// be written.
fn check_builds(
    converted: &[Converted],
    dest: &Path,
) -> Result<Vec<(String, String)>, ImportError> {
    let display = dest.display().to_string();
    let mut diagnostics = Diagnostics::new();
    let mut parsed = Vec::with_capacity(converted.len());
    for c in converted {
        let path = format!("{display}/{}", c.file_name);
        let mut found = Diagnostics::new();
        parsed.extend(model::parse_released_file(
            &c.file_name,
            &path,
            &c.text,
            &mut found,
        ));
        for mut diagnostic in found {
            // The file is not written: its SQL's problems are shown where
            // that SQL is, in `up.sql` or `down.sql`.
            let block = diagnostic.line.and_then(|line| {
                c.blocks
                    .iter()
                    .find(|(_, first, count)| (*first..first + count).contains(&line))
                    .map(|(file, first, _)| (file, line - first + 1))
            });
            if diagnostic.file == path
                && let Some((file, line)) = block
            {
                diagnostic.file = file.display().to_string();
                diagnostic.line = Some(line);
            }
            diagnostics.push(diagnostic);
        }
    }
    let sums = parsed
        .iter()
        .map(|r| (r.revision.id.to_string(), r.revision.checksum.to_string()))
        .collect();
    let graph = Graph::build(parsed, &display, &mut diagnostics);
    if graph.is_some() && diagnostics.is_empty() {
        Ok(sums)
    } else {
        diagnostics.sort();
        Err(ImportError::Invalid(diagnostics))
    }
}

/// The names of a directory's entries, sorted (the output must not depend
/// on the file system's listing order).
fn sorted_entries(dir: &Path) -> Result<Vec<String>, ImportError> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io("read", dir))? {
        let entry = entry.map_err(io("read", dir))?;
        let name = entry.file_name();
        match name.to_str() {
            Some(name) => names.push(name.to_owned()),
            None => return Err(ImportError::NotUtf8(entry.path())),
        }
    }
    names.sort();
    Ok(names)
}

/// The `.sql` and `.rs` files of `dir` (not starting with `.`): revisions
/// for the build, or files it would refuse.
fn revision_files(dir: &Path) -> Result<Vec<String>, ImportError> {
    Ok(sorted_entries(dir)?
        .into_iter()
        .filter(|n| !n.starts_with('.') && (n.ends_with(".sql") || n.ends_with(".rs")))
        .collect())
}

/// The text of `path`, or `None` when it does not exist.
fn read(path: &Path) -> Result<Option<String>, ImportError> {
    match std::fs::read(path) {
        Ok(bytes) => String::from_utf8(bytes)
            .map(Some)
            .map_err(|_| ImportError::NotUtf8(path.to_path_buf())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io("read", path)(e)),
    }
}

/// Writes a new file; refuses to overwrite one.
fn write_new(path: &Path, text: &str) -> Result<(), ImportError> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(io("write", path))?;
    std::io::Write::write_all(&mut file, text.as_bytes()).map_err(io("write", path))
}

/// True when `dest` is `src` or inside it (symbolic links resolved, `dest`
/// possibly not there yet).
fn inside(dest: &Path, src: &Path) -> bool {
    let Ok(src) = src.canonicalize() else {
        return false;
    };
    // `..` taken back lexically first: `src/x/..` (with no `x`) is `src`,
    // which `create_dir_all` would reach.
    let Ok(absolute) = std::path::absolute(dest) else {
        return false;
    };
    let mut dest = PathBuf::new();
    for part in absolute.components() {
        match part {
            std::path::Component::ParentDir => {
                dest.pop();
            }
            std::path::Component::CurDir => {}
            other => dest.push(other),
        }
    }
    // The deepest part of `dest` that exists, resolved, then the rest.
    let mut rest = Vec::new();
    let mut existing = dest.as_path();
    loop {
        if let Ok(found) = existing.canonicalize() {
            let full = rest.iter().rev().fold(found, |path, part| path.join(part));
            return full.starts_with(&src);
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name);
                existing = if parent.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    parent
                };
            }
            _ => return false,
        }
    }
}

fn io(action: &'static str, path: &Path) -> impl Fn(std::io::Error) -> ImportError + use<> {
    let path = path.to_path_buf();
    move |source| ImportError::Io {
        action,
        path: path.clone(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes `files` (path relative to `root`, text) under `root`.
    fn tree(root: &Path, files: &[(&str, &str)]) {
        for (path, text) in files {
            let path = root.join(path);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, text).expect("write");
        }
    }

    fn text(path: &Path) -> String {
        std::fs::read_to_string(path).expect("read")
    }

    /// A diesel project's oddities, all in one directory.
    const PROJECT: &[(&str, &str)] = &[
        (
            "00000000000000_diesel_initial_setup/up.sql",
            "-- This file was automatically created by Diesel to setup helper functions\n\
             CREATE OR REPLACE FUNCTION diesel_set_updated_at() RETURNS trigger AS $$\n\
             BEGIN\n    NEW.updated_at := current_timestamp;\n    RETURN NEW;\nEND;\n\
             $$ LANGUAGE plpgsql;\n",
        ),
        (
            "00000000000000_diesel_initial_setup/down.sql",
            "DROP FUNCTION IF EXISTS diesel_set_updated_at();\n",
        ),
        (
            "2024-01-01-000001_create-users/up.sql",
            "-- Your SQL goes here\r\nCREATE TABLE users (id INT PRIMARY KEY);\r\n",
        ),
        (
            "2024-01-01-000001_create-users/down.sql",
            "DROP TABLE users;",
        ),
        (
            "2024-01-01-000001_create-users/notes.txt",
            "diesel ignores me",
        ),
        (
            "20240102000000_index_users/up.sql",
            "CREATE INDEX CONCURRENTLY users_id ON users (id);\n",
        ),
        (
            "20240102000000_index_users/metadata.toml",
            "# no transaction\nrun_in_transaction = false\n",
        ),
        ("20240102000000_index_users/down.sql", ""),
        (
            "2024-01-03-000000_supprimer_la_table_légère/up.sql",
            "DROP TABLE legacy;\nALTER TABLE users DROP COLUMN nickname;\n",
        ),
        (
            "2024-01-04-000000_nothing/up.sql",
            "-- Your SQL goes here\n",
        ),
        ("2024-01-04-000000_nothing/down.sql", "-- nothing\n"),
        ("README.md", "# migrations\n"),
        ("loose.sql", "SELECT 1;\n"),
        (".keep", ""),
    ];

    #[test]
    fn a_diesel_directory_becomes_one_chain_that_builds() {
        let src = tempfile::tempdir().expect("tempdir");
        let dest = tempfile::tempdir().expect("tempdir");
        tree(src.path(), PROJECT);
        let out = dest.path().join("migrations");
        let import = import_diesel(src.path(), &out).expect("import");

        let graph = crate::load_dir(&out, "migrations").expect("the result builds");
        let order: Vec<_> = graph
            .order()
            .iter()
            .map(|&i| graph.revision(i).id.to_string())
            .collect();
        assert_eq!(
            order,
            [
                "00000000000000",
                "20240101000001",
                "20240102000000",
                "20240103000000",
                "20240104000000"
            ]
        );
        let ids: Vec<_> = import.revisions.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, order);
        // Released history: listed with its checksums, in the chain's order.
        let released = std::fs::read_to_string(out.join(crate::model::released::FILE_NAME))
            .expect("import writes released.sum");
        let listed: Vec<_> = released
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .collect();
        let expected: Vec<_> = graph
            .order()
            .iter()
            .map(|&i| {
                let r = graph.revision(i);
                format!("{} {}", r.id, r.checksum)
            })
            .collect();
        assert_eq!(listed, expected);
        let names: Vec<_> = import
            .revisions
            .iter()
            .map(|r| r.path.file_name().and_then(|n| n.to_str()).unwrap_or(""))
            .collect();
        assert_eq!(
            names,
            [
                "00000000000000_diesel_initial_setup.sql",
                "20240101000001_create_users.sql",
                "20240102000000_index_users.sql",
                "20240103000000_supprimer_la_table_l_g_re.sql",
                "20240104000000_nothing.sql"
            ]
        );
        let ignored: Vec<_> = import
            .ignored
            .iter()
            .map(|p| p.strip_prefix(src.path()).expect("under src").to_path_buf())
            .collect();
        assert_eq!(
            ignored,
            [
                PathBuf::from(".keep"),
                PathBuf::from("README.md"),
                PathBuf::from("loose.sql"),
                Path::new("2024-01-01-000001_create-users").join("notes.txt"),
            ]
        );

        // diesel's own setup is a revision like any other.
        let setup = graph.revision(graph.order()[0]);
        assert_eq!(setup.message, "diesel initial setup");
        assert!(setup.create_date.is_none(), "00000000000000 is no date");

        let users = text(&import.revisions[1].path);
        assert_eq!(
            users,
            "-- create users\n--\n-- Imported from the diesel migration `2024-01-01-000001_create-users`.\n\
             --\n-- Revision ID: 20240101000001\n-- Revises: 00000000000000\n\
             -- Create Date: 2024-01-01 00:00:01\n\n\
             -- migrate:upgrade\n-- Your SQL goes here\nCREATE TABLE users (id INT PRIMARY KEY);\n\n\
             -- migrate:downgrade\nDROP TABLE users;\n"
        );

        let index = &import.revisions[2];
        assert!(!index.transactional && index.noop_downgrade && !index.noop_upgrade);
        let revision = graph.revision(graph.order()[2]);
        assert!(!revision.transactional);
        assert!(text(&index.path).contains(
            "-- migrate:downgrade\n-- The diesel migration had no downgrade (its down.sql was empty or held only comments).\n\
             -- WARNING: a downgrade through this revision changes nothing in the database; it\n"
        ));
        // The mend works with released.sum, which lists the file: its line
        // goes, the file is edited, `release` lists it again.
        assert!(
            text(&index.path).contains("remove its line from released.sum"),
            "{}",
            text(&index.path)
        );

        let dropping = &import.revisions[3];
        assert_eq!(
            dropping.destructive,
            [
                "drops table `legacy`",
                "drops column `nickname` of table `users`"
            ]
        );
        assert!(graph.revision(graph.order()[3]).allow_destructive);
        assert!(text(&dropping.path).contains("(it had no down.sql)"));
        assert!(
            !graph.revision(graph.order()[1]).allow_destructive,
            "only what the rule flags is allowed"
        );

        let nothing = &import.revisions[4];
        assert!(nothing.noop_upgrade && nothing.noop_downgrade);
        assert_eq!(
            graph.revision(graph.order()[4]).sql(
                crate::model::Direction::Upgrade,
                crate::model::BackendKind::Sqlite
            ),
            Some("")
        );

        // Deterministic: a second import writes the same bytes.
        let again = dest.path().join("again");
        let second = import_diesel(src.path(), &again).expect("import");
        for (a, b) in import.revisions.iter().zip(&second.revisions) {
            assert_eq!(text(&a.path), text(&b.path));
        }
        // The ignored files are left where they were.
        assert!(src.path().join("README.md").is_file());

        // It refuses to overwrite.
        assert!(matches!(
            import_diesel(src.path(), &out),
            Err(ImportError::NotEmpty { file, .. }) if file == "00000000000000_diesel_initial_setup.sql"
        ));
    }

    #[test]
    fn diesel_order_is_the_order_of_version_strings() {
        let src = tempfile::tempdir().expect("tempdir");
        let dest = tempfile::tempdir().expect("tempdir");
        tree(
            src.path(),
            &[
                ("9_nine/up.sql", "SELECT 9;"),
                ("10_ten/up.sql", "SELECT 10;"),
                ("1/up.sql", "SELECT 1;"),
            ],
        );
        let import = import_diesel(src.path(), dest.path()).expect("import");
        let ids: Vec<_> = import.revisions.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["1", "10", "9"]);
        assert!(import.revisions[0].path.ends_with("1_diesel_migration.sql"));
        assert!(text(&import.revisions[0].path).starts_with("-- Diesel migration 1\n"));
        assert!(text(&import.revisions[2].path).contains("-- Revises: 10\n"));
        crate::load_dir(dest.path(), "m").expect("builds");
    }

    #[test]
    fn refusals_write_nothing() {
        let refused = |files: &[(&str, &str)]| {
            let src = tempfile::tempdir().expect("tempdir");
            let dest = tempfile::tempdir().expect("tempdir");
            tree(src.path(), files);
            let error = import_diesel(src.path(), dest.path()).expect_err("refused");
            assert_eq!(
                std::fs::read_dir(dest.path()).expect("ls").count(),
                0,
                "nothing written"
            );
            error
        };
        assert!(matches!(
            refused(&[("1_a/up.sql", "SELECT 1;"), ("2_b/down.sql", "SELECT 1;")]),
            ImportError::NotAMigration(dir) if dir.ends_with("2_b")
        ));
        assert!(matches!(
            refused(&[
                ("2024-01-01-000000_a/up.sql", "SELECT 1;"),
                ("20240101000000_b/up.sql", "SELECT 1;")
            ]),
            ImportError::SameVersion { version, .. } if version == "20240101000000"
        ));
        assert!(matches!(
            refused(&[("1.2_a/up.sql", "SELECT 1;")]),
            ImportError::BadVersion { version, .. } if version == "1.2"
        ));
        // A problem of the SQL is shown in the diesel file, at its line.
        let error = refused(&[(
            "1_a/up.sql",
            "SELECT 1;\nSELECT 2;\n-- migrate:sideways\nSELECT 3;\n",
        )]);
        assert!(matches!(error, ImportError::Invalid(_)), "{error}");
        let up = Path::new("1_a").join("up.sql").display().to_string();
        assert!(error.to_string().contains(&format!("{up}:3")), "{error}");

        let src = tempfile::tempdir().expect("tempdir");
        tree(src.path(), &[("1_a/up.sql", "SELECT 1;")]);
        assert!(matches!(
            import_diesel(src.path(), src.path()),
            Err(ImportError::InsideSource { .. })
        ));
    }

    /// A destination inside the diesel directory is refused before anything
    /// is created (diesel would refuse the directory as a migration).
    #[test]
    fn a_destination_inside_the_diesel_directory_is_refused() {
        let src = tempfile::tempdir().expect("tempdir");
        tree(src.path(), &[("1_a/up.sql", "SELECT 1;")]);
        let dest = src.path().join("migrator");
        assert!(matches!(
            import_diesel(src.path(), &dest),
            Err(ImportError::InsideSource { .. })
        ));
        assert!(!dest.exists(), "nothing created");
        let nested = src.path().join("1_a").join("deeper").join("still");
        assert!(matches!(
            import_diesel(src.path(), &nested),
            Err(ImportError::InsideSource { .. })
        ));
        // `x/..` with no `x` is the directory itself.
        let back = src.path().join("x").join("..");
        assert!(matches!(
            import_diesel(src.path(), &back),
            Err(ImportError::InsideSource { .. })
        ));
        assert!(!src.path().join("x").exists(), "nothing created");
        // Beside it is fine, `..` included.
        let beside = tempfile::tempdir().expect("tempdir");
        import_diesel(src.path(), &beside.path().join("n").join("..").join("m"))
            .expect("import beside");
    }

    /// Released history is exempt from the identifier-length rule: a
    /// SQLite project's 65-byte index name imports and builds.
    #[test]
    fn released_history_keeps_its_long_names() {
        let src = tempfile::tempdir().expect("tempdir");
        let dest = tempfile::tempdir().expect("tempdir");
        let name = "i".repeat(65);
        tree(
            src.path(),
            &[
                ("1_t/up.sql", "CREATE TABLE t (a INTEGER);"),
                ("1_t/down.sql", "DROP TABLE t;"),
                ("2_i/up.sql", &format!("CREATE INDEX {name} ON t (a);")),
                ("2_i/down.sql", &format!("DROP INDEX {name};")),
            ],
        );
        import_diesel(src.path(), dest.path()).expect("imports");
        crate::load_dir(dest.path(), "m").expect("builds");
        // Without `released.sum` the rule holds it.
        std::fs::remove_file(dest.path().join(crate::model::released::FILE_NAME)).expect("rm");
        let error = crate::load_dir(dest.path(), "m").expect_err("not released");
        assert!(error.to_string().contains("identifier-too-long"), "{error}");
    }

    #[test]
    fn metadata_as_diesel_reads_it() {
        assert_eq!(
            run_in_transaction("run_in_transaction = false"),
            (false, false)
        );
        assert_eq!(
            run_in_transaction("run_in_transaction=true # yes"),
            (true, false)
        );
        // diesel's `#[serde(default)] run_in_transaction: bool`.
        assert_eq!(run_in_transaction(""), (false, false));
        assert_eq!(
            run_in_transaction("[other]\nrun_in_transaction = false\n"),
            (false, false)
        );
        // What does not deserialize: diesel's `unwrap_or_default()`, true.
        assert_eq!(run_in_transaction("run_in_transaction = no"), (true, true));
        assert_eq!(
            run_in_transaction("run_in_transaction = \"false\""),
            (true, true)
        );
        assert_eq!(
            run_in_transaction("run_in_transaction = false\nrun_in_transaction = false\n"),
            (true, true)
        );
        assert_eq!(
            create_date("20241231235959").as_deref(),
            Some("2024-12-31 23:59:59")
        );
        assert_eq!(create_date("20241331235959"), None);
        assert_eq!(create_date("2024123123595"), None);
        assert_eq!(message("add-users:now", "1"), "add users now");
    }
}
