//! `factory-service-db`: the factory service's database tool. It carries the
//! service's revisions and the whole migration command set.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use migrator_runtime::cli::{self, GlobalArgs, Settings};
use migrator_runtime::config::Config;

/// The SQLite file used when no database is given.
const DEFAULT_DATABASE: &str = "factory-service.db";

/// The factory service's database tool.
#[derive(Debug, Parser)]
#[command(name = "factory-service-db", version, about)]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
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
    cli::report(Config::load().and_then(|config| {
        let settings = Settings::resolve(&cli.global, config);
        let url = settings.url.clone().unwrap_or_else(|| {
            eprintln!(
                "note: no --database-url or DATABASE_URL given; using the SQLite file \
                 {DEFAULT_DATABASE} in the working directory"
            );
            DEFAULT_DATABASE.to_owned()
        });
        let Command::Migrate(command) = &cli.command;
        cli::execute(
            &factory_service_db::MIGRATIONS,
            &url,
            &settings,
            command,
            &mut std::io::stdout(),
        )
    }))
}
