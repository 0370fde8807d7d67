// An upgrade drops a schema without Allow: destructive.
migrator_runtime::embed_migrations!("../../../../tests/ui/destructive/drop_schema");

fn main() {}
