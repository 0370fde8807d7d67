//! A schema snapshot of a live database: plain data, read from the catalogue.
//!
//! Compiled for `testing` (which shows it as `testing::Snapshot`) and for
//! `cli` (`revision --autogenerate` compares `schema.rs` with it), as the
//! crate's `snapshot` module. Without `testing`, only what autogenerate
//! reads is used, and a CLI built with one backend compiles only that
//! backend's reader.
#![cfg_attr(not(feature = "testing"), allow(dead_code))]

use std::collections::{BTreeMap, BTreeSet};

#[cfg(feature = "postgres")]
use diesel::PgConnection;
use diesel::QueryableByName;
#[cfg(feature = "sqlite")]
use diesel::SqliteConnection;
use diesel::sql_types::{BigInt, Bool, Nullable, Text};

use crate::Options;
use crate::backend::{AnyConnection, load};
use crate::bookkeeping::{LEGACY_AUDIT_TABLE, Store};
use crate::error::{Error, Result};
use crate::model::BackendKind;

#[cfg(feature = "mysql")]
mod mysql;

/// The schema of a database at one moment: its tables (columns, primary key,
/// indexes, unique, foreign-key and check constraints), views, triggers, and
/// on PostgreSQL its functions and sequences.
///
/// # What is compared as it reads, and what is normalised
///
/// A snapshot holds what the catalogue says, with three normalisations, so
/// that two databases built by the same statements compare equal:
///
/// - **Whitespace**: in the definitions of views, triggers, functions
///   (their bodies included), check constraints and partial-index
///   predicates, runs of whitespace count as one space.
/// - **Column order** is kept apart ([`Table::column_order`]) and compared
///   only when asked ([`DiffOptions::column_order`](crate::testing::DiffOptions)):
///   a column a downgrade adds back lands at the end of its table.
/// - **Times folded at creation** (PostgreSQL): `'now'::timestamp`,
///   `'today'::date`, a `DEFAULT 'now'`… are stored as the literal time of
///   the `CREATE`, so a view created again a moment later differs from the
///   first. In view, trigger and function definitions, column defaults,
///   check constraints and index expressions and predicates, a `date` or
///   `timestamp` literal within two days of the snapshot's clock shows as
///   `'<time of creation>'`. A fixed date (`'2020-01-01'::date`) is still
///   compared, and so are `now()` and `CURRENT_TIMESTAMP`, which PostgreSQL
///   keeps as calls. (SQLite stores the text of each statement and folds
///   nothing.)
/// - **MySQL and MariaDB** (read from `information_schema`; tested on
///   MariaDB 10.11, written for MySQL 8.0.16 or later, whose
///   `CHECK_CONSTRAINTS` has no table name and is joined with
///   `TABLE_CONSTRAINTS`): what the two print differently reads alike.
///   Integer display widths are dropped (`int(11)` → `INT`, but
///   `TINYINT(1)`, a `BOOLEAN`); defaults read as MariaDB prints them
///   (literals quoted, `'rex'`, numbers not, `current_timestamp()`, and no
///   default for a nullable column without one, which MariaDB reports as
///   `NULL`); [`Column::generated`] holds `AUTO_INCREMENT`,
///   `ON UPDATE current_timestamp()` or `GENERATED ALWAYS AS (…) VIRTUAL`
///   (`STORED`); foreign-key rules `RESTRICT` read as `NO ACTION` (InnoDB
///   treats them alike; MariaDB reports a key without a rule as `RESTRICT`,
///   MySQL 8 as `NO ACTION`); a check's clause loses the parentheses MySQL
///   8 wraps it in; and the database's own name (`` `db`.`t` ``) is taken
///   out of view and trigger definitions. A unique constraint is a unique
///   index there: every unique key is in [`Table::indexes`] under its name
///   (`email` for a column's `UNIQUE`), and [`Table::unique`] stays empty.
///   An index column shows its prefix length (`name(10)`) and `DESC`; a
///   functional key part (MySQL 8) shows as `(expression)`. Not compared on
///   MySQL: character sets and collations, table options (engine, the
///   `AUTO_INCREMENT` counter), index visibility and comments, stored
///   functions, procedures and events, and MariaDB's sequences. Check
///   clauses, view bodies and generation expressions are compared as the
///   server prints them: a snapshot of MariaDB and one of MySQL 8 may still
///   differ there.
///
/// Everything is in the current schema (PostgreSQL), the main database
/// (SQLite) or the connection's database (MySQL, `DATABASE()`). The
/// migrator's own tables (the version table, the audit log and the `table`
/// lock's `<version table>_lock`) and SQLite's
/// internal `sqlite_%` tables are left out, and so is everything that
/// belongs to them (their indexes, triggers and sequences). Data is not part
/// of a snapshot.
///
/// Take one with [`Snapshot::take`]; compare two with
/// [`SchemaDiff::between`](crate::testing::SchemaDiff::between).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// The backend it was taken on.
    pub backend: BackendKind,
    /// The tables, by name.
    pub tables: BTreeMap<String, Table>,
    /// The views (and, on PostgreSQL, materialized views), by name.
    pub views: BTreeMap<String, View>,
    /// The triggers, by name.
    pub triggers: BTreeMap<String, Trigger>,
    /// The functions and procedures (PostgreSQL), by `name(argument types)`;
    /// the value is the definition (`pg_get_functiondef`), whitespace
    /// collapsed.
    pub functions: BTreeMap<String, String>,
    /// The sequences (PostgreSQL), by name.
    pub sequences: BTreeMap<String, Sequence>,
}

