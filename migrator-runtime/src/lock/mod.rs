//! The run lock, and the bookkeeping tables it guards.
//!
//! A run that has something to do takes the lock first, by the strategy of
//! [`Options::lock`] (see [`LockStrategy`]: a PostgreSQL session advisory
//! lock or a lock file beside a SQLite database; a lease row in a table; a
//! lease in Redis; none), makes sure the version table and audit log exist,
//! and only then reads the state again, so a replica that waited sees its
//! peer's work and applies nothing twice. A lease is renewed (or, for
//! Redis, checked) before each revision and each retry, first in the
//! revision's transaction, and a run that lost it stops there. The lock is released on every path, a panic in a Rust revision
//! included.
//!
//! Behind a pooler in transaction mode every transaction may reach another
//! server session, so a run sends no session state it relies on later:
//! revisions set their timeouts with `SET LOCAL` inside their own
//! transaction; only a `Transaction: false` revision sets them for the
//! session (it cannot run in a transaction) and gives them back right after
//! it, which through such a pooler is best effort.

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::backend::{Backend, LockHandle};
use crate::bookkeeping::{Store, TableName};
use crate::error::{Error, Result};
use crate::options::{LockStrategy, Options};
use crate::report::Event;

// Unused in a build that can open no connection of its own (diesel-async
// alone, without `redis`).
#[cfg_attr(
    not(any(feature = "redis", feature = "postgres", feature = "sqlite", feature = "mysql")),
    allow(dead_code)
)]
mod heartbeat;
#[cfg(feature = "redis")]
mod redis;
mod table;

// The lease table is one of migrator's tables: the schema snapshot leaves it
// out.
#[cfg(any(
    feature = "testing",
    all(
        feature = "cli",
        any(feature = "postgres", feature = "sqlite", feature = "mysql")
    )
))]
pub(crate) use table::lease_table;

/// A lock this run holds, released by [`Held::release`].
#[derive(Debug)]
pub(crate) enum Held {
    /// The backend's advisory locks (or lock file), in the order taken.
    Advisory(Advisory),
    /// A lease row in the lock table, and its heartbeat (with
    /// [`Options::lock_heartbeat_url`]).
    Table(Box<table::Lease>, Option<heartbeat::Heartbeat>),
    /// A lease in Redis.
    #[cfg(feature = "redis")]
    Redis(Box<redis::Lease>),
    /// No lock (`LockStrategy::None`).
    None,
}

/// The advisory locks a run holds: their names (see [`Store::lock_names`])
/// and handles, in the order taken, and the server process that took them
/// (where the server tells it), which must run every revision: behind a
/// transaction pooler it does not, and a session lock protects nothing.
#[derive(Debug)]
pub(crate) struct Advisory {
    keys: Vec<(String, LockHandle)>,
    pid: Option<i64>,
}

impl Advisory {
    /// Takes the locks `names` in their order (always the same, so that two
    /// runs never wait for each other's second lock); on a lock held
    /// elsewhere, releases those taken and names the holder.
    fn try_take(
        backend: &mut dyn Backend,
        names: &[String],
    ) -> Result<std::result::Result<Advisory, String>> {
        let mut keys = Vec::with_capacity(names.len());
        for name in names {
            match backend.try_lock(name)? {
                Some(handle) => keys.push((name.clone(), handle)),
                None => {
                    let holder = advisory_holder(backend, name);
                    let _ = (Advisory { keys, pid: None }).release(backend);
                    return Ok(Err(holder));
                }
            }
        }
        let pid = backend_pid(backend)?;
        Ok(Ok(Advisory { keys, pid }))
    }

    /// Before the step `next`: the server process is still the one that
    /// took the locks.
    fn check(&self, backend: &mut dyn Backend, next: &str) -> Result<()> {
        let Some(took) = self.pid else { return Ok(()) };
        let now = backend_pid(backend)?;
        if now == Some(took) {
            return Ok(());
        }
        Err(Error::Lock {
            lock: "advisory".to_owned(),
            action: "checking it",
            reason: format!(
                "the server connection changed under the advisory lock (server process {took} \
                 took it, {} would run {next}): a transaction pooler? use --lock table or redis; \
                 the run stopped before {next} (the revisions before it are committed)",
                now.map_or_else(|| "another".to_owned(), |pid| pid.to_string())
            ),
        })
    }

