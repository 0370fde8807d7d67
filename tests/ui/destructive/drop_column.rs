// An upgrade drops a column without Allow: destructive.
migrator_runtime::embed_migrations!("../../../../tests/ui/destructive/drop_column");

fn main() {}
