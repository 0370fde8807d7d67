// A crate whose migrations never run on PostgreSQL turns the online-safety
// rules off: the directory that fails `ui/online/require_concurrent_index_creation`
// builds.
migrator_runtime::embed_migrations!(
    "../../../../tests/ui/online/require_concurrent_index_creation",
    postgres_lint = false,
);

fn main() {}
