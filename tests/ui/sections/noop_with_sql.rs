// A section holds both -- migrate:noop and SQL.
migrator_runtime::embed_migrations!("../../../../tests/ui/sections/noop_with_sql");

fn main() {}
