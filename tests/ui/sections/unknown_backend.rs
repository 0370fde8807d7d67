// A section tagged with an unknown backend: oracle.
migrator_runtime::embed_migrations!("../../../../tests/ui/sections/unknown_backend");

fn main() {}
