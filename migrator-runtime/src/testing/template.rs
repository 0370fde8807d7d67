//! Databases that start where a revision's check starts: the revisions
//! before it (in [`Graph::order`](crate::graph::Graph::order)) applied.
//!
//! On PostgreSQL each is a copy (`CREATE DATABASE … TEMPLATE`) of a template
//! database migrated to that point once per process and shared by the tests
//! that need it; a template is built from the nearest template below it, so
//! a run applies each revision about once to build them all, whatever order
//! the tests run in. Templates are dropped when the process exits; those of
//! a process that was killed are dropped by the next process that builds
//! one (a process holds an advisory lock on the server while its templates
//! live, so a live process's templates are never taken). On SQLite, where a
//! database is a file and a revision a few statements on it, each test
//! upgrades a fresh file.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Mutex, Once, PoisonError};

use diesel::PgConnection;
use diesel::connection::SimpleConnection;

use super::StairwayError;
use super::db::{Kind, TestDb, admin_connection, drop_waiting, fresh_name, postgres_admin_url};
use crate::backend::load;
use crate::model::Revision;
use crate::{Migrations, Migrator, Options, Target};

/// Templates are made at the multiples of `STRIDE`: a test copies the one
/// below its revision and applies at most `STRIDE - 1` revisions, and a run
/// creates (and drops, each drop a checkpoint on PostgreSQL before 16) one
/// template per `STRIDE` revisions.
pub(super) const STRIDE: usize = 8;

/// The prefix of the names of templates and their copies:
/// `migrator_template_<owner>_…`.
const PREFIX: &str = "migrator_template";

/// The first key of the advisory lock a process holds on the server while
/// its templates live (the second is the owner number in their names).
const LOCK_CLASS: i32 = 0x6d67_7470;

/// A database of `kind` with the first `position` revisions of the order
/// applied (for the check of `revision`, named in errors), on PostgreSQL on
/// the server at `admin_url` (by default [`postgres_admin_url`]); `Ok(None)`
/// when PostgreSQL is unreachable outside CI.
///
/// # Panics
///
/// When a database cannot be created (the server refuses, or is
/// unreachable in CI).
#[track_caller]
pub(super) fn database_at(
    kind: Kind,
    admin_url: Option<&str>,
    migrations: &Migrations,
    options: &Options,
    revision: &Revision,
    position: usize,
) -> Result<Option<TestDb>, StairwayError> {
    let db = match kind {
        Kind::Sqlite => {
            let db = TestDb::sqlite();
            upgrade(migrations, options, revision, &db, position)?;
            db
        }
        #[cfg(feature = "mysql")]
        Kind::Mysql => {
            let Some(db) = TestDb::mysql() else {
                return Ok(None);
            };
            upgrade(migrations, options, revision, &db, position)?;
            db
        }
        Kind::Postgres => {
            let admin_url = admin_url.map_or_else(postgres_admin_url, str::to_owned);
            let Some(db) = copy_at(&admin_url, migrations, options, revision, position)? else {
                return Ok(None);
            };
            db
        }
    };
    Ok(Some(db))
}

/// A PostgreSQL database at `position`: a copy of the template at the
/// nearest multiple of [`STRIDE`] below it, upgraded the rest of the way.
#[track_caller]
fn copy_at(
    admin_url: &str,
    migrations: &Migrations,
    options: &Options,
    revision: &Revision,
    position: usize,
) -> Result<Option<TestDb>, StairwayError> {
    let below = position - position % STRIDE;
    let Some((owner, template)) = template_at(admin_url, migrations, options, revision, below)?
    else {
        return Ok(None);
    };
    let name = fresh_name(&format!("{PREFIX}_{owner}"));
    let db = match TestDb::create_postgres(admin_url, name, template.as_deref()) {
        Ok(Some(db)) => db.drop_in_batch(),
        Ok(None) => return Ok(None),
        Err(error) => panic!("{error}"),
    };
    upgrade(migrations, options, revision, &db, position - below)?;
    Ok(Some(db))
}

