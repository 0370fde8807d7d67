//! The API-key store of the factory service: create (the secret is shown
//! once; only its hash is stored), list, verify, revoke. Diesel queries on
//! the migrated schema, the same on PostgreSQL, SQLite and MySQL.

use chrono::{NaiveDateTime, Timelike, Utc};
use diesel::prelude::*;
use migrator_runtime::AnyConnection;
use sha2::{Digest, Sha256};

use crate::models::{ApiKey, KeyId, NewApiKeyEvent};
use crate::schema::{api_key_events, api_keys};

/// What every secret starts with, so that leaked keys are easy to grep for.
pub const SECRET_PREFIX: &str = "fsk_";

/// How many characters of the secret (after [`SECRET_PREFIX`]) are kept as
/// the key's prefix.
const PREFIX_LEN: usize = 8;

/// A key just created: its row, and the secret, which is not stored and
/// cannot be shown again.
#[derive(Debug, Clone)]
pub struct CreatedKey {
    /// The stored row.
    pub key: ApiKey,
    /// The secret to hand to the client.
    pub secret: String,
}

/// Creates a key named `name`.
pub fn create(conn: &mut AnyConnection, name: &str) -> QueryResult<CreatedKey> {
    let body = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let secret = format!("{SECRET_PREFIX}{body}");
    let key = ApiKey {
        id: KeyId::new_random(),
        name: name.to_owned(),
        key_hash: hash(&secret),
        created_at: now(),
        last_used_at: None,
        revoked_at: None,
        key_prefix: Some(body[..PREFIX_LEN].to_owned()),
    };
    conn.transaction(|conn| {
        diesel::insert_into(api_keys::table)
            .values(&key)
            .execute(conn)?;
        record(conn, key.id, "created")
    })?;
    Ok(CreatedKey { key, secret })
}

/// Every key, oldest first.
pub fn list(conn: &mut AnyConnection) -> QueryResult<Vec<ApiKey>> {
    api_keys::table
        .order((api_keys::created_at.asc(), api_keys::name.asc()))
        .select(ApiKey::as_select())
        .load(conn)
}

/// The key whose secret is `secret`, if it exists and is not revoked; its
/// use is recorded.
pub fn verify(conn: &mut AnyConnection, secret: &str) -> QueryResult<Option<ApiKey>> {
    conn.transaction(|conn| {
        let found = api_keys::table
            .filter(api_keys::key_hash.eq(hash(secret)))
            .filter(api_keys::revoked_at.is_null())
            .select(ApiKey::as_select())
            .first(conn)
            .optional()?;
        let Some(mut key) = found else {
            return Ok(None);
        };
        let at = now();
        diesel::update(api_keys::table.filter(api_keys::id.eq(key.id)))
            .set(api_keys::last_used_at.eq(at))
            .execute(conn)?;
        record(conn, key.id, "used")?;
        key.last_used_at = Some(at);
        Ok(Some(key))
    })
}

/// Revokes the key whose ID or prefix is `which`; `None` when no key
/// matches. Revoking a revoked key changes nothing.
pub fn revoke(conn: &mut AnyConnection, which: &str) -> QueryResult<Option<ApiKey>> {
    conn.transaction(|conn| {
        let by_prefix = api_keys::table
            .filter(api_keys::key_prefix.eq(which))
            .select(ApiKey::as_select())
            .first(conn)
            .optional()?;
        let found = match (by_prefix, uuid::Uuid::parse_str(which)) {
            (Some(key), _) => Some(key),
            (None, Ok(id)) => api_keys::table
                .find(KeyId(id))
                .select(ApiKey::as_select())
                .first(conn)
                .optional()?,
            (None, Err(_)) => None,
        };
        let Some(mut key) = found else {
            return Ok(None);
        };
        if key.revoked_at.is_none() {
            let at = now();
            diesel::update(api_keys::table.find(key.id))
                .set(api_keys::revoked_at.eq(at))
                .execute(conn)?;
            record(conn, key.id, "revoked")?;
            key.revoked_at = Some(at);
        }
        Ok(Some(key))
    })
}

/// SHA-256 of a secret, lowercase hex: what `api_keys.key_hash` holds.
pub fn hash(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Appends to `api_key_events`.
fn record(conn: &mut AnyConnection, key_id: KeyId, event: &str) -> QueryResult<()> {
    diesel::insert_into(api_key_events::table)
        .values(NewApiKeyEvent {
            key_id,
            event,
            at: now(),
        })
        .execute(conn)
        .map(drop)
}

/// Now, in UTC, to the microsecond (what every backend stores).
fn now() -> NaiveDateTime {
    let now = Utc::now().naive_utc();
    now.with_nanosecond(now.nanosecond() / 1000 * 1000)
        .unwrap_or(now)
}
