//! Finding statements in an upgrade that lose data.
//!
//! Statements are found with the [SQL lexer](super::sql_lexer), so comments
//! and literals (dollar-quoted function bodies included) are never mistaken
//! for statements. Flagged, in any case and spacing: `DROP TABLE`,
//! `DROP SCHEMA`, `DROP DATABASE`, `TRUNCATE [TABLE]`, and the
//! `DROP [COLUMN]` and `DROP PARTITION` actions of `ALTER TABLE` (not
//! `DROP CONSTRAINT`, `DROP INDEX`, keys, checks or defaults, nor anything
//! done to a column by `ALTER COLUMN`).

use super::sql_lexer::{Token, TokenKind, statements};

/// One statement (or one action of an `ALTER TABLE`) that loses data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Finding {
    /// The line of the dropping keyword (`DROP`, `TRUNCATE`).
    pub line: u32,
    /// What the upgrade loses, e.g. "drops table `api_keys`".
    pub what: String,
}

/// Every statement of `sql` (whose first line is `first_line` of its file)
/// that drops or truncates data.
pub(super) fn scan(sql: &str, first_line: u32) -> Vec<Finding> {
    let mut findings = Vec::new();
    for statement in statements(sql, first_line) {
        check_statement(&statement, &mut findings);
    }
    findings
}

fn check_statement(tokens: &[Token<'_>], findings: &mut Vec<Finding>) {
    let Some((first, rest)) = tokens.split_first() else {
        return;
    };
    if first.is_keyword("DROP") {
        let Some((object, rest)) = rest.split_first() else {
            return;
        };
        let Some(kind) = ["TABLE", "SCHEMA", "DATABASE"]
            .into_iter()
            .find(|k| object.is_keyword(k))
        else {
            return;
        };
        let kind = kind.to_ascii_lowercase();
        for name in name_list(skip_if_exists(rest)) {
            findings.push(Finding {
                line: first.line,
                what: format!("drops {kind} `{name}`"),
            });
        }
    } else if first.is_keyword("TRUNCATE") {
        let rest = skip_keyword(rest, "TABLE");
        for name in name_list(skip_keyword(rest, "ONLY")) {
            findings.push(Finding {
                line: first.line,
                what: format!("truncates table `{name}`"),
            });
        }
    } else if first.is_keyword("ALTER") && rest.first().is_some_and(|t| t.is_keyword("TABLE")) {
        let rest = skip_keyword(skip_if_exists(&rest[1..]), "ONLY");
        let Some((table, rest)) = name(rest) else {
            return;
        };
        for action in rest.split(|t| t.is_punct(',')) {
            check_alter_action(&table, action, findings);
        }
    }
}

/// Keywords after `ALTER TABLE t DROP` that drop no data.
const HARMLESS_DROPS: [&str; 7] = [
    "CONSTRAINT",
    "INDEX",
    "KEY",
    "PRIMARY",
    "FOREIGN",
    "CHECK",
    "DEFAULT",
];

/// One comma-separated action of `ALTER TABLE table ...`.
fn check_alter_action(table: &str, action: &[Token<'_>], findings: &mut Vec<Finding>) {
    // Actions split at every comma: one inside parentheses only yields a
    // fragment, which never starts with DROP.
    let Some((drop, rest)) = action.split_first().filter(|(t, _)| t.is_keyword("DROP")) else {
        return;
    };
    if rest
        .first()
        .is_some_and(|t| HARMLESS_DROPS.iter().any(|k| t.is_keyword(k)))
    {
        return;
    }
    let (kind, rest) = match rest.first() {
        Some(t) if t.is_keyword("PARTITION") => ("partition", &rest[1..]),
        _ => ("column", skip_keyword(rest, "COLUMN")),
    };
    if let Some((name, _)) = name(skip_if_exists(rest)) {
        findings.push(Finding {
            line: drop.line,
            what: format!("drops {kind} `{name}` of table `{table}`"),
        });
    }
}

fn skip_keyword<'t, 'a>(tokens: &'t [Token<'a>], keyword: &str) -> &'t [Token<'a>] {
    match tokens.split_first() {
        Some((first, rest)) if first.is_keyword(keyword) => rest,
        _ => tokens,
    }
}

fn skip_if_exists<'t, 'a>(tokens: &'t [Token<'a>]) -> &'t [Token<'a>] {
    match tokens {
        [i, e, rest @ ..] if i.is_keyword("IF") && e.is_keyword("EXISTS") => rest,
        _ => tokens,
    }
}

