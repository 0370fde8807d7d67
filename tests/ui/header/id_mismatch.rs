// Revision ID (002) differs from the file name's revision (001).
migrator_runtime::embed_migrations!("../../../../tests/ui/header/id_mismatch");

fn main() {}
