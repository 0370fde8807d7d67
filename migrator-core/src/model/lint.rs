//! The PostgreSQL checks of a SQL revision: the online-safety lint (squawk's
//! rules that are on, see [`OnlineRule`]) over the upgrade that serves
//! PostgreSQL, and the transaction rule over both directions.
//!
//! squawk parses the section with its own PostgreSQL parser; where it cannot
//! parse a statement it lints what it could read, and says nothing of the
//! rest (its syntax errors are not ours to report: PostgreSQL is the judge of
//! its syntax). Its ranges are byte offsets in the section, mapped here to
//! lines of the file. Tables created earlier in the same section are exempt,
//! as squawk decides it (a `CREATE TABLE` before the statement, by name).

#[cfg(feature = "lint")]
use squawk_linter::{Linter, LinterSettings, Violation};
#[cfg(feature = "lint")]
use squawk_syntax::SourceFile;

use super::lint_cache::Cache;
#[cfg(feature = "lint")]
use super::lint_cache::{Found, key};
use super::sql_lexer::{Token, statements};
use super::{BackendKind, Diagnostics, Direction, OnlineRule, Rule, Section};

/// What the checks of one revision need to know beyond its sections.
pub(super) struct Revision<'a> {
    /// The file as messages name it.
    pub path: &'a str,
    /// The revision runs in a transaction (no `Transaction: false`).
    pub transactional: bool,
    /// The online-safety rules its `Allow:` names.
    #[cfg_attr(
        not(feature = "lint"),
        allow(dead_code, reason = "read by the online-safety rules, feature `lint`")
    )]
    pub allowed: &'a [OnlineRule],
    /// Whether the online-safety rules apply: on for the crate, and the
    /// revision is not released (they run only with the `lint` feature).
    #[cfg_attr(
        not(feature = "lint"),
        allow(dead_code, reason = "read by the online-safety rules, feature `lint`")
    )]
    pub online: bool,
}

/// Runs the PostgreSQL checks of `revision`, whose sections are `sections`;
/// the online-safety findings of a section text already linted come from
/// `cache`.
pub(super) fn check(
    revision: &Revision<'_>,
    sections: &[Section],
    #[cfg_attr(not(feature = "lint"), allow(unused_variables))] cache: &mut Cache,
    diagnostics: &mut Diagnostics,
) {
    for direction in [Direction::Upgrade, Direction::Downgrade] {
        let Some(section) = postgres_section(sections, direction) else {
            continue;
        };
        let first_line = section.line.saturating_add(1);
        if revision.transactional {
            outside_transaction(
                revision.path,
                direction,
                &section.sql,
                first_line,
                diagnostics,
            );
        }
        #[cfg(feature = "lint")]
        if direction == Direction::Upgrade && revision.online {
            online(revision, &section.sql, first_line, cache, diagnostics);
        }
    }
}

/// The section that serves PostgreSQL in `direction`: the one tagged
/// `postgres`, else the untagged one; `None` for a `-- migrate:noop`.
fn postgres_section(sections: &[Section], direction: Direction) -> Option<&Section> {
    let in_direction = || sections.iter().filter(|s| s.direction == direction);
    in_direction()
        .find(|s| s.backend == Some(BackendKind::Postgres))
        .or_else(|| in_direction().find(|s| s.backend.is_none()))
        .filter(|s| !s.noop)
}

#[cfg(feature = "lint")]
/// The PostgreSQL version the rules assume: the oldest with the behaviour
/// they rely on (a constant `DEFAULT` added without a rewrite since 11, `SET
/// NOT NULL` that uses a valid check since 12, `ALTER TYPE … ADD VALUE`
/// inside a transaction since 12).
const POSTGRES_VERSION: &str = "12";

/// What the cache's keys name: the linter, its rules and settings.
#[cfg(feature = "lint")]
fn linter_key() -> String {
    let rules: Vec<&str> = OnlineRule::ALL.iter().map(|r| r.name()).collect();
    // The last field changes with `findings`' own filtering.
    format!(
        "squawk-linter 2.68.0; pg {POSTGRES_VERSION}; {}; findings 1",
        rules.join(",")
    )
}