/// The names of `a, schema.b, c*` at the start of `tokens`.
fn name_list(mut tokens: &[Token<'_>]) -> Vec<String> {
    let mut names = Vec::new();
    while let Some((name, rest)) = name(tokens) {
        names.push(name);
        // `TRUNCATE t *` includes descendant tables.
        let rest = match rest.first() {
            Some(star) if star.is_punct('*') => &rest[1..],
            _ => rest,
        };
        match rest.split_first() {
            Some((comma, rest)) if comma.is_punct(',') => tokens = rest,
            _ => break,
        }
    }
    names
}

/// A possibly qualified name (`a`, `"s"."t"`) at the start of `tokens`,
/// unquoted, and the tokens after it.
fn name<'t, 'a>(tokens: &'t [Token<'a>]) -> Option<(String, &'t [Token<'a>])> {
    let (first, mut rest) = tokens.split_first()?;
    let mut name = identifier(first)?;
    while let [dot, part, after @ ..] = rest {
        let Some(part) = dot.is_punct('.').then(|| identifier(part)).flatten() else {
            break;
        };
        name.push('.');
        name.push_str(&part);
        rest = after;
    }
    Some((name, rest))
}

/// The identifier a token names, without its quotes.
pub(super) fn identifier(token: &Token<'_>) -> Option<String> {
    match token.kind {
        TokenKind::Word => Some(token.text.to_owned()),
        TokenKind::QuotedIdent => {
            let quote = &token.text[..1];
            let inner = &token.text[1..];
            let inner = inner.strip_suffix(quote).unwrap_or(inner);
            Some(inner.replace(&quote.repeat(2), quote))
        }
        TokenKind::Literal | TokenKind::Punct => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(sql: &str) -> Vec<(u32, String)> {
        scan(sql, 1).into_iter().map(|f| (f.line, f.what)).collect()
    }

    fn one(line: u32, what: &str) -> Vec<(u32, String)> {
        vec![(line, what.to_owned())]
    }

    #[test]
    fn flags_drops_and_truncates() {
        assert_eq!(
            found("DROP TABLE api_keys;"),
            one(1, "drops table `api_keys`")
        );
        assert_eq!(
            found("drop table if exists a, public.\"B c\" cascade"),
            [
                (1, "drops table `a`".to_owned()),
                (1, "drops table `public.B c`".to_owned())
            ]
        );
        assert_eq!(found("DROP SCHEMA s CASCADE"), one(1, "drops schema `s`"));
        assert_eq!(found("DROP DATABASE `db`"), one(1, "drops database `db`"));
        assert_eq!(found("TRUNCATE t"), one(1, "truncates table `t`"));
        assert_eq!(
            found("truncate table only t *, u restart identity"),
            [
                (1, "truncates table `t`".to_owned()),
                (1, "truncates table `u`".to_owned())
            ]
        );
    }

    #[test]
    fn flags_dropped_columns_at_their_line() {
        assert_eq!(
            found("SELECT 1;\nALTER TABLE t\n  ADD COLUMN x INT,\n  DROP COLUMN c;"),
            one(4, "drops column `c` of table `t`")
        );
        assert_eq!(
            found("ALTER TABLE IF EXISTS ONLY t DROP IF EXISTS c, drop d"),
            [
                (1, "drops column `c` of table `t`".to_owned()),
                (1, "drops column `d` of table `t`".to_owned())
            ]
        );
        assert_eq!(
            found("ALTER TABLE t DROP PARTITION p0"),
            one(1, "drops partition `p0` of table `t`")
        );
    }

    #[test]
    fn ignores_what_loses_no_data() {
        for sql in [
            "ALTER TABLE t DROP CONSTRAINT c",
            "ALTER TABLE t DROP INDEX i, DROP KEY k, DROP PRIMARY KEY, DROP FOREIGN KEY f",
            "ALTER TABLE t DROP CHECK c, DROP DEFAULT",
            "ALTER TABLE t ALTER COLUMN c DROP DEFAULT, ALTER COLUMN c DROP NOT NULL",
            "ALTER TABLE t ALTER COLUMN c DROP IDENTITY, ALTER c DROP EXPRESSION",
            "ALTER TABLE t ADD CONSTRAINT c CHECK (a IN (1, 2))",
            "DROP INDEX i; DROP VIEW v; DROP TEMPORARY TABLE t",
            "-- DROP TABLE x\nSELECT 1",
            "/* DROP TABLE x */ SELECT 1",
            "SELECT 'drop table x'",
            "INSERT INTO t VALUES (E'\\' ; DROP TABLE x; --')",
            "CREATE FUNCTION f() RETURNS void AS $$ DROP TABLE x; $$ LANGUAGE sql;",
            "CREATE FUNCTION f() RETURNS void AS $body$\nBEGIN\n  DROP TABLE x;\nEND\n$body$ LANGUAGE plpgsql;",
            "SELECT \"DROP TABLE x\"",
            "DROP TABLE",
        ] {
            assert_eq!(found(sql), [], "{sql}");
        }
    }
}
