// Two revisions have an empty Revises.
migrator_runtime::embed_migrations!("../../../../tests/ui/graph/multiple_bases");

fn main() {}
