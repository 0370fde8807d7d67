//! What `embed_migrations!` embeds is exactly what the model loads from the
//! same directory at run time: one parser, one set (sqlx's `same_output`).

use std::path::Path;

use migrator_core::load_dir;

fn assert_same(embedded: &migrator_runtime::Migrations, dir: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let loaded = load_dir(&path, dir).unwrap_or_else(|d| panic!("{d}"));
    assert_eq!(embedded.graph().revisions(), loaded.revisions());
    assert_eq!(embedded.graph().order(), loaded.order());
    assert_eq!(embedded.graph().head(), loaded.head());
}

mod linear {
    migrator_runtime::embed_migrations!("fixtures/linear");
}

#[test]
fn the_embedded_set_equals_the_loaded_set() {
    assert_same(&factory_service_db::MIGRATIONS, "../migrations");
    assert_same(&linear::MIGRATIONS, "fixtures/linear");
}

#[test]
fn rust_revisions_are_compiled_in() {
    let graph = linear::MIGRATIONS.graph();
    let rust: Vec<&str> = graph
        .revisions()
        .iter()
        .filter(|r| r.is_rust())
        .map(|r| r.id.as_ref())
        .collect();
    assert_eq!(rust, ["002"]);
    assert!(linear::MIGRATIONS.rust_revision("002").is_some());
    assert_eq!(linear::revisions::REV_002_SEED_WIDGETS.as_str(), "002");
}