    /// Releases every lock, the last taken first; the first error, if any.
    fn release(self, backend: &mut dyn Backend) -> std::result::Result<(), String> {
        let mut outcome = Ok(());
        for (name, handle) in self.keys.into_iter().rev() {
            if let Err(error) = backend.unlock(&name, handle) {
                outcome = outcome.and(Err(error.to_string()));
            }
        }
        outcome
    }
}

/// The server process serving the connection, where the backend tells it.
fn backend_pid(backend: &mut dyn Backend) -> Result<Option<i64>> {
    let Some(sql) = backend.dialect().backend_pid_sql() else {
        return Ok(None);
    };
    backend
        .count(sql)
        .map(Some)
        .map_err(Error::database("reading the server process of the advisory lock"))
}

/// A lock this run wants.
enum Contender {
    Advisory,
    /// The lease, and where its heartbeat connects.
    Table(Box<table::Lease>, Option<table::HeartbeatAt>),
    #[cfg(feature = "redis")]
    Redis(Box<redis::Lease>),
    None,
}

/// The shortest lease [`Options::lock_lease`] may give: a shorter one
/// would expire between two renewals of a healthy run.
const LEASE_FLOOR: Duration = Duration::from_secs(5);

impl Contender {
    fn new(backend: &mut dyn Backend, store: &Store, options: &Options) -> Result<Contender> {
        if matches!(options.lock, LockStrategy::Table | LockStrategy::Redis(_))
            && options.lock_lease < LEASE_FLOOR
        {
            return Err(Error::Lock {
                lock: options.lock.to_string(),
                action: "taking it",
                reason: format!(
                    "its lease of {:?} is shorter than {LEASE_FLOOR:?}, too short to exclude \
                     another run; raise `--lock-lease` (`MIGRATOR_LOCK_LEASE`, `lock_lease` in \
                     migrator.toml, `Options::lock_lease`)",
                    options.lock_lease
                ),
            });
        }
        Ok(match &options.lock {
            LockStrategy::Advisory => Contender::Advisory,
            LockStrategy::Table => Contender::Table(
                Box::new(table::Lease::new(
                    backend.dialect(),
                    store.table(),
                    &token(),
                    options.lock_lease,
                )),
                table::HeartbeatAt::of(options),
            ),
            LockStrategy::None => Contender::None,
            #[cfg(feature = "redis")]
            LockStrategy::Redis(url) => {
                let d = backend.dialect();
                let identity = match backend.load_text(&d.database_identity_sql()).as_deref() {
                    Ok([row]) => row.value.clone(),
                    Ok(_) => String::new(),
                    Err(error) => {
                        return Err(Error::Lock {
                            lock: options.lock.to_string(),
                            action: "naming the database for the Redis key",
                            reason: error.to_string(),
                        });
                    }
                };
                Contender::Redis(Box::new(redis::Lease::connect(
                    url,
                    &options.lock.to_string(),
                    &identity,
                    &store.table().to_string(),
                    &token(),
                    options.lock_lease,
                )?))
            }
            #[cfg(not(feature = "redis"))]
            LockStrategy::Redis(_) => {
                return Err(Error::Lock {
                    lock: options.lock.to_string(),
                    action: "taking it",
                    reason: "this build of migrator-runtime has no `redis` feature; enable it, \
                             or pick `table`"
                        .to_owned(),
                });
            }
        })
    }

    /// Tries once: the lock, or who holds it.
    fn try_take(
        self,
        backend: &mut dyn Backend,
        names: &[String],
    ) -> Result<Result<Held, (Self, String)>> {
        match self {
            Contender::Advisory => match Advisory::try_take(backend, names)? {
                Ok(advisory) => Ok(Ok(Held::Advisory(advisory))),
                Err(holder) => Ok(Err((Contender::Advisory, holder))),
            },
            Contender::Table(lease, url) => match lease.try_take(backend)? {
                None => {
                    let Some(at) = url else {
                        tracing::debug!(
                            "no heartbeat URL: the table lease is renewed only before each revision"
                        );
                        return Ok(Ok(Held::Table(lease, None)));
                    };
                    match lease.start_heartbeat(&at) {
                        Ok(heartbeat) => Ok(Ok(Held::Table(lease, Some(heartbeat)))),
                        Err(error) => {
                            let _ = lease.release(backend);
                            Err(error)
                        }
                    }
                }
                Some(holder) => Ok(Err((Contender::Table(lease, url), holder))),
            },
            #[cfg(feature = "redis")]
            Contender::Redis(mut lease) => match lease.try_take()? {
                None => Ok(Ok(Held::Redis(lease))),
                Some(holder) => Ok(Err((Contender::Redis(lease), holder))),
            },
            Contender::None => Ok(Ok(Held::None)),
        }
    }
}

