// The migrations directory does not exist.
migrator_macros::embed_migrations!("../../../../tests/ui/files/no_such_directory");

fn main() {}
