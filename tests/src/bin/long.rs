//! The migrator command line over the `long` fixture (40 SQL revisions that
//! create, fill and alter tables), for the kill and load tests in
//! `tests/faults.rs`.

migrator_runtime::embed_migrations!("fixtures/long");

fn main() -> std::process::ExitCode {
    migrator_runtime::cli::main(&MIGRATIONS)
}
