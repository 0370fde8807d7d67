//! `factory-service-db`: the factory service's database tool. It carries the
//! service's revisions and the whole migration command set.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use migrator_runtime::cli::{self, DatabaseArgs};

/// The SQLite file used when no database is given.
const DEFAULT_DATABASE: &str = "factory-service.db";

/// The factory service's database tool.
#[derive(Debug, Parser)]
#[command(name = "factory-service-db", version, about)]
struct Cli {
    #[command(flatten)]
    database: DatabaseArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    #[command(flatten)]
    Migrate(cli::Command),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let url = cli.database.database_url.unwrap_or_else(|| {
        eprintln!(
            "note: no --database-url or DATABASE_URL given; using the SQLite file \
             {DEFAULT_DATABASE} in the working directory"
        );
        DEFAULT_DATABASE.to_owned()
    });
    let Command::Migrate(command) = &cli.command;
    cli::report(cli::execute(
        &factory_service_db::MIGRATIONS,
        &url,
        command,
        &mut std::io::stdout(),
    ))
}
