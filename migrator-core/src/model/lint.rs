//! The PostgreSQL checks of a SQL revision: the online-safety lint (squawk's
//! rules that are on, see [`OnlineRule`]) over the upgrade that serves
//! PostgreSQL, and the transaction rule over both directions.
//!
//! squawk parses the section with its own PostgreSQL parser; where it cannot
//! parse a statement it lints what it could read, and says nothing of the
//! rest (its syntax errors are not ours to report: PostgreSQL is the judge of
//! its syntax). Its ranges are byte offsets in the section, mapped here to
//! lines of the file. Statements on tables created earlier in the same
//! section are exempt from every rule, as `lint_scan` decides it (a `CREATE
//! TABLE` without `IF NOT EXISTS` before the statement, by qualified name),
//! and `lint_scan` adds the checks squawk lacks.

#[cfg(feature = "lint")]
use squawk_linter::{Linter, LinterSettings, Violation};
#[cfg(feature = "lint")]
use squawk_syntax::SourceFile;

use super::lint_cache::Cache;
#[cfg(feature = "lint")]
use super::lint_cache::{Found, key};
#[cfg(feature = "lint")]
use super::lint_scan::Scan;
use super::sql_lexer::{Token, statements};
use super::{BackendKind, Diagnostics, Direction, OnlineRule, Rule, Section};

/// What the checks of one revision need to know beyond its sections.
pub(super) struct Revision<'a> {
    /// The file as messages name it.
    pub path: &'a str,
    /// The revision's ID and checksum, for the `released.sum` line that
    /// the online-safety errors suggest for a revision already released.
    #[cfg_attr(
        not(feature = "lint"),
        allow(dead_code, reason = "read by the online-safety rules, feature `lint`")
    )]
    pub id: &'a str,
    /// See [`Revision::id`].
    #[cfg_attr(
        not(feature = "lint"),
        allow(dead_code, reason = "read by the online-safety rules, feature `lint`")
    )]
    pub checksum: &'a str,
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
    // The last field changes with `findings`' own filtering and checks.
    format!(
        "squawk-linter 2.68.0; pg {POSTGRES_VERSION}; {}; findings 2",
        rules.join(",")
    )
}

