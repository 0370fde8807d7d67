//! The migrator command line over the `branchy` fixture, for CLI,
//! concurrency and fault tests.

fn main() -> std::process::ExitCode {
    migrator_runtime::cli::main(&migrator_tests::branchy::MIGRATIONS)
}
