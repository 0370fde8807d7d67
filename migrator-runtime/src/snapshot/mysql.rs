//! The snapshot of a MySQL or MariaDB database, read from
//! `information_schema`.
//!
//! Tested on MariaDB 10.11; written for MySQL 8 as well (8.0.16 or later,
//! for `CHECK_CONSTRAINTS`), where the two report the same object
//! differently, the rows are normalised to one form (see
//! [`Snapshot`](super::Snapshot)'s docs for the list).

use std::collections::BTreeMap;

use diesel::MysqlConnection;
use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Nullable, Text};

use super::{
    Column, Excluded, ForeignKey, Index, MYSQL_TABLES, Named, NamedOnTable, PgTable, Snapshot,
    Table, collapse, load, views_and_triggers,
};
use crate::model::BackendKind;

#[derive(QueryableByName)]
struct MysqlColumn {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    column_type: String,
    #[diesel(sql_type = Text)]
    is_nullable: String,
    #[diesel(sql_type = Nullable<Text>)]
    default_value: Option<String>,
    #[diesel(sql_type = Text)]
    extra: String,
    #[diesel(sql_type = Nullable<Text>)]
    generation: Option<String>,
}

#[derive(QueryableByName)]
struct MysqlIndexColumn {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    index_name: String,
    #[diesel(sql_type = BigInt)]
    non_unique: i64,
    #[diesel(sql_type = Nullable<Text>)]
    column_name: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    sub_part: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    collation: Option<String>,
    #[diesel(sql_type = Text)]
    index_type: String,
}

#[derive(QueryableByName)]
struct MysqlForeignKey {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    constraint_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    ref_table: String,
    #[diesel(sql_type = Text)]
    ref_column: String,
    #[diesel(sql_type = Text)]
    on_update: String,
    #[diesel(sql_type = Text)]
    on_delete: String,
}

/// The database's name (`name`) and the server's version (`definition`).
const SERVER: &str = "SELECT DATABASE() AS name, VERSION() AS definition";

const COLUMNS: &str = "\
SELECT c.table_name AS table_name, c.column_name AS column_name, c.column_type AS column_type,
       c.is_nullable AS is_nullable, c.column_default AS default_value, c.extra AS extra,
       c.generation_expression AS generation
FROM information_schema.columns c
JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
WHERE c.table_schema = DATABASE() AND t.table_type = 'BASE TABLE'
ORDER BY c.table_name, c.ordinal_position";

const INDEXES: &str = "\
SELECT table_name AS table_name, index_name AS index_name, non_unique AS non_unique,
       column_name AS column_name, sub_part AS sub_part, collation AS collation,
       index_type AS index_type
FROM information_schema.statistics
WHERE table_schema = DATABASE()
ORDER BY table_name, index_name, seq_in_index";

const FOREIGN_KEYS: &str = "\
SELECT k.table_name AS table_name, k.constraint_name AS constraint_name,
       k.column_name AS column_name, k.referenced_table_name AS ref_table,
       k.referenced_column_name AS ref_column, r.update_rule AS on_update,
       r.delete_rule AS on_delete
FROM information_schema.key_column_usage k
JOIN information_schema.referential_constraints r
  ON r.constraint_schema = k.constraint_schema AND r.table_name = k.table_name
 AND r.constraint_name = k.constraint_name
WHERE k.table_schema = DATABASE() AND k.referenced_table_name IS NOT NULL
ORDER BY k.table_name, k.constraint_name, k.ordinal_position";

/// MariaDB's `CHECK_CONSTRAINTS` names the table (check names are unique
/// per table there: a column's check is named after the column).
const MARIADB_CHECKS: &str = "\
SELECT constraint_name AS name, table_name AS table_name, check_clause AS definition
FROM information_schema.check_constraints
WHERE constraint_schema = DATABASE()";

/// MySQL 8's does not (check names are unique per schema there): the table
/// comes from `TABLE_CONSTRAINTS`.
const MYSQL_CHECKS: &str = "\
SELECT tc.constraint_name AS name, tc.table_name AS table_name, cc.check_clause AS definition
FROM information_schema.table_constraints tc
JOIN information_schema.check_constraints cc
  ON cc.constraint_schema = tc.constraint_schema AND cc.constraint_name = tc.constraint_name
