// A Rust revision whose downgrade takes two parameters.
migrator_runtime::embed_migrations!("../../../../tests/ui/rust/wrong_parameter_count");

fn main() {}
