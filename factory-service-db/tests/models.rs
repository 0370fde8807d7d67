//! The Diesel schema and models work on the migrated database, on every
//! backend, through the same connection type the migrator uses.

use chrono::{Timelike, Utc};
use diesel::prelude::*;
use factory_service_db::models::{ApiKey, KeyId};
use factory_service_db::schema::api_keys;
use migrator_runtime::Target;
use migrator_tests::{TestDb, on_every_backend};

#[test]
fn api_keys_round_trip_through_the_models() {
    on_every_backend(round_trip);
}

fn round_trip(db: &TestDb) {
    let mut conn = db.connect();
    factory_service_db::migrator()
        .upgrade(&mut conn, Target::Head)
        .expect("migrate");
    let key = ApiKey {
        id: KeyId::new_random(),
        name: "ci".to_owned(),
        key_hash: "hash".to_owned(),
        created_at: Utc::now().naive_utc().with_nanosecond(0).expect("valid"),
        last_used_at: None,
        revoked_at: None,
        key_prefix: Some("abcd1234".to_owned()),
    };
    diesel::insert_into(api_keys::table)
        .values(&key)
        .execute(&mut conn)
        .expect("insert");
    let loaded: ApiKey = api_keys::table
        .filter(api_keys::id.eq(key.id))
        .select(ApiKey::as_select())
        .first(&mut conn)
        .expect("load");
    assert_eq!(loaded, key);
}
