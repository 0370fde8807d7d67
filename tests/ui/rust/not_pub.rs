// A Rust revision whose upgrade is not pub.
migrator_runtime::embed_migrations!("../../../../tests/ui/rust/not_pub");

fn main() {}
