// `adding-foreign-key-constraint`: flagged in the revision that breaks it, not in the one whose
// header allows it.
migrator_runtime::embed_migrations!("../../../../tests/ui/online/adding_foreign_key_constraint");

fn main() {}