/// A table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Table {
    /// The columns, by name.
    pub columns: BTreeMap<String, Column>,
    /// The column names in their order in the table.
    pub column_order: Vec<String>,
    /// The primary key's columns, in key order; empty without one.
    pub primary_key: Vec<String>,
    /// The indexes created on their own (`CREATE INDEX`), by name; indexes
    /// that back a primary key or unique constraint are not listed here.
    pub indexes: BTreeMap<String, Index>,
    /// The unique constraints, as their column lists.
    pub unique: BTreeSet<Vec<String>>,
    /// The foreign keys.
    pub foreign_keys: BTreeSet<ForeignKey>,
    /// The check and exclusion constraints' definitions (PostgreSQL; MySQL
    /// and MariaDB, as `CHECK (clause)`; SQLite does not expose them).
    pub checks: BTreeSet<String>,
}

/// A column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// The type, upper case (`INTEGER`, `CHARACTER VARYING(100)`; on SQLite
    /// the declared type).
    pub data_type: String,
    /// Whether it accepts NULL.
    pub nullable: bool,
    /// The default expression, as the database reports it.
    pub default: Option<String>,
    /// An identity or generation clause (PostgreSQL), e.g.
    /// `GENERATED BY DEFAULT AS IDENTITY`; on MySQL `AUTO_INCREMENT`,
    /// `ON UPDATE current_timestamp()` or `GENERATED ALWAYS AS (…) VIRTUAL`.
    pub generated: Option<String>,
}

/// An index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Index {
    /// Whether it is unique.
    pub unique: bool,
    /// The indexed columns or expressions, in order (`(expression)` on SQLite
    /// for an expression).
    pub columns: Vec<String>,
    /// The predicate of a partial index.
    pub predicate: Option<String>,
    /// The access method when it is not the default (`gin`, `hash`…).
    pub method: Option<String>,
}

/// A foreign key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ForeignKey {
    /// The referencing columns.
    pub columns: Vec<String>,
    /// The referenced table.
    pub references: String,
    /// The referenced columns (empty on SQLite when the key names the
    /// parent's primary key implicitly).
    pub referenced_columns: Vec<String>,
    /// `ON UPDATE` action (`NO ACTION`, `CASCADE`…).
    pub on_update: String,
    /// `ON DELETE` action.
    pub on_delete: String,
}

/// A view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct View {
    /// True for a PostgreSQL materialized view.
    pub materialized: bool,
    /// Its definition, whitespace collapsed.
    pub definition: String,
}

/// A trigger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trigger {
    /// The table (or view) it is on.
    pub table: String,
    /// Its definition, whitespace collapsed.
    pub definition: String,
}

/// A sequence (PostgreSQL).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sequence {
    /// Its type, upper case.
    pub data_type: String,
    /// `START`.
    pub start: String,
    /// `INCREMENT`.
    pub increment: String,
    /// `MINVALUE`.
    pub min: String,
    /// `MAXVALUE`.
    pub max: String,
    /// `CYCLE`.
    pub cycle: bool,
    /// The table owning it (a `SERIAL` or identity column's), if any.
    pub owned_by: Option<String>,
}

impl Snapshot {
    /// The schema of the database behind `conn`, leaving out the migrator's
    /// tables under their default names.
    pub fn take(conn: &mut AnyConnection) -> Result<Snapshot> {
        Snapshot::take_with(conn, &Options::default())
    }

    /// The schema, leaving out the version table and audit log named by
    /// `options`.
    pub fn take_with(conn: &mut AnyConnection, options: &Options) -> Result<Snapshot> {
        let excluded = Excluded::new(options);
        match conn {
            #[cfg(feature = "postgres")]
            AnyConnection::Postgres(c) => postgres(c, &excluded),
            #[cfg(feature = "sqlite")]
            AnyConnection::Sqlite(c) => sqlite(c, &excluded),
            #[cfg(feature = "mysql")]
            AnyConnection::Mysql(c) => mysql::snapshot(c, &excluded),
        }
        .map_err(Error::database("reading the schema"))
    }

    fn empty(backend: BackendKind) -> Snapshot {
        Snapshot {
            backend,
            tables: BTreeMap::new(),
            views: BTreeMap::new(),
            triggers: BTreeMap::new(),
            functions: BTreeMap::new(),
            sequences: BTreeMap::new(),
        }
    }

