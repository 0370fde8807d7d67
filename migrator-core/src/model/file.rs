//! Parsing one revision file: the header, then SQL sections or a Rust module.
//!
//! The phases live in their own modules: [`super::header`] (message,
//! description, fields), [`super::sections`] (SQL sections, with the
//! [destructive scanner](super::destructive)) and [`super::rust`] (the Rust
//! revision check). Every phase reports into the same [`Diagnostics`] and
//! none stops the others.

use std::borrow::Cow;

use super::discover::{FileKind, check_file_name};
use super::header::{Context, parse_header, split_header};
use super::lint;
use super::lint_cache::Cache;
use super::rust::check_rust;
use super::sections::{SqlFile, parse_sections};
use super::{Body, Checks, Diagnostics, Parsed, Revision, checksum, normalise};

/// Parses one revision file. `file_name` is the bare name
/// (`001_add_api_keys.sql`), `path` how messages name it
/// (`migrations/001_add_api_keys.sql`), `contents` the raw text (normalised
/// here). Returns `None` when the file is too broken to yield a revision (a
/// bad file name, or no `Revision ID`); every problem is in `diagnostics`
/// either way. Every check is on, and the revision is taken as not released
/// (see [`super::load_revisions_with`] for a directory's `released.sum`).
pub fn parse_file(
    file_name: &str,
    path: &str,
    contents: &str,
    diagnostics: &mut Diagnostics,
) -> Option<Parsed> {
    let (checks, mut cache) = (Checks::default(), Cache::default());
    parse_file_with(
        file_name,
        path,
        contents,
        &checks,
        false,
        &mut cache,
        diagnostics,
    )
}

/// [`parse_file`] of a revision listed in `released.sum` (see
/// [`parse_file_with`]): what `import diesel` checks before it writes.
pub(crate) fn parse_released_file(
    file_name: &str,
    path: &str,
    contents: &str,
    diagnostics: &mut Diagnostics,
) -> Option<Parsed> {
    let (checks, mut cache) = (Checks::default(), Cache::default());
    parse_file_with(
        file_name,
        path,
        contents,
        &checks,
        true,
        &mut cache,
        diagnostics,
    )
}

