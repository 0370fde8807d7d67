// An untagged upgrade section without a downgrade section.
migrator_runtime::embed_migrations!("../../../../tests/ui/sections/missing_downgrade");

fn main() {}
