// The Revises field is given twice.
migrator_runtime::embed_migrations!("../../../../tests/ui/header/duplicate_field");

fn main() {}
