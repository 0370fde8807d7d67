// `adding-not-nullable-field`: flagged in the revision that breaks it, not in the one whose
// header allows it.
migrator_runtime::embed_migrations!("../../../../tests/ui/online/adding_not_nullable_field");

fn main() {}
