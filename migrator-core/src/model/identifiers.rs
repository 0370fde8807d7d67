//! Names too long for the backend a section serves.
//!
//! MySQL and MariaDB refuse an identifier longer than 64 characters;
//! PostgreSQL cuts one longer than 63 bytes to 63 bytes without an error
//! (a notice at most), so the object in the database is not named as
//! written, and two long names that share their first 63 bytes become one.
//! SQLite has no limit.
//!
//! The scanner is deliberately small: statements are found with the
//! [SQL lexer](super::sql_lexer) (comments and literals, function bodies
//! included, are never read as statements), and the names it checks are
//! the ones that create an object:
//!
//! - the name after `CREATE … TABLE`, `INDEX`, `VIEW`, `SEQUENCE` or
//!   `TRIGGER` (with `OR REPLACE`, `UNIQUE`, `TEMPORARY`, `MATERIALIZED`,
//!   `IF NOT EXISTS`, `CONCURRENTLY` and the like in between), each part of
//!   a qualified name on its own;
//! - the name after `CONSTRAINT` anywhere in a statement (`ADD CONSTRAINT`,
//!   a constraint inside `CREATE TABLE`), but not after `DROP` or `RENAME`.
//!
//! Column names, `RENAME … TO`, and names built at run time (a Rust
//! revision, dynamic SQL) are not checked.

use super::destructive::identifier;
use super::sql_lexer::{Token, TokenKind, statements};
use super::{BackendKind, Diagnostics, Direction, IdentifierLimit, Rule, Section};

/// A name the scanner found: what names it, the name, its line.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Found {
    /// `CREATE TABLE`, `CONSTRAINT`…
    clause: String,
    name: String,
    line: u32,
}

/// The objects a `CREATE` statement makes whose names are checked.
const OBJECTS: [&str; 5] = ["TABLE", "INDEX", "VIEW", "SEQUENCE", "TRIGGER"];

/// Reports every name in `sections` longer than the limit of a backend the
/// section serves (a tagged section its backend; an untagged one every
/// backend without a tagged section of its own in that direction).
pub(super) fn check(path: &str, sections: &[Section], diagnostics: &mut Diagnostics) {
    for section in sections.iter().filter(|s| !s.noop) {
        let served: Vec<(BackendKind, IdentifierLimit)> = BackendKind::ALL
            .into_iter()
            .filter(|&b| serves(sections, section, b))
            .filter_map(|b| Some((b, b.identifier_limit()?)))
            .collect();
        if served.is_empty() {
            continue;
        }
        let first_line = section.line.saturating_add(1);
        for found in scan(&section.sql, first_line) {
            // The strictest limit the name breaks is the one reported.
            let Some((backend, limit)) = served
                .iter()
                .find(|(_, limit)| limit.length(&found.name) > limit.max)
            else {
                continue;
            };
            diagnostics.report(
                path,
                Some(found.line),
                Rule::IdentifierTooLong,
                format!(
                    "`{}` names `{}`, {} {}: longer than {backend}'s limit of {} {} \
                     (the `{}` section serves {backend})",
                    found.clause,
                    found.name,
                    limit.length(&found.name),
                    limit.unit(),
                    limit.max,
                    limit.unit(),
                    section_name(section),
                ),
                format!(
                    "shorten the name to at most {} {}: {}",
                    limit.max,
                    limit.unit(),
                    limit.consequence()
                ),
            );
        }
    }
}

/// True when `section` is the one that runs on `backend` in its direction.
fn serves(sections: &[Section], section: &Section, backend: BackendKind) -> bool {
    match section.backend {
        Some(tagged) => tagged == backend,
        None => !sections
            .iter()
            .any(|s| s.direction == section.direction && s.backend == Some(backend)),
    }
}

fn section_name(section: &Section) -> String {
    let direction = match section.direction {
        Direction::Upgrade => "upgrade",
        Direction::Downgrade => "downgrade",
    };
    match section.backend {
        Some(backend) => format!("-- migrate:{direction} {backend}"),
        None => format!("-- migrate:{direction}"),
    }
}

/// The names that `sql` (whose first line is `first_line` of its file)
/// gives to the objects it creates.
fn scan(sql: &str, first_line: u32) -> Vec<Found> {
    let mut found = Vec::new();
    for statement in statements(sql, first_line) {
        created_name(&statement, &mut found);
        for (i, token) in statement.iter().enumerate() {
            let after_drop = i > 0
                && (statement[i - 1].is_keyword("DROP") || statement[i - 1].is_keyword("RENAME"));
            if token.is_keyword("CONSTRAINT") && !after_drop {
                parts("CONSTRAINT", &statement[i + 1..], &mut found);
            }
        }
    }
    found
}

