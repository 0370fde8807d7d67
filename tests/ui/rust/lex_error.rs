// A Rust revision with an unterminated string: the error names its line.
migrator_runtime::embed_migrations!("../../../../tests/ui/rust/lex_error");

fn main() {}