/// The findings in the section `scan` read, before `Allow:`: squawk's and
/// ours, none on a table created earlier in the section.
#[cfg(feature = "lint")]
fn findings(scan: &Scan<'_>, transactional: bool) -> Vec<Found> {
    // squawk is not shown the `CREATE TABLE`s: its exemption of new tables
    // covers four rules and compares unqualified names; `Scan::keep` does
    // it for all of them.
    let sql = scan.for_squawk();
    let parse = SourceFile::parse(&sql);
    let lint = |assume_in_transaction: bool| {
        let mut linter = Linter::from(OnlineRule::ALL.into_iter().filter_map(squawk_rule));
        linter.settings = LinterSettings {
            pg_version: POSTGRES_VERSION.parse().unwrap_or_default(),
            assume_in_transaction,
        };
        linter.lint(&parse, &sql)
    };
    let mut violations = lint(true);
    if !transactional {
        // squawk flags `VALIDATE` after `NOT VALID` only inside a
        // transaction: linted both ways, what both find is what applies
        // here (every statement commits on its own).
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
    // Ours first: where both flag a statement under one rule, ours says
    // more (a `bigserial` column is a default squawk does not see).
    let mut found = scan.own_findings();
    found.extend(violations.into_iter().map(|v| {
        let rule = v.code.to_string();
        let message = if rule == OnlineRule::AddingFieldWithDefault.name() {
            // squawk calls every volatile default a generated column.
            "a column with a volatile `DEFAULT` (or a stored generated one) is filled by a rewrite of the table under an `ACCESS EXCLUSIVE` lock".to_owned()
        } else {
            v.message.trim().trim_end_matches('.').to_owned()
        };
        Found {
            rule,
            offset: usize::from(v.text_range.start()),
            message,
        }
    }));
    scan.keep(found)
}

#[cfg(feature = "lint")]
fn online(
    revision: &Revision<'_>,
    sql: &str,
    first_line: u32,
    cache: &mut Cache,
    diagnostics: &mut Diagnostics,
) {
    // The macro runs unoptimised, and a history is mostly `CREATE TABLE`
    // and indexes on the tables it creates: squawk parses only what a rule
    // may flag.
    let scan = Scan::new(sql);
    if !scan.may_be_flagged() {
        return;
    }
    let key = key(&linter_key(), revision.transactional, sql);
    let found = cache.get_or(key, || findings(&scan, revision.transactional));
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
                "{}; {}, add `-- Allow: {rule}` to the header (or the rule to its `Allow:` list); if this revision already ran in production, do not edit it: list it as released, with the line `{} {}` in `{dir}/{}` (what `release` writes); a crate whose migrations never run on PostgreSQL turns these rules off with `embed_migrations!(\"{dir}\", postgres_lint = false)`",
                rule.mend(),
                rule.harmless_when(),
                revision.id,
                revision.checksum,
                super::released::FILE_NAME,
            ),
        );
    }
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
    } else if word(0, "CLUSTER") && tokens.len() == 1 + usize::from(word(1, "VERBOSE")) {
        return Some("CLUSTER (of every table)");
    } else if word(0, "DISCARD") && word(1, "ALL") {
        return Some("DISCARD ALL");
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
        diagnose(&sections, transactional, allowed)
            .iter()
            .map(|d| (d.line.unwrap_or(0), d.rule))
            .collect()
    }

    /// What `check` finds in `sections` of the revision `m/003_x.sql`.
    fn diagnose(sections: &[Section], transactional: bool, allowed: &[OnlineRule]) -> Diagnostics {
        let mut diagnostics = Diagnostics::new();
        let revision = Revision {
            path: "m/003_x.sql",
            id: "003",
            checksum: "c0ffee",
            transactional,
            allowed,
            online: true,
        };
        check(&revision, sections, &mut Cache::default(), &mut diagnostics);
        diagnostics
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
            "CREATE TABLE public.t (id int);\nCREATE UNIQUE INDEX ix ON public.t (id);",
            "CREATE TABLE t (id int, a int);\nALTER TABLE ONLY t ADD CONSTRAINT p PRIMARY KEY (id);",
            "CREATE TABLE \"T\" (id int); CREATE INDEX ON ONLY \"T\" (id);",
            "INSERT INTO users VALUES (1); CREATE FUNCTION f() RETURNS int AS $$ ALTER TABLE x RENAME TO y $$ LANGUAGE sql;",
            "-- ALTER TABLE users RENAME TO people;\nSELECT 1;",
        ] {
            assert!(!Scan::new(sql).may_be_flagged(), "{sql}");
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
            "CREATE TABLE t (id int);\nCREATE UNIQUE INDEX ix ON public.t (id);",
            "CREATE TABLE IF NOT EXISTS t (id int); CREATE INDEX ON t (id);",
            "REFRESH MATERIALIZED VIEW v;",
            "CLUSTER t;",
            "VACUUM FULL t;",
        ] {
            assert!(Scan::new(sql).may_be_flagged(), "{sql}");
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
        let diagnostics = diagnose(&sections, true, &OnlineRule::ALL);
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
            "CLUSTER",
            "CLUSTER VERBOSE",
            "discard all",
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
            "CLUSTER t USING ix",
            "DISCARD PLANS",
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
            id: "003",
            checksum: "c0ffee",
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
            "migrations/003_x.sql:12: PostgreSQL: During normal index creation, table updates are blocked, but reads are still allowed [require-concurrent-index-creation]\n  help: build it with `CREATE INDEX CONCURRENTLY`, in a revision whose header says `-- Transaction: false`; if the table is small or the lock is acceptable, add `-- Allow: require-concurrent-index-creation` to the header (or the rule to its `Allow:` list); if this revision already ran in production, do not edit it: list it as released, with the line `003 c0ffee` in `migrations/released.sum` (what `release` writes); a crate whose migrations never run on PostgreSQL turns these rules off with `embed_migrations!(\"migrations\", postgres_lint = false)`"
        );
        let off = Revision {
            online: false,
            ..revision
        };
        let mut diagnostics = Diagnostics::new();
        check(&off, &sections, &mut Cache::default(), &mut diagnostics);
        assert!(diagnostics.is_empty(), "{diagnostics}");
    }

    /// Every rule spares a table created earlier in the same revision, as
    /// pg_dump writes one (`CREATE TABLE`, then `ALTER TABLE ONLY … ADD
    /// CONSTRAINT … PRIMARY KEY`), not only the rules squawk spares it from.
    #[test]
    fn a_table_created_earlier_is_exempt_from_every_rule() {
        for statement in [
            "ALTER TABLE t ADD PRIMARY KEY (id);",
            "ALTER TABLE ONLY public.t ADD CONSTRAINT t_pkey PRIMARY KEY (id);",
            "ALTER TABLE t ADD COLUMN b int NOT NULL;",
            "ALTER TABLE t ALTER COLUMN a TYPE bigint;",
            "ALTER TABLE t ALTER COLUMN a SET NOT NULL;",
            "ALTER TABLE t ADD COLUMN u int REFERENCES users (id);",
            "ALTER TABLE t RENAME COLUMN a TO b;",
            "ALTER TABLE t ADD COLUMN s bigserial;",
            "ALTER TABLE t RENAME TO u;\nALTER TABLE u ADD PRIMARY KEY (id);",
        ] {
            let create = if statement.contains("public.t") {
                "CREATE TABLE public.t (id int, a int);"
            } else {
                "CREATE TABLE t (id int, a int);"
            };
            for transactional in [true, false] {
                let sql = format!("{create}\n{statement}");
                assert_eq!(run(&sql, transactional, &[]), [], "{sql}");
            }
        }
        // A view created with no data and refreshed.
        let sql = "CREATE MATERIALIZED VIEW v AS SELECT 1 AS a WITH NO DATA;\nREFRESH MATERIALIZED VIEW v;";
        assert_eq!(run(sql, true, &[]), [], "{sql}");
    }

    /// Names are compared qualified: `app.t` is not `other.t`, an
    /// unqualified `t` may be either, and `IF NOT EXISTS` may find the
    /// table there already.
    #[test]
    fn only_the_same_qualified_name_is_a_new_table() {
        use OnlineRule::*;
        for (sql, expected) in [
            (
                "CREATE TABLE app.t (id int);\nCREATE INDEX ix ON other.t (id);\nALTER TABLE other.t ADD CONSTRAINT c CHECK (id > 0);",
                vec![
                    (12, online(RequireConcurrentIndexCreation)),
                    (13, online(ConstraintMissingNotValid)),
                ],
            ),
            (
                "CREATE TABLE t (id int);\nCREATE INDEX ix ON app.t (id);",
                vec![(12, online(RequireConcurrentIndexCreation))],
            ),
            (
                "CREATE TABLE IF NOT EXISTS t (id int);\nCREATE INDEX ix ON t (id);",
                vec![(12, online(RequireConcurrentIndexCreation))],
            ),
            (
                "CREATE TABLE \"T\" (id int);\nALTER TABLE t ADD PRIMARY KEY (id);",
                vec![(12, online(AddingSerialPrimaryKeyField))],
            ),
        ] {
            assert_eq!(run(sql, true, &[]), expected, "{sql}");
        }
    }

    /// Rewrites squawk does not see: a column filled from a sequence or as
    /// an identity, a check on an added column, `SET LOGGED`, `SET
    /// TABLESPACE`, `CLUSTER`, `VACUUM FULL`, and a refresh that blocks
    /// reads.
    #[test]
    fn flags_what_squawk_does_not() {
        use OnlineRule::*;
        for (sql, transactional, rule) in [
            (
                "ALTER TABLE users ADD COLUMN b bigserial;",
                true,
                AddingFieldWithDefault,
            ),
            (
                "ALTER TABLE users ADD b serial;",
                true,
                AddingFieldWithDefault,
            ),
            (
                "ALTER TABLE users ADD COLUMN IF NOT EXISTS b smallserial;",
                true,
                AddingFieldWithDefault,
            ),
            (
                "ALTER TABLE users ADD COLUMN b bigint GENERATED ALWAYS AS IDENTITY;",
                true,
                AddingFieldWithDefault,
            ),
            (
                "ALTER TABLE users ADD COLUMN b int CHECK (b > 0);",
                true,
                ConstraintMissingNotValid,
            ),
            ("ALTER TABLE users SET LOGGED;", true, RewritingTable),
            ("ALTER TABLE users SET UNLOGGED;", true, RewritingTable),
            (
                "ALTER TABLE users SET TABLESPACE fast;",
                true,
                RewritingTable,
            ),
            ("ALTER INDEX ix SET TABLESPACE fast;", true, RewritingTable),
            ("CLUSTER users USING users_pkey;", true, RewritingTable),
            ("VACUUM FULL users;", false, RewritingTable),
            ("VACUUM (FULL, ANALYZE) users;", false, RewritingTable),
            (
                "REFRESH MATERIALIZED VIEW totals;",
                true,
                RequireConcurrentRefresh,
            ),
        ] {
            let sql = format!("SELECT 1;\n{sql}");
            let found = run(&sql, transactional, &[]);
            assert_eq!(found, [(12, online(rule))], "{sql}");
            assert_eq!(run(&sql, transactional, &[rule]), [], "{sql} allowed");
        }
        for sql in [
            "REFRESH MATERIALIZED VIEW CONCURRENTLY totals;",
            "VACUUM (FULL false) users;",
            "VACUUM users;",
            "ALTER TABLE users ADD COLUMN b bigint;",
            "ALTER TABLE users SET (fillfactor = 70);",
        ] {
            assert_eq!(run(sql, false, &[]), [], "{sql}");
        }
        let sections = [section(
            Direction::Upgrade,
            None,
            "ALTER TABLE users ADD COLUMN b bigserial;\nALTER TABLE users ADD COLUMN c uuid DEFAULT gen_random_uuid();",
        )];
        let diagnostics = diagnose(&sections, true, &[]);
        let text = diagnostics.to_string();
        assert!(
            text.contains("adding the `bigserial` column `b` fills every row from a sequence"),
            "{text}"
        );
        assert!(
            text.contains("a column with a volatile `DEFAULT`"),
            "{text}"
        );
        assert!(!text.contains("generated column requires"), "{text}");
    }

    /// The mend of `adding-not-nullable-field` passes: `VALIDATE` and
    /// `SET NOT NULL` in one revision, after the `NOT VALID` check.
    #[test]
    fn the_not_null_mend_passes() {
        let validate = "ALTER TABLE users VALIDATE CONSTRAINT a_present;\nALTER TABLE users ALTER COLUMN a SET NOT NULL;";
        assert_eq!(run(validate, true, &[]), [], "{validate}");
        let alone = "ALTER TABLE users ALTER COLUMN a SET NOT NULL;";
        assert_eq!(
            run(alone, true, &[]),
            [(11, online(OnlineRule::AddingNotNullableField))]
        );
        assert!(
            OnlineRule::AddingNotNullableField
                .mend()
                .contains("`SET NOT NULL` together")
        );
    }

    /// The hint about `Allow:` fits the rule: a rename is about the code
    /// still running, not about a lock.
    #[test]
    fn the_allow_hint_fits_the_rule() {
        let sections = [section(
            Direction::Upgrade,
            None,
            "ALTER TABLE users RENAME COLUMN a TO b;",
        )];
        let diagnostics = diagnose(&sections, true, &[]);
        let text = diagnostics.to_string();
        assert!(
            text.contains(
                "; if no code that still runs uses the old name, add `-- Allow: renaming-column`"
            ),
            "{text}"
        );
        assert!(!text.contains("lock is acceptable"), "{text}");
    }
}
