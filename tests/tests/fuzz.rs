//! Property tests of the FORMAT.md parser (`model::parse_file`) and of the
//! graph checks (`model::load_dir`): they never panic, every input either
//! parses or yields diagnostics, and every diagnostic about a line of the
//! file carries a line number inside the file.
//!
//! Inputs: arbitrary strings; lines drawn from the format's own vocabulary;
//! near-valid files (a valid header and sections, then random mutations:
//! dropped, duplicated, swapped and inserted lines, random directives and
//! tags, truncation, CRLF / CR endings, a BOM, unicode, dollar quotes,
//! MySQL's own syntax in `mysql` sections (backtick identifiers, `#`
//! comments, `/*! … */`, backslash escapes),
//! unterminated comments and strings); small random directories.
//!
//! `MIGRATOR_FUZZ_CASES` sets the cases per property (default 2 000; the
//! directory property runs a tenth of them, at least 200). See
//! docs/RELIABILITY.md for the full run.

use std::collections::BTreeMap;
use std::path::Path;

use migrator_core::model::{Body, Diagnostics, Parsed, Rule, normalise, parse_file};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

fn cases() -> u32 {
    std::env::var("MIGRATOR_FUZZ_CASES")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(2_000)
}

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        // Failures are reported with their minimal input; nothing is written
        // into the source tree.
        failure_persistence: None,
        max_shrink_iters: 10_000,
        ..ProptestConfig::default()
    }
}

/// Rules that are always about one line of the file, so their diagnostics
/// must say which.
const LINE_RULES: [Rule; 8] = [
    Rule::DuplicateField,
    Rule::MisspeltField,
    Rule::BadFieldValue,
    Rule::UnknownDirective,
    Rule::UnknownBackend,
    Rule::DuplicateSection,
    Rule::SqlBeforeSection,
    Rule::Destructive,
];

/// Parses `contents` as `file_name` and checks the invariants; returns what
/// was parsed and reported.
fn check(file_name: &str, contents: &str) -> Result<(Option<Parsed>, Diagnostics), TestCaseError> {
    let path = format!("m/{file_name}");
    let mut diagnostics = Diagnostics::new();
    let parsed = parse_file(file_name, &path, contents, &mut diagnostics);
    prop_assert!(
        parsed.is_some() || !diagnostics.is_empty(),
        "neither a revision nor a diagnostic for {file_name:?}: {contents:?}"
    );
    let lines = u32::try_from(normalise(contents).lines().count()).unwrap_or(u32::MAX);
    let in_file = |n: u32| (1..=lines.saturating_add(1)).contains(&n);
    for d in &diagnostics {
        prop_assert_eq!(&d.file, &path);
        prop_assert!(!d.message.is_empty(), "empty message: {d:?}");
        if LINE_RULES.contains(&d.rule) {
            prop_assert!(d.line.is_some(), "no line for {d:?}\nin {contents:?}");
        }
        if let Some(n) = d.line {
            prop_assert!(
                in_file(n),
                "line {n} outside the file's {lines} line(s): {d:?}\nin {contents:?}"
            );
        }
        // Display never panics and names the file.
        prop_assert!(d.to_string().starts_with(&path));
    }
    if let Some(p) = &parsed {
        prop_assert!(in_file(p.id_line), "id_line {} of {lines}", p.id_line);
        if let Some(line) = p.revises_line {
            prop_assert!(in_file(line), "revises_line {line} of {lines}");
        }
        prop_assert_eq!(p.revision.checksum.len(), 64);
        let prefix = format!("{}_", p.revision.id);
        prop_assert!(
            file_name.starts_with(&prefix),
            "{file_name} is not {prefix}…"
        );
        if let Body::Sql(sections) = &p.revision.body {
            for s in sections.iter() {
                prop_assert!(in_file(s.line), "section line {} of {lines}", s.line);
            }
        }
    }
    // Parsing is deterministic.
    let mut again = Diagnostics::new();
    let reparsed = parse_file(file_name, &path, contents, &mut again);
    prop_assert_eq!(&reparsed, &parsed);
    prop_assert_eq!(&again, &diagnostics);
    Ok((parsed, diagnostics))
}

