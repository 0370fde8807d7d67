// `adding-field-with-default`: flagged in the revision that breaks it, not in the one whose
// header allows it.
migrator_runtime::embed_migrations!("../../../../tests/ui/online/adding_field_with_default");

fn main() {}
