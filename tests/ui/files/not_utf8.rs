// A .sql revision that is not valid UTF-8.
migrator_runtime::embed_migrations!("../../../../tests/ui/files/not_utf8");

fn main() {}
