// Two revisions revise 001: the graph has two heads.
migrator_runtime::embed_migrations!("../../../../tests/ui/graph/multiple_heads");

fn main() {}
