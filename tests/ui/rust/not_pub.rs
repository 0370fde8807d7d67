// A Rust revision whose upgrade is not pub.
migrator_macros::embed_migrations!("../../../../tests/ui/rust/not_pub");

fn main() {}
