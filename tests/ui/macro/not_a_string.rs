// The argument is an identifier, not a string literal.
migrator_macros::embed_migrations!(migrations);

fn main() {}
