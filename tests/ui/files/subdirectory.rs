// A non-hidden subdirectory inside the migrations directory.
migrator_macros::embed_migrations!("../../../../tests/ui/files/subdirectory");

fn main() {}
