// Lines of released.sum that do not parse: an ID listed twice, no checksum,
// a bad ID, a bad checksum.
migrator_runtime::embed_migrations!("../../../../tests/ui/released/bad_line");

fn main() {}