/// [`parse_file`] with the checks of `checks`; a `released` revision (listed
/// in `released.sum`) is exempt from the destructive, online-safety and
/// identifier-length rules: it already ran where it was released.
/// Lint findings of section texts seen before come from `cache`.
pub(super) fn parse_file_with(
    file_name: &str,
    path: &str,
    contents: &str,
    checks: &Checks,
    released: bool,
    cache: &mut Cache,
    diagnostics: &mut Diagnostics,
) -> Option<Parsed> {
    let name = check_file_name(file_name, path, diagnostics)?;
    let text = normalise(contents);
    let prefix = match name.kind {
        FileKind::Sql => "--",
        FileKind::Rust => "//!",
    };
    let sum = checksum(&text);
    let (lines, header_end) = split_header(&text, prefix);
    let cx = Context {
        path,
        rev: name.rev,
        prefix,
    };
    let header = parse_header(&lines, &cx, diagnostics);
    let body = match name.kind {
        FileKind::Sql => {
            let file = SqlFile {
                text: &text,
                header_end,
                path,
                allow_destructive: header.allow_destructive || released,
                released,
            };
            let sections = parse_sections(&file, diagnostics);
            let revision = lint::Revision {
                path,
                id: name.rev,
                checksum: &sum,
                transactional: header.transactional,
                allowed: &header.allowed,
                online: checks.postgres_lint && !released,
            };
            lint::check(&revision, &sections, cache, diagnostics);
            Body::Sql(Cow::Owned(sections))
        }
        FileKind::Rust => {
            check_rust(&text, file_name, path, diagnostics);
            Body::Rust
        }
    };
    let id_line = header.id_line?;
    let revision = Revision {
        id: Cow::Owned(name.rev.to_owned()),
        slug: Cow::Owned(name.slug.to_owned()),
        file_name: Cow::Owned(file_name.to_owned()),
        message: Cow::Owned(header.message.unwrap_or_else(|| name.slug.to_owned())),
        description: Cow::Owned(header.description),
        revises: header.revises.into_iter().map(Cow::Owned).collect(),
        create_date: header.create_date.map(Cow::Owned),
        transactional: header.transactional,
        timeout: header.timeout,
        allow_destructive: header.allow_destructive,
        body,
        checksum: Cow::Owned(sum),
    };
    Some(Parsed {
        revision,
        path: path.to_owned(),
        id_line,
        revises_line: header.revises_line,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{BackendKind, Direction, Rule, Section};

    const HEADER: &str = "-- Add api_keys table\n--\n-- Revision ID: 001\n-- Revises:\n-- Create Date: 2024-01-01 00:00:00\n\n";

    fn parse(file_name: &str, contents: &str) -> (Option<Parsed>, Diagnostics) {
        let mut diagnostics = Diagnostics::new();
        let parsed = parse_file(
            file_name,
            &format!("m/{file_name}"),
            contents,
            &mut diagnostics,
        );
        (parsed, diagnostics)
    }

    fn sql(body: &str) -> (Option<Parsed>, Diagnostics) {
        parse("001_add_api_keys.sql", &format!("{HEADER}{body}"))
    }

    /// (line, rule) of every problem, in report order.
    fn problems(diagnostics: &Diagnostics) -> Vec<(Option<u32>, Rule)> {
        diagnostics.iter().map(|d| (d.line, d.rule)).collect()
    }

    fn sections(parsed: &Parsed) -> &[Section] {
        match &parsed.revision.body {
            Body::Sql(sections) => sections,
            Body::Rust => panic!("not SQL"),
        }
    }

    #[test]
    fn a_valid_sql_revision_with_backend_sections_and_noop() {
        let (parsed, diagnostics) = sql("-- migrate:upgrade\nCREATE TABLE api_keys (id INT);\n\n\
             -- migrate:upgrade sqlite\nCREATE TABLE api_keys (id INTEGER);\n\
             -- migrate:downgrade\n-- migrate:noop\n");
        assert!(diagnostics.is_empty(), "{diagnostics}");
        let parsed = parsed.expect("parsed");
        assert_eq!(parsed.id_line, 3);
        assert_eq!(parsed.revises_line, Some(4));
        let revision = &parsed.revision;
        assert_eq!(revision.id, "001");
        assert_eq!(revision.slug, "add_api_keys");
        assert_eq!(revision.message, "Add api_keys table");
        assert_eq!(revision.description, "");
        assert!(revision.revises.is_empty());
        assert_eq!(revision.create_date.as_deref(), Some("2024-01-01 00:00:00"));
        assert!(revision.transactional);
        assert_eq!(revision.checksum.len(), 64);
        assert_eq!(
            sections(&parsed),
            [
                Section {
                    direction: Direction::Upgrade,
                    backend: None,
                    sql: "CREATE TABLE api_keys (id INT);".into(),
                    noop: false,
                    line: 7,
                },
                Section {
                    direction: Direction::Upgrade,
                    backend: Some(BackendKind::Sqlite),
                    sql: "CREATE TABLE api_keys (id INTEGER);".into(),
                    noop: false,
                    line: 10,
                },
                Section {
                    direction: Direction::Downgrade,
                    backend: None,
                    sql: "-- migrate:noop".into(),
                    noop: true,
                    line: 12,
                },
            ]
        );
        assert_eq!(
            revision.sql(Direction::Upgrade, BackendKind::Postgres),
            Some("CREATE TABLE api_keys (id INT);")
        );
        assert_eq!(
            revision.sql(Direction::Upgrade, BackendKind::Sqlite),
            Some("CREATE TABLE api_keys (id INTEGER);")
        );
        assert_eq!(
            revision.sql(Direction::Downgrade, BackendKind::Mysql),
            Some("")
        );
    }

    #[test]
    fn section_sql_is_kept_as_written() {
        let body = "-- migrate:upgrade\n\n  CREATE TABLE t (\n    a INT -- note\n  );\n\n\n-- migrate:downgrade\nDROP TABLE t;";
        let (parsed, diagnostics) = sql(body);
        assert!(diagnostics.is_empty(), "{diagnostics}");
        let parsed = parsed.expect("parsed");
        assert_eq!(
            sections(&parsed)[0].sql,
            "\n  CREATE TABLE t (\n    a INT -- note\n  );"
        );
        assert_eq!(sections(&parsed)[1].sql, "DROP TABLE t;");
    }

    #[test]
    fn crlf_file_parses_and_hashes_like_lf() {
        let lf =
            format!("{HEADER}-- migrate:upgrade\nSELECT 1;\n-- migrate:downgrade\nSELECT 2;\n");
        let crlf = format!("\u{feff}{}", lf.replace('\n', "\r\n"));
        let (a, da) = parse("001_add_api_keys.sql", &lf);
        let (b, db) = parse("001_add_api_keys.sql", &crlf);
        assert!(da.is_empty() && db.is_empty(), "{da}{db}");
        assert_eq!(a, b);
        assert_eq!(a.expect("parsed").revision.checksum, checksum(&lf));
    }

    #[test]
    fn slug_stands_in_for_a_missing_message() {
        let (parsed, diagnostics) = parse(
            "002_more.sql",
            "-- Revision ID: 002\n-- Revises: 001\n-- Transaction: false\n-- Timeout: 5m\n-- migrate:upgrade\nSELECT 1;\n-- migrate:downgrade\nSELECT 1;\n",
        );
        assert!(diagnostics.is_empty(), "{diagnostics}");
        let revision = parsed.expect("parsed").revision;
        assert_eq!(revision.message, "more");
        assert!(revision.parents().eq(["001"]));
        assert!(!revision.transactional);
        assert_eq!(revision.timeout, Some(std::time::Duration::from_secs(300)));
    }

    #[test]
    fn a_valid_rust_revision() {
        let text = "//! Backfill the key prefix column\n//!\n//! Fills `prefix` from `key_hash`.\n//!\n//! Revision ID: ae1027a6acf\n//! Revises: 003\n//! Create Date: 2024-03-01\n\nuse migrator_runtime::{MigrationContext, RevisionResult};\n\npub fn upgrade(db: &mut MigrationContext<'_>) -> RevisionResult {\n    Ok(())\n}\n\npub fn downgrade(db: &mut MigrationContext<'_>) -> RevisionResult {\n    Ok(())\n}\n";
        let (parsed, diagnostics) = parse("ae1027a6acf_backfill_prefix.rs", text);
        assert!(diagnostics.is_empty(), "{diagnostics}");
        let parsed = parsed.expect("parsed");
        assert_eq!(parsed.id_line, 5);
        let revision = parsed.revision;
        assert!(revision.is_rust());
        assert_eq!(revision.message, "Backfill the key prefix column");
        assert_eq!(revision.description, "Fills `prefix` from `key_hash`.");
        assert!(revision.parents().eq(["003"]));
        assert_eq!(revision.create_date.as_deref(), Some("2024-03-01"));
    }

    #[test]
    fn rust_revision_problems() {
        let (parsed, diagnostics) = parse(
            "004_x.rs",
            "//! Revision ID: 004\n//! Revises: 003\n\npub fn upgrade(db: &mut u8) {}\n",
        );
        assert!(parsed.is_some());
        assert_eq!(problems(&diagnostics), [(None, Rule::MissingDowngrade)]);
        assert!(diagnostics.to_string().contains(
            "m/004_x.rs: `004_x.rs` has no `pub fn downgrade` [missing-downgrade]\n  help: add `pub fn downgrade(db: &mut migrator_runtime::MigrationContext<'_>) -> migrator_runtime::RevisionResult` at the top level of the file"
        ));
        let (_, diagnostics) = parse("004_x.rs", "//! Revision ID: 004\n//! Revises: 003\nfn (");
        assert_eq!(problems(&diagnostics), [(Some(3), Rule::RustRevision)]);
    }

    #[test]
    fn bad_file_name_yields_nothing() {
        let (parsed, diagnostics) = parse("add-keys.sql", HEADER);
        assert!(parsed.is_none());
        assert_eq!(problems(&diagnostics), [(None, Rule::BadFileName)]);
        assert_eq!(
            diagnostics.to_string(),
            "m/add-keys.sql: file name `add-keys.sql` is not of the form `<rev>_<slug>.sql` [bad-file-name]\n  help: rename it to `<rev>_<slug>.sql`, where `<rev>` is 1 to 64 letters or digits and `<slug>` letters, digits or `_`, e.g. `001_add_api_keys.sql`"
        );
    }

    #[test]
    fn missing_revision_id_yields_nothing() {
        let (parsed, diagnostics) = parse(
            "001_x.sql",
            "-- Revises:\n-- migrate:upgrade\nSELECT 1;\n-- migrate:downgrade\nSELECT 1;\n",
        );
        assert!(parsed.is_none());
        assert_eq!(problems(&diagnostics), [(Some(1), Rule::MissingField)]);
    }

    #[test]
    fn mismatched_revision_id_keeps_the_file_name_id() {
        let (parsed, diagnostics) = parse(
            "001_x.sql",
            "-- Revision ID: 002\n-- Revises:\n-- migrate:upgrade\nSELECT 1;\n-- migrate:downgrade\nSELECT 1;\n",
        );
        assert_eq!(parsed.expect("parsed").revision.id, "001");
        assert_eq!(problems(&diagnostics), [(Some(1), Rule::BadFieldValue)]);
    }

    #[test]
    fn unknown_directive_suggests_the_closest() {
        let (_, diagnostics) =
            sql("-- migrate:upgrade\nSELECT 1;\n-- migrate:downgarde\nSELECT 1;\n");
        // Which section was meant is unknowable: no missing-downgrade on top.
        assert_eq!(problems(&diagnostics), [(Some(9), Rule::UnknownDirective)]);
        assert!(diagnostics.to_string().contains(
            "m/001_add_api_keys.sql:9: unknown directive `-- migrate:downgarde` [unknown-directive]\n  help: did you mean `-- migrate:downgrade`?"
        ));
        let (_, diagnostics) = sql(
            "-- migrate:noop\n-- migrate:upgrade\nSELECT 1;\n-- migrate:downgrade\nSELECT 1;\n",
        );
        assert_eq!(problems(&diagnostics), [(Some(7), Rule::UnknownDirective)]);
    }

    #[test]
    fn unknown_backend() {
        let (_, diagnostics) = sql(
            "-- migrate:upgrade postgresql\nSELECT 1;\n-- migrate:downgrade\nSELECT 1;\n-- migrate:upgrade postgres sqlite\nSELECT 1;\n",
        );
        assert_eq!(
            problems(&diagnostics),
            [
                (Some(7), Rule::UnknownBackend),
                (Some(11), Rule::UnknownBackend)
            ]
        );
        let text = diagnostics.to_string();
        assert!(
            text.contains(
                "unknown backend `postgresql` [unknown-backend]\n  help: did you mean `postgres`?"
            ),
            "{text}"
        );
        assert!(
            text.contains("`-- migrate:upgrade` takes one backend, not `postgres sqlite`"),
            "{text}"
        );
    }

    #[test]
    fn duplicate_section_points_at_the_second() {
        let (parsed, diagnostics) = sql(
            "-- migrate:upgrade mysql\nSELECT 1;\n-- migrate:downgrade mysql\nSELECT 1;\n-- migrate:upgrade mysql\nSELECT 2;\n",
        );
        assert_eq!(problems(&diagnostics), [(Some(11), Rule::DuplicateSection)]);
        assert!(
            diagnostics
                .to_string()
                .contains("`-- migrate:upgrade mysql` section appears twice (first on line 7)")
        );
        assert_eq!(sections(&parsed.expect("parsed")).len(), 2);
    }

    #[test]
    fn sql_before_the_first_section() {
        let (_, diagnostics) = sql(
            "/* fine */\n-- fine\nCREATE TABLE t (a INT);\n-- migrate:upgrade\nSELECT 1;\n-- migrate:downgrade\nSELECT 1;\n",
        );
        assert_eq!(problems(&diagnostics), [(Some(9), Rule::SqlBeforeSection)]);
    }

    #[test]
    fn empty_sections_and_noop_contradictions() {
        let (_, diagnostics) = sql(
            "-- migrate:upgrade\n-- just a comment\n;\n-- migrate:downgrade\n-- migrate:noop\nSELECT 1;\n",
        );
        assert_eq!(
            problems(&diagnostics),
            [
                (Some(7), Rule::EmptySection),
                (Some(11), Rule::EmptySection)
            ]
        );
        let text = diagnostics.to_string();
        assert!(text.contains("`-- migrate:upgrade` section has no SQL statement [empty-section]\n  help: write its SQL, or add `-- migrate:noop` under it if there is nothing to do on purpose"), "{text}");
        assert!(text.contains("`-- migrate:downgrade` section holds both `-- migrate:noop` and SQL statements, which contradict"), "{text}");
    }

    #[test]
    fn no_section_at_all() {
        let (parsed, diagnostics) = sql("");
        assert!(parsed.is_some());
        assert_eq!(problems(&diagnostics), [(None, Rule::EmptySection)]);
        assert!(
            diagnostics
                .to_string()
                .contains("no `-- migrate:upgrade` section")
        );
    }

    #[test]
    fn missing_downgrades_per_backend() {
        let (_, diagnostics) = sql("-- migrate:upgrade\nCREATE TABLE t (a INT);\n");
        assert_eq!(problems(&diagnostics), [(Some(7), Rule::MissingDowngrade)]);
        assert_eq!(
            diagnostics.to_string(),
            "m/001_add_api_keys.sql:7: upgrade section has no downgrade [missing-downgrade]\n  help: add a `-- migrate:downgrade` section to undo the upgrade (with `-- migrate:noop` if there is nothing to undo)"
        );

        let (_, diagnostics) = sql(
            "-- migrate:upgrade\nSELECT 1;\n-- migrate:upgrade postgres\nSELECT 1;\n-- migrate:downgrade sqlite\nSELECT 1;\n",
        );
        let text = diagnostics.to_string();
        assert_eq!(
            problems(&diagnostics),
            [
                (Some(7), Rule::MissingDowngrade),
                (Some(9), Rule::MissingDowngrade)
            ]
        );
        assert!(
            text.contains(":7: upgrade section has no downgrade for `mysql`"),
            "{text}"
        );
        assert!(
            text.contains(":9: upgrade section for `postgres` has no downgrade"),
            "{text}"
        );
        assert!(
            text.contains("add a `-- migrate:downgrade postgres` section"),
            "{text}"
        );

        let (_, diagnostics) =
            sql("-- migrate:upgrade postgres\nSELECT 1;\n-- migrate:downgrade\nSELECT 1;\n");
        assert_eq!(problems(&diagnostics), [(Some(9), Rule::MissingDowngrade)]);
        assert!(
            diagnostics
                .to_string()
                .contains("downgrade section has no upgrade for `sqlite` and `mysql`")
        );
    }

    #[test]
    fn destructive_upgrades_are_flagged_at_their_line() {
        let (_, diagnostics) = sql(
            "-- migrate:upgrade\nSELECT 1;\nALTER TABLE api_keys\n    DROP COLUMN key_hash;\nDROP TABLE old;\n-- migrate:downgrade\nDROP TABLE api_keys;\n",
        );
        assert_eq!(
            problems(&diagnostics),
            [(Some(10), Rule::Destructive), (Some(11), Rule::Destructive)]
        );
        let text = diagnostics.to_string();
        assert!(text.contains(
            "m/001_add_api_keys.sql:10: upgrade drops column `key_hash` of table `api_keys` [destructive-upgrade]\n  help: if losing this data is intended, add `-- Allow: destructive` to the header (or `destructive` to its `Allow:` list); otherwise move it to the downgrade"
        ), "{text}");
        assert!(text.contains(":11: upgrade drops table `old`"), "{text}");
    }

    #[test]
    fn destructive_check_skips_what_is_not_a_statement_and_allowed_files() {
        let body = "-- migrate:upgrade\n-- DROP TABLE x;\nSELECT 'drop table x';\nALTER TABLE t DROP CONSTRAINT c;\nCREATE FUNCTION f() RETURNS void AS $$\n  DROP TABLE x;\n$$ LANGUAGE sql;\n-- migrate:downgrade\nDROP TABLE t;\n";
        let (_, diagnostics) = sql(body);
        assert!(diagnostics.is_empty(), "{diagnostics}");
        let (_, diagnostics) = parse(
            "001_x.sql",
            "-- Revision ID: 001\n-- Revises:\n-- Allow: destructive\n-- migrate:upgrade\nDROP TABLE x;\n-- migrate:downgrade\n-- migrate:noop\n",
        );
        assert!(diagnostics.is_empty(), "{diagnostics}");
    }

    #[test]
    fn every_problem_of_a_file_is_reported() {
        let (parsed, diagnostics) = parse(
            "003_x.sql",
            "-- Revison ID: 003\n-- Revision ID: 003\n-- Timeout: soon\nSELECT 1;\n-- migrate:upgrade sqlite\nTRUNCATE t;\n-- migrate:upgarde\n-- migrate:downgrade oracle\n",
        );
        assert!(parsed.is_some());
        assert_eq!(
            problems(&diagnostics),
            [
                (Some(1), Rule::MisspeltField),
                (Some(3), Rule::BadFieldValue),
                (Some(1), Rule::MissingField),
                (Some(7), Rule::UnknownDirective),
                (Some(8), Rule::UnknownBackend),
                (Some(4), Rule::SqlBeforeSection),
                (Some(6), Rule::Destructive),
            ]
        );
    }

    #[test]
    fn never_panics_on_odd_input() {
        for text in [
            "",
            "\u{feff}",
            "\r",
            "--",
            "-- migrate:",
            "-- migrate:upgrade\n'",
            "-- migrate:upgrade\n$a$",
            "-- migrate:upgrade\n/*",
            "-- migrate:upgrade\nALTER TABLE",
            "-- migrate:upgrade\nALTER TABLE t DROP",
            "-- migrate:upgrade\nDROP TABLE \"",
            "-- migrate:upgrade\nE'\\",
            "-- Revision ID:\n-- Revises: ,,\n-- Timeout: 99999999999999999999999h\n",
            "-- é: ü\n-- Révision ID: 001\n",
        ] {
            let _ = parse("001_x.sql", text);
            let _ = parse("001_x.rs", text);
        }
    }
}
