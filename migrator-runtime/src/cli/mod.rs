//! The command line: a thin clap layer over [`Migrator`], reusable by any
//! binary that embeds migrations.
//!
//! A binary with nothing else to do calls [`main`]; one with commands of its
//! own flattens [`GlobalArgs`] and [`Command`] into its parser and calls
//! [`Settings::resolve`] and [`execute`] (see `factory-service-db`).
//!
//! Exit statuses are documented in [`exit`].

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

mod config;
mod error;
mod history;

pub use config::Config;
pub use error::{Error, Result, exit, exit_status};
pub use history::Format as HistoryFormat;

use crate::backend::{
    AnyConnection, DEFAULT_APPLICATION_NAME, DEFAULT_CONNECT_TIMEOUT, DatabaseUrl, connect_with,
};
use crate::graph::Graph;
use crate::migrations::Migrations;
use crate::model::{Direction, Revision, parse_duration};
use crate::plan::Target;
use crate::{Event, LockStrategy, Migrator, Options, Report};
use migrator_core::scaffold;

/// The migration commands.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Upgrade to a later revision (applies every revision on the way).
    Upgrade {
        /// `head`, a revision ID or unique prefix, `+N`, `REV+N`.
        #[arg(default_value = "head", allow_hyphen_values = true)]
        target: String,
        /// How to run it.
        #[command(flatten)]
        run: RunArgs,
    },
    /// Revert to an earlier revision (`base` reverts everything).
    Downgrade {
        /// `base`, a revision ID or unique prefix, `-N`, `head-N`.
        #[arg(allow_hyphen_values = true)]
        target: String,
        /// How to run it.
        #[command(flatten)]
        run: RunArgs,
    },
    /// Show the revision(s) the database is at.
    Current {
        /// Also show each revision's message, file and when it was applied.
        #[arg(short, long)]
        verbose: bool,
    },
    /// List the revisions, newest first, marking the head, branch points,
    /// merge points and (given a database) those applied.
    History {
        /// Also show each revision's file, date and description.
        #[arg(short, long)]
        verbose: bool,
        /// Only revisions from FROM to TO (inclusive), e.g. `001:head`.
        #[arg(short = 'r', long, value_name = "FROM:TO")]
        rev_range: Option<String>,
        /// Draw the graph beside the revisions, like `git log --graph`.
        #[arg(long)]
        graph: bool,
        /// `text`, or `dot` for Graphviz.
        #[arg(long, value_enum, default_value_t)]
        format: history::Format,
    },
    /// Show the head revision(s) of the migrations.
    Heads,
    /// Show one revision: header, place in the graph, SQL per backend.
    Show {
        /// A revision ID or unique prefix, `head` or `base`.
        revision: String,
    },
    /// Record the database as being at TARGET without running anything. As
    /// in Alembic, the revisions of other branches stay recorded.
    Stamp {
        /// `head`, `base`, or a revision ID or unique prefix.
        #[arg(allow_hyphen_values = true)]
        target: String,
        /// Record exactly TARGET and its ancestors: remove every other row,
        /// revisions this build does not know included (Alembic's `--purge`).
        #[arg(long)]
        purge: bool,
    },
    /// Exit 0 when the database is at head (or ahead of this build), 1
    /// (listing them) when revisions are pending, 6 (naming them) on the
    /// problems `verify` finds.
    Check,
    /// Compare applied revisions with this build: edited files, unknown
    /// revisions, revisions missing below applied ones.
    Verify,
    /// Write a new revision file revising the head, with a fresh ID.
    Revision {
        /// The revision's message (its first header line and file name).
        #[arg(short, long)]
        message: String,
        /// Write a Rust revision (`.rs`, for data migrations) instead of SQL.
        #[arg(long)]
        rust: bool,
    },
    /// Record a release: append to the migrations directory's `released.sum`
    /// every revision up to TARGET not listed yet, with its checksum; the
    /// build then refuses edits to them.
    Release {
        /// `head`, a revision ID or unique prefix, or `current`: the
        /// revisions the database (e.g. production's) has applied.
        #[arg(default_value = "head", allow_hyphen_values = true)]
        target: String,
    },
    /// Write the merge revision that joins the heads (`merge heads -m "…"`).
    Merge {
        /// What to merge: `heads`.
        #[arg(value_parser = ["heads"])]
        revisions: String,
        /// The merge revision's message.
        #[arg(short, long)]
        message: String,
    },
}

