// An upgrade truncates a table without Allow: destructive.
migrator_runtime::embed_migrations!("../../../../tests/ui/destructive/truncate");

fn main() {}
