//! Adopting a database that diesel_migrations migrated.
//!
//! A database with diesel's table of versions, `__diesel_schema_migrations`,
//! and no history of migrator's own is adopted once: every revision whose
//! ID is a version in diesel's table (`import diesel` gives each imported
//! revision its migration's version as ID) is recorded as applied without
//! running, with the audit outcome `adopted`, all in one transaction. A
//! version no revision carries stops the command
//! ([`Error::UnknownDieselVersions`]) before anything is recorded. Diesel's
//! table is only read.
//!
//! "No history of migrator's own" is judged on migrator's two tables: the
//! version table holds no row (it is missing, or empty) and the audit log
//! holds no entry but adoptions (it is missing, empty, or its entries were
//! pruned after the adoption). The adoption is one transaction, so a version
//! table with rows means the adoption was done (or migrator ran): diesel's
//! table is history from then on, even when the audit log is pruned or
//! renamed. A database downgraded to base whose audit log was then emptied
//! would be adopted again: downgrading the whole diesel history of a
//! production database is not a step to take, and `stamp base` after
//! dropping `__diesel_schema_migrations` is the way to start afresh.
//!
//! A revision diesel has not run while it ran a later one (a migration with
//! an older version merged after the database was migrated) is pending, as
//! diesel would run it next: the adoption records what diesel lists, and
//! the version table's gap is no [`Problem::MissingAncestor`](crate::Problem)
//! while diesel's table lists a descendant of the missing revision and not
//! the revision itself; `upgrade` runs it, in the graph's order.
//!
//! The commands that write (`upgrade`, `downgrade`, `stamp`) adopt under
//! the run lock, then go on from the adopted state. The commands that only
//! read (`current`, `check`, `pending`, `verify`) take no lock and write
//! nothing: they answer as if the adoption were done, which the next
//! writing command does.

use crate::backend::Backend;
use crate::bookkeeping::{Outcome, Store, TableName};
use crate::error::{Error, Result};
use crate::lock::unless_missing;
use crate::report::State;

/// The table where diesel_migrations records the versions it ran, in the
/// connection's default schema (PostgreSQL's search path, SQLite's main
/// database, MySQL's current database), as diesel itself names it.
pub(crate) const DIESEL_TABLE: &str = "__diesel_schema_migrations";

/// The versions diesel's table lists, sorted; `None` when the table is
/// not there (one catalogue query then).
pub(crate) fn diesel_versions(backend: &mut dyn Backend) -> Result<Option<Vec<String>>> {
    let d = backend.dialect();
    let diesel = TableName::parse(DIESEL_TABLE);
    let exists = backend
        .count(&d.table_exists_sql(&diesel))
        .map_err(Error::database("looking for diesel's `__diesel_schema_migrations`"))?;
    if exists == 0 {
        return Ok(None);
    }
    let sql = format!(
        "SELECT version AS value FROM {} ORDER BY version",
        diesel.quoted(d)
    );
    let rows = backend
        .load_text(&sql)
        .map_err(Error::database("reading diesel's `__diesel_schema_migrations`"))?;
    Ok(Some(rows.into_iter().map(|r| r.value).collect()))
}

/// True when migrator has no history of its own in the database: `state`
/// (the version table) holds no row and no dirty marker, and `store`'s
/// audit log holds no entry but adoptions (see the module docs).
pub(crate) fn never_migrated(backend: &mut dyn Backend, store: &Store, state: &State) -> Result<bool> {
    if !state.applied.is_empty() || state.marker.is_some() {
        return Ok(false);
    }
    let d = backend.dialect();
    let history = format!(
        "SELECT COUNT(*) AS n FROM (SELECT 1 AS one FROM {} WHERE outcome <> {} LIMIT 1) AS h",
        store.audit_table().quoted(d),
        d.quote_str(Outcome::Adopted.as_str())
    );
    let entries = unless_missing(backend, &[store.audit_table()], |b| b.count(&history))
        .map_err(Error::database("reading the audit log"))?
        .unwrap_or(0);
    Ok(entries == 0)
}
