// `rewriting-table`: flagged in the revision that breaks it, not in the one whose
// header allows it.
migrator_runtime::embed_migrations!("../../../../tests/ui/online/rewriting_table");

fn main() {}
