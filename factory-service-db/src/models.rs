//! Rows of the factory service's tables, as Rust types.

use chrono::NaiveDateTime;
use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::mysql::Mysql;
use diesel::pg::Pg;
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::{HasSqlType, Text};
use diesel::sqlite::Sqlite;
use diesel::{Insertable, Queryable, Selectable};
use migrator_runtime::MultiBackend;

use crate::schema::{api_key_events, api_key_scopes, api_keys, sql_types};

/// The identity of an API key: a UUID, stored natively on PostgreSQL and as
/// text on SQLite and MySQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, AsExpression, FromSqlRow)]
#[diesel(sql_type = sql_types::Uuid)]
pub struct KeyId(pub uuid::Uuid);

impl KeyId {
    /// A fresh random (version 4) ID.
    pub fn new_random() -> Self {
        KeyId(uuid::Uuid::new_v4())
    }
}

impl std::fmt::Display for KeyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl ToSql<sql_types::Uuid, Pg> for KeyId {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        std::io::Write::write_all(out, self.0.as_bytes())?;
        Ok(IsNull::No)
    }
}

impl FromSql<sql_types::Uuid, Pg> for KeyId {
    fn from_sql(bytes: <Pg as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        Ok(KeyId(uuid::Uuid::from_slice(bytes.as_bytes())?))
    }
}

impl ToSql<sql_types::Uuid, Sqlite> for KeyId {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        out.set_value(self.0.hyphenated().to_string());
        Ok(IsNull::No)
    }
}

impl FromSql<sql_types::Uuid, Sqlite> for KeyId {
    fn from_sql(bytes: <Sqlite as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        let text = <String as FromSql<Text, Sqlite>>::from_sql(bytes)?;
        Ok(KeyId(uuid::Uuid::parse_str(&text)?))
    }
}

impl ToSql<sql_types::Uuid, Mysql> for KeyId {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Mysql>) -> serialize::Result {
        std::io::Write::write_all(out, self.0.hyphenated().to_string().as_bytes())?;
        Ok(IsNull::No)
    }
}

impl FromSql<sql_types::Uuid, Mysql> for KeyId {
    fn from_sql(bytes: <Mysql as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        let text = <String as FromSql<Text, Mysql>>::from_sql(bytes)?;
        Ok(KeyId(uuid::Uuid::parse_str(&text)?))
    }
}

impl HasSqlType<sql_types::Uuid> for MultiBackend {
    fn metadata(lookup: &mut Self::MetadataLookup) -> Self::TypeMetadata {
        MultiBackend::lookup_sql_type::<sql_types::Uuid>(lookup)
    }
}

impl ToSql<sql_types::Uuid, MultiBackend> for KeyId {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, MultiBackend>) -> serialize::Result {
        out.set_value((sql_types::Uuid, self));
        Ok(IsNull::No)
    }
}

impl FromSql<sql_types::Uuid, MultiBackend> for KeyId {
    fn from_sql(bytes: <MultiBackend as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        bytes.from_sql::<KeyId, sql_types::Uuid>()
    }
}

/// A row of `api_keys`.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = api_keys)]
pub struct ApiKey {
    /// The key's identity.
    pub id: KeyId,
    /// A name for people.
    pub name: String,
    /// The SHA-256 of the secret, hex.
    pub key_hash: String,
    /// When the key was created, in UTC.
    pub created_at: NaiveDateTime,
    /// When the key was last accepted, in UTC.
    pub last_used_at: Option<NaiveDateTime>,
    /// When the key was revoked, in UTC.
    pub revoked_at: Option<NaiveDateTime>,
    /// The first characters of the secret, shown in listings.
    pub key_prefix: Option<String>,
}

/// A row of `api_key_scopes`.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = api_key_scopes)]
pub struct ApiKeyScope {
    /// The key.
    pub key_id: KeyId,
    /// The scope.
    pub scope: String,
}

/// A row of `api_key_events`.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = api_key_events)]
pub struct ApiKeyEvent {
    /// The event's number.
    pub id: i64,
    /// The key.
    pub key_id: KeyId,
    /// `created`, `used` or `revoked`.
    pub event: String,
    /// When, in UTC.
    pub at: NaiveDateTime,
}

/// A new row of `api_key_events` (its number is assigned by the database).
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = api_key_events)]
pub struct NewApiKeyEvent<'a> {
    /// The key.
    pub key_id: KeyId,
    /// `created`, `used` or `revoked`.
    pub event: &'a str,
    /// When, in UTC.
    pub at: NaiveDateTime,
}