// ---------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------

fn file_name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => Just("001_add_things.sql".to_owned()),
        2 => Just("001_backfill.rs".to_owned()),
        1 => "[0-9a-zA-Z]{1,6}_[0-9a-zA-Z_]{1,8}\\.(sql|rs)",
        1 => "[0-9a-zA-Z_.\\-]{0,14}",
        1 => "\\PC{0,10}",
    ]
}

/// Pieces of the format and of SQL, glued into lines.
const VOCABULARY: &[&str] = &[
    "--",
    "-- ",
    "//!",
    "//! ",
    "-- migrate:",
    "migrate:",
    "upgrade",
    "downgrade",
    "noop",
    "postgres",
    "sqlite",
    "mysql",
    "oracle",
    "Revision ID:",
    "Revises:",
    "Create Date:",
    "Transaction:",
    "Timeout:",
    "Allow:",
    "destructive",
    "true",
    "false",
    "30s",
    "5m",
    "250ms",
    "2024-01-01",
    "2024-13-45 25:61:61",
    "001",
    "002",
    ",",
    ", ",
    ":",
    " ",
    "\t",
    "$$",
    "$tag$",
    "$",
    "'",
    "''",
    "\"",
    "/*",
    "*/",
    ";",
    "E'\\''",
    "DROP",
    "TABLE",
    "TRUNCATE",
    "COLUMN",
    "SCHEMA",
    "DATABASE",
    "CREATE",
    "ALTER",
    "IF EXISTS",
    "users",
    "x",
    "(",
    ")",
    "{",
    "}",
    "pub fn upgrade",
    "pub fn downgrade",
    "(db: &mut Ctx)",
    "fn",
    "mod",
    "\u{feff}",
    "\r",
    "é",
    "漢字",
    "🦀",
    "\u{2028}",
    "\u{0}",
    "Revison ID:",
    "Revices:",
    "REVISION id:",
];

fn vocabulary_line() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(VOCABULARY), 0..8).prop_map(|parts| parts.concat())
}

/// Lines that can be dropped into a section (or anywhere).
const SQL_LINES: &[&str] = &[
    "CREATE TABLE things (id INTEGER NOT NULL PRIMARY KEY, name VARCHAR(40));",
    "INSERT INTO things (id, name) VALUES (1, 'a;b -- not a comment');",
    "SELECT $$ DROP TABLE things; $$;",
    "SELECT $fn$ it's $$ nested $fn$;",
    "CREATE FUNCTION f() RETURNS int AS $body$",
    "  SELECT 1; -- inside the body",
    "$body$ LANGUAGE sql;",
    "/* a comment that never ends",
    "a comment that ends */",
    "/* DROP TABLE things; */",
    "'an unterminated string",
    "\"an unterminated identifier",
    "$unterminated$ dollar quote",
    "-- migrate:noop",
    "-- migrate:upgrade",
    "-- migrate:downgrade",
    "-- migrate:upgrade postgres",
    "-- migrate:downgrade sqlite",
    "-- migrate:upgrade mysql",
    "-- migrate:upgrade oracle",
    "-- migrate:upgarde",
    "-- migrate:",
    "-- Revision ID: 001",
    "-- Revises: 000",
    "-- Timeout: forever",
    "DROP TABLE things;",
    "TRUNCATE things;",
    "ALTER TABLE things DROP COLUMN name;",
    "drop   table\tthings;",
    "DROP INDEX things_name;",
    "CREATE INDEX things_name ON things (name);",
    "UPDATE things SET name = 'é 漢字 🦀' WHERE id = 1;",
    // MySQL's own syntax, for `mysql` sections.
    "CREATE TABLE `things` (`id` INT NOT NULL AUTO_INCREMENT PRIMARY KEY) ENGINE=InnoDB;",
    "SELECT `DROP TABLE things` FROM `things`;",
    "INSERT INTO things (name) VALUES ('it\\'s; DROP TABLE things');",
    "# a MySQL comment; DROP TABLE things;",
    "/*!50503 SET NAMES utf8mb4 */;",
    "DELIMITER //",
    "DO SLEEP(0.1);",
    "`an unterminated backtick identifier",
    "",
    "   ",
    "\t-- indented comment",
];

