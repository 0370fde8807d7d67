//! What the online-safety lint reads of a section with the SQL lexer,
//! before and after squawk: which statements target a table created earlier
//! in the same section (exempt from every rule: nobody uses that table yet),
//! whether any statement is of a kind a rule looks at (else squawk need not
//! parse the section), and the rules squawk lacks (columns filled from a
//! sequence, checks on added columns, rewrites, non-concurrent refreshes).
//!
//! Names are compared as written, each part folded as PostgreSQL folds it:
//! `app.t` is not `other.t`, and an unqualified `t` is not `app.t` (which
//! table it means depends on the `search_path`, so it is not exempt).

use super::OnlineRule;
use super::lint_cache::Found;
use super::sql_lexer::{Token, TokenKind, statements};

/// A possibly qualified name, each part folded (`["app", "t"]`).
type Name = Vec<String>;

/// One statement of the section.
struct Statement<'a> {
    /// The byte offset of its first token in the section.
    start: usize,
    /// The byte offset just past its last token.
    end: usize,
    tokens: Vec<Token<'a>>,
    /// It targets a table or materialized view created earlier in the
    /// section (`CREATE TABLE` without `IF NOT EXISTS`).
    on_new: bool,
    /// A `CREATE TABLE`: hidden from squawk, whose own exemption of new
    /// tables compares only the last part of names.
    creates_table: bool,
}

/// A section, split into statements and read.
pub(super) struct Scan<'a> {
    sql: &'a str,
    statements: Vec<Statement<'a>>,
}

/// The column types whose `ADD COLUMN` fills every row from a sequence.
const SERIAL_TYPES: [&str; 6] = [
    "SERIAL",
    "BIGSERIAL",
    "SMALLSERIAL",
    "SERIAL2",
    "SERIAL4",
    "SERIAL8",
];

impl<'a> Scan<'a> {
    /// Reads `sql`, an upgrade section.
    pub fn new(sql: &'a str) -> Scan<'a> {
        let mut created: Vec<Name> = Vec::new();
        let mut read = Vec::new();
        for tokens in statements(sql, 1) {
            let (Some(first), Some(last)) = (tokens.first(), tokens.last()) else {
                continue;
            };
            let start = offset(sql, first);
            let end = offset(sql, last) + last.text.len();
            let (target, creates) = target(&tokens);
            let on_new = target.as_ref().is_some_and(|t| created.contains(t));
            if on_new && let Some(to) = renamed_to(&tokens) {
                // A new table renamed is still new, under its new name, in
                // the same schema.
                let mut name = target.clone().unwrap_or_default();
                name.pop();
                name.push(to);
                created.push(name);
            }
            let creates_table = creates.as_ref().is_some_and(|c| c.table);
            if let Some(Created {
                name: Some(name), ..
            }) = creates
            {
                created.push(name);
            }
            read.push(Statement {
                start,
                end,
                tokens,
                on_new,
                creates_table,
            });
        }
        Scan {
            sql,
            statements: read,
        }
    }

    /// False when no statement is of a kind any rule that is on looks at
    /// (`ALTER …`, `DROP …`, `REINDEX`, `CLUSTER`, `VACUUM`, `REFRESH`,
    /// transaction control, `CREATE INDEX`), once the statements on tables
    /// created earlier in the section are set aside: anything else
    /// (`CREATE TABLE`, `INSERT`, `CREATE FUNCTION`, …) passes them all.
    pub fn may_be_flagged(&self) -> bool {
        const LOOKED_AT: [&str; 12] = [
            "ALTER", "DROP", "REINDEX", "CLUSTER", "VACUUM", "REFRESH", "BEGIN", "START", "COMMIT",
            "END", "ROLLBACK", "ABORT",
        ];
        self.statements.iter().filter(|s| !s.on_new).any(|s| {
            let word = |i: usize, k: &str| s.tokens.get(i).is_some_and(|t| t.is_keyword(k));
            LOOKED_AT.iter().any(|k| word(0, k))
                || (word(0, "CREATE") && (word(1, "INDEX") || word(2, "INDEX")))
        })
    }

    /// The section as squawk is given it: every `CREATE TABLE` blanked out
    /// (offsets and lines kept), so that squawk exempts nothing itself.
    pub fn for_squawk(&self) -> String {
        let mut bytes = self.sql.as_bytes().to_vec();
        for statement in self.statements.iter().filter(|s| s.creates_table) {
            for byte in &mut bytes[statement.start..statement.end] {
                if *byte != b'\n' {
                    *byte = b' ';
                }
            }
        }
        // Only whole characters were replaced, by ASCII.
        String::from_utf8(bytes).unwrap_or_else(|_| self.sql.to_owned())
    }

    /// Keeps the findings that apply: none on a statement that targets a
    /// table created earlier in the section, and one per rule and
    /// statement (the first given).
    pub fn keep(&self, found: Vec<Found>) -> Vec<Found> {
        let mut seen: Vec<(usize, String)> = Vec::new();
        let mut kept = Vec::new();
        for f in found {
            let index = self
                .statements
                .iter()
                .rposition(|s| s.start <= f.offset)
                .unwrap_or(0);
            if self.statements.get(index).is_some_and(|s| s.on_new) {
                continue;
            }
            let id = (index, f.rule.clone());
            if !seen.contains(&id) {
                seen.push(id);
                kept.push(f);
            }
        }
        kept
    }

    /// The findings of the rules squawk lacks.
    pub fn own_findings(&self) -> Vec<Found> {
        let mut found = Vec::new();
        for statement in self.statements.iter().filter(|s| !s.on_new) {
            let tokens = &statement.tokens[..];
            let mut flag = |token: &Token<'_>, rule: OnlineRule, message: String| {
                found.push(Found {
                    rule: rule.name().to_owned(),
                    offset: offset(self.sql, token),
                    message,
                });
            };
            let word = |i: usize, k: &str| tokens.get(i).is_some_and(|t| t.is_keyword(k));
            let first = &tokens[0];
            if word(0, "ALTER") && !word(1, "DATABASE") {
                for clause in clauses(tokens) {
                    own_clause(clause, &mut flag);
                }
            } else if word(0, "CLUSTER") {
                flag(
                    first,
                    OnlineRule::RewritingTable,
                    "`CLUSTER` rewrites the table under an `ACCESS EXCLUSIVE` lock: reads and writes wait for the whole rewrite".to_owned(),
                );
            } else if word(0, "VACUUM")
                && let Some(i) = tokens.iter().position(|t| t.is_keyword("FULL"))
                && !["FALSE", "OFF", "0"].iter().any(|k| {
                    tokens
                        .get(i + 1)
                        .is_some_and(|t| t.text.eq_ignore_ascii_case(k))
                })
            {
                flag(
                    first,
                    OnlineRule::RewritingTable,
                    "`VACUUM FULL` rewrites the table under an `ACCESS EXCLUSIVE` lock: reads and writes wait for the whole rewrite".to_owned(),
                );
            } else if word(0, "REFRESH")
                && !word(3, "CONCURRENTLY")
                && !tokens.windows(3).any(|w| {
                    w[0].is_keyword("WITH") && w[1].is_keyword("NO") && w[2].is_keyword("DATA")
                })
            {
                flag(
                    first,
                    OnlineRule::RequireConcurrentRefresh,
                    "`REFRESH MATERIALIZED VIEW` without `CONCURRENTLY` holds an `ACCESS EXCLUSIVE` lock: reads of the view wait for the whole refresh".to_owned(),
                );
            }
        }
        found
    }
}

