// 001 revises 002 and 002 revises 001.
migrator_runtime::embed_migrations!("../../../../tests/ui/graph/cycle");

fn main() {}
