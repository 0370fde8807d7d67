//! Reading a migrations directory: which entries are revisions.

use std::fs;
use std::path::Path;

use super::file::parse_file_with;
use super::lint_cache::Cache;
use super::released;
use super::suggest::{Near, SUGGESTED_IDS, closest, quoted_list};
use super::{Checks, Diagnostics, Parsed, Rule, is_revision_id, normalise};

/// Lists `dir`, parses every revision file and returns them sorted by file
/// name. Problems (missing directory, subdirectories, misnamed files, and
/// everything [`super::parse_file`] reports) go into `diagnostics`. Every
/// check is on; the directory's `released.sum` is read and checked.
pub fn load_revisions(dir: &Path, display: &str, diagnostics: &mut Diagnostics) -> Vec<Parsed> {
    load_revisions_with(dir, display, &Checks::default(), diagnostics)
}

/// [`load_revisions`] with the optional checks of `checks`.
pub fn load_revisions_with(
    dir: &Path,
    display: &str,
    checks: &Checks,
    diagnostics: &mut Diagnostics,
) -> Vec<Parsed> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) => {
            let absolute = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
            diagnostics.report(
                display,
                None,
                Rule::MissingDirectory,
                format!(
                    "cannot read the migrations directory `{display}` (looked at `{}`): {error}",
                    absolute.display()
                ),
                "create the directory, or name the one that holds the revisions",
            );
            return Vec::new();
        }
    };

    let mut files = Vec::new();
    for entry in entries {
        let entry = match entry {
            Ok(entry) => entry,
            Err(error) => {
                diagnostics.report(
                    display,
                    None,
                    Rule::MissingDirectory,
                    format!("cannot list the migrations directory `{display}`: {error}"),
                    "check the directory's permissions",
                );
                continue;
            }
        };
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let path = format!("{display}/{name}");
        // `fs::metadata` follows symbolic links: a link to a file is a file.
        match fs::metadata(entry.path()) {
            Ok(metadata) if metadata.is_dir() => diagnostics.report(
                &path,
                None,
                Rule::Subdirectory,
                format!("subdirectory `{name}` in the migrations directory is not read"),
                format!(
                    "move its revisions into `{display}` itself, or rename it to `.{name}` to hide it"
                ),
            ),
            Ok(_) if FileKind::of(&name).is_none() => {}
            Ok(_) => files.push((name, path, entry.path())),
            Err(error) => report_unreadable(&name, &path, &error.to_string(), diagnostics),
        }
    }
    files.sort();

    let released = read_released(dir, display, diagnostics);
    let mut cache = Cache::open(checks.lint_cache.as_deref());
    let mut parsed = Vec::new();
    for (name, path, full_path) in files {
        let Some(parts) = check_file_name(&name, &path, diagnostics) else {
            continue;
        };
        let is_released = released.iter().any(|e| e.id == parts.rev);
        let contents = match fs::read(&full_path) {
            Ok(bytes) => String::from_utf8(bytes),
            Err(error) => {
                report_unreadable(&name, &path, &error.to_string(), diagnostics);
                continue;
            }
        };
        match contents {
            Ok(contents) => parsed.extend(parse_file_with(
                &name,
                &path,
                &contents,
                checks,
                is_released,
                &mut cache,
                diagnostics,
            )),
            Err(_) => diagnostics.report(
                &path,
                None,
                Rule::UnreadableFile,
                format!("`{name}` is not valid UTF-8"),
                "save the file as UTF-8 text",
            ),
        }
    }
    cache.save();
    check_released(&released, &parsed, display, diagnostics);
    parsed
}

