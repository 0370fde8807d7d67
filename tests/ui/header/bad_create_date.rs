// Create Date is not a date.
migrator_runtime::embed_migrations!("../../../../tests/ui/header/bad_create_date");

fn main() {}
