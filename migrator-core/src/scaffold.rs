//! Writing new revision files: `revision -m` and `merge heads -m`.
//!
//! Both read the directory with the same parser the build uses, refuse to
//! overwrite anything, and return the path they wrote.
//!
//! A new revision's sections are left for you to fill: until they hold SQL
//! (or `-- migrate:noop`), or the Rust functions are written, the build
//! fails and says so. A revision cannot be shipped empty by accident.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use chrono::Utc;

use crate::model::suggest::next_id;
use crate::model::{self, Diagnostics, Parsed};

/// Why a file could not be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScaffoldError {
    /// The directory breaks a rule of FORMAT.md (other than having several
    /// heads, for `merge heads`).
    #[error("the migrations directory has problems to fix first:\n{0}")]
    Invalid(Diagnostics),
    /// `revision` in a directory with several heads.
    #[error(
        "the migrations directory has several heads ({}): join them first with `merge heads -m \"<message>\"`",
        .0.join(", ")
    )]
    SeveralHeads(Vec<String>),
    /// `merge heads` in a directory with one head (or none).
    #[error("there is nothing to merge: the migrations directory has {0} head(s)")]
    NothingToMerge(usize),
    /// The message gives no usable file name, spans lines, or reads as a
    /// header field.
    #[error(
        "the message `{0}` cannot be a revision's first header line: write one line with a \
         letter or digit, not a `Key: value` field"
    )]
    BadMessage(String),
    /// The ID is taken, or the file exists.
    #[error("`{0}` already exists; nothing was written")]
    Exists(PathBuf),
    /// Writing failed.
    #[error("cannot write `{path}`: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

/// What kind of revision to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A `.sql` revision.
    Sql,
    /// A `.rs` revision (data migrations).
    Rust,
}

/// Writes a new revision revising the current head (or the base revision,
/// in an empty directory), with a fresh ID: the next number when every ID is
/// a number (keeping their width), else 12 random hex digits.
pub fn new_revision(dir: &Path, message: &str, kind: Kind) -> Result<PathBuf, ScaffoldError> {
    let parsed = parse(dir)?;
    let heads = heads(&parsed);
    if heads.len() > 1 {
        return Err(ScaffoldError::SeveralHeads(heads));
    }
    write(dir, &parsed, message, &heads, kind)
}

/// Writes the merge revision of a directory with several heads: it revises
/// them all and runs nothing (`-- migrate:noop` both ways), after which the
/// build accepts the directory.
pub fn merge_heads(dir: &Path, message: &str) -> Result<PathBuf, ScaffoldError> {
    let parsed = parse(dir)?;
    let heads = heads(&parsed);
    if heads.len() < 2 {
        return Err(ScaffoldError::NothingToMerge(heads.len()));
    }
    write(dir, &parsed, message, &heads, Kind::Sql)
}

/// Parses every file; any problem (but several heads, which is a graph
/// rule checked later) stops here.
fn parse(dir: &Path) -> Result<Vec<Parsed>, ScaffoldError> {
    let mut diagnostics = Diagnostics::new();
    let parsed = model::load_revisions(dir, &dir.display().to_string(), &mut diagnostics);
    if diagnostics.is_empty() {
        Ok(parsed)
    } else {
        diagnostics.sort();
        Err(ScaffoldError::Invalid(diagnostics))
    }
}

/// The IDs no revision revises, sorted.
fn heads(parsed: &[Parsed]) -> Vec<String> {
    let mut heads: Vec<String> = parsed
        .iter()
        .map(|p| p.revision.id.to_string())
        .filter(|id| {
            !parsed
                .iter()
                .any(|p| p.revision.parents().any(|parent| parent == id))
        })
        .collect();
    heads.sort();
    heads
}

