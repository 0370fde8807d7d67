// Two untagged -- migrate:upgrade sections.
migrator_runtime::embed_migrations!("../../../../tests/ui/sections/duplicate_section");

fn main() {}
