// `CREATE INDEX CONCURRENTLY`, `VACUUM` and `DROP INDEX CONCURRENTLY` in a
// revision without `Transaction: false`: always an error, whatever `Allow:`.
migrator_runtime::embed_migrations!("../../../../tests/ui/online/outside_transaction");

fn main() {}
