// Timeout is not a duration.
migrator_macros::embed_migrations!("../../../../tests/ui/header/bad_timeout");

fn main() {}