impl Command {
    /// True for the commands that read or write a database (all but
    /// `heads`, `show`, `history`, `revision`, `merge`, `release` of a
    /// target other than `current` and `--sql` runs; `history` reads one
    /// when given).
    pub fn needs_database(&self) -> bool {
        match self {
            Command::Upgrade { run, .. } | Command::Downgrade { run, .. } => !run.sql,
            Command::Release { target } => target == RELEASE_APPLIED,
            Command::Heads
            | Command::History { .. }
            | Command::Show { .. }
            | Command::Revision { .. }
            | Command::Merge { .. } => false,
            _ => true,
        }
    }
}

/// The `release` target that means "what the database has applied".
const RELEASE_APPLIED: &str = "current";

/// Options of `upgrade` and `downgrade`.
#[derive(Debug, Clone, Default, Args)]
pub struct RunArgs {
    /// Print the SQL script instead of running it; touches no database.
    #[arg(long)]
    pub sql: bool,
    /// With --sql: the revision the database is assumed to be at (default:
    /// base for upgrade, head for downgrade).
    #[arg(long, value_name = "REV", requires = "sql")]
    pub from: Option<String>,
    /// Run every revision in one transaction: all or nothing.
    #[arg(long)]
    pub single_transaction: bool,
    /// Run even if applied revisions were edited (prefer `stamp`).
    #[arg(long)]
    pub ignore_checksums: bool,
}

/// Options shared by every command. Flags win over the environment, which
/// wins over the configuration file (`migrator.toml` or `MIGRATOR_CONFIG`).
#[derive(Debug, Clone, Default, Args)]
pub struct GlobalArgs {
    /// The database: `postgres://user@host/db`, `sqlite://path` or a file path.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,
    /// The version table's name, `table` or `schema.table` [default:
    /// migrator_version, in the first schema of the search path].
    #[arg(long, env = "MIGRATOR_VERSION_TABLE", global = true)]
    pub version_table: Option<String>,
    /// The audit log table's name [default: the version table's name +
    /// `_audit`, in its schema; `migrator_audit` where only that exists].
    #[arg(long, env = "MIGRATOR_AUDIT_TABLE", global = true)]
    pub audit_table: Option<String>,
    /// How long to wait for another migrator's lock (e.g. `30s`) [default: 60s].
    #[arg(long, env = "MIGRATOR_LOCK_TIMEOUT", global = true, value_parser = duration)]
    pub lock_timeout: Option<Duration>,
    /// How long each statement of a revision may wait for a table lock
    /// (PostgreSQL `lock_timeout`, SQLite busy timeout; a revision's
    /// `Timeout:` wins) [default: 5s].
    #[arg(long, env = "MIGRATOR_DDL_LOCK_TIMEOUT", global = true, value_parser = duration)]
    pub ddl_lock_timeout: Option<Duration>,
    /// How many times a transactional revision that ran out of the DDL lock
    /// timeout is run again, after a growing pause [default: 3].
    #[arg(long, env = "MIGRATOR_DDL_RETRIES", global = true)]
    pub ddl_retries: Option<u32>,
    /// How long one statement may run (e.g. `5m`; PostgreSQL) [default: no limit].
    #[arg(long, env = "MIGRATOR_STATEMENT_TIMEOUT", global = true, value_parser = duration)]
    pub statement_timeout: Option<Duration>,
    /// How long to wait for a PostgreSQL server to answer a connection
    /// (whole seconds, at least 2) [default: 10s].
    #[arg(long, env = "MIGRATOR_CONNECT_TIMEOUT", global = true, value_parser = duration)]
    pub connect_timeout: Option<Duration>,
    /// How runs keep each other out: `advisory` (PostgreSQL session
    /// advisory lock; SQLite lock file), `table` (a lease row; behind
    /// transaction poolers), `redis://host:6379` (a lease in Redis), `none`
    /// (a single deploying instance) [default: advisory].
    #[arg(
        long,
        env = "MIGRATOR_LOCK",
        global = true,
        hide_env_values = true,
        value_parser = LockParser
    )]
    pub lock: Option<LockStrategy>,
    /// How long a `table` or Redis lease lasts unless renewed: a dead
    /// holder blocks others this long (e.g. `2m`) [default: 30s].
    #[arg(long, env = "MIGRATOR_LOCK_LEASE", global = true, value_parser = duration)]
    pub lock_lease: Option<Duration>,
    /// The `application_name` of migrator's PostgreSQL connections, shown in
    /// `pg_stat_activity`; one in the URL wins [default: migrator].
    #[arg(long, env = "MIGRATOR_APPLICATION_NAME", global = true)]
    pub application_name: Option<String>,
    /// The migrations source directory, for `revision` and `merge`
    /// [default: migrations].
    #[arg(long, env = "MIGRATOR_MIGRATIONS_DIR", global = true)]
    pub migrations_dir: Option<PathBuf>,
    /// Print nothing but errors.
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

