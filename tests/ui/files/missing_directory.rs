// The migrations directory does not exist.
migrator_runtime::embed_migrations!("../../../../tests/ui/files/no_such_directory");

fn main() {}
