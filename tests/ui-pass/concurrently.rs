// The safe way: CONCURRENTLY, in a `Transaction: false` revision.
migrator_runtime::embed_migrations!("../../../../tests/ui-pass/concurrently");

fn main() {}