/// squawk's findings in `sql`, before `Allow:`.
#[cfg(feature = "lint")]
fn findings(sql: &str, transactional: bool) -> Vec<Found> {
    let parse = SourceFile::parse(sql);
    let lint = |assume_in_transaction: bool| {
        let mut linter = Linter::from(OnlineRule::ALL.into_iter().filter_map(squawk_rule));
        linter.settings = LinterSettings {
            pg_version: POSTGRES_VERSION.parse().unwrap_or_default(),
            assume_in_transaction,
        };
        linter.lint(&parse, sql)
    };
    let mut violations = lint(true);
    if !transactional {
        // squawk exempts the tables created earlier only inside a
        // transaction, and flags `VALIDATE` after `NOT VALID` only inside
        // one: linted both ways, what both find is what applies here (every
        // statement commits on its own, the tables are still new).
        let outside = lint(false);
        violations.retain(|v| outside.iter().any(|o| same(o, v)));
    }
    // squawk also calls a foreign key, a unique constraint or a primary key
    // a constraint without `NOT VALID`: the more precise rule says it (and
    // `NOT VALID` is no mend for the last two).
    let generic = squawk_linter::Rule::ConstraintMissingNotValid;
    let precise: Vec<_> = violations
        .iter()
        .filter(|v| v.code != generic)
        .map(|v| v.text_range)
        .collect();
    violations.retain(|v| {
        v.code != generic
            || !precise
                .iter()
                .any(|r| r.contains_range(v.text_range) || v.text_range.contains_range(*r))
    });
    violations
        .into_iter()
        .map(|v| Found {
            rule: v.code.to_string(),
            offset: usize::from(v.text_range.start()),
            message: v.message.trim().trim_end_matches('.').to_owned(),
        })
        .collect()
}

#[cfg(feature = "lint")]
fn online(
    revision: &Revision<'_>,
    sql: &str,
    first_line: u32,
    cache: &mut Cache,
    diagnostics: &mut Diagnostics,
) {
    if !may_be_flagged(sql) {
        return;
    }
    let key = key(&linter_key(), revision.transactional, sql);
    let found = cache.get_or(key, || findings(sql, revision.transactional));
    let dir = revision.path.rsplit_once('/').map_or(".", |(dir, _)| dir);
    for found in found {
        let Some(rule) = OnlineRule::from_name(&found.rule) else {
            continue;
        };
        if revision.allowed.contains(&rule) {
            continue;
        }
        let line = line_at(sql, found.offset.min(sql.len()), first_line);
        let message = &found.message;
        diagnostics.report(
            revision.path,
            Some(line),
            Rule::Online(rule),
            format!("PostgreSQL: {message}"),
            format!(
                "{}; if the table is small or the lock is acceptable, add `-- Allow: {rule}` to the header (or the rule to its `Allow:` list); a crate whose migrations never run on PostgreSQL turns these rules off with `embed_migrations!(\"{dir}\", postgres_lint = false)`",
                rule.mend()
            ),
        );
    }
}

/// False when no statement of `sql` is of a kind any rule that is on looks
/// at, so squawk need not parse it (the macro runs unoptimised, and a
/// history is mostly `CREATE TABLE` and indexes on the tables it creates).
/// The rules look at `ALTER …`, `DROP …`, `REINDEX`, transaction control
/// and `CREATE INDEX` on a table not created earlier in `sql`; anything
/// else (`CREATE TABLE`, `INSERT`, `CREATE FUNCTION`, …) passes them all.
#[cfg(feature = "lint")]
fn may_be_flagged(sql: &str) -> bool {
    let mut created: Vec<String> = Vec::new();
    for statement in statements(sql, 1) {
        let word =
            |i: usize, keyword: &str| statement.get(i).is_some_and(|t| t.is_keyword(keyword));
        let Some(first) = statement.first() else {
            continue;
        };
        let control = [
            "ALTER", "DROP", "REINDEX", "BEGIN", "START", "COMMIT", "END", "ROLLBACK", "ABORT",
        ];
        if control.iter().any(|k| first.is_keyword(k)) {
            return true;
        }
        if !first.is_keyword("CREATE") {
            continue;
        }
        let mut i = 1;
        while ["TEMP", "TEMPORARY", "UNLOGGED", "GLOBAL", "LOCAL", "UNIQUE"]
            .iter()
            .any(|k| word(i, k))
        {
            i += 1;
        }
        if word(i, "TABLE") {
            i += 1;
            if word(i, "IF") {
                i += 3;
            }
            created.extend(last_name(statement.get(i..).unwrap_or_default()));
        } else if word(i, "INDEX") {
            let on = statement.iter().position(|t| t.is_keyword("ON"));
            let table = on.and_then(|on| {
                let rest = statement.get(on + 1..).unwrap_or_default();
                let rest = match rest.first() {
                    Some(t) if t.is_keyword("ONLY") => &rest[1..],
                    _ => rest,
                };
                last_name(rest)
            });
            if !table.is_some_and(|t| created.contains(&t)) {
                return true;
            }
        }
    }
    false
}

