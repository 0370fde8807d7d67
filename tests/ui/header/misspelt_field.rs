// Near misses of known keys: 'Revison ID' and 'Revices'.
migrator_runtime::embed_migrations!("../../../../tests/ui/header/misspelt_field");

fn main() {}
