// One upgrade with several destructive statements, each flagged at its own line; comments, strings and the downgrade are not.
migrator_runtime::embed_migrations!("../../../../tests/ui/destructive/several_statements");

fn main() {}