/// Parses `--lock` without echoing the value, which may be a Redis URL
/// with a password (clap's own parse errors quote the value).
#[derive(Clone)]
struct LockParser;

impl clap::builder::TypedValueParser for LockParser {
    type Value = LockStrategy;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> std::result::Result<LockStrategy, clap::Error> {
        value.to_string_lossy().parse().map_err(|reason: String| {
            let arg = arg.map_or_else(|| "--lock".to_owned(), |a| a.to_string());
            clap::Error::raw(
                clap::error::ErrorKind::InvalidValue,
                format!("invalid value for '{arg}': {reason}\n"),
            )
            .with_cmd(cmd)
        })
    }
}

fn duration(value: &str) -> std::result::Result<Duration, String> {
    parse_duration(value)
        .ok_or_else(|| "write a duration such as `250ms`, `30s` or `5m`".to_owned())
}

/// Everything a command needs besides the command itself.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The database URL, if one was given anywhere.
    pub url: Option<String>,
    /// The run's options.
    pub options: Options,
    /// The migrations source directory.
    pub migrations_dir: PathBuf,
    /// How long to wait for a PostgreSQL server to answer a connection.
    pub connect_timeout: Duration,
    /// The `application_name` of the PostgreSQL connections it opens.
    pub application_name: String,
    /// Print nothing but errors.
    pub quiet: bool,
}

impl Settings {
    /// Combines flags and environment (`args`) with the configuration file.
    pub fn resolve(args: &GlobalArgs, config: Config) -> Settings {
        let defaults = Options::default();
        Settings {
            url: args.database_url.clone().or(config.database_url),
            options: Options {
                version_table: args
                    .version_table
                    .clone()
                    .or(config.version_table)
                    .unwrap_or(defaults.version_table),
                audit_table: args.audit_table.clone().or(config.audit_table),
                lock_timeout: args
                    .lock_timeout
                    .or(config.lock_timeout)
                    .unwrap_or(defaults.lock_timeout),
                statement_timeout: args.statement_timeout.or(config.statement_timeout),
                lock: args.lock.clone().or(config.lock).unwrap_or(defaults.lock),
                lock_lease: args
                    .lock_lease
                    .or(config.lock_lease)
                    .unwrap_or(defaults.lock_lease),
                ddl_lock_timeout: args
                    .ddl_lock_timeout
                    .or(config.ddl_lock_timeout)
                    .unwrap_or(defaults.ddl_lock_timeout),
                ddl_retries: args
                    .ddl_retries
                    .or(config.ddl_retries)
                    .unwrap_or(defaults.ddl_retries),
                ..defaults
            },
            migrations_dir: args
                .migrations_dir
                .clone()
                .or(config.migrations)
                .unwrap_or_else(|| PathBuf::from("migrations")),
            connect_timeout: args
                .connect_timeout
                .or(config.connect_timeout)
                .unwrap_or(DEFAULT_CONNECT_TIMEOUT),
            application_name: args
                .application_name
                .clone()
                .or(config.application_name)
                .unwrap_or_else(|| DEFAULT_APPLICATION_NAME.to_owned()),
            quiet: args.quiet,
        }
    }

