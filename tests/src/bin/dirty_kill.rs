//! The migrator command line over the `dirty_kill` fixture (a slow
//! `Transaction: false` revision between two others), for the kill trials
//! of `tests/dirty.rs`.

migrator_runtime::embed_migrations!("fixtures/dirty_kill");

fn main() -> std::process::ExitCode {
    migrator_runtime::cli::main(&MIGRATIONS)
}