fn write(
    dir: &Path,
    parsed: &[Parsed],
    message: &str,
    parents: &[String],
    kind: Kind,
) -> Result<PathBuf, ScaffoldError> {
    // The message is the header's first line: one line, and not a field
    // (`-m "Allow: destructive"` must not set one).
    let is_field = message
        .split_once(':')
        .is_some_and(|(key, _)| model::is_field_key(key));
    if message.contains(['\n', '\r']) || is_field {
        return Err(ScaffoldError::BadMessage(message.to_owned()));
    }
    let slug = slug(message).ok_or_else(|| ScaffoldError::BadMessage(message.to_owned()))?;
    let id = if parsed.is_empty() {
        "001".to_owned()
    } else {
        next_id(parsed.iter().map(|p| p.revision.id.as_ref())).unwrap_or_else(random_id)
    };
    let extension = match kind {
        Kind::Sql => "sql",
        Kind::Rust => "rs",
    };
    let path = dir.join(format!("{id}_{slug}.{extension}"));
    if parsed.iter().any(|p| p.revision.id == id) || path.exists() {
        return Err(ScaffoldError::Exists(path));
    }
    let merge = parents.len() > 1;
    let text = match kind {
        Kind::Sql => sql_template(message.trim(), &id, parents, merge),
        Kind::Rust => rust_template(message.trim(), &id, parents),
    };
    // `create_new` refuses to overwrite, even a file that appeared meanwhile.
    let io = |source| ScaffoldError::Io {
        path: path.clone(),
        source,
    };
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => ScaffoldError::Exists(path.clone()),
            _ => io(e),
        })?;
    std::io::Write::write_all(&mut file, text.as_bytes()).map_err(io)?;
    Ok(path)
}

/// `Add last_used_at!` → `add_last_used_at`, at most 40 characters.
pub(crate) fn slug(message: &str) -> Option<String> {
    let mut slug = String::new();
    for c in message.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('_') {
            slug.push('_');
        }
        if slug.len() >= 40 {
            break;
        }
    }
    let slug = slug.trim_end_matches('_').to_owned();
    (!slug.is_empty()).then_some(slug)
}

/// 12 random hex digits, as Alembic writes them.
fn random_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(Utc::now().timestamp_nanos_opt().unwrap_or_default() as u128);
    format!("{:012x}", hasher.finish() & 0xffff_ffff_ffff)
}

fn header(comment: &str, message: &str, id: &str, parents: &[String]) -> String {
    let mut text = String::new();
    let date = Utc::now().format("%Y-%m-%d %H:%M:%S");
    for line in [
        message.to_owned(),
        String::new(),
        format!("Revision ID: {id}"),
        format!("Revises: {}", parents.join(", ")),
        format!("Create Date: {date}"),
    ] {
        let _ = writeln!(text, "{}", format!("{comment} {line}").trim_end());
    }
    text
}

fn sql_template(message: &str, id: &str, parents: &[String], merge: bool) -> String {
    let mut text = header("--", message, id, parents);
    if merge {
        text.push_str(
            "\n-- migrate:upgrade\n-- migrate:noop\n\n-- migrate:downgrade\n-- migrate:noop\n",
        );
    } else {
        text.push_str(
            "\n-- migrate:upgrade\n-- Write the upgrade here (the build fails until you do).\n\n\
             -- migrate:downgrade\n-- Write the SQL that undoes it (`-- migrate:noop` if there is nothing to undo).\n",
        );
    }
    text
}