/// The entries of `dir`'s `released.sum` (none when there is no such file);
/// its lines that do not parse are reported.
fn read_released(dir: &Path, display: &str, diagnostics: &mut Diagnostics) -> Vec<released::Entry> {
    let path = format!("{display}/{}", released::FILE_NAME);
    let text = match fs::read(dir.join(released::FILE_NAME)) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(_) => {
                diagnostics.report(
                    &path,
                    None,
                    Rule::BadReleasedSum,
                    format!("`{}` is not valid UTF-8", released::FILE_NAME),
                    "save the file as UTF-8 text",
                );
                return Vec::new();
            }
        },
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
        Err(error) => {
            report_unreadable(released::FILE_NAME, &path, &error.to_string(), diagnostics);
            return Vec::new();
        }
    };
    let (entries, bad) = released::parse(&normalise(&text));
    for line in bad {
        diagnostics.report(
            &path,
            Some(line.line),
            Rule::BadReleasedSum,
            line.problem,
            "each line is `<revision ID> <checksum>` as the `release` command writes it; `#` starts a comment",
        );
    }
    entries
}

/// Every released revision must still be there, as it was released.
fn check_released(
    released: &[released::Entry],
    parsed: &[Parsed],
    display: &str,
    diagnostics: &mut Diagnostics,
) {
    let sum_path = format!("{display}/{}", released::FILE_NAME);
    for entry in released {
        let mut files = parsed
            .iter()
            .filter(|p| p.revision.id == entry.id)
            .peekable();
        if files.peek().is_none() {
            let ids = parsed.iter().map(|p| p.revision.id.as_ref());
            let near = closest(&entry.id, ids, Near::Id, SUGGESTED_IDS);
            let near = if near.is_empty() {
                String::new()
            } else {
                format!(" (did you mean {}?)", quoted_list(&near))
            };
            diagnostics.report(
                &sum_path,
                Some(entry.line),
                Rule::ReleasedEdited,
                format!("released revision `{}` has no file in the directory", entry.id),
                format!(
                    "a released revision is never removed: restore its file as it was released; if this line is a mistake, correct it{near}"
                ),
            );
        }
        for file in files.filter(|p| p.revision.checksum != entry.checksum) {
            diagnostics.report(
                &file.path,
                None,
                Rule::ReleasedEdited,
                format!(
                    "revision `{}` was released ({} line {}) and has been edited since: its checksum is {}, the released one {}",
                    entry.id,
                    released::FILE_NAME,
                    entry.line,
                    &file.revision.checksum[..12.min(file.revision.checksum.len())],
                    &entry.checksum[..12],
                ),
                "released history is never edited: restore the file as it was released, and write the change as a new revision (`revision -m \"...\"`)",
            );
        }
    }
}

fn report_unreadable(name: &str, path: &str, error: &str, diagnostics: &mut Diagnostics) {
    diagnostics.report(
        path,
        None,
        Rule::UnreadableFile,
        format!("cannot read `{name}`: {error}"),
        "check that the file exists and is readable",
    );
}

/// What a revision file holds, from its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FileKind {
    /// `.sql`
    Sql,
    /// `.rs`
    Rust,
}

impl FileKind {
    /// The kind of a file named `name`, or `None` when it is no revision.
    fn of(name: &str) -> Option<FileKind> {
        if name.ends_with(".sql") {
            Some(FileKind::Sql)
        } else if name.ends_with(".rs") {
            Some(FileKind::Rust)
        } else {
            None
        }
    }

    fn extension(self) -> &'static str {
        match self {
            FileKind::Sql => "sql",
            FileKind::Rust => "rs",
        }
    }

    fn example(self) -> &'static str {
        match self {
            FileKind::Sql => "001_add_api_keys.sql",
            FileKind::Rust => "004_backfill_prefix.rs",
        }
    }
}

/// The parts of a revision file name `<rev>_<slug>.<ext>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct FileName<'a> {
    /// `<rev>`, the revision ID.
    pub rev: &'a str,
    /// `<slug>`.
    pub slug: &'a str,
    /// `.sql` or `.rs`.
    pub kind: FileKind,
}

fn split_file_name(name: &str) -> Option<FileName<'_>> {
    let kind = FileKind::of(name)?;
    let stem = name.strip_suffix(kind.extension())?.strip_suffix('.')?;
    let (rev, slug) = stem.split_once('_')?;
    let slug_ok = !slug.is_empty() && slug.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    (is_revision_id(rev) && slug_ok).then_some(FileName { rev, slug, kind })
}

