// A .sql revision that is not valid UTF-8.
migrator_macros::embed_migrations!("../../../../tests/ui/files/not_utf8");

fn main() {}