WHERE tc.table_schema = DATABASE() AND tc.constraint_type = 'CHECK'";

const VIEWS: &str = "\
SELECT table_name AS name, view_definition AS definition
FROM information_schema.views WHERE table_schema = DATABASE()";

const TRIGGERS: &str = "\
SELECT trigger_name AS name, event_object_table AS table_name,
       CONCAT(action_timing, ' ', event_manipulation, ' FOR EACH ', action_orientation, ' ',
              action_statement) AS definition
FROM information_schema.triggers WHERE trigger_schema = DATABASE()";

/// The schema of the MySQL or MariaDB database behind `conn`.
pub(super) fn snapshot(
    conn: &mut MysqlConnection,
    excluded: &Excluded,
) -> diesel::QueryResult<Snapshot> {
    let mut snapshot = Snapshot::empty(BackendKind::Mysql);
    let server = load::<_, Named>(conn, SERVER)?.pop();
    let database = server.as_ref().map_or("", |s| s.name.as_str());
    let mariadb = server
        .as_ref()
        .is_some_and(|s| s.definition.contains("MariaDB"));
    // `db`.`t` → `t` in definitions: a test database's name is its own.
    let unqualify = |text: &str| {
        let qualifier = format!("`{database}`.");
        collapse(&text.replace(&qualifier, ""))
    };
    for t in load::<_, PgTable>(conn, MYSQL_TABLES)? {
        if !excluded.table(&t.table_name) {
            snapshot.tables.insert(t.table_name, Table::default());
        }
    }
    for c in load::<_, MysqlColumn>(conn, COLUMNS)? {
        let Some(table) = snapshot.tables.get_mut(&c.table_name) else {
            continue;
        };
        let (default, generated) = column_default(&c, mariadb);
        table.column_order.push(c.column_name.clone());
        table.columns.insert(
            c.column_name,
            Column {
                data_type: column_type(&c.column_type),
                nullable: c.is_nullable == "YES",
                default,
                generated,
            },
        );
    }
    for i in load::<_, MysqlIndexColumn>(conn, INDEXES)? {
        let Some(table) = snapshot.tables.get_mut(&i.table_name) else {
            continue;
        };
        let mut column = match (&i.column_name, i.sub_part) {
            (Some(name), Some(length)) => format!("{name}({length})"),
            (Some(name), None) => name.clone(),
            // A functional key part (MySQL 8.0.13 and later).
            (None, _) => "(expression)".to_owned(),
        };
        if i.collation.as_deref() == Some("D") {
            column.push_str(" DESC");
        }
        if i.index_name == "PRIMARY" {
            table.primary_key.push(column);
            continue;
        }
        table
            .indexes
            .entry(i.index_name)
            .or_insert_with(|| Index {
                unique: i.non_unique == 0,
                columns: Vec::new(),
                predicate: None,
                method: (i.index_type != "BTREE").then(|| i.index_type.to_lowercase()),
            })
            .columns
            .push(column);
    }
    let mut fks: BTreeMap<(String, String), ForeignKey> = BTreeMap::new();
    for f in load::<_, MysqlForeignKey>(conn, FOREIGN_KEYS)? {
        let fk = fks
            .entry((f.table_name, f.constraint_name))
            .or_insert_with(|| ForeignKey {
                columns: Vec::new(),
                references: f.ref_table,
                referenced_columns: Vec::new(),
                on_update: action(&f.on_update),
                on_delete: action(&f.on_delete),
            });
        fk.columns.push(f.column_name);
        fk.referenced_columns.push(f.ref_column);
    }
    for ((table_name, _), fk) in fks {
        if let Some(table) = snapshot.tables.get_mut(&table_name) {
            table.foreign_keys.insert(fk);
        }
    }
    let checks = if mariadb {
        MARIADB_CHECKS
    } else {
        MYSQL_CHECKS
    };
    for c in load::<_, NamedOnTable>(conn, checks)? {
        let Some(table) = snapshot.tables.get_mut(&c.table_name) else {
            continue;
        };
        let clause = c.definition.as_deref().unwrap_or_default();
        let clause = if mariadb {
            collapse(clause)
        } else {
            // MySQL 8 wraps the clause in parentheses; MariaDB does not.
            strip_outer_parentheses(&collapse(clause)).to_owned()
        };
        table.checks.insert(format!("CHECK ({clause})"));
    }
    views_and_triggers(conn, [VIEWS, TRIGGERS], excluded, unqualify, &mut snapshot)?;
    Ok(snapshot)
}

