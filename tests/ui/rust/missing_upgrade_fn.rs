// A Rust revision without pub fn upgrade.
migrator_runtime::embed_migrations!("../../../../tests/ui/rust/missing_upgrade_fn");

fn main() {}
