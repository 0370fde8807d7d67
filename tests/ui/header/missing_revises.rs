// The header has no Revises field.
migrator_runtime::embed_migrations!("../../../../tests/ui/header/missing_revises");

fn main() {}
