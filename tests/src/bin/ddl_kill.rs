//! The migrator command line over the `ddl_kill` fixture (12 small
//! revisions of two or three statements, DDL and rows), for the MySQL and
//! MariaDB kill trials of `tests/faults.rs`.

migrator_runtime::embed_migrations!("fixtures/ddl_kill");

fn main() -> std::process::ExitCode {
    migrator_runtime::cli::main(&MIGRATIONS)
}