fn sql_line() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => prop::sample::select(SQL_LINES).prop_map(str::to_owned),
        2 => vocabulary_line(),
        1 => "\\PC{0,30}",
        1 => "-- migrate:[a-z]{0,10}( [a-z]{0,8})?",
    ]
}

/// A valid SQL revision `001`, as lines.
fn valid_sql_lines() -> impl Strategy<Value = Vec<String>> {
    (
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        prop::option::of(prop::sample::select(&["postgres", "sqlite", "mysql"][..])),
    )
        .prop_map(|(message, date, transaction, timeout, tagged)| {
            let mut lines = Vec::new();
            if message {
                lines.push("-- Add things".to_owned());
                lines.push("--".to_owned());
                lines.push("-- A longer description, with unicode: é 漢字 🦀".to_owned());
                lines.push("--".to_owned());
            }
            lines.push("-- Revision ID: 001".to_owned());
            lines.push("-- Revises:".to_owned());
            if date {
                lines.push("-- Create Date: 2024-01-01 00:00:00".to_owned());
            }
            if transaction {
                lines.push("-- Transaction: false".to_owned());
            }
            if timeout {
                lines.push("-- Timeout: 30s".to_owned());
            }
            lines.push(String::new());
            lines.push("-- migrate:upgrade".to_owned());
            lines.push(SQL_LINES[0].to_owned());
            lines.push(SQL_LINES[1].to_owned());
            lines.push(SQL_LINES[2].to_owned());
            lines.push(String::new());
            lines.push("-- migrate:downgrade".to_owned());
            lines.push("DROP TABLE things;".to_owned());
            if let Some(tag) = tagged {
                lines.push(String::new());
                lines.push(format!("-- migrate:upgrade {tag}"));
                lines.push(if tag == "mysql" {
                    "CREATE TABLE `things` (`id` INT, `drop` INT) ENGINE=InnoDB;".to_owned()
                } else {
                    "CREATE TABLE things (id INTEGER);".to_owned()
                });
                lines.push(format!("-- migrate:downgrade {tag}"));
                lines.push("-- migrate:noop".to_owned());
            }
            lines
        })
}

/// A valid Rust revision `001`, as lines.
fn valid_rust_lines() -> Vec<String> {
    [
        "//! Backfill things",
        "//!",
        "//! Revision ID: 001",
        "//! Revises:",
        "//! Create Date: 2024-03-01",
        "",
        "use migrator_runtime::{MigrationContext, RevisionResult};",
        "",
        "pub fn upgrade(db: &mut MigrationContext<'_>) -> RevisionResult {",
        "    db.execute(\"UPDATE things SET name = 'x'\")?;",
        "    Ok(())",
        "}",
        "",
        "pub fn downgrade(db: &mut MigrationContext<'_>) -> RevisionResult {",
        "    Ok(())",
        "}",
    ]
    .iter()
    .map(|l| (*l).to_owned())
    .collect()
}

/// One change to a file's lines.
#[derive(Debug, Clone)]
enum Mutation {
    Drop(usize),
    Duplicate(usize),
    Swap(usize, usize),
    Insert(usize, String),
    Replace(usize, String),
    /// Cut the line at a character.
    Cut(usize, usize),
    /// Append text to the line.
    Append(usize, String),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let at = any::<usize>();
    prop_oneof![
        at.prop_map(Mutation::Drop),
        at.prop_map(Mutation::Duplicate),
        (at, any::<usize>()).prop_map(|(a, b)| Mutation::Swap(a, b)),
        (at, sql_line()).prop_map(|(a, l)| Mutation::Insert(a, l)),
        (at, sql_line()).prop_map(|(a, l)| Mutation::Replace(a, l)),
        (at, any::<usize>()).prop_map(|(a, c)| Mutation::Cut(a, c)),
        (at, prop::sample::select(VOCABULARY)).prop_map(|(a, t)| Mutation::Append(a, t.to_owned())),
    ]
}

