//! The API-key store and the Rust revision 005 on the migrated schema, on
//! every backend.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use factory_service_db::keys;
use factory_service_db::models::ApiKeyEvent;
use factory_service_db::schema::api_key_events;
use migrator_runtime::Target;
use migrator_tests::{TestDb, count, on_every_backend};

#[test]
fn create_list_verify_revoke() {
    on_every_backend(create_list_verify_revoke_on);
}

fn create_list_verify_revoke_on(db: &TestDb) {
    let mut conn = db.connect();
    factory_service_db::migrator()
        .upgrade(&mut conn, Target::Head)
        .expect("migrate");

    let created = keys::create(&mut conn, "ci").expect("create");
    assert_eq!(created.key.key_hash, keys::hash(&created.secret));
    assert!(!created.key.key_hash.contains(&created.secret));
    let other = keys::create(&mut conn, "billing").expect("create another");

    let listed = keys::list(&mut conn).expect("list");
    assert_eq!(listed.len(), 2);
    assert!(listed.contains(&created.key));

    let verified = keys::verify(&mut conn, &created.secret).expect("verify");
    assert_eq!(verified.as_ref().map(|k| k.id), Some(created.key.id));
    assert!(verified.and_then(|k| k.last_used_at).is_some());
    assert_eq!(
        keys::verify(&mut conn, "fsk_not_a_key").expect("verify"),
        None
    );

    let prefix = created.key.key_prefix.clone().expect("a prefix");
    let revoked = keys::revoke(&mut conn, &prefix)
        .expect("revoke")
        .expect("found");
    assert!(revoked.revoked_at.is_some());
    assert_eq!(
        keys::verify(&mut conn, &created.secret).expect("verify"),
        None
    );
    // The other key still works; revoking by ID works too.
    assert!(
        keys::verify(&mut conn, &other.secret)
            .expect("verify")
            .is_some()
    );
    assert!(
        keys::revoke(&mut conn, &other.key.id.to_string())
            .expect("revoke")
            .is_some()
    );
    assert!(
        keys::revoke(&mut conn, "nothing")
            .expect("revoke")
            .is_none()
    );

    let events: Vec<String> = api_key_events::table
        .filter(api_key_events::key_id.eq(created.key.id))
        .order(api_key_events::id)
        .select(ApiKeyEvent::as_select())
        .load(&mut conn)
        .expect("events")
        .into_iter()
        .map(|e| e.event)
        .collect();
    assert_eq!(events, ["created", "used", "revoked"]);
}

#[test]
fn revision_005_backfills_legacy_prefixes() {
    on_every_backend(revision_005_backfills_legacy_prefixes_on);
}

/// A key made before 004 gets `h:` and the first eight characters of its
/// hash from 005's upgrade, and loses it again in 005's downgrade; a key
/// with a prefix of its own keeps it both ways.
fn revision_005_backfills_legacy_prefixes_on(db: &TestDb) {
    let mut conn = db.connect();
    let migrator = factory_service_db::migrator();
    migrator
        .upgrade(&mut conn, Target::Revision("004".into()))
        .expect("migrate to 004");
    conn.batch_execute(
        "INSERT INTO api_keys (id, name, key_hash) VALUES \
         ('00000000-0000-4000-8000-000000000001', 'legacy', '0123456789abcdef'); \
         INSERT INTO api_keys (id, name, key_hash, key_prefix) VALUES \
         ('00000000-0000-4000-8000-000000000002', 'new', 'fedcba9876543210', 'own12345')",
    )
    .expect("insert the keys");
    let prefixes = |conn: &mut _, legacy: &str| {
        count(
            conn,
            &format!(
                "SELECT COUNT(*) AS n FROM api_keys WHERE \
                 (name = 'legacy' AND {legacy}) OR (name = 'new' AND key_prefix = 'own12345')"
            ),
        )
    };

    migrator
        .upgrade(&mut conn, Target::Revision("005".into()))
        .expect("upgrade 005");
    assert_eq!(prefixes(&mut conn, "key_prefix = 'h:01234567'"), 2);

    migrator
        .downgrade(&mut conn, Target::Revision("004".into()))
        .expect("downgrade 005");
    assert_eq!(prefixes(&mut conn, "key_prefix IS NULL"), 2);
}
