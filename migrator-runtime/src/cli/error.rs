//! The command line's errors and exit statuses.

/// Everything a command can fail with: a run's [`crate::Error`], or a
/// problem of the command line itself.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A run failed.
    #[error(transparent)]
    Run(#[from] crate::Error),

    /// A command-line argument that parses but makes no sense.
    #[error("{0}")]
    Usage(String),

    /// No database URL was given.
    #[error("no database given: pass --database-url or set DATABASE_URL")]
    NoDatabase,

    /// The configuration file is unreadable or invalid.
    #[error("configuration `{path}`: {message}")]
    Config {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },

    /// A new revision file could not be written.
    #[error(transparent)]
    Scaffold(#[from] migrator_core::scaffold::ScaffoldError),

    /// Another tool's migrations could not be imported (nothing was written).
    #[error(transparent)]
    Import(#[from] migrator_core::import::ImportError),

    /// `revision --autogenerate` wrote nothing (boxed: it is large, and
    /// rare).
    #[error(transparent)]
    Autogenerate(Box<super::AutogenerateError>),

    /// Writing the command's output failed.
    #[error("could not write the output: {0}")]
    Output(#[source] std::io::Error),
}

impl From<super::AutogenerateError> for Error {
    fn from(error: super::AutogenerateError) -> Self {
        Error::Autogenerate(Box::new(error))
    }
}

impl From<crate::PlanError> for Error {
    fn from(error: crate::PlanError) -> Self {
        Error::Run(error.into())
    }
}

/// A `Result` with the command line's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The exit statuses of the CLI, one per kind of failure.
///
/// | status | meaning |
/// | --- | --- |
/// | 0 | success |
/// | 1 | `check`: revisions are pending; `keys verify` (factory): the key is invalid |
/// | 2 | bad usage: arguments, target, URL, configuration; a file `revision`, `merge` or `import` refuses to write; a line of `released.sum` that does not parse (`release`) |
/// | 3 | the database could not be reached |
/// | 4 | a revision failed (the database is at the revision before it) |
/// | 5 | another migrator held the lock for longer than the lock timeout, or took this run's lease |
/// | 6 | the database disagrees with this build (`revision --autogenerate`: the database or the migrations directory is not at this build's head): the version table is only where an earlier build looked for it, an applied revision was edited, or is unknown while this build's head is not applied, or a revision is missing below applied ones, or `__diesel_schema_migrations` lists a version no revision carries, or a revision's dirty marker vanished while it ran (also `verify` and `check` finding such problems; `verify` also counts the revisions of a database ahead of this build); `release` finding a revision listed in `released.sum` with another checksum |
/// | 7 | any other database or I/O error (`import` included) |
/// | 8 | the version table holds a dirty marker: a revision that cannot run in one transaction was started and did not finish; repair by hand, then `stamp` (every command but `current`, `history`, `show` and `stamp` stops) |
pub mod exit {
    /// Success.
    pub const OK: u8 = 0;
    /// `check` found pending revisions.
    pub const PENDING: u8 = 1;
    /// Bad usage: arguments, target, URL, configuration.
    pub const USAGE: u8 = 2;
    /// The database could not be reached.
    pub const CONNECT: u8 = 3;
    /// A revision failed.
    pub const REVISION: u8 = 4;
    /// The lock was held for longer than the lock timeout.
    pub const LOCKED: u8 = 5;
    /// The database disagrees with this build (also `verify` and `check`
    /// finding so).
    pub const MISMATCH: u8 = 6;
    /// Any other database or I/O error.
    pub const OTHER: u8 = 7;
    /// The version table holds a dirty marker (a revision that cannot run
    /// in one transaction did not finish).
    pub const DIRTY: u8 = 8;
}

impl Error {
    /// The CLI's exit status for this error (see [`exit`]).
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage(_) | Error::NoDatabase | Error::Config { .. } | Error::Scaffold(_) => {
                exit::USAGE
            }
            Error::Output(_) | Error::Import(migrator_core::import::ImportError::Io { .. }) => {
                exit::OTHER
            }
            Error::Import(_) => exit::USAGE,
            Error::Autogenerate(error) => match error.as_ref() {
                super::AutogenerateError::Run(error) => exit_status(error),
                super::AutogenerateError::NotAtHead { .. }
                | super::AutogenerateError::StaleBuild { .. } => exit::MISMATCH,
                _ => exit::USAGE,
            },
            Error::Run(error) => exit_status(error),
        }
    }
}

/// The CLI's exit status for a run's error (see [`exit`]).
pub fn exit_status(error: &crate::Error) -> u8 {
    use crate::Error as Run;
    use migrator_core::model::released::ReleaseError;
    match error {
        Run::BadUrl { .. }
        | Run::NotRenderable { .. }
        | Run::UnsupportedBackend { .. }
        | Run::Plan(_)
        | Run::InTransaction
        | Run::NotInSingleTransaction { .. }
        | Run::SingleTransactionUnsupported { .. }
        | Run::IdentifierTooLong { .. } => exit::USAGE,
        Run::Connect { .. } => exit::CONNECT,
        Run::Revision { .. }
        | Run::NonTransactional { .. }
        | Run::Timeout { .. }
        | Run::InvalidIndexes { .. }
        | Run::InvalidIndexesBefore { .. }
        | Run::NoSqlForBackend { .. } => exit::REVISION,
        Run::LockTimeout { .. } | Run::LockLost { .. } => exit::LOCKED,
        Run::Dirty { .. } => exit::DIRTY,
        Run::UnknownApplied { .. }
        | Run::UnknownDieselVersions { .. }
        | Run::ChecksumMismatch { .. }
        | Run::MissingAncestor { .. }
        | Run::TableElsewhere { .. }
        | Run::MarkerLost { .. }
        | Run::Release(ReleaseError::Edited { .. } | ReleaseError::Stale { .. }) => exit::MISMATCH,
        Run::Release(ReleaseError::BadLine { .. } | ReleaseError::NotEmbedded { .. }) => {
            exit::USAGE
        }
        _ => exit::OTHER,
    }
}
