// A merge revision lists 001, which is already an ancestor of its other parent 002.
migrator_runtime::embed_migrations!("../../../../tests/ui/graph/redundant_parent_ancestor");

fn main() {}