fn apply(lines: &mut Vec<String>, mutation: &Mutation) {
    if lines.is_empty() {
        if let Mutation::Insert(_, l) | Mutation::Replace(_, l) = mutation {
            lines.push(l.clone());
        }
        return;
    }
    let n = lines.len();
    match mutation {
        Mutation::Drop(i) => {
            lines.remove(i % n);
        }
        Mutation::Duplicate(i) => {
            let line = lines[i % n].clone();
            lines.insert(i % n, line);
        }
        Mutation::Swap(a, b) => lines.swap(a % n, b % n),
        Mutation::Insert(i, l) => lines.insert(i % (n + 1), l.clone()),
        Mutation::Replace(i, l) => lines[i % n] = l.clone(),
        Mutation::Cut(i, c) => {
            let line = &mut lines[i % n];
            let chars = line.chars().count();
            *line = line.chars().take(c % (chars + 1)).collect();
        }
        Mutation::Append(i, t) => lines[i % n].push_str(t),
    }
}

/// How lines are joined into a file.
#[derive(Debug, Clone, Copy)]
struct Layout {
    ending: &'static str,
    bom: bool,
    trailing: bool,
}

fn layout() -> impl Strategy<Value = Layout> {
    (
        prop::sample::select(&["\n", "\r\n", "\r"][..]),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(ending, bom, trailing)| Layout {
            ending,
            bom,
            trailing,
        })
}

fn join(lines: &[String], layout: Layout) -> String {
    let mut text = String::new();
    if layout.bom {
        text.push('\u{feff}');
    }
    text.push_str(&lines.join(layout.ending));
    if layout.trailing {
        text.push_str(layout.ending);
    }
    text
}

// ---------------------------------------------------------------------------
// Properties of one file
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(config(cases()))]

    /// Anything at all.
    #[test]
    fn arbitrary_text_never_panics(name in file_name(), contents in any::<String>()) {
        check(&name, &contents)?;
    }

    /// Printable text and control characters, long enough to hold a header.
    #[test]
    fn arbitrary_lines_never_panic(
        name in file_name(),
        lines in prop::collection::vec("\\PC{0,40}|[\\x00-\\x1f]{0,4}", 0..30),
        layout in layout(),
    ) {
        check(&name, &join(&lines, layout))?;
    }

    /// Lines made of the format's own words.
    #[test]
    fn format_vocabulary_never_panics(
        name in file_name(),
        lines in prop::collection::vec(vocabulary_line(), 0..30),
        layout in layout(),
    ) {
        check(&name, &join(&lines, layout))?;
    }

    /// A valid SQL revision with up to 5 random mutations.
    #[test]
    fn near_valid_sql_files(
        mut lines in valid_sql_lines(),
        mutations in prop::collection::vec(mutation(), 0..6),
        layout in layout(),
    ) {
        let pristine = mutations.is_empty();
        for m in &mutations {
            apply(&mut lines, m);
        }
        let (parsed, diagnostics) = check("001_add_things.sql", &join(&lines, layout))?;
        if pristine {
            prop_assert!(diagnostics.is_empty(), "{diagnostics}");
            prop_assert!(parsed.is_some());
        }
    }

    /// A valid Rust revision with up to 5 random mutations.
    #[test]
    fn near_valid_rust_files(
        mutations in prop::collection::vec(mutation(), 0..6),
        layout in layout(),
    ) {
        let mut lines = valid_rust_lines();
        let pristine = mutations.is_empty();
        for m in &mutations {
            apply(&mut lines, m);
        }
        let (parsed, diagnostics) = check("001_backfill.rs", &join(&lines, layout))?;
        if pristine {
            prop_assert!(diagnostics.is_empty(), "{diagnostics}");
            prop_assert!(parsed.is_some());
        }
    }

    /// Line endings and a BOM change nothing: same revision, same checksum.
    #[test]
    fn line_endings_and_a_bom_change_nothing(lines in valid_sql_lines(), layout in layout()) {
        let plain = join(&lines, Layout { ending: "\n", bom: false, trailing: layout.trailing });
        let (reference, d) = check("001_add_things.sql", &plain)?;
        prop_assert!(d.is_empty(), "{d}");
        let (other, d) = check("001_add_things.sql", &join(&lines, layout))?;
        prop_assert!(d.is_empty(), "{d}");
        prop_assert_eq!(other, reference);
    }

    /// `DROP TABLE` inside strings, comments, quoted identifiers and dollar
    /// quotes is no statement; the same file with a real one is destructive.
    #[test]
    fn destructive_words_in_literals_are_not_statements(
        body in prop::collection::vec(prop::sample::select(INERT_DROPS), 1..8),
        layout in layout(),
    ) {
        let head = "-- Inert\n--\n-- Revision ID: 001\n-- Revises:\n\n-- migrate:upgrade\n\
                    CREATE TABLE users (id INTEGER);\n";
        let tail = "\n\n-- migrate:downgrade\n-- migrate:noop\n";
        let text = format!("{head}{}{tail}", body.join("\n"));
        let text = join(&text.lines().map(str::to_owned).collect::<Vec<_>>(), layout);
        let (_, d) = check("001_inert.sql", &text)?;
        prop_assert!(d.is_empty(), "{d}\nin {text:?}");
        let text = format!("{head}{}\nDROP TABLE users;{tail}", body.join("\n"));
        let (_, d) = check("001_inert.sql", &text)?;
        let rules: Vec<Rule> = d.iter().map(|d| d.rule).collect();
        prop_assert_eq!(rules, vec![Rule::Destructive], "in {:?}", text);
    }
}

