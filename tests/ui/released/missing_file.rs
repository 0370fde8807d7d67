// released.sum lists a revision whose file is gone (or an ID that is no
// revision of the directory).
migrator_runtime::embed_migrations!("../../../../tests/ui/released/missing_file");

fn main() {}
