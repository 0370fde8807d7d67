//! The command line: a thin clap layer over [`Migrator`], reusable by any
//! binary that embeds migrations.
//!
//! A binary with nothing else to do calls [`main`]; one with commands of its
//! own flattens [`Command`] into its parser and calls [`execute`] (see
//! `factory-service-db`).

use std::io::Write;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::backend::{DatabaseUrl, connect};
use crate::error::{Error, Result};
use crate::migrations::Migrations;
use crate::migrator::{Event, Migrator};
use crate::model::{Direction, Revision};
use crate::plan::Target;

/// The migration commands.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Upgrade to a later revision (applies every revision on the way).
    Upgrade {
        /// `head`, a revision ID or unique prefix, or `+N`.
        #[arg(default_value = "head")]
        target: String,
    },
    /// Revert to an earlier revision (`base` reverts everything).
    Downgrade {
        /// `base`, a revision ID or unique prefix, or `-N`.
        target: String,
    },
    /// Show the revision(s) the database is at.
    Current {
        /// Also show each revision's message, file and when it was applied.
        #[arg(short, long)]
        verbose: bool,
    },
    /// List the revisions, newest first, marking those applied.
    History {
        /// Also show each revision's file, date and description.
        #[arg(short, long)]
        verbose: bool,
    },
}

/// Options shared by every command.
#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// The database: `postgres://user@host/db`, `sqlite://path` or a file path.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,
}

/// A complete command line for a binary whose only job is migrating.
#[derive(Debug, Parser)]
#[command(version, about = "Schema migrations, checked at build time")]
pub struct MigratorCli {
    /// Where the database is.
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Parses the process's arguments and runs the command against `migrations`;
/// the URL is required. Errors are printed to stderr.
pub fn main(migrations: &Migrations) -> ExitCode {
    let cli = MigratorCli::parse();
    let Some(url) = cli.database.database_url else {
        eprintln!("error: no database given: pass --database-url or set DATABASE_URL");
        return ExitCode::FAILURE;
    };
    report(execute(
        migrations,
        &url,
        &cli.command,
        &mut std::io::stdout(),
    ))
}

/// Prints an error to stderr and turns the outcome into an exit status.
pub fn report(outcome: Result<()>) -> ExitCode {
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Runs `command` against the database at `url`, writing what people read to
/// `out`.
pub fn execute(
    migrations: &Migrations,
    url: &str,
    command: &Command,
    out: &mut dyn Write,
) -> Result<()> {
    let migrator = Migrator::new(migrations);
    let graph = migrator.graph();
    // Checked before connecting, so that a bad URL is reported as such.
    DatabaseUrl::parse(url)?;
    let mut conn = connect(url)?;
    let write_error = Error::Output;
    match command {
        Command::Upgrade { target } | Command::Downgrade { target } => {
            let target: Target = target.parse()?;
            let mut progress = |event: Event<'_>| {
                if let Event::Finished {
                    revision,
                    direction,
                    elapsed,
                } = event
                {
                    // Progress is best effort; a closed stdout must not fail
                    // a migration that succeeded.
                    let _ = writeln!(
                        out,
                        "Running {direction} {}, {} ({} ms)",
                        arrow(revision, direction),
                        revision.message,
                        elapsed.as_millis()
                    );
                }
            };
            let report = if matches!(command, Command::Upgrade { .. }) {
                migrator.upgrade_with(&mut conn, &target, &mut progress)?
            } else {
                migrator.downgrade_with(&mut conn, &target, &mut progress)?
            };
            if report.steps.is_empty() {
                writeln!(out, "Nothing to do: the database is already at {target}")
                    .map_err(write_error)?;
            }
        }
        Command::Current { verbose } => {
            let state = migrator.state(&mut conn)?;
            let current = migrator.current(&mut conn)?;
            if current.is_empty() {
                writeln!(out, "base (no revision applied)").map_err(write_error)?;
            }
            let head = graph.head().map(|h| graph.revision(h).id.as_ref());
            for revision in current {
                let mark = if Some(revision.id.as_ref()) == head {
                    " (head)"
                } else {
                    ""
                };
                writeln!(out, "{}{mark}", revision.id).map_err(write_error)?;
                if *verbose {
                    let applied = state.applied.iter().find(|a| a.revision == revision.id);
                    writeln!(out, "    {}", revision.message).map_err(write_error)?;
                    writeln!(out, "    file: {}", revision.file_name).map_err(write_error)?;
                    if let Some(a) = applied {
                        writeln!(
                            out,
                            "    applied: {} UTC ({} ms)",
                            a.applied_at, a.execution_ms
                        )
                        .map_err(write_error)?;
                    }
                }
            }
        }
        Command::History { verbose } => {
            let state = migrator.state(&mut conn)?;
            let head = graph.head();
            for &i in graph.order().iter().rev() {
                let revision = graph.revision(i);
                let mut marks = Vec::new();
                if Some(i) == head {
                    marks.push("head");
                }
                if state.applied.iter().any(|a| a.revision == revision.id) {
                    marks.push("applied");
                }
                let marks = if marks.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", marks.join(", "))
                };
                writeln!(
                    out,
                    "{}{marks}, {}",
                    arrow(revision, Direction::Upgrade),
                    revision.message
                )
                .map_err(write_error)?;
                if *verbose {
                    writeln!(out, "    file: {}", revision.file_name).map_err(write_error)?;
                    if let Some(date) = &revision.create_date {
                        writeln!(out, "    created: {date}").map_err(write_error)?;
                    }
                    for line in revision.description.lines() {
                        writeln!(out, "    {line}").map_err(write_error)?;
                    }
                }
            }
        }
    }
    Ok(())
}

/// `001 -> 002` for an upgrade of 002, `002 -> 001` for its downgrade;
/// `<base>` stands for no revision, and a merge lists its parents.
fn arrow(revision: &Revision, direction: Direction) -> String {
    let parents = if revision.revises.is_empty() {
        "<base>".to_owned()
    } else {
        revision.revises.join(", ")
    };
    match direction {
        Direction::Upgrade => format!("{parents} -> {}", revision.id),
        Direction::Downgrade => format!("{} -> {parents}", revision.id),
    }
}
