// Timeout is not a duration.
migrator_runtime::embed_migrations!("../../../../tests/ui/header/bad_timeout");

fn main() {}
