// Problems in several files: every one is reported in one build, sorted by file and line.
migrator_runtime::embed_migrations!("../../../../tests/ui/all_at_once/several_files");

fn main() {}
