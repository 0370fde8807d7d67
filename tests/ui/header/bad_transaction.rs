// Transaction is neither true nor false.
migrator_macros::embed_migrations!("../../../../tests/ui/header/bad_transaction");

fn main() {}
