// A section tagged with an unknown backend: oracle.
migrator_macros::embed_migrations!("../../../../tests/ui/sections/unknown_backend");

fn main() {}