/// The findings of one clause of an `ALTER` (`ADD COLUMN …`, `SET …`).
fn own_clause(clause: &[Token<'_>], flag: &mut impl FnMut(&Token<'_>, OnlineRule, String)) {
    let word = |i: usize, k: &str| clause.get(i).is_some_and(|t| t.is_keyword(k));
    let Some(first) = clause.first() else {
        return;
    };
    if word(0, "SET") {
        for what in ["LOGGED", "UNLOGGED", "TABLESPACE"] {
            if word(1, what) {
                flag(
                    first,
                    OnlineRule::RewritingTable,
                    format!(
                        "`SET {what}` rewrites the table (or index) under an `ACCESS EXCLUSIVE` lock: reads and writes wait for the whole rewrite"
                    ),
                );
            }
        }
        return;
    }
    let constraint = [
        "CONSTRAINT",
        "PRIMARY",
        "UNIQUE",
        "FOREIGN",
        "CHECK",
        "EXCLUDE",
    ];
    if !word(0, "ADD") || constraint.iter().any(|k| word(1, k)) {
        return;
    }
    // ADD [COLUMN] [IF NOT EXISTS] name type …
    let mut i = if word(1, "COLUMN") { 2 } else { 1 };
    if word(i, "IF") {
        i += 3;
    }
    let column = clause.get(i).map_or("", |t| t.text);
    if let Some(kind) = clause
        .get(i + 1)
        .filter(|t| SERIAL_TYPES.iter().any(|k| t.is_keyword(k)))
    {
        flag(
            first,
            OnlineRule::AddingFieldWithDefault,
            format!(
                "adding the `{}` column `{column}` fills every row from a sequence: a rewrite of the table under an `ACCESS EXCLUSIVE` lock",
                kind.text.to_lowercase()
            ),
        );
    } else if clause.iter().any(|t| t.is_keyword("IDENTITY")) {
        flag(
            first,
            OnlineRule::AddingFieldWithDefault,
            format!(
                "adding the identity column `{column}` fills every row: a rewrite of the table under an `ACCESS EXCLUSIVE` lock"
            ),
        );
    }
    if clause.iter().any(|t| t.is_keyword("CHECK")) {
        flag(
            first,
            OnlineRule::ConstraintMissingNotValid,
            format!(
                "the `CHECK` of the added column `{column}` is checked by a scan of the table under an `ACCESS EXCLUSIVE` lock"
            ),
        );
    }
}

