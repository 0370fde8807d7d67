// A revision with a header and no section at all.
migrator_macros::embed_migrations!("../../../../tests/ui/sections/no_sections");

fn main() {}
