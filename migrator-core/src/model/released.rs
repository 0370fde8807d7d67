//! `released.sum`: the revisions that have already run in production, one
//! `<revision ID> <checksum>` per line (FORMAT.md, "Released revisions").
//!
//! The build reads it ([`super::load_revisions_with`]): a listed
//! revision may not be edited or removed, and is exempt from the destructive
//! and online-safety rules. The build never writes it; [`append`] does, for
//! the `release` command (after [`check_files`]) and for importers.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::is_revision_id;

/// The file's name, in the migrations directory.
pub const FILE_NAME: &str = "released.sum";

/// What a new file starts with.
const PREAMBLE: &str = "# Revisions that have run in production: `<revision ID> <checksum>`.\n\
# Written by `release`; a listed revision's file may not be edited or removed.\n";

/// One listed revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The revision ID.
    pub id: String,
    /// Its checksum when it was released (64 lowercase hex digits).
    pub checksum: String,
    /// The 1-based line of the file that lists it.
    pub line: u32,
}

/// A line of the file that is not an entry, a comment or blank.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadLine {
    /// The 1-based line.
    pub line: u32,
    /// What is wrong with it, one sentence without a trailing period.
    pub problem: String,
}

/// The entries of a `released.sum` text, and the lines that do not parse
/// (an ID listed twice is one of those, on its second line).
pub fn parse(text: &str) -> (Vec<Entry>, Vec<BadLine>) {
    let mut entries: Vec<Entry> = Vec::new();
    let mut bad = Vec::new();
    for (line, raw) in (1..).zip(text.lines()) {
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let problem = match trimmed.split_whitespace().collect::<Vec<_>>()[..] {
            [id, _] if !is_revision_id(id) => format!("`{id}` is not a revision ID"),
            [_, checksum] if !is_checksum(checksum) => {
                format!("`{checksum}` is not a checksum (64 lowercase hex digits)")
            }
            [id, checksum] => match entries.iter().find(|e| e.id == id) {
                Some(first) => format!(
                    "revision `{id}` is listed again (first on line {})",
                    first.line
                ),
                None => {
                    entries.push(Entry {
                        id: id.to_owned(),
                        checksum: checksum.to_owned(),
                        line,
                    });
                    continue;
                }
            },
            _ => format!("`{trimmed}` is not `<revision ID> <checksum>`"),
        };
        bad.push(BadLine { line, problem });
    }
    (entries, bad)
}

fn is_checksum(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Why [`append`] wrote nothing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReleaseError {
    /// The file exists and cannot be read, or cannot be written.
    #[error(
        "cannot {action} `{path}`: {source}; check that it is in the migrations directory (the CLI's `--migrations-dir`) and that the directory is writable"
    )]
    Io {
        /// `read` or `write`.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: io::Error,
    },
    /// A line of the file does not parse.
    #[error(
        "`{path}` line {line}: {problem}; correct the line (each is `<revision ID> <checksum>`)"
    )]
    BadLine {
        /// The file.
        path: PathBuf,
        /// The 1-based line.
        line: u32,
        /// What is wrong with it.
        problem: String,
    },
    /// A revision to release is listed with another checksum: its file was
    /// edited after it was released.
    #[error(
        "`{path}` lists revision `{id}` with checksum {listed}, but it now has {current}: a released revision was edited; restore its file as released and write the change as a new revision"
    )]
    Edited {
        /// The file.
        path: PathBuf,
        /// The revision.
        id: String,
        /// The checksum the file lists.
        listed: String,
        /// The checksum given to release.
        current: String,
    },
    /// A revision to release has no file in the directory: it is not the
    /// directory the revisions were built from.
    #[error(
        "`{dir}` has no file `{file_name}` for revision `{id}`: it is not the migrations directory this build embeds; name that one (the CLI's `--migrations-dir`, default `migrations`, relative to where it runs)"
    )]
    NotEmbedded {
        /// The directory.
        dir: PathBuf,
        /// The revision.
        id: String,
        /// The file it was built from.
        file_name: String,
    },
    /// A revision's file changed since the build: the checksum to release
    /// is not the file's.
    #[error(
        "`{path}` is not revision `{id}` as this build embeds it (checksum {embedded}; the file now has {on_disk}): the binary was built before the file changed; rebuild it, then release"
    )]
    Stale {
        /// The file.
        path: PathBuf,
        /// The revision.
        id: String,
        /// The checksum the build embeds.
        embedded: String,
        /// The file's checksum now.
        on_disk: String,
    },
}

/// Checks that `dir` is the directory the revisions `(ID, file name,
/// checksum)` were built from, as it is now: each has its file there, with
/// that checksum. Else `release` would list them in another directory's
/// `released.sum`, or list checksums that are no longer the files'.
pub fn check_files(dir: &Path, revisions: &[(&str, &str, &str)]) -> Result<(), ReleaseError> {
    for &(id, file_name, embedded) in revisions {
        let path = dir.join(file_name);
        let on_disk = match fs::read_to_string(&path) {
            Ok(text) => super::checksum(&super::normalise(&text)),
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                return Err(ReleaseError::NotEmbedded {
                    dir: dir.to_path_buf(),
                    id: id.to_owned(),
                    file_name: file_name.to_owned(),
                });
            }
            Err(source) => {
                return Err(ReleaseError::Io {
                    action: "read",
                    path,
                    source,
                });
            }
        };
        if on_disk != embedded {
            return Err(ReleaseError::Stale {
                path,
                id: id.to_owned(),
                embedded: embedded.to_owned(),
                on_disk,
            });
        }
    }
    Ok(())
}

