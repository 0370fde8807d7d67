// `ban-uncommitted-transaction`: flagged in the revision that breaks it, not in the one whose
// header allows it.
migrator_runtime::embed_migrations!("../../../../tests/ui/online/ban_uncommitted_transaction");

fn main() {}
