// A Rust revision without pub fn upgrade.
migrator_macros::embed_migrations!("../../../../tests/ui/rust/missing_upgrade_fn");

fn main() {}
