// The migrations directory is an absolute path.
migrator_macros::embed_migrations!("/tmp/x");

fn main() {}
