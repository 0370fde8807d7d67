// Transaction is neither true nor false.
migrator_runtime::embed_migrations!("../../../../tests/ui/header/bad_transaction");

fn main() {}