impl Held {
    /// Before the step `next`: renews a table lease, checks a Redis one,
    /// checks that the advisory lock's server process runs it; a lost lease
    /// or a changed process stops the run.
    pub(crate) fn check(&mut self, backend: &mut dyn Backend, next: &str) -> Result<()> {
        let (lock, lost) = match self {
            Held::Advisory(advisory) => return advisory.check(backend, next),
            Held::None => return Ok(()),
            Held::Table(lease, heartbeat) => (
                "table".to_owned(),
                match heartbeat.as_ref().and_then(heartbeat::Heartbeat::lost) {
                    Some(lost) => Some(lost),
                    None => lease.renew(backend)?,
                },
            ),
            #[cfg(feature = "redis")]
            Held::Redis(lease) => {
                let lost = lease.lost();
                (lease.shown().to_owned(), lost)
            }
        };
        match lost {
            None => Ok(()),
            Some(holder) => Err(Error::LockLost {
                lock,
                next: next.to_owned(),
                holder,
            }),
        }
    }

    /// Releases the lock: the advisory lock, or the lease if it is still
    /// this run's.
    fn release(self, backend: &mut dyn Backend) -> std::result::Result<(), String> {
        match self {
            Held::Advisory(advisory) => advisory.release(backend),
            Held::Table(lease, heartbeat) => {
                if let Some(heartbeat) = heartbeat {
                    heartbeat.stop();
                }
                lease.release(backend).map_err(|e| e.to_string())
            }
            #[cfg(feature = "redis")]
            Held::Redis(lease) => lease.release(),
            Held::None => Ok(()),
        }
    }
}

/// Who holds the advisory lock, as the database tells (PostgreSQL), or
/// what is known (SQLite's lock file).
fn advisory_holder(backend: &mut dyn Backend, name: &str) -> String {
    let Some(sql) = backend.dialect().advisory_holder_sql(name) else {
        return "another process (the lock file beside the database)".to_owned();
    };
    match backend.load_text(&sql) {
        Ok(rows) if !rows.is_empty() => rows
            .into_iter()
            .map(|row| row.value)
            .collect::<Vec<_>>()
            .join("; "),
        Ok(_) => "a session that just released it".to_owned(),
        Err(error) => format!("a session this role cannot see ({error})"),
    }
}

/// A token no other run has: time, process, and a counter within it.
fn token() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "{nanos:x}-{:x}-{:x}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// The name of this program, for the lease's `application`.
fn application() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "unknown".to_owned())
}

