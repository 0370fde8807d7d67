// Allow has a value other than destructive.
migrator_runtime::embed_migrations!("../../../../tests/ui/header/bad_allow");

fn main() {}