/// Statements and fragments in which `DROP` appears only inside a literal,
/// a comment or a quoted identifier; each is complete (closes what it opens).
const INERT_DROPS: &[&str] = &[
    "SELECT 'DROP TABLE users';",
    "SELECT 'it''s; DROP TABLE users';",
    "-- DROP TABLE users;",
    "SELECT 1; -- DROP TABLE users;",
    "/* DROP TABLE users; */",
    "/* several\nlines DROP TABLE users;\n*/",
    "SELECT $$ DROP TABLE users; $$;",
    "SELECT $fn$ DROP TABLE users; $$ still inside $fn$;",
    "CREATE FUNCTION f() RETURNS void AS $body$\nBEGIN\n  TRUNCATE users;\nEND\n$body$ LANGUAGE plpgsql;",
    "SELECT \"DROP TABLE users\" FROM t;",
    "CREATE TABLE dropped (id INTEGER);",
    "INSERT INTO t (note) VALUES ('truncate; drop schema x');",
    // On a table of the same revision: the online-safety lint leaves it be.
    "CREATE INDEX drop_idx ON users (id);",
    // MySQL: backtick identifiers.
    "SELECT `DROP TABLE users` FROM t;",
    "CREATE TABLE `drop` (`truncate` INT);",
];

// ---------------------------------------------------------------------------
// Directories: the graph rules
// ---------------------------------------------------------------------------

const IDS: &[&str] = &["001", "002", "003", "a1", "B2"];

/// One file of a random directory.
#[derive(Debug, Clone)]
struct Entry {
    id: &'static str,
    slug: &'static str,
    rust: bool,
    /// Indices into `IDS`, or 5 for an ID that exists nowhere.
    revises: Vec<usize>,
    /// Drop the `Revises:` line.
    no_revises: bool,
}

fn entry() -> impl Strategy<Value = Entry> {
    (
        prop::sample::select(IDS),
        prop::sample::select(&["x", "y_z"][..]),
        prop::bool::weighted(0.2),
        prop::collection::vec(0usize..6, 0..3),
        prop::bool::weighted(0.05),
    )
        .prop_map(|(id, slug, rust, revises, no_revises)| Entry {
            id,
            slug,
            rust,
            revises,
            no_revises,
        })
}

