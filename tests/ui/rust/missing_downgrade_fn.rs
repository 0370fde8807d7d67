// A Rust revision without pub fn downgrade.
migrator_runtime::embed_migrations!("../../../../tests/ui/rust/missing_downgrade_fn");

fn main() {}
