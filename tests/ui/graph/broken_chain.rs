// Revises names 0002, which does not exist (002 does).
migrator_macros::embed_migrations!("../../../../tests/ui/graph/broken_chain");

fn main() {}
