// Two files declare revision 002.
migrator_runtime::embed_migrations!("../../../../tests/ui/graph/duplicate_revision");

fn main() {}
