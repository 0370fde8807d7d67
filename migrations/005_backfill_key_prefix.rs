//! Backfill api_keys.key_prefix
//!
//! Keys created before 004 have no prefix, and their secret is not stored:
//! they get the first eight characters of their hash, marked with `h:` so
//! nobody mistakes it for the beginning of the secret. A data migration in
//! Rust, run with Diesel on both backends (through `AnyConnection`, whatever
//! connection the service handed over).
//!
//! Revision ID: 005
//! Revises: 004
//! Create Date: 2024-03-02 00:00:00

use diesel::prelude::*;
use migrator_runtime::{AnyConnection, MigrationContext, RevisionResult};

diesel::table! {
    /// `api_keys` as this revision sees it (004's schema).
    api_keys (id) {
        id -> Text,
        key_hash -> Text,
        key_prefix -> Nullable<Text>,
    }
}

/// The prefix of a key created before 004.
fn legacy_prefix(key_hash: &str) -> String {
    format!("h:{}", key_hash.chars().take(8).collect::<String>())
}

pub fn upgrade(db: &mut MigrationContext<'_>) -> RevisionResult {
    // The id's type differs between backends (UUID, text); compare on hashes,
    // which are unique (002).
    let conn = db.connection::<AnyConnection>()?;
    let hashes: Vec<String> = api_keys::table
        .filter(api_keys::key_prefix.is_null())
        .select(api_keys::key_hash)
        .load(conn)?;
    for hash in hashes {
        diesel::update(api_keys::table.filter(api_keys::key_hash.eq(&hash)))
            .set(api_keys::key_prefix.eq(legacy_prefix(&hash)))
            .execute(conn)?;
    }
    Ok(())
}

pub fn downgrade(db: &mut MigrationContext<'_>) -> RevisionResult {
    diesel::update(api_keys::table.filter(api_keys::key_prefix.like("h:%")))
        .set(api_keys::key_prefix.eq(None::<String>))
        .execute(db.connection::<AnyConnection>()?)?;
    Ok(())
}