fn render(entry: &Entry) -> (String, String) {
    let parents: Vec<&str> = entry
        .revises
        .iter()
        .map(|&i| IDS.get(i).copied().unwrap_or("zzz"))
        .collect();
    let p = if entry.rust { "//!" } else { "--" };
    let mut text = format!(
        "{p} Revision {}\n{p}\n{p} Revision ID: {}\n",
        entry.id, entry.id
    );
    if !entry.no_revises {
        text.push_str(&format!("{p} Revises: {}\n", parents.join(", ")));
    }
    text.push('\n');
    if entry.rust {
        text.push_str(
            "pub fn upgrade(db: &mut Ctx) -> R { Ok(()) }\npub fn downgrade(db: &mut Ctx) -> R { Ok(()) }\n",
        );
    } else {
        text.push_str(&format!(
            "-- migrate:upgrade\nCREATE TABLE t{0} (id INTEGER);\n\n-- migrate:downgrade\nDROP TABLE t{0};\n",
            entry.id
        ));
    }
    let ext = if entry.rust { "rs" } else { "sql" };
    (format!("{}_{}.{ext}", entry.id, entry.slug), text)
}

proptest! {
    #![proptest_config(config((cases() / 10).max(200)))]

    /// Random small directories (0 to 6 revisions, branches, merges, cycles,
    /// duplicates, broken chains, noise files): `load_dir` never panics;
    /// a graph it accepts has one base, one head and a topological order.
    #[test]
    fn random_directories(
        entries in prop::collection::vec(entry(), 0..7),
        noise in prop::collection::vec(prop::sample::select(&["README.md", ".hidden.sql", "bad-name.sql", "sub/"][..]), 0..2),
    ) {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let mut files: BTreeMap<String, String> = BTreeMap::new();
        for e in &entries {
            let (name, text) = render(e);
            files.insert(name, text);
        }
        for (name, text) in &files {
            std::fs::write(dir.path().join(name), text).expect("write a revision");
        }
        for n in &noise {
            if let Some(sub) = n.strip_suffix('/') {
                std::fs::create_dir_all(dir.path().join(sub)).expect("create a subdirectory");
            } else {
                std::fs::write(dir.path().join(n), "x").expect("write a noise file");
            }
        }
        check_dir(dir.path(), &files, &noise)?;
    }
}

fn check_dir(
    dir: &Path,
    files: &BTreeMap<String, String>,
    noise: &[&str],
) -> Result<(), TestCaseError> {
    match migrator_core::load_dir(dir, "m") {
        Ok(graph) => {
            prop_assert!(
                !noise.iter().any(|n| *n == "bad-name.sql" || *n == "sub/"),
                "a bad file name or a subdirectory was accepted"
            );
            prop_assert_eq!(graph.len(), files.len());
            if graph.is_empty() {
                return Ok(());
            }
            let heads = (0..graph.len())
                .filter(|&i| graph.children(i).is_empty())
                .count();
            let bases = (0..graph.len())
                .filter(|&i| graph.parents(i).is_empty())
                .count();
            prop_assert_eq!((heads, bases), (1, 1));
            let order = graph.order();
            prop_assert_eq!(order.len(), graph.len());
            for (position, &i) in order.iter().enumerate() {
                for &parent in graph.parents(i) {
                    let before = order.iter().position(|&j| j == parent);
                    prop_assert!(before.is_some_and(|b| b < position), "order {order:?}");
                }
            }
        }
        Err(diagnostics) => {
            prop_assert!(!diagnostics.is_empty());
            for d in &diagnostics {
                prop_assert!(d.file.starts_with('m'), "{d:?}");
                let name = d.file.strip_prefix("m/").unwrap_or("");
                if let (Some(text), Some(line)) = (files.get(name), d.line) {
                    let lines = u32::try_from(text.lines().count()).unwrap_or(u32::MAX);
                    prop_assert!((1..=lines + 1).contains(&line), "{d:?} in {text:?}");
                }
                if LINE_RULES.contains(&d.rule) {
                    prop_assert!(d.line.is_some(), "{d:?}");
                }
            }
        }
    }
    Ok(())
}
