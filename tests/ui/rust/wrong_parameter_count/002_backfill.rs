//! Revision 002
//!
//! Revision ID: 002
//! Revises: 001

pub fn upgrade(db: &mut migrator_runtime::MigrationContext<'_>) -> migrator_runtime::RevisionResult {
    let _ = db;
    Ok(())
}

pub fn downgrade(
    db: &mut migrator_runtime::MigrationContext<'_>,
    verbose: bool,
) -> migrator_runtime::RevisionResult {
    let _ = (db, verbose);
    Ok(())
}