    /// Opens a connection to `url` as [`connect`](crate::connect) does,
    /// with these settings' connect timeout and `application_name`.
    pub fn connect(&self, url: &str) -> crate::Result<AnyConnection> {
        connect_with(url, self.connect_timeout, &self.application_name)
    }
}

/// A complete command line for a binary whose only job is migrating.
#[derive(Debug, Parser)]
#[command(version, about = "Schema migrations, checked at build time")]
pub struct MigratorCli {
    /// Shared options.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Sends the runtime's `tracing` events to stderr, filtered by `RUST_LOG`
/// (e.g. `RUST_LOG=migrator_runtime=debug`); nothing when it is unset. A
/// binary that mounts the commands calls it first ([`main`] does).
pub fn init_logging() {
    let Ok(filter) = tracing_subscriber::EnvFilter::try_from_default_env() else {
        return;
    };
    // A subscriber set by the binary itself wins.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Parses the process's arguments and runs the command against `migrations`;
/// commands that need a database require its URL. Errors are printed to
/// stderr.
pub fn main(migrations: &Migrations) -> ExitCode {
    init_logging();
    let cli = MigratorCli::parse();
    let outcome = Config::load().and_then(|config| {
        let settings = Settings::resolve(&cli.global, config);
        // Commands that need a database say so when the URL is missing.
        let url = settings.url.clone().unwrap_or_default();
        execute(
            migrations,
            &url,
            &settings,
            &cli.command,
            &mut std::io::stdout(),
        )
    });
    report(outcome)
}

/// Prints an error to stderr and turns the outcome into an exit status.
pub fn report(outcome: Result<u8>) -> ExitCode {
    match outcome {
        Ok(status) => ExitCode::from(status),
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}

/// Runs `command` against the database at `url`, writing what people read to
/// `out`; returns the exit status (see [`exit`]).
pub fn execute(
    migrations: &Migrations,
    url: &str,
    settings: &Settings,
    command: &Command,
    out: &mut (dyn Write + Send),
) -> Result<u8> {
    let parsed_url = || DatabaseUrl::parse(url);
    let mut options = settings.options.clone();
    if let Command::Upgrade { run, .. } | Command::Downgrade { run, .. } = command {
        options.single_transaction = run.single_transaction;
        options.ignore_checksums = run.ignore_checksums;
    }
    let migrator = Migrator::with_options(migrations, options).on_event(warn);
    let graph = migrator.graph();
    let mut printer = Printer {
        out,
        quiet: settings.quiet,
    };

    // Commands that need no database.
    match command {
        Command::Upgrade { target, run } | Command::Downgrade { target, run } if run.sql => {
            let upgrade = matches!(command, Command::Upgrade { .. });
            let target: Target = target.parse()?;
            let default_from = if upgrade { Target::Base } else { Target::Head };
            let from = run
                .from
                .as_deref()
                .map(str::parse)
                .transpose()?
                .unwrap_or(default_from);
            let script = if upgrade {
                migrator.upgrade_sql(parsed_url()?.kind(), from, target)?
            } else {
                migrator.downgrade_sql(parsed_url()?.kind(), from, target)?
            };
            write!(printer.out, "{script}").map_err(Error::Output)?;
            return Ok(exit::OK);
        }
        Command::Heads => {
            for &head in graph.head().iter() {
                printer.line(format!("{} (head)", graph.revision(head).id))?;
            }
            return Ok(exit::OK);
        }
        Command::Show { revision } => {
            show(&mut printer, graph, revision)?;
            return Ok(exit::OK);
        }
        Command::Revision { message, rust } => {
            let kind = if *rust {
                scaffold::Kind::Rust
            } else {
                scaffold::Kind::Sql
            };
            let path = scaffold::new_revision(&settings.migrations_dir, message, kind)?;
            printer.line(format!(
                "Wrote {}: fill in its upgrade and downgrade",
                path.display()
            ))?;
            return Ok(exit::OK);
        }
        Command::Merge { message, .. } => {
            let path = scaffold::merge_heads(&settings.migrations_dir, message)?;
            printer.line(format!("Wrote {}", path.display()))?;
            return Ok(exit::OK);
        }
        Command::Release { target } if target != RELEASE_APPLIED => {
            let released = migrator.release(&settings.migrations_dir, &target.parse()?)?;
            print_released(&mut printer, &released, settings)?;
            return Ok(exit::OK);
        }
        Command::History {
            verbose,
            rev_range,
            graph: draw,
            format,
        } => {
            // The graph alone; a database, when given, adds what is applied.
            let applied = applied_mask(&migrator, url, settings);
            history::History {
                graph,
                applied,
                verbose: *verbose,
                range: rev_range.as_deref(),
                draw: *draw,
                format: *format,
            }
            .print(&mut printer)?;
            return Ok(exit::OK);
        }
        _ => {}
    }

    if url.trim().is_empty() {
        return Err(Error::NoDatabase);
    }
    let conn = &mut settings.connect(url)?;
    match command {
        Command::Upgrade { target, .. }
        | Command::Downgrade { target, .. }
        | Command::Stamp { target, .. } => {
            let target: Target = target.parse()?;
            let stamp = matches!(command, Command::Stamp { .. });
            let quiet = printer.quiet;
            let out = &mut *printer.out;
            let migrator = Migrator::with_options(migrations, migrator.options().clone()).on_event(
                move |event| {
                    warn(event);
                    if let Some(text) = progress(event, stamp).filter(|_| !quiet) {
                        // Progress is best effort: a closed stdout must not
                        // fail a migration that succeeded.
                        let _ = writeln!(out, "{text}");
                    }
                },
            );
            let report: Report = match command {
                Command::Upgrade { .. } => migrator.upgrade(conn, target.clone())?,
                Command::Downgrade { .. } => migrator.downgrade(conn, target.clone())?,
                Command::Stamp { purge: true, .. } => migrator.stamp_purge(conn, target.clone())?,
                _ => migrator.stamp(conn, target.clone())?,
            };
            drop(migrator);
            if report.steps.is_empty() && report.ahead.is_empty() {
                let at = match (command, &target) {
                    // `upgrade REV` means "at least REV", as in Alembic.
                    (
                        Command::Upgrade { .. },
                        Target::Revision(_) | Target::RevisionRelative(..),
                    ) => "at or past",
                    _ => "already at",
                };
                printer.note(format!("Nothing to do: the database is {at} {target}"))?;
            }
        }
        Command::Current { verbose } => current(&mut printer, &migrator, conn, *verbose)?,
        Command::Check => {
            let check = migrator.check(conn)?;
            if !check.problems.is_empty() {
                for problem in &check.problems {
                    printer.line(format!("{problem}"))?;
                }
                return Ok(exit::MISMATCH);
            }
            if !check.pending.is_empty() {
                printer.line(format!("{} revision(s) pending:", check.pending.len()))?;
                for revision in check.pending {
                    printer.line(format!("  {}, {}", revision.id, revision.message))?;
                }
                return Ok(exit::PENDING);
            }
            let at = graph
                .head()
                .map_or("base", |h| graph.revision(h).id.as_ref());
            if check.ahead.is_empty() {
                printer.note(format!("Up to date: the database is at {at} (head)"))?;
            } else {
                printer.note(format!(
                    "Up to date: the database is at {at} (head) and ahead of this build"
                ))?;
            }
        }
        Command::Verify => {
            let problems = migrator.verify(conn)?;
            if !problems.is_empty() {
                for problem in &problems {
                    printer.line(format!("{problem}"))?;
                }
                return Ok(exit::MISMATCH);
            }
            let applied = migrator.state(conn)?.applied.len();
            printer.note(format!(
                "OK: {applied} applied revision(s) match this build"
            ))?;
        }
        Command::Release { .. } => {
            let released = migrator.release_applied(conn, &settings.migrations_dir)?;
            print_released(&mut printer, &released, settings)?;
        }
        Command::Heads
        | Command::Show { .. }
        | Command::History { .. }
        | Command::Revision { .. }
        | Command::Merge { .. } => {}
    }
    Ok(exit::OK)
}

/// What `release` appended, or that there was nothing to append.
fn print_released(
    printer: &mut Printer<'_>,
    released: &[&Revision],
    settings: &Settings,
) -> Result<()> {
    let file = settings
        .migrations_dir
        .join(crate::model::released::FILE_NAME);
    if released.is_empty() {
        return printer.note(format!(
            "Nothing to release: {} lists every revision of the target",
            file.display()
        ));
    }
    for revision in released {
        printer.line(format!("{} {}", revision.id, revision.file_name))?;
    }
    printer.note(format!(
        "Released {} revision(s): appended to {}",
        released.len(),
        file.display()
    ))
}

/// The applied revisions of the database at `url`, as a mask by index, for
/// `history`; `None` without a URL, or when it cannot be read (a warning
/// says why: `history` needs the graph alone). A SQLite file that does not
/// exist is not created.
fn applied_mask(migrator: &Migrator<'_>, url: &str, settings: &Settings) -> Option<Vec<bool>> {
    if url.trim().is_empty() {
        return None;
    }
    let parsed = DatabaseUrl::parse(url).ok()?;
    if parsed.kind() == crate::BackendKind::Sqlite
        && parsed.connect_str() != ":memory:"
        && !std::path::Path::new(parsed.connect_str()).exists()
    {
        return None;
    }
    let state = settings
        .connect(url)
        .and_then(|mut conn| migrator.state(&mut conn));
    match state {
        Ok(state) => {
            let graph = migrator.graph();
            let mut mask = vec![false; graph.len()];
            for row in state.applied {
                if let Some(i) = graph.index_of(&row.revision) {
                    mask[i] = true;
                }
            }
            Some(mask)
        }
        Err(error) => {
            eprintln!("warning: {error}; showing the revisions without what is applied");
            None
        }
    }
}

/// Output for people: `line` always, `note` and progress unless quiet.
struct Printer<'a> {
    out: &'a mut (dyn Write + Send),
    quiet: bool,
}

impl Printer<'_> {
    fn line(&mut self, text: impl AsRef<str>) -> Result<()> {
        writeln!(self.out, "{}", text.as_ref()).map_err(Error::Output)
    }

    fn note(&mut self, text: impl AsRef<str>) -> Result<()> {
        if self.quiet { Ok(()) } else { self.line(text) }
    }
}

/// Prints the warning an event carries, if any, to stderr (whatever
/// `--quiet` says: it is about the database, not progress).
fn warn(event: &Event<'_>) {
    if let Event::Ahead { revisions } = event {
        eprintln!(
            "warning: the database is ahead of this build: revision(s) {} are applied, which \
             this build does not know (a newer build migrated it, as in a rolling deploy); \
             every revision of this build is applied, so there is nothing to do",
            revisions.join(", ")
        );
    }
}

/// The progress line of an event: `Running upgrade 001 -> 002, add
/// last_used_at (12 ms)`.
fn progress(event: &Event<'_>, stamp: bool) -> Option<String> {
    match event {
        Event::WaitingForLock { holder } => Some(format!(
            "Waiting for another migrator to finish (the lock is held by {holder})…"
        )),
        Event::Retrying {
            revision,
            direction,
            retry,
            retries,
            pause,
        } => Some(format!(
            "Timed out waiting for a table lock in {direction} {}; rolled back, retry {retry} of \
             {retries} in {} ms",
            arrow(revision, *direction),
            pause.as_millis()
        )),
        Event::MarkerCleared {
            revision,
            direction,
        } => Some(format!(
            "Cleared the dirty marker of {direction} {}, {}",
            arrow(revision, *direction),
            revision.message
        )),
        Event::Finished {
            revision,
            direction,
            elapsed,
        } => Some(format!(
            "{} {direction} {}, {} ({} ms)",
            if stamp { "Stamped" } else { "Running" },
            arrow(revision, *direction),
            revision.message,
            elapsed.as_millis()
        )),
        _ => None,
    }
}

fn current(
    printer: &mut Printer<'_>,
    migrator: &Migrator<'_>,
    conn: &mut AnyConnection,
    verbose: bool,
) -> Result<()> {
    let graph = migrator.graph();
    let state = migrator.state(conn)?;
    let current = migrator.current(conn)?;
    if let Some(marker) = &state.marker {
        // The marker is not an applied revision: shown first, on its own.
        printer.line(format!(
            "{} (dirty: its {} started at {} UTC and did not finish; {}; repair by hand, then \
             `stamp` to the revision before it or to it)",
            marker.revision,
            marker.direction,
            marker.since.format("%Y-%m-%d %H:%M:%S"),
            match &marker.error {
                Some(error) => format!("it failed with: {error}"),
                None => "no outcome was recorded (its process was killed)".to_owned(),
            }
        ))?;
    }
    if current.is_empty() {
        printer.line("base (no revision applied)")?;
    }
    let head = graph.head().map(|h| graph.revision(h).id.as_ref());
    for revision in current {
        let mark = if Some(revision.id.as_ref()) == head {
            " (head)"
        } else {
            ""
        };
        printer.line(format!("{}{mark}", revision.id))?;
        if verbose {
            printer.line(format!("    {}", revision.message))?;
            printer.line(format!("    file: {}", revision.file_name))?;
            if let Some(applied) = state.applied.iter().find(|a| a.revision == revision.id) {
                printer.line(format!(
                    "    applied: {} UTC ({} ms)",
                    applied.applied_at.format("%Y-%m-%d %H:%M:%S"),
                    applied.execution_ms
                ))?;
            }
        }
    }
    Ok(())
}

fn show(printer: &mut Printer<'_>, graph: &Graph, spec: &str) -> Result<()> {
    let index = match spec.parse::<Target>()? {
        Target::Head => graph.head(),
        Target::Base => graph.base(),
        _ => Some(graph.resolve(spec).map_err(crate::PlanError::from)?),
    };
    let Some(index) = index else {
        return printer.line("no revisions");
    };
    let revision = graph.revision(index);
    let ids = |indices: &[usize]| {
        indices
            .iter()
            .map(|&i| graph.revision(i).id.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    printer.line(format!("Revision ID: {}", revision.id))?;
    printer.line(format!("Revises: {}", ids(graph.parents(index))))?;
    printer.line(format!("Revised by: {}", ids(graph.children(index))))?;
    printer.line(format!("Message: {}", revision.message))?;
    printer.line(format!("File: {}", revision.file_name))?;
    if let Some(date) = &revision.create_date {
        printer.line(format!("Create Date: {date}"))?;
    }
    printer.line(format!("Transaction: {}", revision.transactional))?;
    if let Some(timeout) = revision.timeout {
        printer.line(format!("Timeout: {timeout:?}"))?;
    }
    if revision.allow_destructive {
        printer.line("Allow: destructive")?;
    }
    printer.line(format!("Checksum: {}", revision.checksum))?;
    if !revision.description.is_empty() {
        printer.line("")?;
        for line in revision.description.lines() {
            printer.line(format!("    {line}"))?;
        }
    }
    if let crate::model::Body::Sql(sections) = &revision.body {
        for section in sections.iter() {
            let backend = section.backend.map_or(String::new(), |b| format!(" {b}"));
            printer.line(format!("\n-- migrate:{}{backend}", section.direction))?;
            printer.line(if section.noop {
                "-- migrate:noop"
            } else {
                section.sql.trim()
            })?;
        }
    } else {
        printer.line("\n(Rust revision: pub fn upgrade / pub fn downgrade)")?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        MigratorCli::command().debug_assert();
    }
}
