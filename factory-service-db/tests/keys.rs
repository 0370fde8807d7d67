//! The API-key store on the migrated schema, on both backends.

use diesel::prelude::*;
use factory_service_db::keys;
use factory_service_db::models::ApiKeyEvent;
use factory_service_db::schema::api_key_events;
use migrator_runtime::Target;
use migrator_tests::on_each_backend;

#[test]
fn create_list_verify_revoke() {
    on_each_backend(|db| {
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
    });
}
