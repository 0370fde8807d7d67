//! `schema.rs` matches the database the migrations make at head, on both
//! backends: a model that drifted from the migrations fails here, naming the
//! table and the column.

use factory_service_db::schema::{api_key_events, api_key_scopes, api_keys};
use migrator_runtime::Target;
use migrator_runtime::testing::{Snapshot, on_each_backend, schema_drift};

#[test]
fn schema_rs_matches_the_database_at_head() {
    on_each_backend(|db| {
        let mut conn = db.connect();
        factory_service_db::migrator()
            .upgrade(&mut conn, Target::Head)
            .expect("migrate");
        let snapshot = Snapshot::take(&mut conn).expect("snapshot");
        let mut drift = schema_drift::<api_keys::table>(&snapshot);
        drift.extend(schema_drift::<api_key_scopes::table>(&snapshot));
        drift.extend(schema_drift::<api_key_events::table>(&snapshot));
        assert!(
            drift.is_empty(),
            "schema.rs has drifted:\n{}",
            drift.join("\n")
        );
        // Every table the migrations make is in schema.rs.
        let tables: Vec<&str> = snapshot.tables.keys().map(String::as_str).collect();
        assert_eq!(tables, ["api_key_events", "api_key_scopes", "api_keys"]);
    });
}

/// `api_keys` as a drifted model would declare it.
mod drifted {
    diesel::table! {
        /// `api_keys` as a drifted model would declare it: a column the
        /// migrations do not make, one missing, one with the wrong nullability.
        api_keys (id) {
            id -> Text,
            name -> Nullable<Text>,
            key_hash -> Text,
            created_at -> Timestamp,
            expires_at -> Timestamp,
        }
    }
}

#[test]
fn a_drifted_model_is_named_table_and_column() {
    let db = migrator_runtime::testing::TestDb::sqlite();
    let mut conn = db.connect();
    factory_service_db::migrator()
        .upgrade(&mut conn, Target::Head)
        .expect("migrate");
    let snapshot = Snapshot::take(&mut conn).expect("snapshot");
    let drift = schema_drift::<drifted::api_keys::table>(&snapshot);
    assert_eq!(
        drift,
        [
            "column `api_keys.name` is Nullable in schema.rs but NOT NULL in the database",
            "column `api_keys.expires_at` is in schema.rs but not in the database",
            "column `api_keys.last_used_at` is in the database but not in schema.rs",
            "column `api_keys.revoked_at` is in the database but not in schema.rs",
            "column `api_keys.key_prefix` is in the database but not in schema.rs",
        ]
    );
}
