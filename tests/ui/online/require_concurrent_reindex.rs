// `require-concurrent-reindex`: flagged in the revision that breaks it, not in the one whose
// header allows it.
migrator_runtime::embed_migrations!("../../../../tests/ui/online/require_concurrent_reindex");

fn main() {}
