// A merge revision lists the same parent twice.
migrator_macros::embed_migrations!("../../../../tests/ui/graph/redundant_parent_twice");

fn main() {}