    /// The names of the tables, sorted.
    pub fn table_names(&self) -> Vec<&str> {
        self.tables.keys().map(String::as_str).collect()
    }

    /// The snapshot as one line per object (the lines a diff is made of):
    /// `(subject, line)` pairs, where the subject is the table (or other
    /// object) the line is about. With `column_order`, each table also gets a
    /// `column order of …` line.
    pub fn lines(&self, column_order: bool) -> BTreeSet<(String, String)> {
        let mut lines = BTreeSet::new();
        for (name, table) in &self.tables {
            let mut add = |line: String| lines.insert((name.clone(), line));
            add(format!("table {name}"));
            for (column, c) in &table.columns {
                let mut line = format!("column {name}.{column} {}", c.data_type);
                if !c.nullable {
                    line.push_str(" NOT NULL");
                }
                if let Some(default) = &c.default {
                    line.push_str(&format!(" DEFAULT {default}"));
                }
                if let Some(generated) = &c.generated {
                    line.push_str(&format!(" {generated}"));
                }
                add(line);
            }
            if column_order {
                add(format!(
                    "column order of {name}: {}",
                    table.column_order.join(", ")
                ));
            }
            if !table.primary_key.is_empty() {
                add(format!(
                    "primary key on {name} ({})",
                    table.primary_key.join(", ")
                ));
            }
            for (index, i) in &table.indexes {
                let mut line = format!(
                    "{}index {index} on {name}",
                    if i.unique { "unique " } else { "" }
                );
                if let Some(method) = &i.method {
                    line.push_str(&format!(" using {method}"));
                }
                line.push_str(&format!(" ({})", i.columns.join(", ")));
                if let Some(predicate) = &i.predicate {
                    line.push_str(&format!(" where {predicate}"));
                }
                add(line);
            }
            for columns in &table.unique {
                add(format!(
                    "unique constraint on {name} ({})",
                    columns.join(", ")
                ));
            }
            for fk in &table.foreign_keys {
                let mut line = format!(
                    "foreign key {name} ({}) references {}",
                    fk.columns.join(", "),
                    fk.references
                );
                if !fk.referenced_columns.is_empty() {
                    line.push_str(&format!(" ({})", fk.referenced_columns.join(", ")));
                }
                if fk.on_update != "NO ACTION" {
                    line.push_str(&format!(" on update {}", fk.on_update.to_lowercase()));
                }
                if fk.on_delete != "NO ACTION" {
                    line.push_str(&format!(" on delete {}", fk.on_delete.to_lowercase()));
                }
                add(line);
            }
            for check in &table.checks {
                add(format!("constraint on {name}: {check}"));
            }
        }
        for (name, view) in &self.views {
            let kind = if view.materialized {
                "materialized view"
            } else {
                "view"
            };
            lines.insert((name.clone(), format!("{kind} {name}: {}", view.definition)));
        }
        for (name, trigger) in &self.triggers {
            lines.insert((
                trigger.table.clone(),
                format!(
                    "trigger {name} on {}: {}",
                    trigger.table, trigger.definition
                ),
            ));
        }
        for (name, definition) in &self.functions {
            lines.insert((name.clone(), format!("function {name}: {definition}")));
        }
        for (name, s) in &self.sequences {
            let mut line = format!(
                "sequence {name} {} start {} increment {} min {} max {}",
                s.data_type, s.start, s.increment, s.min, s.max
            );
            if s.cycle {
                line.push_str(" cycle");
            }
            if let Some(owner) = &s.owned_by {
                line.push_str(&format!(" owned by {owner}"));
            }
            lines.insert((s.owned_by.clone().unwrap_or_else(|| name.clone()), line));
        }
        lines
    }
}

impl std::fmt::Display for Snapshot {
    /// One line per object, grouped by table.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (_, line) in self.lines(true) {
            writeln!(f, "{line}")?;
        }
        Ok(())
    }
}

/// The tables a snapshot leaves out: migrator's own (the version table, the
/// audit log, the `table` lock's lease table), and SQLite's internal ones.
pub(crate) struct Excluded {
    tables: Vec<String>,
}

impl Excluded {
    pub(crate) fn new(options: &Options) -> Excluded {
        let store = Store::new(&options.version_table, options.audit_table.as_deref());
        let mut tables = vec![
            store.table().name.clone(),
            store.audit_table().name.clone(),
            crate::lock::lease_table(store.table()).name,
        ];
        if options.audit_table.is_none() {
            // The default audit log of earlier builds, still used where it is.
            tables.push(LEGACY_AUDIT_TABLE.to_owned());
        }
        Excluded { tables }
    }

    /// Whether the table `name` is left out.
    pub(crate) fn table(&self, name: &str) -> bool {
        self.tables.iter().any(|t| t == name) || name.starts_with("sqlite_")
    }
}

