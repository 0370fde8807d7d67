// Revises names 0002, which does not exist (002 does).
migrator_runtime::embed_migrations!("../../../../tests/ui/graph/broken_chain");

fn main() {}
