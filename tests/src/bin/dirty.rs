//! The migrator command line over the `dirty` fixture (a `Transaction:
//! false` revision that fails on its second statement), for
//! `tests/dirty.rs`.

migrator_runtime::embed_migrations!("fixtures/dirty");

fn main() -> std::process::ExitCode {
    migrator_runtime::cli::main(&MIGRATIONS)
}
