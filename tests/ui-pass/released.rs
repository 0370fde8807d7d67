// A released revision is exempt from the destructive and online-safety rules.
migrator_runtime::embed_migrations!("../../../../tests/ui-pass/released");

fn main() {}
