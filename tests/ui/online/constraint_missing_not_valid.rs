// `constraint-missing-not-valid`: flagged in the revision that breaks it, not in the one whose
// header allows it.
migrator_runtime::embed_migrations!("../../../../tests/ui/online/constraint_missing_not_valid");

fn main() {}
