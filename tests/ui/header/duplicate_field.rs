// The Revises field is given twice.
migrator_macros::embed_migrations!("../../../../tests/ui/header/duplicate_field");

fn main() {}