/// The last part of the possibly qualified name at the start of `tokens`
/// (`t` of `s.t`), as PostgreSQL folds it: lower case unless quoted.
#[cfg(feature = "lint")]
fn last_name(tokens: &[Token<'_>]) -> Option<String> {
    use super::sql_lexer::TokenKind;
    let mut last = None;
    let mut rest = tokens;
    while let Some((token, after)) = rest.split_first() {
        last = Some(match token.kind {
            TokenKind::Word => token.text.to_lowercase(),
            TokenKind::QuotedIdent => token.text.trim_matches('"').to_owned(),
            TokenKind::Literal | TokenKind::Punct => return last,
        });
        match after.split_first() {
            Some((dot, after)) if dot.is_punct('.') => rest = after,
            _ => break,
        }
    }
    last
}

/// squawk's rule of the same name.
#[cfg(feature = "lint")]
fn squawk_rule(rule: OnlineRule) -> Option<squawk_linter::Rule> {
    rule.name().parse().ok()
}

#[cfg(feature = "lint")]
fn same(a: &Violation, b: &Violation) -> bool {
    a.code == b.code && a.text_range == b.text_range
}

#[cfg(feature = "lint")]
/// The line of byte `offset` of `sql`, whose first line is `first_line`.
fn line_at(sql: &str, offset: usize, first_line: u32) -> u32 {
    let newlines = sql.as_bytes()[..offset]
        .iter()
        .filter(|&&b| b == b'\n')
        .count();
    u32::try_from(newlines).map_or(u32::MAX, |n| first_line.saturating_add(n))
}

/// Reports every statement of `sql` that PostgreSQL refuses inside a
/// transaction block.
fn outside_transaction(
    path: &str,
    direction: Direction,
    sql: &str,
    first_line: u32,
    diagnostics: &mut Diagnostics,
) {
    for statement in statements(sql, first_line) {
        if let Some(what) = refused_in_transaction(&statement) {
            diagnostics.report(
                path,
                statement.first().map(|t| t.line),
                Rule::OutsideTransaction,
                format!("{direction} runs `{what}`, which PostgreSQL refuses inside a transaction, and this revision runs in one"),
                "add `-- Transaction: false` to the header, and keep in this revision only statements that are safe to run one by one (a failure leaves the ones before it applied)",
            );
        }
    }
}

/// What a statement is, when PostgreSQL cannot run it in a transaction
/// block: `CREATE INDEX CONCURRENTLY` and the others of its kind.
fn refused_in_transaction(tokens: &[Token<'_>]) -> Option<&'static str> {
    let word = |i: usize, keyword: &str| tokens.get(i).is_some_and(|t| t.is_keyword(keyword));
    let has = |keyword: &str| tokens.iter().any(|t| t.is_keyword(keyword));
    if word(0, "CREATE") {
        let index = if word(1, "UNIQUE") { 2 } else { 1 };
        if word(index, "INDEX") && word(index + 1, "CONCURRENTLY") {
            return Some("CREATE INDEX CONCURRENTLY");
        }
        for (object, what) in [
            ("DATABASE", "CREATE DATABASE"),
            ("TABLESPACE", "CREATE TABLESPACE"),
            ("SUBSCRIPTION", "CREATE SUBSCRIPTION"),
        ] {
            if word(1, object) {
                return Some(what);
            }
        }
    } else if word(0, "DROP") {
        if word(1, "INDEX") && word(2, "CONCURRENTLY") {
            return Some("DROP INDEX CONCURRENTLY");
        }
        for (object, what) in [
            ("DATABASE", "DROP DATABASE"),
            ("TABLESPACE", "DROP TABLESPACE"),
            ("SUBSCRIPTION", "DROP SUBSCRIPTION"),
        ] {
            if word(1, object) {
                return Some(what);
            }
        }
    } else if word(0, "REINDEX") {
        if has("CONCURRENTLY") {
            return Some("REINDEX CONCURRENTLY");
        }
        if has("DATABASE") || has("SYSTEM") {
            return Some("REINDEX DATABASE");
        }
    } else if word(0, "VACUUM") {
        return Some("VACUUM");
    } else if word(0, "ALTER") {
        if word(1, "SYSTEM") {
            return Some("ALTER SYSTEM");
        }
        if word(1, "TABLE") && has("DETACH") && has("CONCURRENTLY") {
            return Some("DETACH PARTITION CONCURRENTLY");
        }
        if word(1, "DATABASE") && has("TABLESPACE") {
            return Some("ALTER DATABASE SET TABLESPACE");
        }
    }
    None
}

#[cfg(all(test, feature = "lint"))]
mod tests {
    use super::*;
    use std::borrow::Cow;

    fn section(direction: Direction, backend: Option<BackendKind>, sql: &str) -> Section {
        Section {
            direction,
            backend,
            sql: Cow::Owned(sql.to_owned()),
            noop: false,
            line: 10,
        }
    }

    fn run(upgrade: &str, transactional: bool, allowed: &[OnlineRule]) -> Vec<(u32, Rule)> {
        let sections = [
            section(Direction::Upgrade, None, upgrade),
            section(Direction::Downgrade, None, "SELECT 1;"),
        ];
        let mut diagnostics = Diagnostics::new();
        let revision = Revision {
            path: "m/003_x.sql",
            transactional,
            allowed,
            online: true,
        };
        check(
            &revision,
            &sections,
            &mut Cache::default(),
            &mut diagnostics,
        );
        diagnostics
            .iter()
            .map(|d| (d.line.unwrap_or(0), d.rule))
            .collect()
    }

    fn online(rule: OnlineRule) -> Rule {
        Rule::Online(rule)
    }

    #[test]
    fn flags_each_rule_at_its_line() {
        use OnlineRule::*;
        for (sql, rule) in [
            (
                "CREATE INDEX ix ON users (email);",
                RequireConcurrentIndexCreation,
            ),
            ("DROP INDEX ix;", RequireConcurrentIndexDeletion),
            ("REINDEX INDEX ix;", RequireConcurrentReindex),
            (
                "ALTER TABLE m DETACH PARTITION p;",
                RequireConcurrentPartitionDetach,
            ),
            (
                "ALTER TABLE users ADD COLUMN a int NOT NULL;",
                AddingRequiredField,
            ),
            (
                "ALTER TABLE users ALTER COLUMN a SET NOT NULL;",
                AddingNotNullableField,
            ),
            (
                "ALTER TABLE users ADD COLUMN a uuid DEFAULT gen_random_uuid();",
                AddingFieldWithDefault,
            ),
            (
                "ALTER TABLE users ADD PRIMARY KEY (id);",
                AddingSerialPrimaryKeyField,
            ),
            (
                "ALTER TABLE users ADD CONSTRAINT f FOREIGN KEY (a) REFERENCES t (id);",
                AddingForeignKeyConstraint,
            ),
            (
                "ALTER TABLE users ADD CONSTRAINT c CHECK (a > 0);",
                ConstraintMissingNotValid,
            ),
            (
                "ALTER TABLE users ADD CONSTRAINT u UNIQUE (email);",
                DisallowedUniqueConstraint,
            ),
            (
                "ALTER TABLE users ALTER COLUMN a TYPE bigint;",
                ChangingColumnType,
            ),
            ("ALTER TABLE users RENAME COLUMN a TO b;", RenamingColumn),
            ("ALTER TABLE users RENAME TO people;", RenamingTable),
            (
                "ALTER TABLE users RENAME CONSTRAINT c TO d;",
                RenamingObject,
            ),
            ("ALTER TABLE users SET SCHEMA other;", BanSetSchema),
            (
                "ALTER DOMAIN d ADD CONSTRAINT c CHECK (VALUE > 0);",
                BanAlterDomainWithAddConstraint,
            ),
            ("BEGIN;\nSELECT 1;\nCOMMIT;", TransactionNesting),
        ] {
            let sql = format!("SELECT 1;\n{sql}");
            let found = run(&sql, true, &[]);
            assert!(found.contains(&(12, online(rule))), "{sql}: {found:?}");
            assert!(
                !run(&sql, true, &[rule])
                    .iter()
                    .any(|(_, r)| *r == online(rule)),
                "{sql} allowed"
            );
        }
        let found = run("BEGIN;\nSELECT 1;", false, &[]);
        assert!(
            found.contains(&(11, online(BanUncommittedTransaction))),
            "{found:?}"
        );
    }

    #[test]
    fn a_foreign_key_or_unique_constraint_is_flagged_once() {
        use OnlineRule::*;
        for (sql, rule) in [
            (
                "ALTER TABLE users ADD CONSTRAINT f FOREIGN KEY (a) REFERENCES t (id);",
                AddingForeignKeyConstraint,
            ),
            (
                "ALTER TABLE users ADD CONSTRAINT u UNIQUE (email);",
                DisallowedUniqueConstraint,
            ),
            (
                "ALTER TABLE users ADD PRIMARY KEY (id);",
                AddingSerialPrimaryKeyField,
            ),
        ] {
            assert_eq!(run(sql, true, &[]), [(11, online(rule))], "{sql}");
        }
    }

    #[test]
    fn only_what_a_rule_looks_at_is_parsed() {
        for sql in [
            "CREATE TABLE t (id int);\nCREATE UNIQUE INDEX ix ON public.t (id);",
            "CREATE TABLE IF NOT EXISTS \"T\" (id int); CREATE INDEX ON ONLY \"T\" (id);",
            "INSERT INTO users VALUES (1); CREATE FUNCTION f() RETURNS int AS $$ ALTER TABLE x RENAME TO y $$ LANGUAGE sql;",
            "-- ALTER TABLE users RENAME TO people;\nSELECT 1;",
        ] {
            assert!(!may_be_flagged(sql), "{sql}");
        }
        for sql in [
            "CREATE INDEX ix ON users (a);",
            "CREATE TABLE t (id int); CREATE INDEX ix ON s.users (a);",
            "alter table users add column a int;",
            "DROP INDEX ix;",
            "REINDEX TABLE t;",
            "BEGIN;",
            "COMMIT;",
            "CREATE TABLE \"T\" (id int); CREATE INDEX ON t (id);",
        ] {
            assert!(may_be_flagged(sql), "{sql}");
        }
    }

    #[test]
    fn safe_forms_and_new_tables_pass() {
        for (sql, transactional) in [
            ("CREATE INDEX CONCURRENTLY ix ON users (email);", false),
            ("ALTER TABLE users ADD COLUMN a int;", true),
            (
                "ALTER TABLE users ADD COLUMN a int NOT NULL DEFAULT 0;",
                true,
            ),
            (
                "ALTER TABLE users ADD CONSTRAINT c CHECK (a > 0) NOT VALID;",
                true,
            ),
            (
                "ALTER TABLE users ADD CONSTRAINT f FOREIGN KEY (a) REFERENCES t (id) NOT VALID;",
                true,
            ),
            ("CREATE TABLE t (id int);\nCREATE INDEX ix ON t (id);", true),
            (
                "CREATE TABLE t (id int);\nCREATE INDEX ix ON t (id);",
                false,
            ),
            (
                "CREATE TABLE t (id int, a int);\nALTER TABLE t ADD CONSTRAINT c CHECK (a > 0);",
                true,
            ),
            (
                "ALTER TABLE users ADD CONSTRAINT c CHECK (a > 0) NOT VALID;\nALTER TABLE users VALIDATE CONSTRAINT c;",
                false,
            ),
            (
                "-- CREATE INDEX ix ON users (email);\nSELECT 'CREATE INDEX ix ON users (a)';",
                true,
            ),
            ("CREATE TABLE t (c char(10));", true),
        ] {
            assert_eq!(run(sql, transactional, &[]), [], "{sql}");
        }
    }

    #[test]
    fn transaction_rule_in_both_directions_and_unallowable() {
        let sections = [
            section(
                Direction::Upgrade,
                Some(BackendKind::Postgres),
                "CREATE UNIQUE INDEX CONCURRENTLY ix ON t (a);\nVACUUM t;",
            ),
            section(Direction::Upgrade, Some(BackendKind::Sqlite), "VACUUM;"),
            section(Direction::Downgrade, None, "DROP INDEX CONCURRENTLY ix;"),
        ];
        let mut diagnostics = Diagnostics::new();
        let revision = Revision {
            path: "m/003_x.sql",
            transactional: true,
            allowed: &OnlineRule::ALL,
            online: true,
        };
        check(
            &revision,
            &sections,
            &mut Cache::default(),
            &mut diagnostics,
        );
        let found: Vec<_> = diagnostics.iter().map(|d| (d.line, d.rule)).collect();
        assert_eq!(
            found,
            [
                (Some(11), Rule::OutsideTransaction),
                (Some(12), Rule::OutsideTransaction),
                (Some(11), Rule::OutsideTransaction),
            ]
        );
        let text = diagnostics.to_string();
        assert!(text.contains("m/003_x.sql:11: upgrade runs `CREATE INDEX CONCURRENTLY`, which PostgreSQL refuses inside a transaction, and this revision runs in one [outside-transaction]\n  help: add `-- Transaction: false` to the header"), "{text}");
        assert!(
            text.contains("downgrade runs `DROP INDEX CONCURRENTLY`"),
            "{text}"
        );
        for sql in [
            "REINDEX TABLE CONCURRENTLY t",
            "CREATE DATABASE d",
            "ALTER SYSTEM SET x = 1",
            "ALTER TABLE m DETACH PARTITION p CONCURRENTLY",
        ] {
            assert!(
                refused_in_transaction(&statements(sql, 1)[0]).is_some(),
                "{sql}"
            );
        }
        for sql in [
            "CREATE INDEX ix ON t (a)",
            "ALTER TYPE e ADD VALUE 'x'",
            "SELECT 'VACUUM'",
        ] {
            assert!(
                refused_in_transaction(&statements(sql, 1)[0]).is_none(),
                "{sql}"
            );
        }
    }

    #[test]
    fn message_names_rule_mend_allow_and_off_switch() {
        let sections = [
            section(
                Direction::Upgrade,
                None,
                "\nCREATE INDEX ix ON users (email);",
            ),
            section(Direction::Downgrade, None, "DROP INDEX ix;"),
        ];
        let mut diagnostics = Diagnostics::new();
        let revision = Revision {
            path: "migrations/003_x.sql",
            transactional: true,
            allowed: &[],
            online: true,
        };
        check(
            &revision,
            &sections,
            &mut Cache::default(),
            &mut diagnostics,
        );
        assert_eq!(
            diagnostics.to_string(),
            "migrations/003_x.sql:12: PostgreSQL: During normal index creation, table updates are blocked, but reads are still allowed [require-concurrent-index-creation]\n  help: build it with `CREATE INDEX CONCURRENTLY`, in a revision whose header says `-- Transaction: false`; if the table is small or the lock is acceptable, add `-- Allow: require-concurrent-index-creation` to the header (or the rule to its `Allow:` list); a crate whose migrations never run on PostgreSQL turns these rules off with `embed_migrations!(\"migrations\", postgres_lint = false)`"
        );
        let off = Revision {
            online: false,
            ..revision
        };
        let mut diagnostics = Diagnostics::new();
        check(&off, &sections, &mut Cache::default(), &mut diagnostics);
        assert!(diagnostics.is_empty(), "{diagnostics}");
    }
}