/// The clauses of an `ALTER TABLE` (or `INDEX`, `MATERIALIZED VIEW`):
/// what follows the name, split at the commas outside parentheses.
fn clauses<'t, 'a>(tokens: &'t [Token<'a>]) -> Vec<&'t [Token<'a>]> {
    let Some(name_at) = altered_name_at(tokens) else {
        return Vec::new();
    };
    let rest = &tokens[name_at..];
    let rest = match name(rest) {
        Some((_, used)) => &rest[used..],
        None => rest,
    };
    let mut clauses = Vec::new();
    let mut depth = 0usize;
    let mut from = 0;
    for (i, token) in rest.iter().enumerate() {
        if token.is_punct('(') {
            depth += 1;
        } else if token.is_punct(')') {
            depth = depth.saturating_sub(1);
        } else if token.is_punct(',') && depth == 0 {
            clauses.push(&rest[from..i]);
            from = i + 1;
        }
    }
    clauses.push(&rest[from..]);
    clauses
}

/// Where the name of the object an `ALTER TABLE`, `ALTER INDEX` or `ALTER
/// MATERIALIZED VIEW` changes starts (after `IF EXISTS` and `ONLY`).
fn altered_name_at(tokens: &[Token<'_>]) -> Option<usize> {
    let word = |i: usize, k: &str| tokens.get(i).is_some_and(|t| t.is_keyword(k));
    let mut i = if word(1, "TABLE") || word(1, "INDEX") {
        2
    } else if word(1, "MATERIALIZED") && word(2, "VIEW") {
        3
    } else {
        return None;
    };
    if word(i, "IF") && word(i + 1, "EXISTS") {
        i += 2;
    }
    if word(i, "ONLY") {
        i += 1;
    }
    Some(i)
}

/// What a `CREATE TABLE` or `CREATE MATERIALIZED VIEW` creates.
struct Created {
    /// The name, unless `IF NOT EXISTS` says it may exist already.
    name: Option<Name>,
    /// A table (not a materialized view).
    table: bool,
}

/// The table (or materialized view) a statement targets, and what it
/// creates.
fn target(tokens: &[Token<'_>]) -> (Option<Name>, Option<Created>) {
    let word = |i: usize, k: &str| tokens.get(i).is_some_and(|t| t.is_keyword(k));
    let name_at = |i: usize| tokens.get(i..).and_then(name).map(|(n, _)| n);
    if word(0, "CREATE") {
        let mut i = 1;
        while ["TEMP", "TEMPORARY", "UNLOGGED", "GLOBAL", "LOCAL", "UNIQUE"]
            .iter()
            .any(|k| word(i, k))
        {
            i += 1;
        }
        let table = word(i, "TABLE");
        if table || (word(i, "MATERIALIZED") && word(i + 1, "VIEW")) {
            i += if table { 1 } else { 2 };
            let name = if word(i, "IF") { None } else { name_at(i) };
            return (None, Some(Created { name, table }));
        }
        if word(i, "INDEX") {
            let on = tokens.iter().position(|t| t.is_keyword("ON"));
            let on = on.map(|on| if word(on + 1, "ONLY") { on + 2 } else { on + 1 });
            return (on.and_then(name_at), None);
        }
    } else if word(0, "ALTER") {
        return (altered_name_at(tokens).and_then(name_at), None);
    } else if word(0, "REFRESH") && word(1, "MATERIALIZED") && word(2, "VIEW") {
        return (name_at(if word(3, "CONCURRENTLY") { 4 } else { 3 }), None);
    } else if word(0, "CLUSTER") {
        return (name_at(if word(1, "VERBOSE") { 2 } else { 1 }), None);
    }
    (None, None)
}

/// The new name of an `ALTER TABLE … RENAME TO new`.
fn renamed_to(tokens: &[Token<'_>]) -> Option<String> {
    let at = tokens
        .windows(2)
        .position(|w| w[0].is_keyword("RENAME") && w[1].is_keyword("TO"))?;
    tokens.get(at + 2).and_then(part)
}

/// The possibly qualified name at the start of `tokens`, and how many
/// tokens it takes.
fn name(tokens: &[Token<'_>]) -> Option<(Name, usize)> {
    let mut parts = Vec::new();
    let mut used = 0;
    while let Some(token) = tokens.get(used) {
        parts.push(part(token)?);
        used += 1;
        match tokens.get(used) {
            Some(dot) if dot.is_punct('.') => used += 1,
            _ => break,
        }
    }
    (!parts.is_empty()).then_some((parts, used))
}

/// One part of a name, as PostgreSQL folds it: lower case unless quoted.
fn part(token: &Token<'_>) -> Option<String> {
    match token.kind {
        TokenKind::Word => Some(token.text.to_lowercase()),
        TokenKind::QuotedIdent => Some(token.text.trim_matches('"').to_owned()),
        TokenKind::Literal | TokenKind::Punct => None,
    }
}

/// The byte offset of `token` in `sql`, of which it is a slice.
fn offset(sql: &str, token: &Token<'_>) -> usize {
    (token.text.as_ptr() as usize).saturating_sub(sql.as_ptr() as usize)
}