/// Runs of whitespace as one space, trimmed.
fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Reads the (plain) views and the triggers of tables not `excluded` into
/// `snapshot`: `sql` lists them (`Named`, then `NamedOnTable`), `clean`
/// normalises a definition.
#[cfg(any(feature = "sqlite", feature = "mysql"))]
fn views_and_triggers<C>(
    conn: &mut C,
    sql: [&str; 2],
    excluded: &Excluded,
    clean: impl Fn(&str) -> String,
    snapshot: &mut Snapshot,
) -> diesel::QueryResult<()>
where
    C: diesel::connection::LoadConnection,
    for<'a> diesel::query_builder::SqlQuery: diesel::query_dsl::LoadQuery<'a, C, Named>
        + diesel::query_dsl::LoadQuery<'a, C, NamedOnTable>,
{
    for v in load::<_, Named>(conn, sql[0])? {
        snapshot.views.insert(
            v.name,
            View {
                materialized: false,
                definition: clean(&v.definition),
            },
        );
    }
    for t in load::<_, NamedOnTable>(conn, sql[1])? {
        if excluded.table(&t.table_name) {
            continue;
        }
        snapshot.triggers.insert(
            t.name,
            Trigger {
                table: t.table_name,
                definition: clean(t.definition.as_deref().unwrap_or_default()),
            },
        );
    }
    Ok(())
}

/// What a literal that PostgreSQL folded from `'now'` (or `'today'`,
/// `'tomorrow'`, `'yesterday'`) when the object was created shows as.
pub(super) const CREATION_TIME: &str = "'<time of creation>'";

/// How far from the snapshot's clock a date or timestamp literal may be and
/// still count as folded from `'now'` at creation: `'tomorrow'` and
/// `'yesterday'` are a day away, a `timestamp` without time zone is in the
/// server's zone (at most 14 hours away), and a test run takes a while.
const FOLDED_WINDOW: chrono::TimeDelta = chrono::TimeDelta::days(2);

/// `text` (a definition PostgreSQL deparsed) with every date and timestamp
/// literal that was folded from `'now'` when the object was created shown
/// as [`CREATION_TIME`].
///
/// PostgreSQL turns `'now'::timestamp` (and `'today'::date`, `timestamp
/// 'now'`, a default `'now'` on a timestamp column…) into the literal time
/// of the `CREATE`, so the same statement run twice stores two
/// definitions. A literal counts as folded when it is a `date`, `timestamp`
/// or `timestamptz` within [`FOLDED_WINDOW`] of `now`: a fixed date in a
/// definition (`'2020-01-01'::date`) is left alone and still compared, and
/// so is `now()` or `CURRENT_TIMESTAMP`, which PostgreSQL keeps as a call.
/// `time` literals are left alone (any time of day is near "now").
pub(super) fn mask_creation_times(text: &str, now: chrono::DateTime<chrono::Utc>) -> String {
    const TYPES: [&str; 2] = ["timestamp", "date"];
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('\'') {
        out.push_str(&rest[..start]);
        let literal_and_after = &rest[start + 1..];
        let Some(end) = literal_and_after.find('\'') else {
            out.push_str(&rest[start..]);
            return out;
        };
        let literal = &literal_and_after[..end];
        let after = &literal_and_after[end + 1..];
        // `::date`, `::timestamp without time zone`, `::timestamp(3) with
        // time zone`…
        let cast = after
            .strip_prefix("::")
            .and_then(|cast| cast.split(['(', ')', ',', ' ', '\n']).next());
        let folded = cast.is_some_and(|cast| TYPES.contains(&cast)) && near(literal, now);
        if folded {
            out.push_str(CREATION_TIME);
        } else {
            out.push_str(&rest[start..start + end + 2]);
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

/// True when `literal` is a date or timestamp (with or without a zone, as
/// PostgreSQL prints them in its ISO style) within [`FOLDED_WINDOW`] of
/// `now`.
fn near(literal: &str, now: chrono::DateTime<chrono::Utc>) -> bool {
    use chrono::{DateTime, NaiveDate, NaiveDateTime};
    let instant = DateTime::parse_from_str(literal, "%Y-%m-%d %H:%M:%S%.f%#z")
        .map(|t| t.naive_utc())
        .or_else(|_| NaiveDateTime::parse_from_str(literal, "%Y-%m-%d %H:%M:%S%.f"))
        .or_else(|_| {
            NaiveDate::parse_from_str(literal, "%Y-%m-%d")
                .map(|d| d.and_time(chrono::NaiveTime::MIN))
        });
    instant.is_ok_and(|t| (t - now.naive_utc()).abs() <= FOLDED_WINDOW)
}

/// The separator of lists aggregated in SQL.
const SEP: char = '\u{1f}';

fn split_list(text: &str) -> Vec<String> {
    if text.is_empty() {
        Vec::new()
    } else {
        text.split(SEP).map(str::to_owned).collect()
    }
}

// ---------------------------------------------------------------- PostgreSQL

#[derive(QueryableByName)]
struct PgTable {
    #[diesel(sql_type = Text)]
    table_name: String,
}

#[derive(QueryableByName)]
struct PgColumn {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    data_type: String,
    #[diesel(sql_type = Bool)]
    not_null: bool,
    #[diesel(sql_type = Nullable<Text>)]
    default_value: Option<String>,
    #[diesel(sql_type = Text)]
    identity: String,
    #[diesel(sql_type = Text)]
    generated: String,
}

#[derive(QueryableByName)]
struct PgConstraint {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Text)]
    definition: String,
    #[diesel(sql_type = Text)]
    columns: String,
    #[diesel(sql_type = Nullable<Text>)]
    ref_table: Option<String>,
    #[diesel(sql_type = Text)]
    ref_columns: String,
    #[diesel(sql_type = Text)]
    on_update: String,
    #[diesel(sql_type = Text)]
    on_delete: String,
}

#[derive(QueryableByName)]
struct PgIndex {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    index_name: String,
    #[diesel(sql_type = Bool)]
    is_unique: bool,
    #[diesel(sql_type = Text)]
    columns: String,
    #[diesel(sql_type = Nullable<Text>)]
    predicate: Option<String>,
    #[diesel(sql_type = Text)]
    method: String,
}

#[derive(QueryableByName)]
struct Named {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    definition: String,
}

#[derive(QueryableByName)]
struct PgView {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Bool)]
    materialized: bool,
    #[diesel(sql_type = Text)]
    definition: String,
}

