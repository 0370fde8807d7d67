// A non-hidden subdirectory inside the migrations directory.
migrator_runtime::embed_migrations!("../../../../tests/ui/files/subdirectory");

fn main() {}
