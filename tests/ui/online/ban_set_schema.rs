// `ban-set-schema`: flagged in the revision that breaks it, not in the one whose
// header allows it.
migrator_runtime::embed_migrations!("../../../../tests/ui/online/ban_set_schema");

fn main() {}
