//! The Diesel schema of the factory service's database, at head.

/// SQL types the schema uses beyond Diesel's own.
pub mod sql_types {
    /// A UUID: `UUID` on PostgreSQL, its canonical text form on SQLite and
    /// MySQL.
    #[derive(Debug, Clone, Copy, diesel::sql_types::SqlType, diesel::query_builder::QueryId)]
    #[diesel(postgres_type(name = "uuid"))]
    #[diesel(sqlite_type(name = "Text"))]
    #[diesel(mysql_type(name = "String"))]
    pub struct Uuid;
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::Uuid;

    /// API keys: who may call the factory service.
    api_keys (id) {
        /// The key's identity.
        id -> Uuid,
        /// A name for people ("ci", "billing").
        name -> Text,
        /// The SHA-256 of the secret, hex; the secret itself is never stored.
        key_hash -> Text,
        /// When the key was created, in UTC.
        created_at -> Timestamp,
        /// When the key was last accepted, in UTC.
        last_used_at -> Nullable<Timestamp>,
        /// When the key was revoked, in UTC; a revoked key is refused.
        revoked_at -> Nullable<Timestamp>,
        /// The first characters of the secret, shown in listings.
        key_prefix -> Nullable<Text>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::Uuid;

    /// What each key may do.
    api_key_scopes (key_id, scope) {
        /// The key.
        key_id -> Uuid,
        /// A scope, e.g. `orders:read`.
        scope -> Text,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::Uuid;

    /// What happened to keys: created, used, revoked.
    api_key_events (id) {
        /// The event's number.
        id -> BigInt,
        /// The key.
        key_id -> Uuid,
        /// `created`, `used` or `revoked`.
        event -> Text,
        /// When, in UTC.
        at -> Timestamp,
    }
}

diesel::joinable!(api_key_scopes -> api_keys (key_id));
diesel::joinable!(api_key_events -> api_keys (key_id));
diesel::allow_tables_to_appear_in_same_query!(api_keys, api_key_scopes, api_key_events);
