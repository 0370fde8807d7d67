// The header has no Revision ID field.
migrator_runtime::embed_migrations!("../../../../tests/ui/header/missing_revision_id");

fn main() {}
