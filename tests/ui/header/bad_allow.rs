// Allow has a value other than destructive.
migrator_macros::embed_migrations!("../../../../tests/ui/header/bad_allow");

fn main() {}