/// `ON UPDATE` / `ON DELETE` rules: InnoDB treats `RESTRICT` and
/// `NO ACTION` alike (both check at once), and MariaDB reports a key
/// declared without a rule as `RESTRICT` where MySQL 8 says `NO ACTION`:
/// both read `NO ACTION`.
fn action(rule: &str) -> String {
    match rule {
        "RESTRICT" => "NO ACTION".to_owned(),
        other => other.to_owned(),
    }
}

/// The column type, upper case outside quotes (`ENUM('a','b')` keeps its
/// values), without the display width of integer types that MariaDB and
/// MySQL before 8.0.19 print (`int(11)` → `INT`), but for `tinyint(1)`,
/// which both print (it is how a `BOOLEAN` reads).
fn column_type(reported: &str) -> String {
    let mut text = reported.trim().to_owned();
    for int in ["tinyint", "smallint", "mediumint", "int", "bigint"] {
        let Some(rest) = text.strip_prefix(int) else {
            continue;
        };
        if let Some(width) = rest.strip_prefix('(')
            && let Some(end) = width.find(')')
            && width[..end].bytes().all(|b| b.is_ascii_digit())
            && !(int == "tinyint" && &width[..end] == "1")
        {
            text = format!("{int}{}", &width[end + 1..]);
        }
        break;
    }
    upper_outside_quotes(&text)
}

/// `text` upper case, but for what is between single quotes.
fn upper_outside_quotes(text: &str) -> String {
    let mut quoted = false;
    text.chars()
        .map(|c| {
            if c == '\'' {
                quoted = !quoted;
            }
            if quoted { c } else { c.to_ascii_uppercase() }
        })
        .collect()
}

/// The column's default and its generation clause, in MariaDB's form:
///
/// - no default: `None` (MariaDB reports the text `NULL` for a nullable
///   column without one, MySQL 8 an SQL `NULL`);
/// - a literal: quoted, `'rex'`, but for numbers (MySQL 8 reports it
///   unquoted);
/// - an expression: as written, `CURRENT_TIMESTAMP` as
///   `current_timestamp()` (MySQL 8 reports those with `DEFAULT_GENERATED`
///   in `EXTRA`);
/// - the generation clause: `AUTO_INCREMENT`, `ON UPDATE
///   current_timestamp()`, or `GENERATED ALWAYS AS (expression) VIRTUAL`
///   (or `STORED`).
fn column_default(c: &MysqlColumn, mariadb: bool) -> (Option<String>, Option<String>) {
    let extra = c.extra.to_lowercase();
    let generated = if let Some(kind) = ["virtual", "stored"]
        .into_iter()
        .find(|kind| extra.contains(&format!("{kind} generated")))
    {
        let expression = collapse(c.generation.as_deref().unwrap_or_default());
        Some(format!(
            "GENERATED ALWAYS AS ({expression}) {}",
            kind.to_uppercase()
        ))
    } else if extra.contains("auto_increment") {
        Some("AUTO_INCREMENT".to_owned())
    } else {
        extra
            .find("on update ")
            .map(|at| format!("ON UPDATE {}", current_timestamp(&c.extra[at + 10..])))
    };
    if generated
        .as_deref()
        .is_some_and(|g| g.starts_with("GENERATED"))
    {
        return (None, generated);
    }
    let default = match c.default_value.as_deref() {
        None => None,
        Some("NULL") if mariadb => None,
        Some(value) if mariadb => Some(current_timestamp(value)),
        Some(expression) if extra.contains("default_generated") => {
            Some(current_timestamp(expression))
        }
        Some(literal) if is_number(literal) && !is_text_type(&c.column_type) => {
            Some(literal.to_owned())
        }
        Some(literal) => Some(format!("'{}'", literal.replace('\'', "''"))),
    };
    (default, generated)
}

/// `CURRENT_TIMESTAMP` and `CURRENT_TIMESTAMP(3)` (MySQL 8) as MariaDB
/// prints them, `current_timestamp()` and `current_timestamp(3)`.
fn current_timestamp(expression: &str) -> String {
    let expression = expression.trim();
    let lower = expression.to_lowercase();
    match lower.strip_prefix("current_timestamp") {
        Some("") => "current_timestamp()".to_owned(),
        Some(rest) if rest.starts_with('(') => lower,
        _ => expression.to_owned(),
    }
}