/// Upgrades `db` by `steps` revisions.
fn upgrade(
    migrations: &Migrations,
    options: &Options,
    revision: &Revision,
    db: &TestDb,
    steps: usize,
) -> Result<(), StairwayError> {
    if steps == 0 {
        return Ok(());
    }
    let backend = db.kind().backend();
    let mut conn = db.try_connect().map_err(|source| StairwayError::Database {
        backend,
        step: "connecting to the test database",
        source: Box::new(source),
    })?;
    let steps = i64::try_from(steps).unwrap_or(i64::MAX);
    Migrator::with_options(migrations, options.clone())
        .upgrade(&mut conn, Target::Relative(steps))
        .map(drop)
        .map_err(|source| StairwayError::Migration {
            backend,
            revision: revision.id.to_string(),
            step: "upgrading to the revisions before it",
            source: Box::new(source),
        })
}

/// The process's templates.
struct Templates {
    /// The templates, by [`prefix_keys`] (dropped before the lock).
    by_key: HashMap<u64, TestDb>,
    /// A connection to the administrative database holding the advisory
    /// lock `(LOCK_CLASS, owner)` while the templates live.
    owner_lock: PgConnection,
    /// The number in this process's templates' names.
    owner: i32,
}

static TEMPLATES: Mutex<Option<Templates>> = Mutex::new(None);

/// This process's owner number and the name of the template database at
/// `position` (a multiple of [`STRIDE`]; none at 0, an empty database), built
/// if needed from the nearest template below it; `Ok(None)` when PostgreSQL
/// is unreachable outside CI.
#[track_caller]
fn template_at(
    admin_url: &str,
    migrations: &Migrations,
    options: &Options,
    revision: &Revision,
    position: usize,
) -> Result<Option<(i32, Option<String>)>, StairwayError> {
    let keys = prefix_keys(admin_url, migrations, options, position);
    let mut guard = TEMPLATES.lock().unwrap_or_else(PoisonError::into_inner);
    if guard.is_none() {
        match start(admin_url) {
            Ok(templates) => *guard = Some(templates),
            Err(None) => return Ok(None),
            Err(Some(error)) => panic!("{error}"),
        }
    }
    let Some(templates) = guard.as_mut() else {
        return Ok(None);
    };
    let owner = templates.owner;
    if position == 0 {
        return Ok(Some((owner, None)));
    }
    if let Some(template) = templates.by_key.get(&keys[position]) {
        return Ok(Some((owner, template.postgres_name().map(str::to_owned))));
    }
    let (below, source) = (1..position / STRIDE)
        .rev()
        .map(|k| k * STRIDE)
        .find_map(|q| {
            let name = templates.by_key.get(&keys[q])?.postgres_name()?;
            Some((q, Some(name.to_owned())))
        })
        .unwrap_or((0, None));
    let name = fresh_name(&format!("{PREFIX}_{owner}"));
    let template = match TestDb::create_postgres(admin_url, name, source.as_deref()) {
        Ok(Some(db)) => db.drop_in_batch(),
        Ok(None) => return Ok(None),
        Err(error) => panic!("{error}"),
    };
    // A failed upgrade drops the half-built template with `template`.
    upgrade(migrations, options, revision, &template, position - below)?;
    let name = template.postgres_name().map(str::to_owned);
    templates.by_key.insert(keys[position], template);
    Ok(Some((owner, name)))
}

/// The process's first template: drops the templates of processes that are
/// gone, takes this process's lock, and registers the drop at exit.
/// `Err(None)` when the server is unreachable outside CI.
fn start(admin_url: &str) -> Result<Templates, Option<String>> {
    let mut conn = match admin_connection(admin_url) {
        Ok(conn) => conn,
        Err(_) if !super::in_ci() => return Err(None),
        Err(error) => {
            return Err(Some(format!(
                "PostgreSQL is required in CI and is unreachable at {}: {error}",
                crate::backend::redact(admin_url)
            )));
        }
    };
    let failed = |step: &str, error: diesel::result::Error| {
        Some(format!("{step} on the test server failed: {error}"))
    };
    drop_orphans(&mut conn).map_err(|e| failed("dropping the templates of ended runs", e))?;
    // A number no live process holds (processes on other machines may share
    // this one's ID).
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let mut owner = i32::try_from((std::process::id() ^ nanos.rotate_left(16)) & 0x7fff_ffff)
        .unwrap_or_default();
    while !try_lock(&mut conn, owner).map_err(|e| failed("taking the templates' lock", e))? {
        owner = owner.wrapping_add(1) & 0x7fff_ffff;
    }
    clean_up_at_exit();
    Ok(Templates {
        owner_lock: conn,
        owner,
        by_key: HashMap::new(),
    })
}

