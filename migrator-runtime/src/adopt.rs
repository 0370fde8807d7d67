//! Adopting a database that diesel_migrations migrated.
//!
//! A database with diesel's table of versions, `__diesel_schema_migrations`,
//! and no history of migrator's own (an audit log that is missing, empty,
//! or holds nothing but adoptions) is adopted: every revision whose ID is a
//! version in diesel's table (`import diesel` gives each imported revision
//! its migration's version as ID) is recorded as applied without running,
//! with the audit outcome `adopted`. A version no revision carries stops the
//! command ([`Error::UnknownDieselVersions`]) before anything is recorded.
//! Diesel's table is only read.
//!
//! The commands that write (`upgrade`, `downgrade`, `stamp`) adopt under
//! the run lock, in one step per revision, then go on from the adopted
//! state. The commands that only read (`current`, `check`, `pending`,
//! `verify`) take no lock and write nothing: they answer as if the adoption
//! were done, which the next writing command does. An adoption interrupted
//! halfway is finished by the next run: its history still holds only
//! adoptions.

use crate::backend::Backend;
use crate::bookkeeping::{Outcome, Store, TableName};
use crate::error::{Error, Result};
use crate::lock::unless_missing;

/// The table where diesel_migrations records the versions it ran, in the
/// connection's default schema (PostgreSQL's search path, SQLite's main
/// database, MySQL's current database), as diesel itself names it.
pub(crate) const DIESEL_TABLE: &str = "__diesel_schema_migrations";

/// The versions diesel's table lists, sorted, when the database is to be
/// adopted: the table exists and `store`'s audit log holds no entry but
/// adoptions. `None` otherwise (one catalogue query when diesel's table is
/// not there).
pub(crate) fn diesel_versions(
    backend: &mut dyn Backend,
    store: &Store,
) -> Result<Option<Vec<String>>> {
    let d = backend.dialect();
    let diesel = TableName::parse(DIESEL_TABLE);
    let exists = backend
        .count(&d.table_exists_sql(&diesel))
        .map_err(Error::database("looking for diesel's `__diesel_schema_migrations`"))?;
    if exists == 0 {
        return Ok(None);
    }
    let history = format!(
        "SELECT COUNT(*) AS n FROM (SELECT 1 AS one FROM {} WHERE outcome <> {} LIMIT 1) AS h",
        store.audit_table().quoted(d),
        d.quote_str(Outcome::Adopted.as_str())
    );
    let entries = unless_missing(backend, &[store.audit_table()], |b| b.count(&history))
        .map_err(Error::database("reading the audit log"))?
        .unwrap_or(0);
    if entries > 0 {
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
