//! The run lock, and the bookkeeping tables it guards.
//!
//! A run that has something to do takes the lock first (a PostgreSQL
//! session advisory lock keyed by the database and the version table's
//! schema-qualified name;
//! an exclusive lock on a file beside a SQLite database), makes sure the
//! version table and audit log exist, and only then reads the state again,
//! so a replica that waited sees its peer's work and applies nothing twice.
//! The lock is released on every path, a panic in a Rust revision included.

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::time::{Duration, Instant};

use crate::backend::Backend;
use crate::bookkeeping::{Store, TableName};
use crate::error::{Error, Result};
use crate::report::Event;

/// Takes the run lock (waiting up to `wait`), makes sure the tables exist
/// (dropping what earlier builds left beside them), runs `body`, and
/// releases the lock on every path. `body` gets the statements that give
/// the session back its own timeouts, read before the run changes them.
///
/// The connection must be outside any transaction (see
/// [`outside_transaction`]).
pub(crate) fn with_lock<T>(
    backend: &mut dyn Backend,
    store: &Store,
    wait: Duration,
    progress: &mut dyn FnMut(Event<'_>),
    body: impl FnOnce(&mut dyn Backend, &str, &mut dyn FnMut(Event<'_>)) -> Result<T>,
) -> Result<T> {
    outside_transaction(backend)?;
    // Qualified (`schema.table`) once the store is resolved: the lock key
    // includes the schema.
    let name = store.table().to_string();
    let start = Instant::now();
    let mut announced = false;
    let handle = loop {
        if let Some(handle) = backend.try_lock(&name)? {
            break handle;
        }
        if start.elapsed() >= wait {
            return Err(Error::LockTimeout {
                waited: start.elapsed(),
            });
        }
        if !announced {
            announced = true;
            tracing::info!("another migrator holds the lock; waiting");
            progress(Event::WaitingForLock);
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    tracing::debug!(
        waited_ms = start.elapsed().as_millis() as u64,
        "migration lock taken"
    );
    let d = backend.dialect();
    // The session's own timeouts, to give them back as they were.
    let restore = match backend.load_text(&d.session_timeouts_sql()).as_deref() {
        Ok([row]) => row.value.clone(),
        _ => d.reset_timeouts_sql().to_owned(),
    };
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        ensure_tables(backend, store, wait)?;
        body(&mut *backend, &restore, progress)
    }));
    // A transaction left open (a failed commit, an aborted transaction)
    // would swallow the unlock.
    while backend.transaction_depth() > 0 {
        let before = backend.transaction_depth();
        if backend.rollback().is_err() || backend.transaction_depth() >= before {
            break;
        }
    }
    // Best effort: the run's outcome matters more than a failed reset.
    let _ = backend.execute(&restore);
    let unlocked = backend.unlock(&name, handle);
    if let Err(error) = &unlocked {
        tracing::error!(%error, "the migration lock was not released");
    }
    match outcome {
        Ok(result) => {
            let value = result?;
            unlocked.map_err(Error::database("releasing the migration lock"))?;
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
