// An untagged upgrade section without a downgrade section.
migrator_macros::embed_migrations!("../../../../tests/ui/sections/missing_downgrade");

fn main() {}
