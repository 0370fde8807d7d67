// An upgrade drops a table without Allow: destructive.
migrator_runtime::embed_migrations!("../../../../tests/ui/destructive/drop_table");

fn main() {}
