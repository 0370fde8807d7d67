//! `factory-service-db`: the factory service's database tool. It carries the
//! service's revisions and the whole migration command set, and manages API
//! keys, migrating the database to head first (under the lock; one query
//! when there is nothing to do).

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use factory_service_db::keys;
use migrator_runtime::cli::{self, Config, Error, GlobalArgs, Settings, exit};
use migrator_runtime::{Migrator, Target};

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
    /// Manage API keys (migrates the database to head first).
    Keys {
        /// Do not migrate first: for deployments that migrate in a separate step
        /// (`FACTORY_NO_MIGRATE` takes 1/0, true/false, yes/no, on/off).
        #[arg(long, env = "FACTORY_NO_MIGRATE", value_parser = clap::builder::BoolishValueParser::new())]
        no_migrate: bool,
        #[command(subcommand)]
        command: KeysCommand,
    },
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Create a key; its secret is printed once and never stored.
    Create {
        /// A name for people, e.g. `ci`.
        #[arg(long)]
        name: String,
    },
    /// List the keys.
    List,
    /// Check a secret: exit 0 if it is a valid key, 1 if not.
    Verify {
        /// The secret (`fsk_…`).
        secret: String,
    },
    /// Revoke a key by its ID or prefix.
    Revoke {
        /// The key's ID, or the prefix `keys list` shows.
        key: String,
    },
}

fn main() -> ExitCode {
    cli::init_logging();
    let cli = Cli::parse();
    cli::report(Config::load().and_then(|config| {
        let settings = Settings::resolve(&cli.global, config);
        let needs_database = match &cli.command {
            Command::Migrate(command) => command.needs_database(),
            Command::Keys { .. } => true,
        };
        let url = match settings.url.clone() {
            Some(url) => url,
            // `history` reads the graph alone when no database is given.
            None if matches!(&cli.command, Command::Migrate(cli::Command::History { .. })) => {
                String::new()
            }
            None => {
                if needs_database {
                    eprintln!(
                        "note: no --database-url or DATABASE_URL given; using the SQLite file \
                         {DEFAULT_DATABASE} in the working directory"
                    );
                }
                DEFAULT_DATABASE.to_owned()
            }
        };
        let out = &mut std::io::stdout();
        match &cli.command {
            Command::Migrate(command) => cli::execute(
                &factory_service_db::MIGRATIONS,
                &url,
                &settings,
                command,
                out,
            ),
            Command::Keys {
                no_migrate,
                command,
            } => run_keys(&url, &settings, *no_migrate, command, out),
        }
    }))
}

fn run_keys(
    url: &str,
    settings: &Settings,
    no_migrate: bool,
    command: &KeysCommand,
    out: &mut (dyn Write + Send),
) -> Result<u8, Error> {
    let conn = &mut settings.connect(url)?;
    if !no_migrate {
        let report =
            Migrator::with_options(&factory_service_db::MIGRATIONS, settings.options.clone())
                .upgrade(conn, Target::Head)?;
        if !report.steps.is_empty() && !settings.quiet {
            eprintln!(
                "note: migrated the database to head ({} revision(s) applied)",
                report.steps.len()
            );
        }
        // During a rolling deploy a newer build may have migrated already:
        // this build goes on, and says so.
        if !report.ahead.is_empty() {
            eprintln!(
                "warning: the database is ahead of this build (revision(s) {} applied by a newer \
                 build); going on",
                report.ahead.join(", ")
            );
        }
    }
    let database = |error| {
        Error::from(migrator_runtime::Error::database("working on api_keys")(
            error,
        ))
    };
    let write = |result: std::io::Result<()>| result.map_err(Error::Output);
    match command {
        KeysCommand::Create { name } => {
            let created = keys::create(conn, name).map_err(database)?;
            write(writeln!(out, "Created key {} ({name})", created.key.id))?;
            write(writeln!(
                out,
                "Secret (shown once, store it now): {}",
                created.secret
            ))?;
        }
        KeysCommand::List => {
            for key in keys::list(conn).map_err(database)? {
                let state = match (key.revoked_at, key.last_used_at) {
                    (Some(at), _) => format!("revoked {}", at.format("%Y-%m-%d %H:%M")),
                    (None, Some(at)) => format!("last used {}", at.format("%Y-%m-%d %H:%M")),
                    (None, None) => "never used".to_owned(),
                };
                write(writeln!(
                    out,
                    "{}  {:<12} {:<20} created {}  {state}",
                    key.id,
                    key.key_prefix.as_deref().unwrap_or("-"),
                    key.name,
                    key.created_at.format("%Y-%m-%d %H:%M"),
                ))?;
            }
        }
        KeysCommand::Verify { secret } => match keys::verify(conn, secret).map_err(database)? {
            Some(key) => write(writeln!(out, "valid: {} ({})", key.id, key.name))?,
            None => {
                write(writeln!(out, "invalid: no such key, or revoked"))?;
                return Ok(exit::PENDING);
            }
        },
        KeysCommand::Revoke { key } => match keys::revoke(conn, key).map_err(database)? {
            Some(key) => write(writeln!(out, "revoked: {} ({})", key.id, key.name))?,
            None => {
                write(writeln!(out, "no key has the ID or prefix `{key}`"))?;
                return Ok(exit::USAGE);
            }
        },
    }
    Ok(exit::OK)
}