#[derive(QueryableByName)]
struct NamedOnTable {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Nullable<Text>)]
    definition: Option<String>,
}

#[derive(QueryableByName)]
struct PgSequence {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    data_type: String,
    #[diesel(sql_type = Text)]
    start_value: String,
    #[diesel(sql_type = Text)]
    increment: String,
    #[diesel(sql_type = Text)]
    minimum_value: String,
    #[diesel(sql_type = Text)]
    maximum_value: String,
    #[diesel(sql_type = Bool)]
    cycle: bool,
    #[diesel(sql_type = Nullable<Text>)]
    owner_table: Option<String>,
}

const PG_TABLES: &str = "\
SELECT c.relname::text AS table_name
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')";

const PG_COLUMNS: &str = "\
SELECT c.relname::text AS table_name, a.attname::text AS column_name,
       format_type(a.atttypid, a.atttypmod) AS data_type, a.attnotnull AS not_null,
       pg_get_expr(d.adbin, d.adrelid) AS default_value,
       a.attidentity::text AS identity, a.attgenerated::text AS generated
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')
  AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY c.relname, a.attnum";

const PG_CONSTRAINTS: &str = "\
SELECT c.relname::text AS table_name, con.contype::text AS kind,
       pg_get_constraintdef(con.oid) AS definition,
       array_to_string(ARRAY(
           SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY AS k(num, ord)
           JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.num
           ORDER BY k.ord), chr(31)) AS columns,
       fc.relname::text AS ref_table,
       array_to_string(ARRAY(
           SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY AS k(num, ord)
           JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.num
           ORDER BY k.ord), chr(31)) AS ref_columns,
       con.confupdtype::text AS on_update, con.confdeltype::text AS on_delete
FROM pg_constraint con
JOIN pg_class c ON c.oid = con.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_class fc ON fc.oid = con.confrelid
WHERE n.nspname = current_schema() AND con.contype IN ('p', 'u', 'f', 'c', 'x')";

const PG_INDEXES: &str = "\
SELECT t.relname::text AS table_name, i.relname::text AS index_name, ix.indisunique AS is_unique,
       array_to_string(ARRAY(
           SELECT pg_get_indexdef(ix.indexrelid, k, true)
           FROM generate_series(1, ix.indnkeyatts::int) AS k ORDER BY k), chr(31)) AS columns,
       pg_get_expr(ix.indpred, ix.indrelid) AS predicate, am.amname::text AS method
FROM pg_index ix
JOIN pg_class i ON i.oid = ix.indexrelid
JOIN pg_class t ON t.oid = ix.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
JOIN pg_am am ON am.oid = i.relam
WHERE n.nspname = current_schema() AND t.relkind IN ('r', 'p', 'm')
  AND NOT EXISTS (SELECT 1 FROM pg_constraint con
                  WHERE con.conindid = ix.indexrelid AND con.conrelid = ix.indrelid
                    AND con.contype IN ('p', 'u', 'x'))";

const PG_VIEWS: &str = "\
SELECT c.relname::text AS name, c.relkind = 'm' AS materialized,
       pg_get_viewdef(c.oid, true) AS definition
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema() AND c.relkind IN ('v', 'm')";

const PG_TRIGGERS: &str = "\
SELECT t.tgname::text AS name, c.relname::text AS table_name,
       pg_get_triggerdef(t.oid, true) AS definition
