// Create Date is not a date.
migrator_macros::embed_migrations!("../../../../tests/ui/header/bad_create_date");

fn main() {}
