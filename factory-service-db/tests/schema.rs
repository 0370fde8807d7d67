//! `schema.rs` matches the database the migrations make at head, on every
//! backend (SQLite, PostgreSQL, MySQL/MariaDB): a model that drifted from
//! the migrations fails here, naming the table and the column.

use factory_service_db::schema::{api_key_events, api_key_scopes, api_keys};
use migrator_runtime::Target;
use migrator_runtime::testing::{
    DiffOptions, SchemaDiff, Snapshot, on_every_backend, schema_drift,
};

#[test]
fn schema_rs_matches_the_database_at_head() {
    on_every_backend(|db| {
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

/// On MySQL/MariaDB, a change made by hand after the migrations ran (a
/// column made nullable, a column and an index added) is named by the drift
/// check and shown by the snapshot diff.
#[test]
fn a_hand_made_change_on_mysql_is_drift() {
    migrator_runtime::testing::on_mysql(|db| {
        let mut conn = db.connect();
        factory_service_db::migrator()
            .upgrade(&mut conn, Target::Head)
            .expect("migrate");
        let migrated = Snapshot::take(&mut conn).expect("snapshot");
        assert!(schema_drift::<api_keys::table>(&migrated).is_empty());
        diesel::connection::SimpleConnection::batch_execute(
            &mut conn,
            "ALTER TABLE api_keys MODIFY name VARCHAR(255) NULL;
             ALTER TABLE api_keys ADD COLUMN note TEXT;
             CREATE INDEX api_keys_name ON api_keys (name);",
        )
        .expect("change the schema by hand");
        let changed = Snapshot::take(&mut conn).expect("snapshot");
        assert_eq!(
            schema_drift::<api_keys::table>(&changed),
            [
                "column `api_keys.name` is NOT NULL in schema.rs but nullable in the database",
                "column `api_keys.note` is in the database but not in schema.rs",
            ]
        );
        let diff = SchemaDiff::between(&migrated, &changed, &DiffOptions::default());
        assert_eq!(
            diff.to_string(),
            "+ column api_keys.name VARCHAR(255)\n\
             - column api_keys.name VARCHAR(255) NOT NULL\n\
             + column api_keys.note TEXT\n\
             + index api_keys_name on api_keys (name)\n"
        );
    });
}
