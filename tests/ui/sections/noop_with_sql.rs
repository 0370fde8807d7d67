// A section holds both -- migrate:noop and SQL.
migrator_macros::embed_migrations!("../../../../tests/ui/sections/noop_with_sql");

fn main() {}
