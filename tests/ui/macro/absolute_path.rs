// The migrations directory is an absolute path.
migrator_runtime::embed_migrations!("/tmp/x");

fn main() {}
