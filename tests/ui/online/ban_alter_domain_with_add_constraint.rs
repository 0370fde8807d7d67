// `ban-alter-domain-with-add-constraint`: flagged in the revision that breaks it, not in the one whose
// header allows it.
migrator_runtime::embed_migrations!("../../../../tests/ui/online/ban_alter_domain_with_add_constraint");

fn main() {}
