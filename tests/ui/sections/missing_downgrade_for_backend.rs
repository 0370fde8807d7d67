// upgrade postgres has no downgrade postgres (and no untagged downgrade stands in).
migrator_runtime::embed_migrations!("../../../../tests/ui/sections/missing_downgrade_for_backend");

fn main() {}
