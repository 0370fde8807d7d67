//! The runtime's errors. Each names what failed (revision, file, URL without
//! its password) and, where there is one, the next step.

use std::time::Duration;

use crate::model::{BackendKind, Direction};
use crate::plan::PlanError;

/// Everything a migration run can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The database URL is malformed or names an unknown scheme.
    #[error("invalid database URL `{url}`: {reason}")]
    BadUrl {
        /// The URL, password replaced by `***`.
        url: String,
        /// What is wrong with it.
        reason: String,
    },

    /// An offline script (`--sql`) would have to run a Rust revision.
    #[error(
        "revision {revision} ({file}) is a Rust revision: it cannot be rendered as SQL; run it \
         online, or end the script before it (a target before {revision})"
    )]
    NotRenderable {
        /// The revision ID.
        revision: String,
        /// The revision's file name.
        file: String,
    },

    /// The URL names a backend this build cannot connect to.
    #[error("cannot connect to `{url}`: this build of migrator has no backend for it; enable the \
         feature of its backend (`postgres`, `sqlite`)")]
    UnsupportedBackend {
        /// The URL, password replaced by `***`.
        url: String,
    },

    /// The database could not be reached or refused the connection.
    #[error("could not connect to `{url}`: {reason}")]
    Connect {
        /// The URL, password replaced by `***`.
        url: String,
        /// The driver's message, with any piece of the password replaced.
        reason: String,
    },

    /// A target could not be resolved or reached.
    #[error(transparent)]
    Plan(#[from] PlanError),

    /// A revision failed; the database is at the revision before it.
    #[error("{direction} of revision {revision} ({file}) failed: {source}")]
    Revision {
        /// The revision ID.
        revision: String,
        /// The revision's file name.
        file: String,
        /// Which way it was run.
        direction: Direction,
        /// The database's (or the Rust revision's) error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// A revision that cannot run in one transaction (`Transaction: false`,
    /// or any revision on MySQL, whose DDL commits on its own) failed:
    /// statements before the failure may have taken effect. The version
    /// table keeps its dirty marker, which stops the next run
    /// ([`Error::Dirty`]) until `stamp` clears it.
    #[error(
        "{direction} of revision {revision} ({file}) failed: {source}\n\
         {why}, so statements before the failure may have taken effect; the version table \
         keeps its dirty marker, and every \
         command but `current`, `history` and `show` stops until it is cleared: check the \
         schema and repair it by hand, then record the {direction} as done with {stamp}, or as \
         not done with {undone} (the next run then runs it again)"
    )]
    NonTransactional {
        /// The revision ID.
        revision: String,
        /// The revision's file name.
        file: String,
        /// Which way it was run.
        direction: Direction,
        /// Why it cannot run in one transaction.
        why: &'static str,
        /// The `stamp` that records the step as done: the revision itself
        /// after an upgrade, its parents after a downgrade (boxed, as the
        /// next one: errors stay small).
        stamp: Box<str>,
        /// The `stamp` that records the step as not done: its parents
        /// after an upgrade, the revision itself after a downgrade.
        undone: Box<str>,
        /// The database's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// The version table holds a dirty marker: a revision that cannot run
    /// in one transaction was started and did not finish. Every command but
    /// `current`, `history` and `show` stops until `stamp` clears it.
    #[error(
        "the {} of revision {} ({file}) was started at {} UTC and did not finish: {}; it cannot \
         run in one transaction, so its statements before the failure may be in effect, and the \
         version table holds its dirty marker: check the schema and repair it by hand, then \
         record where it is with {undone} (its {0} undone: the next {0} runs it again) or {done} \
         (its {0} completed by hand); either clears the marker",
        marker.direction,
        marker.revision,
        marker.since.format("%Y-%m-%d %H:%M:%S"),
        match &marker.error {
            Some(error) => format!("it failed with: {error}"),
            None => "no outcome was recorded (its process was killed, or lost its connection)"
                .to_owned(),
        }
    )]
    Dirty {
        /// The marker: the revision, which way it was run, when it was
        /// started and the error it failed with (boxed: errors stay small).
        marker: Box<crate::report::DirtyMarker>,
        /// The revision's file name.
        file: String,
        /// The `stamp` that records the step as not done.
        undone: String,
        /// The `stamp` that records the step as done.
        done: String,
    },

    /// A revision that ran with its dirty marker finished, but the marker
    /// was no longer the one row of the version table it should replace
    /// (another run took the lock over after this run's lease ran out, or
    /// `stamp` ran meanwhile): nothing was recorded for it.
    #[error(
        "the {direction} of revision {revision} ({file}) ran to its end, but recording it matched \
         {matched} row(s) of the version table instead of its dirty marker's one: another run \
         took the lock over (a lease that ran out) or `stamp` changed the version table while it \
         ran; nothing was recorded for it and its effects are in the database: check `current` \
         and the schema, then record where the database is with {done} (its {direction} done) \
         or {undone} (undone by hand)"
    )]
    MarkerLost {
        /// The revision ID.
        revision: String,
        /// The revision's file name.
        file: String,
        /// Which way it was run.
        direction: Direction,
        /// How many rows recording it matched.
        matched: usize,
        /// The `stamp` that records the step as done.
        done: Box<str>,
        /// The `stamp` that records the step as not done.
        undone: Box<str>,
    },

    /// A revision exceeded its lock or statement timeout (after its
    /// retries, for a lock timeout); its transaction was rolled back.
    #[error(
        "{direction} of revision {revision} ({file}) timed out after {attempts} attempt(s): its \
         {} of {limit:?} ({set_by}) fired: {source}; its transaction was rolled back, so the \
         database is at the revision before it; {}",
        if *lock { "DDL lock timeout (how long a statement may wait for a table lock)" }
        else { "statement timeout" },
        if *lock {
            "another session held a lock it needs for longer (on PostgreSQL, look in `pg_locks` \
             joined with `pg_stat_activity` for a long or idle-in-transaction session; on SQLite, \
             another connection's write transaction): end it or run again once it is done, or \
             raise the limit or the retries (`--ddl-retries`, `Options::ddl_retries`)"
        } else {
            "it runs for longer than that: raise the limit, or make the revision cheaper"
        }
    )]
    Timeout {
        /// The revision ID.
        revision: String,
        /// The revision's file name.
        file: String,
        /// Which way it was run.
        direction: Direction,
        /// True when the lock timeout fired (a statement waited for a lock),
        /// false for the statement timeout.
        lock: bool,
        /// The limit that fired.
        limit: Duration,
        /// Where the limit was set: the revision's `Timeout:` or the run's
        /// option (flag, environment variable, configuration key, `Options`
        /// field).
        set_by: &'static str,
        /// How many times the revision was run.
        attempts: u32,
        /// The database's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// A revision that runs outside a transaction left invalid indexes
    /// (PostgreSQL: a `CREATE INDEX CONCURRENTLY` that failed or was
    /// cancelled); it is not recorded, and its dirty marker stays until
    /// `stamp` clears it.
    #[error(
        "{direction} of revision {revision} ({file}) left invalid index(es) {} \
         (`pg_index.indisvalid = false`: a concurrent index build failed or was cancelled, and \
         PostgreSQL keeps the half-built index, which slows every write and serves no read){}; \
         the revision is not recorded as done, and the version table keeps its dirty marker: \
         drop each with {}, then record the {direction} as not done with {undone} (which clears \
         the marker), then run it again (`CREATE INDEX CONCURRENTLY IF NOT EXISTS` does nothing \
         over an invalid index)",
        indexes.join(", "),
        cause.as_deref().map(|c| format!(", after it failed: {c}")).unwrap_or_default(),
        indexes.iter().map(|i| format!("`DROP INDEX CONCURRENTLY {i};`")).collect::<Vec<_>>().join(" ")
    )]
    InvalidIndexes {
        /// The revision ID.
        revision: String,
        /// The revision's file name.
        file: String,
        /// Which way it was run.
        direction: Direction,
        /// The invalid indexes, schema-qualified and quoted where needed.
        indexes: Vec<String>,
        /// The revision's own error, when it failed.
        cause: Option<String>,
        /// The `stamp` that records the step as not done and clears its
        /// dirty marker: its parents after an upgrade, the revision itself
        /// after a downgrade (boxed: errors stay small).
        undone: Box<str>,
    },

    /// A revision that runs outside a transaction was refused before it
    /// ran: the database already has invalid indexes (PostgreSQL), which the
    /// check after it could not tell from its own.
    #[error(
        "{direction} of revision {revision} ({file}) was refused before it ran: the database \
         already has invalid index(es) {} (`pg_index.indisvalid = false`: left by a concurrent \
         index build that failed or was cancelled, this revision's on an earlier run or \
         another's, or by a `REINDEX CONCURRENTLY` (`_ccnew`, `_ccold`)); nothing ran and \
         nothing was recorded; drop each with {} then run it again",
        indexes.join(", "),
        indexes.iter().map(|i| format!("`DROP INDEX CONCURRENTLY {i};`")).collect::<Vec<_>>().join(" ")
    )]
    InvalidIndexesBefore {
        /// The revision ID.
        revision: String,
        /// The revision's file name.
        file: String,
        /// Which way it was to run.
        direction: Direction,
        /// The invalid indexes, schema-qualified and quoted where needed.
        indexes: Vec<String>,
    },

    /// `--single-transaction` on a backend whose DDL commits on its own
    /// (MySQL, MariaDB): the one transaction could not hold the run.
    #[error(
        "a single transaction cannot hold a run on {backend}: its DDL commits on its own, so a \
         failure halfway would leave revisions applied that the transaction claims to roll \
         back; run without a single transaction (`Options::single_transaction`, \
         `--single-transaction`): each revision then carries its dirty marker"
    )]
    SingleTransactionUnsupported {
        /// The backend.
        backend: BackendKind,
    },

    /// A table name the options give (or derive: the audit log's
    /// `<version table>_audit`, the lease table's `<version table>_lock`)
    /// is longer than the backend keeps; found before any SQL is sent.
    #[error(
        "the {what} name `{name}` is {length} {unit} long, longer than {backend}'s limit of \
         {max} {unit} ({consequence}); {mend}"
    )]
    IdentifierTooLong {
        /// `version table`, `audit log` or `lock table`.
        what: &'static str,
        /// The name (one part of a `schema.table` name).
        name: String,
        /// Its length, in `unit`s.
        length: usize,
        /// The backend's limit, in `unit`s.
        max: usize,
        /// `characters` (MySQL) or `bytes` (PostgreSQL).
        unit: &'static str,
        /// The backend.
        backend: BackendKind,
        /// What the backend does with a longer name.
        consequence: &'static str,
        /// Which option to shorten.
        mend: &'static str,
    },

    /// `--single-transaction` with a revision that must run outside one.
    #[error(
        "revision {revision} ({file}) says `Transaction: false`, so it cannot run in a single \
         transaction: run it without a single transaction (`Options::single_transaction`, \
         `--single-transaction`)"
    )]
    NotInSingleTransaction {
        /// The revision ID.
        revision: String,
        /// The revision's file name.
        file: String,
    },

    /// The lock file beside a SQLite database could not be opened or locked.
    #[error("cannot lock `{path}` (the migration lock of this SQLite database): {source}")]
    LockFile {
        /// The lock file.
        path: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },

    /// A SQL revision has no section for the backend it runs on.
    #[error(
        "revision {revision} ({file}) has no {direction} SQL for {backend}; add a \
         `-- migrate:{direction} {backend}` section or an untagged one"
    )]
    NoSqlForBackend {
        /// The revision ID.
        revision: String,
        /// The revision's file name.
        file: String,
        /// Which way it was to be run.
        direction: Direction,
        /// The backend it was to run on.
        backend: BackendKind,
    },

    /// The database records revisions that this build does not contain: it
    /// was migrated by a newer build.
    #[error(
        "the database has revision(s) {} applied, which this build does not know; it was \
         probably migrated by a newer build: run that build, or downgrade with it first (`stamp \
         --purge` removes the rows of revisions that no longer exist)",
        revisions.join(", ")
    )]
    UnknownApplied {
        /// The unknown revision IDs.
        revisions: Vec<String>,
    },

    /// The database is to be adopted from diesel_migrations, and diesel's
    /// table lists versions that no revision of this build carries as its
    /// ID. Nothing was recorded.
    #[error(
        "`__diesel_schema_migrations` lists version(s) {}, which no revision of this build \
         carries, so the database cannot be adopted from diesel and nothing was recorded: \
         import the diesel migrations directory this database was migrated with (`import diesel \
         <dir>`, each revision's ID being its version) and rebuild; or, when their directories \
         were deleted on purpose (a squashed history) and the revisions of this build already \
         hold what they did, check that, then delete their rows from diesel's table: `{}`; \
         diesel's table is left as it was",
        versions.join(", "),
        forget_diesel_versions_sql(versions)
    )]
    UnknownDieselVersions {
        /// The versions no revision carries.
        versions: Vec<String>,
    },

    /// A revision's file changed after it was applied.
    #[error(
        "revision {revision} ({file}) was edited after it was applied: the database recorded \
         checksum {recorded}, the file now has {current}; restore the file and write a new \
         revision for the change, or re-record it with `stamp`"
    )]
    ChecksumMismatch {
        /// The revision ID.
        revision: String,
        /// The revision's file name.
        file: String,
        /// The checksum in the version table.
        recorded: String,
        /// The checksum of the embedded file.
        current: String,
    },

    /// A revision is not applied while revisions that descend from it are:
    /// the version table lost its row, or a stamp skipped it.
    #[error(
        "revision {revision} ({file}) is not applied, but its descendants {descendants} are: its \
         row was deleted from the version table, or a stamp skipped it, and an upgrade would run \
         it after them; if its changes are in the schema, record it again with {stamp} (which \
         keeps the revisions after it); if they are not, run its upgrade SQL by hand first, then \
         the same stamp"
    )]
    MissingAncestor {
        /// The revision ID.
        revision: String,
        /// The revision's file name.
        file: String,
        /// Its applied descendants, joined by `, `.
        descendants: String,
        /// The stamps that record it again.
        stamp: String,
    },

    /// The version table (or audit log) is not where this build looks for
    /// it, but a table an earlier build would have used is: starting from
    /// base there would run every revision again.
    #[error(
        "the {what} `{expected}` does not exist, but `{found}` does, which earlier builds of \
         migrator used for the same setting (an unqualified name is now the table of \
         `current_schema()`, the first schema of the search path, and a dotted name a table of \
         that schema); refusing to start from base: pass `{flag} {found}` (or the \
         `Options` field) to keep using it, or move it to `{expected}`"
    )]
    TableElsewhere {
        /// `version table` or `audit log`.
        what: &'static str,
        /// The table this build looked for, schema-qualified.
        expected: String,
        /// The table found, as `schema.table`.
        found: String,
        /// The CLI flag that names it (`--version-table`, `--audit-table`).
        flag: &'static str,
    },

    /// Another migrator held the lock for longer than the lock timeout.
    #[error(
        "timed out after {waited:?} waiting for the migration lock ({lock} lock, lock timeout \
         {limit:?}: `--lock-timeout`, `Options::lock_timeout`): held by {holder}; retry when it \
         is done, end a stuck run, or raise the lock timeout"
    )]
    LockTimeout {
        /// How long this run waited.
        waited: Duration,
        /// The limit that fired ([`Options::lock_timeout`](crate::Options::lock_timeout)).
        limit: Duration,
        /// The lock strategy (`advisory`, `table`, the Redis URL without
        /// its password).
        lock: String,
        /// Who holds it, as far as the lock tells (pid, application, client
        /// address, since when; the lease's host, pid and expiry).
        holder: String,
    },

    /// The run's lease ran out and another run took it: the run stopped
    /// before the next revision.
    #[error(
        "the migration lock ({lock} lock) was lost before {next}: {holder}; the run stopped \
         there (the revisions before it are committed): run again once the other run is done, \
         and make the lease (`--lock-lease`, `Options::lock_lease`) longer than the longest \
         revision"
    )]
    LockLost {
        /// The lock strategy.
        lock: String,
        /// The step the run did not start (`revision 004`).
        next: String,
        /// What happened to the lease (who holds it now).
        holder: String,
    },

    /// The lock could not be taken, checked or released for another reason
    /// than a holder (Redis unreachable, a build without the `redis`
    /// feature).
    #[error("the migration lock ({lock} lock) failed while {action}: {reason}")]
    Lock {
        /// The lock strategy.
        lock: String,
        /// What was being done.
        action: &'static str,
        /// Why it failed (passwords removed).
        reason: String,
    },

    /// The connection handed over is inside a transaction.
    #[error(
        "the connection is inside a transaction: migrator commits each revision on its own and \
         holds a session lock, so it runs on a connection outside any transaction; commit or \
         roll back first (in tests: migrate before `begin_test_transaction`)"
    )]
    InTransaction,

    /// `released.sum` could not be read or written, or lists a revision of
    /// this release with another checksum.
    #[error(transparent)]
    Release(#[from] migrator_core::model::released::ReleaseError),

    /// A database error outside any revision (reading or writing the version
    /// table).
    #[error("database error while {action}: {source}")]
    Database {
        /// What was being done.
        action: &'static str,
        /// The database's error.
        #[source]
        source: diesel::result::Error,
    },
}

/// A `Result` with the runtime's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Wraps a database error met while doing `action` (for services that
    /// report their own queries' errors the same way).
    pub fn database(action: &'static str) -> impl FnOnce(diesel::result::Error) -> Error {
        move |source| Error::Database { action, source }
    }
}

/// The statement that deletes `versions` from diesel's table: the mend of
/// [`Error::UnknownDieselVersions`] for a squashed history.
fn forget_diesel_versions_sql(versions: &[String]) -> String {
    let list: Vec<String> = versions
        .iter()
        .map(|v| format!("'{}'", v.replace('\'', "''")))
        .collect();
    format!(
        "DELETE FROM __diesel_schema_migrations WHERE version IN ({});",
        list.join(", ")
    )
}
