//! The Diesel schema of the factory service's database, at head.

/// SQL types the schema uses beyond Diesel's own.
pub mod sql_types {
    /// A UUID: `UUID` on PostgreSQL, its canonical text form on SQLite.
    #[derive(Debug, Clone, Copy, diesel::sql_types::SqlType, diesel::query_builder::QueryId)]
    #[diesel(postgres_type(name = "uuid"))]
    #[diesel(sqlite_type(name = "Text"))]
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
        /// The hash of the secret; the secret itself is never stored.
        key_hash -> Text,
        /// When the key was created, in UTC.
        created_at -> Timestamp,
    }
}
