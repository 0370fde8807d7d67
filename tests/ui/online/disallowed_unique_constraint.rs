// `disallowed-unique-constraint`: flagged in the revision that breaks it, not in the one whose
// header allows it.
migrator_runtime::embed_migrations!("../../../../tests/ui/online/disallowed_unique_constraint");

fn main() {}