fn is_number(text: &str) -> bool {
    !text.is_empty() && text.parse::<f64>().is_ok()
}

/// Whether a column of this type holds text (or bytes, dates, enums): its
/// default is a quoted literal even when it reads as a number.
fn is_text_type(column_type: &str) -> bool {
    let numeric = [
        "tinyint",
        "smallint",
        "mediumint",
        "int",
        "bigint",
        "decimal",
        "float",
        "double",
        "bit",
        "year",
    ];
    let lower = column_type.to_lowercase();
    !numeric.iter().any(|n| lower.starts_with(n))
}

/// `(a > 0)` → `a > 0`; `(a) > (b)` stays.
fn strip_outer_parentheses(text: &str) -> &str {
    let Some(inner) = text.strip_prefix('(').and_then(|t| t.strip_suffix(')')) else {
        return text;
    };
    let mut depth = 0usize;
    for c in inner.chars() {
        match c {
            '(' => depth += 1,
            ')' if depth == 0 => return text,
            ')' => depth -= 1,
            _ => {}
        }
    }
    if depth == 0 { inner } else { text }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(column_type: &str, default: Option<&str>, extra: &str) -> MysqlColumn {
        MysqlColumn {
            table_name: "t".into(),
            column_name: "c".into(),
            column_type: column_type.into(),
            is_nullable: "YES".into(),
            default_value: default.map(str::to_owned),
            extra: extra.into(),
            generation: None,
        }
    }

    #[test]
    fn types_lose_integer_display_widths_but_booleans() {
        assert_eq!(column_type("int(11)"), "INT");
        assert_eq!(column_type("bigint(20) unsigned"), "BIGINT UNSIGNED");
        assert_eq!(column_type("tinyint(1)"), "TINYINT(1)");
        assert_eq!(column_type("tinyint(4)"), "TINYINT");
        assert_eq!(column_type("varchar(200)"), "VARCHAR(200)");
        assert_eq!(column_type("enum('a','B')"), "ENUM('a','B')");
        assert_eq!(column_type("decimal(10,2)"), "DECIMAL(10,2)");
    }

    #[test]
    fn mariadb_and_mysql_defaults_read_alike() {
        let both = |mariadb: MysqlColumn, mysql: MysqlColumn| {
            let (a, b) = (
                column_default(&mariadb, true),
                column_default(&mysql, false),
            );
            assert_eq!(a, b);
            a
        };
        assert_eq!(
            both(
                column("varchar(10)", Some("'rex'"), ""),
                column("varchar(10)", Some("rex"), "")
            ),
            (Some("'rex'".into()), None)
        );
        assert_eq!(
            both(
                column("varchar(10)", Some("'5'"), ""),
                column("varchar(10)", Some("5"), "")
            ),
            (Some("'5'".into()), None)
        );
        assert_eq!(
            both(
                column("int(11)", Some("5"), ""),
                column("int", Some("5"), "")
            ),
            (Some("5".into()), None)
        );
        assert_eq!(
            both(column("int(11)", Some("NULL"), ""), column("int", None, "")),
            (None, None)
        );
        assert_eq!(
            both(
                column(
                    "datetime",
                    Some("current_timestamp()"),
                    "on update current_timestamp()"
                ),
                column(
                    "datetime",
                    Some("CURRENT_TIMESTAMP"),
                    "DEFAULT_GENERATED on update CURRENT_TIMESTAMP"
                )
            ),
            (
                Some("current_timestamp()".into()),
                Some("ON UPDATE current_timestamp()".into())
            )
        );
        assert_eq!(
            both(
                column("bigint(20)", None, "auto_increment"),
                column("bigint", None, "auto_increment")
            ),
            (None, Some("AUTO_INCREMENT".into()))
        );
    }

    #[test]
    fn only_wrapping_parentheses_are_stripped() {
        assert_eq!(strip_outer_parentheses("(a > 0)"), "a > 0");
        assert_eq!(strip_outer_parentheses("(a) > (b)"), "(a) > (b)");
        assert_eq!(strip_outer_parentheses("a > 0"), "a > 0");
    }
}
