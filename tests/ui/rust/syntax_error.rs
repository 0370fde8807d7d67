// A Rust revision that does not parse.
migrator_runtime::embed_migrations!("../../../../tests/ui/rust/syntax_error");

fn main() {}
