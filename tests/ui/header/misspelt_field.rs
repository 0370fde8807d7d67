// Near misses of known keys: 'Revison ID' and 'Revices'.
migrator_macros::embed_migrations!("../../../../tests/ui/header/misspelt_field");

fn main() {}