fn rust_template(message: &str, id: &str, parents: &[String]) -> String {
    let mut text = header("//!", message, id, parents);
    let _ = write!(
        text,
        "\nuse migrator_runtime::{{MigrationContext, RevisionResult}};\n\n\
         pub fn upgrade(db: &mut MigrationContext<'_>) -> RevisionResult {{\n    \
         let _ = db;\n    \
         compile_error!(\"write the upgrade of revision {id}, then remove this line\");\n    \
         Ok(())\n}}\n\n\
         pub fn downgrade(db: &mut MigrationContext<'_>) -> RevisionResult {{\n    \
         let _ = db;\n    \
         compile_error!(\"write the downgrade of revision {id}, then remove this line\");\n    \
         Ok(())\n}}\n"
    );
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_file(dir: &Path, name: &str, text: &str) {
        std::fs::write(dir.join(name), text).expect("write");
    }

    fn sql(id: &str, parents: &str) -> String {
        format!(
            "-- r{id}\n--\n-- Revision ID: {id}\n-- Revises: {parents}\n\n\
             -- migrate:upgrade\nCREATE TABLE t{id} (id INTEGER);\n\n\
             -- migrate:downgrade\nDROP TABLE t{id};\n"
        )
    }

    #[test]
    fn a_new_revision_revises_the_head_and_must_be_filled() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = new_revision(dir.path(), "Create widgets!", Kind::Sql).expect("write");
        assert_eq!(
            first.file_name().and_then(|n| n.to_str()),
            Some("001_create_widgets.sql")
        );
        let text = std::fs::read_to_string(&first).expect("read");
        assert!(
            text.contains("-- Revision ID: 001\n-- Revises:\n"),
            "{text}"
        );
        // Unfilled, the build refuses it.
        let error = crate::load_dir(dir.path(), "m").expect_err("empty sections");
        assert!(
            error.to_string().contains("has no SQL statement"),
            "{error}"
        );

        std::fs::remove_file(&first).expect("remove");
        write_file(dir.path(), "001_a.sql", &sql("001", ""));
        let second = new_revision(dir.path(), "add gadgets", Kind::Rust).expect("write");
        assert_eq!(
            second.file_name().and_then(|n| n.to_str()),
            Some("002_add_gadgets.rs")
        );
        let text = std::fs::read_to_string(&second).expect("read");
        assert!(
            text.contains("//! Revision ID: 002\n//! Revises: 001\n"),
            "{text}"
        );
        assert!(text.contains("compile_error!"), "{text}");
    }

    #[test]
    fn merge_heads_joins_the_heads_and_the_build_accepts_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        write_file(dir.path(), "001_a.sql", &sql("001", ""));
        write_file(dir.path(), "002_b.sql", &sql("002", "001"));
        write_file(dir.path(), "003_c.sql", &sql("003", "001"));
        assert!(crate::load_dir(dir.path(), "m").is_err());
        assert!(matches!(
            new_revision(dir.path(), "more", Kind::Sql),
            Err(ScaffoldError::SeveralHeads(heads)) if heads == ["002", "003"]
        ));
        let merge = merge_heads(dir.path(), "merge heads").expect("write");
        assert_eq!(
            merge.file_name().and_then(|n| n.to_str()),
            Some("004_merge_heads.sql")
        );
        let graph = crate::load_dir(dir.path(), "m").expect("valid after the merge");
        assert_eq!(
            graph
                .head()
                .map(|h| graph.revision(h).id.to_string())
                .as_deref(),
            Some("004")
        );
        assert!(matches!(
            merge_heads(dir.path(), "again"),
            Err(ScaffoldError::NothingToMerge(1))
        ));
    }

    #[test]
    fn refuses_to_overwrite_and_bad_messages() {
        let dir = tempfile::tempdir().expect("tempdir");
        write_file(dir.path(), "001_a.sql", &sql("001", ""));
        write_file(dir.path(), "002_same.sql.orig", "not a revision");
        std::fs::write(dir.path().join("002_same.sql"), sql("002", "001")).expect("write");
        assert!(matches!(
            new_revision(dir.path(), "!!!", Kind::Sql),
            Err(ScaffoldError::BadMessage(_))
        ));
        // 002 is taken: the next ID is 003.
        let path = new_revision(dir.path(), "same", Kind::Sql).expect("write");
        assert!(path.ends_with("003_same.sql"));
        // Until 003 is filled in, the directory is not valid.
        assert!(matches!(
            new_revision(dir.path(), "next", Kind::Sql),
            Err(ScaffoldError::Invalid(_))
        ));
        assert_eq!(
            slug("Add last_used_at, revoked_at"),
            Some("add_last_used_at_revoked_at".to_owned())
        );
    }
}