/// Takes the run lock of [`Options::lock`] (waiting up to
/// [`Options::lock_timeout`]), makes sure the tables exist (dropping what
/// earlier builds left beside them), runs `body`, and releases the lock on
/// every path. `body` gets the statements that give the session back its
/// own timeouts, read before the run changes them, and the held lock, for
/// the executor to check before each revision.
///
/// The connection must be outside any transaction (see
/// [`outside_transaction`]).
pub(crate) fn with_lock<T>(
    backend: &mut dyn Backend,
    store: &Store,
    options: &Options,
    progress: &mut dyn FnMut(Event<'_>),
    body: impl FnOnce(&mut dyn Backend, &str, &mut Held, &mut dyn FnMut(Event<'_>)) -> Result<T>,
) -> Result<T> {
    outside_transaction(backend)?;
    // Qualified (`schema.table`) once the store is resolved: the lock key
    // includes the schema (and, for advisory locks, the key of earlier
    // builds first, see `Store::lock_names`).
    let names = store.lock_names();
    let wait = options.lock_timeout;
    let start = Instant::now();
    let mut announced = false;
    let mut contender = Contender::new(backend, store, options)?;
    let mut held = loop {
        let holder = match contender.try_take(backend, &names)? {
            Ok(held) => break held,
            Err((again, holder)) => {
                contender = again;
                holder
            }
        };
        if start.elapsed() >= wait {
            return Err(Error::LockTimeout {
                waited: start.elapsed(),
                limit: wait,
                lock: options.lock.to_string(),
                holder,
            });
        }
        if !announced {
            announced = true;
            tracing::info!(lock = %options.lock, %holder, "another migrator holds the lock; waiting");
            progress(Event::WaitingForLock { holder: &holder });
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    tracing::debug!(
        lock = %options.lock,
        waited_ms = start.elapsed().as_millis() as u64,
        "migration lock taken"
    );
    let d = backend.dialect();
    // The session's own timeouts, to give them back as they were after a
    // `Transaction: false` revision (the executor does, right after it).
    let restore = match backend.load_text(&d.session_timeouts_sql()).as_deref() {
        Ok([row]) => row.value.clone(),
        _ => d.reset_timeouts_sql().to_owned(),
    };
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        // Behind a transaction pooler, as early as it shows.
        held.check(backend, "the version table's creation")?;
        ensure_tables(backend, store, options.ddl_lock_timeout)?;
        body(&mut *backend, &restore, &mut held, progress)
    }));
    // A transaction left open (a failed commit, an aborted transaction)
    // would swallow the unlock.
    while backend.transaction_depth() > 0 {
        let before = backend.transaction_depth();
        if backend.rollback().is_err() || backend.transaction_depth() >= before {
            break;
        }
    }
    if !d.local_timeouts() {
        // Every revision set the session's timeouts (MySQL): give them back.
        if let Err(error) = backend.execute(&restore) {
            tracing::warn!(%error, "the session's timeouts could not be given back");
        }
    }
    let unlocked = held.release(backend);
    if let Err(error) = &unlocked {
        tracing::error!(%error, lock = %options.lock, "the migration lock was not released");
    }
    match outcome {
        Ok(result) => {
            let value = result?;
            unlocked.map_err(|reason| Error::Lock {
                lock: options.lock.to_string(),
                action: "releasing it",
                reason,
            })?;
            Ok(value)
        }
        Err(panic) => resume_unwind(panic),
    }
}

/// Refuses a connection inside a transaction before anything is sent: each
/// revision commits on its own, the lock would be released before the
/// caller's commit, and on PostgreSQL a failed probe would abort the
/// caller's transaction.
pub(crate) fn outside_transaction(backend: &mut dyn Backend) -> Result<()> {
    if backend.transaction_depth() > 0 {
        return Err(Error::InTransaction);
    }
    Ok(())
}

/// Creates the version table and audit log when missing (`CREATE TABLE IF
/// NOT EXISTS` needs the right to create tables even when they exist, which
/// a role that only migrates data may lack), and drops what earlier builds
/// of migrator kept beside the version table (a state table, its triggers
/// and function), when they are there and are migrator's.
fn ensure_tables(backend: &mut dyn Backend, store: &Store, lock_timeout: Duration) -> Result<()> {
    let d = backend.dialect();
    let tables = [store.table(), store.audit_table()];
    let probe = store.probe_sql(d);
    let found = unless_missing(backend, &tables, |b| b.execute(&probe)).map_err(
        Error::database("looking for the version table and audit log"),
    )?;
    if found.is_none() {
        store.refuse_if_elsewhere(backend)?;
        backend
            .execute(&store.create_sql(d))
            .map_err(Error::database("creating the version table and audit log"))?;
    }
    for (probe, drop) in d.legacy_state_sql(store.table()) {
        if backend.count(&probe).unwrap_or(0) == 0 {
            continue;
        }
        // Best effort, and without queueing behind readers for long: a role
        // that does not own them, or a busy table, leaves them for a DBA.
        let timeouts = d.timeouts_sql(None, lock_timeout, true);
        backend
            .begin()
            .and_then(|()| match &timeouts {
                Some(timeouts) => backend.execute(timeouts),
                None => Ok(()),
            })
            .and_then(|()| backend.execute(&drop))
            .and_then(|()| backend.commit())
            .map_or_else(
                |error| {
                    let _ = backend.rollback();
                    tracing::warn!(
                        %error,
                        sql = %drop,
                        "could not drop what an earlier build of migrator left beside the \
                         version table; run this SQL as its owner"
                    );
                },
                |()| {
                    tracing::info!(
                        table = %store.table(),
                        "dropped what an earlier build of migrator left beside the version table"
                    );
                },
            );
    }
    Ok(())
}

/// Runs `read`; when it fails because one of `tables` does not exist (as
/// the catalogue, not the error's wording, says), `Ok(None)`. When they all
/// exist by the time the catalogue is asked (another migrator just created
/// them), `read` runs again.
pub(crate) fn unless_missing<T>(
    backend: &mut dyn Backend,
    tables: &[&TableName],
    mut read: impl FnMut(&mut dyn Backend) -> diesel::QueryResult<T>,
) -> diesel::QueryResult<Option<T>> {
    if let Ok(value) = read(backend) {
        return Ok(Some(value));
    }
    let d = backend.dialect();
    for table in tables {
        if backend.count(&d.table_exists_sql(table)) == Ok(0) {
            return Ok(None);
        }
    }
    read(backend).map(Some)
}
