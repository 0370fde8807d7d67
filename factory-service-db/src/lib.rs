//! The factory service's database: its migrations (embedded and checked at
//! build time), its Diesel schema and models.
//!
//! The service migrates itself on startup:
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use diesel::Connection;
//!
//! let mut conn = diesel::PgConnection::establish("postgres://app@localhost/factory")?;
//! factory_service_db::migrator().upgrade(&mut conn, migrator_runtime::Target::Head)?;
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

pub mod keys;
pub mod models;
pub mod schema;

migrator_runtime::embed_migrations!("../migrations");

/// A [`Migrator`](migrator_runtime::Migrator) over the factory service's
/// revisions.
pub fn migrator() -> migrator_runtime::Migrator<'static> {
    migrator_runtime::Migrator::new(&MIGRATIONS)
}
