// The downgrade section holds no statement and no -- migrate:noop.
migrator_runtime::embed_migrations!("../../../../tests/ui/sections/empty_section");

fn main() {}
