// The argument is an identifier, not a string literal.
migrator_runtime::embed_migrations!(migrations);

fn main() {}