/// Appends to `dir`'s `released.sum` (created when missing) every revision
/// of `revisions`, `(ID, checksum)` in the order given, that it does not
/// list yet; returns the IDs appended. A listed revision given with another
/// checksum is an error, and nothing is written.
pub fn append<A, B>(dir: &Path, revisions: &[(A, B)]) -> Result<Vec<String>, ReleaseError>
where
    A: AsRef<str>,
    B: AsRef<str>,
{
    let path = dir.join(FILE_NAME);
    let existing = match fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(error) if error.kind() == io::ErrorKind::NotFound => None,
        Err(source) => {
            return Err(ReleaseError::Io {
                action: "read",
                path,
                source,
            });
        }
    };
    let (entries, bad) = parse(existing.as_deref().unwrap_or(""));
    if let Some(first) = bad.into_iter().next() {
        return Err(ReleaseError::BadLine {
            path,
            line: first.line,
            problem: first.problem,
        });
    }
    let mut text = String::new();
    let mut appended: Vec<String> = Vec::new();
    for (id, checksum) in revisions {
        let (id, checksum) = (id.as_ref(), checksum.as_ref());
        if let Some(listed) = entries.iter().find(|e| e.id == id) {
            if listed.checksum != checksum {
                return Err(ReleaseError::Edited {
                    path,
                    id: id.to_owned(),
                    listed: listed.checksum.clone(),
                    current: checksum.to_owned(),
                });
            }
        } else if !appended.iter().any(|a| a == id) {
            text.push_str(&format!("{id} {checksum}\n"));
            appended.push(id.to_owned());
        }
    }
    if appended.is_empty() {
        return Ok(appended);
    }
    let prefix = match &existing {
        None => PREAMBLE,
        Some(old) if !old.is_empty() && !old.ends_with('\n') => "\n",
        Some(_) => "",
    };
    let write = || {
        let mut file = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)?;
        file.write_all(format!("{prefix}{text}").as_bytes())?;
        file.sync_all()
    };
    write().map_err(|source| ReleaseError::Io {
        action: "write",
        path: path.clone(),
        source,
    })?;
    Ok(appended)
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    #[test]
    fn parses_entries_comments_and_bad_lines() {
        let text = format!(
            "# released\n\n001 {A}\n  002   {B}  \n001 {B}\n0-1 {A}\n003 ABC\n004\n005 {A} extra\n"
        );
        let (entries, bad) = parse(&text);
        let ids: Vec<_> = entries.iter().map(|e| (e.id.as_str(), e.line)).collect();
        assert_eq!(ids, [("001", 3), ("002", 4)]);
        let bad: Vec<_> = bad.iter().map(|b| (b.line, b.problem.as_str())).collect();
        assert_eq!(
            bad,
            [
                (5, "revision `001` is listed again (first on line 3)"),
                (6, "`0-1` is not a revision ID"),
                (7, "`ABC` is not a checksum (64 lowercase hex digits)"),
                (8, "`004` is not `<revision ID> <checksum>`"),
                (
                    9,
                    &*format!("`005 {A} extra` is not `<revision ID> <checksum>`")
                ),
            ]
        );
    }

    #[test]
    fn appends_what_is_not_listed_in_order() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let appended = append(dir.path(), &[("002", B), ("001", A)]).expect("append");
        assert_eq!(appended, ["002", "001"]);
        let appended = append(dir.path(), &[("001", A), ("003", A), ("003", A)]).expect("append");
        assert_eq!(appended, ["003"]);
        assert!(
            append(dir.path(), &[("001", A)])
                .expect("append")
                .is_empty()
        );
        let text = fs::read_to_string(dir.path().join(FILE_NAME)).expect("file");
        assert_eq!(text, format!("{PREAMBLE}002 {B}\n001 {A}\n003 {A}\n"));
        let (entries, bad) = parse(&text);
        assert_eq!((entries.len(), bad.len()), (3, 0));
    }

    /// `release` refuses a directory that is not the one built from, or
    /// whose files changed since the build.
    #[test]
    fn checks_the_files_of_the_build() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let text = "-- Revision ID: 001\r\n";
        fs::write(dir.path().join("001_a.sql"), text).expect("fixture");
        let sum = super::super::checksum(&super::super::normalise(text));
        check_files(dir.path(), &[("001", "001_a.sql", &sum)]).expect("the build's file");
        let error = check_files(dir.path(), &[("001", "001_a.sql", A)]).expect_err("stale");
        assert!(
            error
                .to_string()
                .contains("the binary was built before the file changed; rebuild it"),
            "{error}"
        );
        let error = check_files(dir.path(), &[("001", "001_b.sql", &sum)]).expect_err("foreign");
        assert!(
            error.to_string().contains("has no file `001_b.sql` for revision `001`: it is not the migrations directory this build embeds"),
            "{error}"
        );
    }

    #[test]
    fn refuses_an_edited_release_and_a_bad_file() {
        let dir = tempfile::tempdir().expect("temporary directory");
        fs::write(dir.path().join(FILE_NAME), format!("001 {A}")).expect("fixture");
        let error = append(dir.path(), &[("002", B), ("001", B)]).expect_err("edited");
        assert!(matches!(error, ReleaseError::Edited { ref id, .. } if id == "001"));
        assert!(
            error.to_string().contains("restore its file as released"),
            "{error}"
        );
        // Nothing written; the missing newline is added before what follows.
        append(dir.path(), &[("002", B)]).expect("append");
        let text = fs::read_to_string(dir.path().join(FILE_NAME)).expect("file");
        assert_eq!(text, format!("001 {A}\n002 {B}\n"));

        fs::write(dir.path().join(FILE_NAME), "001\n").expect("fixture");
        let error = append(dir.path(), &[("002", B)]).expect_err("bad line");
        assert!(
            error.to_string().contains("line 1: `001` is not"),
            "{error}"
        );
    }
}