FROM pg_trigger t
JOIN pg_class c ON c.oid = t.tgrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema() AND NOT t.tgisinternal";

const PG_FUNCTIONS: &str = "\
SELECT p.proname::text || '(' || pg_get_function_identity_arguments(p.oid) || ')' AS name,
       pg_get_functiondef(p.oid) AS definition
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = current_schema() AND p.prokind IN ('f', 'p')
  AND NOT EXISTS (SELECT 1 FROM pg_depend d
                  WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')";

const PG_SEQUENCES: &str = "\
SELECT c.relname::text AS name, format_type(s.seqtypid, NULL) AS data_type,
       s.seqstart::text AS start_value, s.seqincrement::text AS increment,
       s.seqmin::text AS minimum_value, s.seqmax::text AS maximum_value, s.seqcycle AS cycle,
       (SELECT t.relname::text FROM pg_depend d JOIN pg_class t ON t.oid = d.refobjid
        WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
          AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
        LIMIT 1) AS owner_table
FROM pg_sequence s
JOIN pg_class c ON c.oid = s.seqrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema()";

fn pg_action(code: &str) -> String {
    match code {
        "r" => "RESTRICT",
        "c" => "CASCADE",
        "n" => "SET NULL",
        "d" => "SET DEFAULT",
        _ => "NO ACTION",
    }
    .to_owned()
}

#[cfg(feature = "postgres")]
fn postgres(conn: &mut PgConnection, excluded: &Excluded) -> diesel::QueryResult<Snapshot> {
    let mut snapshot = Snapshot::empty(BackendKind::Postgres);
    let now = chrono::Utc::now();
    let definition = |text: &str| mask_creation_times(&collapse(text), now);
    for t in load::<_, PgTable>(conn, PG_TABLES)? {
        if !excluded.table(&t.table_name) {
            snapshot.tables.insert(t.table_name, Table::default());
        }
    }
    for c in load::<_, PgColumn>(conn, PG_COLUMNS)? {
        let Some(table) = snapshot.tables.get_mut(&c.table_name) else {
            continue;
        };
        let mut default = c.default_value.map(|d| mask_creation_times(&d, now));
        let generated = match (c.identity.as_str(), c.generated.as_str()) {
            ("a", _) => Some("GENERATED ALWAYS AS IDENTITY".to_owned()),
            ("d", _) => Some("GENERATED BY DEFAULT AS IDENTITY".to_owned()),
            (_, "s") => default
                .take()
                .map(|expr| format!("GENERATED ALWAYS AS ({expr}) STORED")),
            _ => None,
        };
        table.column_order.push(c.column_name.clone());
        table.columns.insert(
            c.column_name,
            Column {
                data_type: c.data_type.to_uppercase(),
                nullable: !c.not_null,
                default,
                generated,
            },
        );
    }
    for c in load::<_, PgConstraint>(conn, PG_CONSTRAINTS)? {
        let Some(table) = snapshot.tables.get_mut(&c.table_name) else {
            continue;
        };
        match c.kind.as_str() {
            "p" => table.primary_key = split_list(&c.columns),
            "u" => {
                table.unique.insert(split_list(&c.columns));
            }
            "f" => {
                table.foreign_keys.insert(ForeignKey {
                    columns: split_list(&c.columns),
                    references: c.ref_table.unwrap_or_default(),
                    referenced_columns: split_list(&c.ref_columns),
                    on_update: pg_action(&c.on_update),
                    on_delete: pg_action(&c.on_delete),
                });
            }
            _ => {
                table.checks.insert(definition(&c.definition));
            }
        }
    }
    for i in load::<_, PgIndex>(conn, PG_INDEXES)? {
        let Some(table) = snapshot.tables.get_mut(&i.table_name) else {
            continue;
        };
        table.indexes.insert(
            i.index_name,
            Index {
                unique: i.is_unique,
                columns: split_list(&i.columns)
                    .iter()
                    .map(|c| mask_creation_times(c, now))
                    .collect(),
                predicate: i.predicate.as_deref().map(definition),
                method: (i.method != "btree").then_some(i.method),
            },
        );
    }
    for v in load::<_, PgView>(conn, PG_VIEWS)? {
        snapshot.views.insert(
            v.name,
            View {
                materialized: v.materialized,
                definition: definition(&v.definition),
            },
        );
    }
    for t in load::<_, NamedOnTable>(conn, PG_TRIGGERS)? {
        if excluded.table(&t.table_name) {
            continue;
        }
        snapshot.triggers.insert(
            t.name,
            Trigger {
                table: t.table_name,
                definition: definition(t.definition.as_deref().unwrap_or_default()),
            },
        );
    }
    for f in load::<_, Named>(conn, PG_FUNCTIONS)? {
        snapshot.functions.insert(f.name, definition(&f.definition));
    }
    for s in load::<_, PgSequence>(conn, PG_SEQUENCES)? {
        if s.owner_table.as_deref().is_some_and(|t| excluded.table(t)) {
            continue;
        }
        snapshot.sequences.insert(
            s.name,
            Sequence {
                data_type: s.data_type.to_uppercase(),
                start: s.start_value,
                increment: s.increment,
                min: s.minimum_value,
                max: s.maximum_value,
                cycle: s.cycle,
                owned_by: s.owner_table,
            },
        );
    }
    Ok(snapshot)
}

// -------------------------------------------------------------------- SQLite

#[derive(QueryableByName)]
struct SqliteColumn {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    data_type: String,
    #[diesel(sql_type = BigInt)]
    not_null: i64,
    #[diesel(sql_type = Nullable<Text>)]
    default_value: Option<String>,
    #[diesel(sql_type = BigInt)]
    pk: i64,
}

#[derive(QueryableByName)]
struct SqliteIndex {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    index_name: String,
    #[diesel(sql_type = BigInt)]
    is_unique: i64,
    #[diesel(sql_type = Text)]
    origin: String,
    #[diesel(sql_type = BigInt)]
    partial: i64,
    #[diesel(sql_type = Nullable<Text>)]
    sql: Option<String>,
}

#[derive(QueryableByName)]
struct SqliteIndexColumn {
    #[diesel(sql_type = Text)]
    index_name: String,
    #[diesel(sql_type = Nullable<Text>)]
    column_name: Option<String>,
}

#[derive(QueryableByName)]
struct SqliteForeignKey {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    ref_table: String,
    #[diesel(sql_type = Text)]
    from_column: String,
    #[diesel(sql_type = Nullable<Text>)]
    to_column: Option<String>,
    #[diesel(sql_type = Text)]
    on_update: String,
    #[diesel(sql_type = Text)]
    on_delete: String,
}

#[cfg(feature = "mysql")]
const MYSQL_TABLES: &str = "\
SELECT table_name AS table_name FROM information_schema.tables
WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE'";

const SQLITE_TABLES: &str = "\
SELECT name AS table_name FROM sqlite_master
WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'";

const SQLITE_COLUMNS: &str = "\
SELECT m.name AS table_name, p.name AS column_name, p.type AS data_type,
       p.\"notnull\" AS not_null, p.dflt_value AS default_value, p.pk AS pk
FROM sqlite_master m, pragma_table_info(m.name) p
WHERE m.type = 'table'
ORDER BY m.name, p.cid";

const SQLITE_INDEXES: &str = "\
SELECT m.name AS table_name, il.name AS index_name, il.\"unique\" AS is_unique,
       il.origin AS origin, il.partial AS partial, s.sql AS sql
FROM sqlite_master m, pragma_index_list(m.name) il
LEFT JOIN sqlite_master s ON s.type = 'index' AND s.name = il.name
WHERE m.type = 'table'";

const SQLITE_INDEX_COLUMNS: &str = "\
SELECT il.name AS index_name, ii.name AS column_name
FROM sqlite_master m, pragma_index_list(m.name) il, pragma_index_info(il.name) ii
WHERE m.type = 'table'
ORDER BY il.name, ii.seqno";

const SQLITE_FOREIGN_KEYS: &str = "\
SELECT m.name AS table_name, f.id AS id, f.\"table\" AS ref_table, f.\"from\" AS from_column,
       f.\"to\" AS to_column, f.on_update AS on_update, f.on_delete AS on_delete
FROM sqlite_master m, pragma_foreign_key_list(m.name) f
WHERE m.type = 'table'
ORDER BY m.name, f.id, f.seq";

const SQLITE_VIEWS: &str = "\
SELECT name, COALESCE(sql, '') AS definition FROM sqlite_master WHERE type = 'view'";

const SQLITE_TRIGGERS: &str = "\
SELECT name, tbl_name AS table_name, sql AS definition
FROM sqlite_master WHERE type = 'trigger'";

/// The predicate of a partial index, from its `CREATE INDEX` statement.
fn sqlite_predicate(sql: &str) -> Option<String> {
    let upper = sql.to_uppercase();
    let at = upper.rfind(" WHERE ")?;
    Some(collapse(sql[at + 7..].trim_end_matches(';')))
}

#[cfg(feature = "sqlite")]
fn sqlite(conn: &mut SqliteConnection, excluded: &Excluded) -> diesel::QueryResult<Snapshot> {
    let mut snapshot = Snapshot::empty(BackendKind::Sqlite);
    for t in load::<_, PgTable>(conn, SQLITE_TABLES)? {
        if !excluded.table(&t.table_name) {
            snapshot.tables.insert(t.table_name, Table::default());
        }
    }
    let mut keys: BTreeMap<String, Vec<(i64, String)>> = BTreeMap::new();
    for c in load::<_, SqliteColumn>(conn, SQLITE_COLUMNS)? {
        let Some(table) = snapshot.tables.get_mut(&c.table_name) else {
            continue;
        };
        if c.pk > 0 {
            keys.entry(c.table_name.clone())
                .or_default()
                .push((c.pk, c.column_name.clone()));
        }
        table.column_order.push(c.column_name.clone());
        table.columns.insert(
            c.column_name,
            Column {
                data_type: c.data_type.to_uppercase(),
                nullable: c.not_null == 0,
                default: c.default_value,
                generated: None,
            },
        );
    }
    for (name, mut key) in keys {
        key.sort();
        if let Some(table) = snapshot.tables.get_mut(&name) {
            table.primary_key = key.into_iter().map(|(_, c)| c).collect();
        }
    }
    let mut index_columns: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for c in load::<_, SqliteIndexColumn>(conn, SQLITE_INDEX_COLUMNS)? {
        index_columns
            .entry(c.index_name)
            .or_default()
            .push(c.column_name.unwrap_or_else(|| "(expression)".to_owned()));
    }
    for i in load::<_, SqliteIndex>(conn, SQLITE_INDEXES)? {
        let Some(table) = snapshot.tables.get_mut(&i.table_name) else {
            continue;
        };
        let columns = index_columns.remove(&i.index_name).unwrap_or_default();
        match i.origin.as_str() {
            "pk" => {}
            "u" => {
                table.unique.insert(columns);
            }
            _ => {
                let predicate = if i.partial != 0 {
                    i.sql.as_deref().and_then(sqlite_predicate)
                } else {
                    None
                };
                table.indexes.insert(
                    i.index_name,
                    Index {
                        unique: i.is_unique != 0,
                        columns,
                        predicate,
                        method: None,
                    },
                );
            }
        }
    }
    let mut fks: BTreeMap<(String, i64), ForeignKey> = BTreeMap::new();
    for f in load::<_, SqliteForeignKey>(conn, SQLITE_FOREIGN_KEYS)? {
        let fk = fks
            .entry((f.table_name, f.id))
            .or_insert_with(|| ForeignKey {
                columns: Vec::new(),
                references: f.ref_table,
                referenced_columns: Vec::new(),
                on_update: f.on_update,
                on_delete: f.on_delete,
            });
        fk.columns.push(f.from_column);
        if let Some(to) = f.to_column {
            fk.referenced_columns.push(to);
        }
    }
    for ((table_name, _), fk) in fks {
        if let Some(table) = snapshot.tables.get_mut(&table_name) {
            table.foreign_keys.insert(fk);
        }
    }
    views_and_triggers(
        conn,
        [SQLITE_VIEWS, SQLITE_TRIGGERS],
        excluded,
        collapse,
        &mut snapshot,
    )?;
    Ok(snapshot)
}

/// The names of the tables a snapshot would list, sorted.
#[cfg(feature = "testing")]
pub(crate) fn table_names(conn: &mut AnyConnection, options: &Options) -> Result<Vec<String>> {
    let excluded = Excluded::new(options);
    let rows: Vec<PgTable> = match conn {
        AnyConnection::Postgres(c) => load(c, PG_TABLES),
        AnyConnection::Sqlite(c) => load(c, SQLITE_TABLES),
        #[cfg(feature = "mysql")]
        AnyConnection::Mysql(c) => load(c, MYSQL_TABLES),
    }
    .map_err(Error::database("listing the tables"))?;
    let mut names: Vec<String> = rows
        .into_iter()
        .map(|r| r.table_name)
        .filter(|t| !excluded.table(t))
        .collect();
    names.sort();
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::{CREATION_TIME, mask_creation_times};

    #[test]
    fn only_dates_and_times_near_now_are_masked() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-05-01T10:00:00Z")
            .expect("a time")
            .to_utc();
        let mask = |text: &str| mask_creation_times(text, now);
        assert_eq!(
            mask(
                "WHERE published > ('2026-05-01 09:59:58.123456'::timestamp without time zone - '1 day'::interval)"
            ),
            format!(
                "WHERE published > ({CREATION_TIME}::timestamp without time zone - '1 day'::interval)"
            )
        );
        assert_eq!(
            mask("'2026-05-02'::date, '2026-04-30 23:00:00+02'::timestamp with time zone"),
            format!("{CREATION_TIME}::date, {CREATION_TIME}::timestamp with time zone")
        );
        assert_eq!(
            mask("'2026-05-01 10:00:01'::timestamp(3) without time zone"),
            format!("{CREATION_TIME}::timestamp(3) without time zone")
        );
        // Fixed dates, calls, times of day, text and intervals stay.
        for kept in [
            "'2020-01-01'::date",
            "'2026-05-09 00:00:00'::timestamp without time zone",
            "now()",
            "CURRENT_TIMESTAMP",
            "'10:00:00'::time without time zone",
            "'2026-05-01'::text",
            "'it''s'::text, '1 day'::interval",
            "unterminated 'quote",
        ] {
            assert_eq!(mask(kept), kept);
        }
    }
}
