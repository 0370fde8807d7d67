//! The run lock, and the bookkeeping tables it guards.
//!
//! A run that has something to do takes the lock first (a PostgreSQL
//! session advisory lock keyed by the database and the version table's name;
//! an exclusive lock on a file beside a SQLite database), makes sure the
//! version table and audit log exist, and only then reads the state again,
//! so a replica that waited sees its peer's work and applies nothing twice.
//! The lock is released on every path, a panic in a Rust revision included.

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::time::{Duration, Instant};

use crate::backend::{Backend, legacy_state_table};
use crate::bookkeeping::Store;
use crate::error::{Error, Result};
use crate::report::Event;

/// Takes the run lock (waiting up to `wait`), makes sure the tables exist
/// (dropping what older versions left beside them), runs `body`, and
/// releases the lock on every path.
pub(crate) fn with_lock<T>(
    backend: &mut dyn Backend,
    store: &Store,
    wait: Duration,
    progress: &mut dyn FnMut(Event<'_>),
    body: impl FnOnce(&mut dyn Backend, &mut dyn FnMut(Event<'_>)) -> Result<T>,
) -> Result<T> {
    let name = store.table().to_owned();
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
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        ensure_tables(backend, store)?;
        body(&mut *backend, progress)
    }));
    let d = backend.dialect();
    // Best effort: the run's outcome matters more than a failed reset,
    // and the lock goes with the connection anyway.
    let _ = backend.execute(d.reset_timeouts_sql());
    let unlocked = backend.unlock(&name, handle);
    match outcome {
        Ok(result) => {
            let value = result?;
            unlocked.map_err(Error::database("releasing the migration lock"))?;
            Ok(value)
        }
        Err(panic) => resume_unwind(panic),
    }
}

/// Creates the version table and audit log when missing (`CREATE TABLE IF
/// NOT EXISTS` needs the right to create tables even when they exist, which
/// a role that only migrates data may lack), and drops the state table,
/// trigger and function of earlier builds of migrator when they are there.
fn ensure_tables(backend: &mut dyn Backend, store: &Store) -> Result<()> {
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
    let legacy = legacy_state_table(store.table());
    if backend.count(&d.table_exists_sql(&legacy)) == Ok(1) {
        backend
            .execute(&d.drop_legacy_state_sql(store.table()))
            .map_err(Error::database(
                "dropping the state table, trigger and function of earlier builds of migrator",
            ))?;
        tracing::info!(table = %legacy, "dropped the state table of earlier builds of migrator");
    }
    Ok(())
}

/// Runs `read`; when it fails because one of `tables` does not exist (as
/// the catalogue, not the error's wording, says), `Ok(None)`. When they all
/// exist by the time the catalogue is asked (another migrator just created
/// them), `read` runs again.
pub(crate) fn unless_missing<T>(
    backend: &mut dyn Backend,
    tables: &[&str],
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
