// A Rust revision that does not parse.
migrator_macros::embed_migrations!("../../../../tests/ui/rust/syntax_error");

fn main() {}
