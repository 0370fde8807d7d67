// `require-concurrent-refresh`: flagged in the revision that breaks it, not in the one whose
// header allows it.
migrator_runtime::embed_migrations!("../../../../tests/ui/online/require_concurrent_refresh");

fn main() {}
