// A merge revision lists the same parent twice.
migrator_runtime::embed_migrations!("../../../../tests/ui/graph/redundant_parent_twice");

fn main() {}
