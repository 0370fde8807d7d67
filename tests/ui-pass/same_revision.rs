// Statements on tables created earlier in the same revision are not
// flagged: nobody uses those tables yet.
migrator_runtime::embed_migrations!("../../../../tests/ui-pass/same_revision");

fn main() {}
