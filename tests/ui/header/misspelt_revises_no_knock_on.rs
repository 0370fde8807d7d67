// A misspelt `Revises` is reported as such, and the revision is not taken
// for a second base (nor its parent for a second head).
migrator_runtime::embed_migrations!("../../../../tests/ui/header/misspelt_revises_no_knock_on");

fn main() {}
