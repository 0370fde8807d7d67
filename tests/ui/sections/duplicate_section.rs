// Two untagged -- migrate:upgrade sections.
migrator_macros::embed_migrations!("../../../../tests/ui/sections/duplicate_section");

fn main() {}