/// Drops the template databases whose process no longer holds its lock.
fn drop_orphans(conn: &mut PgConnection) -> diesel::QueryResult<()> {
    #[derive(diesel::QueryableByName)]
    struct Name {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
    }
    let sql =
        format!("SELECT datname::text AS name FROM pg_database WHERE datname LIKE '{PREFIX}\\_%'");
    for Name { name } in load::<_, Name>(conn, &sql)? {
        let Some(owner) = name
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split('_').nth(1))
            .and_then(|owner| owner.parse::<i32>().ok())
        else {
            continue;
        };
        if try_lock(conn, owner)? {
            let dropped =
                conn.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            conn.batch_execute(&format!("SELECT pg_advisory_unlock({LOCK_CLASS}, {owner})"))?;
            dropped?;
        }
    }
    Ok(())
}

/// Takes the advisory lock of the templates of `owner`, unless another
/// session holds it.
fn try_lock(conn: &mut PgConnection, owner: i32) -> diesel::QueryResult<bool> {
    #[derive(diesel::QueryableByName)]
    struct Taken {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        taken: bool,
    }
    let sql = format!("SELECT pg_try_advisory_lock({LOCK_CLASS}, {owner}) AS taken");
    Ok(load::<_, Taken>(conn, &sql)?
        .first()
        .is_some_and(|t| t.taken))
}

/// Registers [`drop_templates`] to run when the process exits (once):
/// statics are not dropped, and the templates and the databases waiting in
/// the [pool](super::pool) live in statics.
pub(super) fn clean_up_at_exit() {
    static REGISTERED: Once = Once::new();
    REGISTERED.call_once(|| {
        atexit(drop_templates);
    });
}

/// Drops the databases waiting in the pool and this process's templates
/// (registered with `atexit`).
extern "C" fn drop_templates() {
    // Nothing may unwind out of an `extern "C"` function.
    let _ = std::panic::catch_unwind(|| {
        drop(super::pool::take_all());
        let templates = TEMPLATES
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        // The templates and copies first, then the lock that keeps other
        // processes from taking them.
        let lock = templates.map(|t| {
            drop(t.by_key);
            t.owner_lock
        });
        drop_waiting();
        drop(lock);
    });
}

unsafe extern "C" {
    /// C's `atexit`: runs `callback` when the process exits through `exit`,
    /// as the test harness's does (after returning from `main` or on
    /// `std::process::exit`).
    safe fn atexit(callback: extern "C" fn()) -> std::ffi::c_int;
}

/// For each `q` in `0..=position`: a key for the database state "the first
/// `q` revisions applied" (the server, `admin_url`, empty for SQLite; the
/// migrator's options; the IDs and checksums of those revisions), so
/// databases are shared between tests of the same migrations and never
/// between different ones.
pub(super) fn prefix_keys(
    admin_url: &str,
    migrations: &Migrations,
    options: &Options,
    position: usize,
) -> Vec<u64> {
    let graph = migrations.graph();
    let mut hasher = DefaultHasher::new();
    admin_url.hash(&mut hasher);
    format!("{options:?}").hash(&mut hasher);
    let mut keys = vec![hasher.finish()];
    for &index in graph.order().iter().take(position) {
        let revision = graph.revision(index);
        revision.id.hash(&mut hasher);
        revision.checksum.hash(&mut hasher);
        keys.push(hasher.finish());
    }
    keys
}