/// Splits `name` into its parts, or reports [`Rule::BadFileName`] at `path`.
pub(super) fn check_file_name<'a>(
    name: &'a str,
    path: &str,
    diagnostics: &mut Diagnostics,
) -> Option<FileName<'a>> {
    let parts = split_file_name(name);
    if parts.is_none() {
        let kind = FileKind::of(name).unwrap_or(FileKind::Sql);
        let ext = kind.extension();
        diagnostics.report(
            path,
            None,
            Rule::BadFileName,
            format!("file name `{name}` is not of the form `<rev>_<slug>.{ext}`"),
            format!(
                "rename it to `<rev>_<slug>.{ext}`, where `<rev>` is 1 to 64 letters or digits and `<slug>` letters, digits or `_`, e.g. `{}`",
                kind.example()
            ),
        );
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;
    use std::path::PathBuf;

    const VALID: &str = "-- Add things\n-- Revision ID: 001\n-- Revises:\n\n-- migrate:upgrade\nCREATE TABLE t (id INT);\n-- migrate:downgrade\nDROP TABLE t;\n";

    fn load(dir: &Path) -> (Vec<Parsed>, Diagnostics) {
        let mut diagnostics = Diagnostics::new();
        let parsed = load_revisions(dir, "migrations", &mut diagnostics);
        (parsed, diagnostics)
    }

    fn rules(diagnostics: &Diagnostics) -> Vec<(String, Rule)> {
        diagnostics
            .iter()
            .map(|d| (d.file.clone(), d.rule))
            .collect()
    }

    #[test]
    fn normalises_line_endings_and_bom() {
        assert!(matches!(normalise("a\nb"), Cow::Borrowed("a\nb")));
        assert!(matches!(normalise("\u{feff}a\nb"), Cow::Borrowed("a\nb")));
        assert_eq!(normalise("a\r\nb\rc\r\n\r\n"), "a\nb\nc\n\n");
    }

    #[test]
    fn splits_file_names() {
        assert_eq!(
            split_file_name("001_add_api_keys.sql"),
            Some(FileName {
                rev: "001",
                slug: "add_api_keys",
                kind: FileKind::Sql
            })
        );
        assert_eq!(
            split_file_name("ae1027a6acf_backfill__prefix.rs").map(|n| (n.rev, n.slug)),
            Some(("ae1027a6acf", "backfill__prefix"))
        );
        for bad in [
            "001.sql",
            "001_.sql",
            "_x.sql",
            "0-1_x.sql",
            "001_a-b.sql",
            "001_x.txt",
            "001_é.sql",
            &format!("{}_x.sql", "a".repeat(65)),
        ] {
            assert_eq!(split_file_name(bad), None, "{bad}");
        }
        assert!(split_file_name(&format!("{}_x.sql", "a".repeat(64))).is_some());
    }

    #[test]
    fn empty_directory_is_valid() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let (parsed, diagnostics) = load(dir.path());
        assert!(parsed.is_empty());
        assert!(diagnostics.is_empty(), "{diagnostics}");
    }

    #[test]
    fn missing_directory_names_the_path() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let missing: PathBuf = dir.path().join("nope");
        let (parsed, diagnostics) = load(&missing);
        assert!(parsed.is_empty());
        let d = diagnostics.iter().next().expect("a diagnostic");
        assert_eq!(d.rule, Rule::MissingDirectory);
        assert_eq!(d.file, "migrations");
        assert!(d.message.contains("`migrations`"), "{d}");
        assert!(d.message.contains(&missing.display().to_string()), "{d}");
    }

    #[test]
    fn reads_revisions_sorted_and_skips_the_rest() {
        let dir = tempfile::tempdir().expect("temporary directory");
        fs::write(
            dir.path().join("002_second.sql"),
            VALID.replace("001", "002"),
        )
        .expect("fixture");
        fs::write(dir.path().join("001_first.sql"), VALID).expect("fixture");
        fs::write(dir.path().join("README.md"), "hello").expect("fixture");
        fs::write(dir.path().join("001_first.sql~"), "backup").expect("fixture");
        fs::write(dir.path().join(".hidden.sql"), "not read").expect("fixture");
        fs::create_dir(dir.path().join(".git")).expect("fixture");
        let (parsed, diagnostics) = load(dir.path());
        assert!(diagnostics.is_empty(), "{diagnostics}");
        let names: Vec<_> = parsed.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            names,
            ["migrations/001_first.sql", "migrations/002_second.sql"]
        );
    }

    #[test]
    fn reports_subdirectories_bad_names_and_unreadable_files() {
        let dir = tempfile::tempdir().expect("temporary directory");
        fs::create_dir(dir.path().join("old")).expect("fixture");
        fs::write(dir.path().join("add-keys.sql"), VALID).expect("fixture");
        fs::write(dir.path().join("002_x.rs"), [0xff, 0xfe, 0x00]).expect("fixture");
        fs::write(dir.path().join("001_first.sql"), VALID).expect("fixture");
        let (parsed, mut diagnostics) = load(dir.path());
        assert_eq!(parsed.len(), 1);
        diagnostics.sort();
        assert_eq!(
            rules(&diagnostics),
            [
                ("migrations/002_x.rs".to_owned(), Rule::UnreadableFile),
                ("migrations/add-keys.sql".to_owned(), Rule::BadFileName),
                ("migrations/old".to_owned(), Rule::Subdirectory),
            ]
        );
        let text = diagnostics.to_string();
        assert!(text.contains("e.g. `001_add_api_keys.sql`"), "{text}");
        assert!(text.contains("subdirectory `old`"), "{text}");
    }

    #[test]
    #[cfg(feature = "lint")]
    fn released_revisions_are_checked_and_exempt() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let first = VALID.replace(
            "CREATE TABLE t (id INT);",
            "DROP TABLE old;\nCREATE INDEX ix ON users (a);",
        );
        fs::write(dir.path().join("001_first.sql"), &first).expect("fixture");
        let (_, diagnostics) = load(dir.path());
        let rules: Vec<_> = diagnostics.iter().map(|d| d.rule).collect();
        assert_eq!(
            rules,
            [
                Rule::Destructive,
                Rule::Online(crate::model::OnlineRule::RequireConcurrentIndexCreation)
            ]
        );
        let sum = crate::model::checksum(&first);
        fs::write(
            dir.path().join(released::FILE_NAME),
            format!("# released\n001 {sum}\n"),
        )
        .expect("fixture");
        let (parsed, diagnostics) = load(dir.path());
        assert!(diagnostics.is_empty(), "{diagnostics}");
        assert_eq!(parsed.len(), 1);

        fs::write(dir.path().join("001_first.sql"), format!("{first}\n")).expect("fixture");
        fs::write(
            dir.path().join(released::FILE_NAME),
            format!("001 {sum}\n002 {sum}\nnonsense\n"),
        )
        .expect("fixture");
        let (_, mut diagnostics) = load(dir.path());
        diagnostics.sort();
        assert_eq!(
            rules_of(&diagnostics),
            [
                (
                    "migrations/001_first.sql".to_owned(),
                    None,
                    Rule::ReleasedEdited
                ),
                (
                    "migrations/released.sum".to_owned(),
                    Some(2),
                    Rule::ReleasedEdited
                ),
                (
                    "migrations/released.sum".to_owned(),
                    Some(3),
                    Rule::BadReleasedSum
                ),
            ]
        );
        let text = diagnostics.to_string();
        assert!(text.contains("migrations/001_first.sql: revision `001` was released (released.sum line 1) and has been edited since"), "{text}");
        assert!(
            text.contains("write the change as a new revision"),
            "{text}"
        );
        assert!(text.contains("migrations/released.sum:2: released revision `002` has no file in the directory [released-edited]"), "{text}");
        assert!(text.contains("did you mean `001`?"), "{text}");
    }

    #[cfg(feature = "lint")]
    fn rules_of(diagnostics: &Diagnostics) -> Vec<(String, Option<u32>, Rule)> {
        diagnostics
            .iter()
            .map(|d| (d.file.clone(), d.line, d.rule))
            .collect()
    }
}