/// The name after `CREATE [modifiers] TABLE|INDEX|VIEW|SEQUENCE|TRIGGER
/// [IF NOT EXISTS | CONCURRENTLY]`.
fn created_name(statement: &[Token<'_>], found: &mut Vec<Found>) {
    let Some((create, rest)) = statement.split_first() else {
        return;
    };
    if !create.is_keyword("CREATE") {
        return;
    }
    // Modifiers are words, and `=` with its value (`ALGORITHM = MERGE`,
    // `DEFINER = user@host`); the object's keyword comes before any
    // parenthesis.
    let Some(at) = rest
        .iter()
        .take_while(|t| !t.is_punct('('))
        .position(|t| OBJECTS.iter().any(|o| t.is_keyword(o)))
    else {
        return;
    };
    let object = rest[at].text.to_ascii_uppercase();
    let mut rest = &rest[at + 1..];
    loop {
        rest = match rest {
            [c, after @ ..] if c.is_keyword("CONCURRENTLY") => after,
            [i, n, e, after @ ..]
                if i.is_keyword("IF") && n.is_keyword("NOT") && e.is_keyword("EXISTS") =>
            {
                after
            }
            _ => break,
        };
    }
    // `CREATE INDEX ON t (…)` (PostgreSQL names it itself).
    if rest.first().is_some_and(|t| t.is_keyword("ON")) {
        return;
    }
    parts(&format!("CREATE {object}"), rest, found);
}

/// Each part of the possibly qualified name at the start of `tokens`.
fn parts(clause: &str, mut tokens: &[Token<'_>], found: &mut Vec<Found>) {
    while let Some((first, rest)) = tokens.split_first() {
        if !matches!(first.kind, TokenKind::Word | TokenKind::QuotedIdent) {
            return;
        }
        if let Some(name) = identifier(first) {
            found.push(Found {
                clause: clause.to_owned(),
                name,
                line: first.line,
            });
        }
        match rest {
            [dot, after @ ..] if dot.is_punct('.') => tokens = after,
            _ => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(sql: &str) -> Vec<(u32, String, String)> {
        scan(sql, 1)
            .into_iter()
            .map(|f| (f.line, f.clause, f.name))
            .collect()
    }

    fn found(line: u32, clause: &str, name: &str) -> (u32, String, String) {
        (line, clause.to_owned(), name.to_owned())
    }

    #[test]
    fn names_of_created_objects_and_constraints_are_found() {
        assert_eq!(
            names(
                "CREATE TABLE IF NOT EXISTS app.widgets (\n  id INT,\n  CONSTRAINT widgets_id_pk PRIMARY KEY (id)\n);\n\
                 CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS `w_idx` ON widgets (id);\n\
                 CREATE OR REPLACE ALGORITHM = MERGE VIEW v AS SELECT 1;\n\
                 CREATE MATERIALIZED VIEW mv AS SELECT 1;\n\
                 ALTER TABLE widgets ADD CONSTRAINT \"w_fk\" FOREIGN KEY (id) REFERENCES t (id);\n\
                 ALTER TABLE widgets DROP CONSTRAINT old_name;\n\
                 CREATE INDEX ON widgets (id);\n\
                 CREATE FUNCTION f() RETURNS int AS $$ CREATE TABLE inner_t (id int) $$ LANGUAGE sql;\n\
                 -- CREATE TABLE commented (id int);\n\
                 CREATE TRIGGER t1 BEFORE INSERT ON widgets FOR EACH ROW SET NEW.id = 1;"
            ),
            [
                found(1, "CREATE TABLE", "app"),
                found(1, "CREATE TABLE", "widgets"),
                found(3, "CONSTRAINT", "widgets_id_pk"),
                found(5, "CREATE INDEX", "w_idx"),
                found(6, "CREATE VIEW", "v"),
                found(7, "CREATE VIEW", "mv"),
                found(8, "CONSTRAINT", "w_fk"),
                found(13, "CREATE TRIGGER", "t1"),
            ]
        );
    }

    fn section(direction: Direction, backend: Option<BackendKind>, sql: &str) -> Section {
        Section {
            direction,
            backend,
            sql: sql.to_owned().into(),
            noop: false,
            line: 1,
        }
    }

    fn reported(sections: &[Section]) -> Vec<String> {
        let mut diagnostics = Diagnostics::new();
        check("m/001_x.sql", sections, &mut diagnostics);
        diagnostics.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn each_section_is_held_to_the_limits_of_the_backends_it_serves() {
        let long = "t".repeat(64);
        let longer = "t".repeat(65);
        let create = |name: &str| format!("CREATE TABLE {name} (id INT);");
        // 64 characters: fine on MySQL, cut by PostgreSQL.
        assert_eq!(
            reported(&[section(Direction::Upgrade, None, &create(&long))]),
            [format!(
                "m/001_x.sql:2: `CREATE TABLE` names `{long}`, 64 bytes: longer than \
                 postgres's limit of 63 bytes (the `-- migrate:upgrade` section serves \
                 postgres) [identifier-too-long]\n  help: shorten the name to at most 63 \
                 bytes: PostgreSQL cuts a longer identifier to 63 bytes without an error, so \
                 the object is not named as written and two long names can become one"
            )]
        );
        // The untagged section serves only SQLite and MySQL here.
        let sections = [
            section(Direction::Upgrade, None, &create(&long)),
            section(Direction::Upgrade, Some(BackendKind::Postgres), "SELECT 1;"),
        ];
        assert!(reported(&sections).is_empty());
        let sections = [section(
            Direction::Downgrade,
            Some(BackendKind::Mysql),
            &format!("ALTER TABLE t ADD CONSTRAINT {longer} CHECK (id > 0);"),
        )];
        let messages = reported(&sections);
        assert_eq!(messages.len(), 1);
        assert!(
            messages[0].contains(&format!(
                "`CONSTRAINT` names `{longer}`, 65 characters: longer than mysql's limit of 64 \
                 characters (the `-- migrate:downgrade mysql` section serves mysql)"
            )),
            "{messages:?}"
        );
        assert!(
            reported(&[section(
                Direction::Upgrade,
                Some(BackendKind::Sqlite),
                &create(&longer)
            )])
            .is_empty()
        );
    }
}
