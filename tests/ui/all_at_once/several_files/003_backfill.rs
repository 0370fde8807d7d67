//! Revision 003
//!
//! Revision ID: 003
//! Revises: 002

pub fn upgrade(db: &mut migrator_runtime::MigrationContext<'_>) -> migrator_runtime::RevisionResult {
    let _ = db;
    Ok(())
}
