// A statement between the header and the first section.
migrator_runtime::embed_migrations!("../../../../tests/ui/sections/sql_before_section");

fn main() {}
