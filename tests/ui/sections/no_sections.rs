// A revision with a header and no section at all.
migrator_runtime::embed_migrations!("../../../../tests/ui/sections/no_sections");

fn main() {}
