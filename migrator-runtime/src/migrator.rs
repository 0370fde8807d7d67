//! The run: read the state, verify it, plan, lock, read again, execute.
//!
//! Every front end (the CLI, a service migrating itself on startup, offline
//! SQL, the test helpers) goes through [`Migrator`]; none re-implements the
//! loop. Live runs and offline scripts share one executor: the statements a
//! script prints are the statements a live run sends.
//!
//! # Order
//!
//! Revisions are applied in [`Graph::order`]: a topological order in which,
//! among revisions whose parents are all applied, the smallest revision ID
//! (byte order) comes first. Same graph, same order, on every machine.
//! Downgrades run in the reverse of that order.
//!
//! # Transactions
//!
//! By default each revision runs in its own transaction together with its
//! version-table row and its audit-log entry: a revision that fails leaves
//! the database at the revision before it. With
//! [`Options::single_transaction`] the whole run is one transaction: all or
//! nothing.
//!
//! A revision whose header says `Transaction: false` (e.g. `CREATE INDEX
//! CONCURRENTLY`) runs outside any transaction. Before it runs, the version
//! table records it as started (the dirty marker, see
//! [`DirtyMarker`]); its success replaces the marker by its row. If it fails
//! halfway, the statements before the failure stay in effect and the marker
//! stays ([`Error::NonTransactional`]); every later command but `current`,
//! `history`, `show` and `stamp` stops ([`Error::Dirty`]) until a `stamp`
//! (to the revision before it, or to it) after a repair by hand clears it.
//! On a backend whose DDL commits on its own (MySQL) every revision runs
//! with the marker. Such a revision cannot be part of a single-transaction
//! run.
//!
//! # Concurrency
//!
//! A run that has something to do takes a lock first (a PostgreSQL session
//! advisory lock keyed by the database and the version table's
//! schema-qualified name; an
//! exclusive lock on a file beside a SQLite database), then reads the state
//! again, so a replica that waited sees its peer's work and applies nothing
//! twice. The wait is bounded by [`Options::lock_timeout`]. A run with nothing
//! to do takes no lock and writes nothing. The connection must not be inside
//! a transaction ([`Error::InTransaction`]): each revision commits on its
//! own, and the session lock would be released before the caller's commit.
//!
//! # The state against the build
//!
//! Every command reads the version table and checks it against this build:
//! an applied revision whose file changed, an applied revision this build
//! does not know, and a revision not applied while revisions after it are
//! (a row deleted by hand) stop `upgrade`, `downgrade` and `check`, and are
//! listed by `verify`. One exception, for rolling deploys: a database
//! *ahead* of this build (every revision of the build applied, plus
//! unknown ones) is no error for `upgrade`, `check`, `current` and
//! `pending`, which warn ([`Event::Ahead`]) and go on.
//!
//! # Schemas
//!
//! The bookkeeping tables' names are resolved once per command (see
//! [`Store::resolve`]): an unqualified name on PostgreSQL is qualified by
//! `current_schema()`, and every statement then names that schema.
//!
//! # Adopting a database diesel_migrations migrated
//!
//! On a database with diesel's `__diesel_schema_migrations` and no history
//! of migrator's own (a version table missing or empty, and an audit log
//! missing, empty, or with nothing but adoptions), `upgrade`, `downgrade`
//! and `stamp` first record as applied, without running them, the
//! revisions whose ID is a version in diesel's table (`import diesel` gives
//! each imported revision its version as ID), under the lock, in one
//! transaction, with the audit outcome `adopted` ([`Event::Adopted`]), then
//! go on. Once the version table holds rows, diesel's table is history: it
//! is not adopted again. `current`, `pending`, `check` and `verify` take no
//! lock and write nothing: they answer as if the adoption were done. A
//! version no revision carries stops every command that reads the version
//! table ([`Error::UnknownDieselVersions`]) before anything is recorded.
//! A revision diesel has not run while it ran a later one (an older version
//! merged after diesel migrated the database) is pending, as diesel would
//! run it: no [`Problem::MissingAncestor`], and `upgrade` runs it. Diesel's
//! table is only read.
//!
//! # Startup
//!
//! `upgrade head` on a database already at head is one query, one round
//! trip, no lock, and writes nothing: the database returns the version
//! table's `revision:checksum` rows joined in one row, the runtime digests
//! them (the row count and a sum over their MD5s, see [`StateDigest`]) and
//! compares the digest with the one `embed_migrations!` computed for "every
//! revision applied, with this build's checksums". Equal
//! means nothing to do, nothing edited, nothing unknown; any edit of the
//! version table, by anyone, is seen at the next start. Otherwise the run
//! reads the whole version table and checks it, as every other command does.

use std::path::Path;
use std::sync::{Mutex, PoisonError};

use crate::adopt;
use crate::backend::{Backend, DigestSql};
use crate::bookkeeping::{Action, Outcome, Store, marker_direction};
use crate::connection::MigrationConnection;
use crate::error::{Error, Result};
use crate::executor::{Executor, Ledger, Live, Script, Sink, Step, repair_stamps};
use crate::graph::Graph;
use crate::lock::{Held, outside_transaction, unless_missing, with_lock};
use crate::migrations::Migrations;
use crate::model::{BackendKind, Direction, Revision, StateDigest, released};
use crate::options::{LockStrategy, Options};
use crate::report::{Check, DirtyMarker, Event, Problem, Report, State};
use crate::rows::{AppliedRevision, AuditEntry};
use crate::plan::{self, Plan, PlanError, Target};

/// The hook that sees a run's events.
type Hook<'m> = Mutex<Box<dyn FnMut(&Event<'_>) + Send + 'm>>;

/// Runs the revisions of a [`Migrations`] set against a database, on the
/// connection the service hands it (any [`MigrationConnection`]).
///
/// Every call blocks until the run is over. In an async service, run it in
/// `tokio::task::spawn_blocking` (see the README).
///
/// # Examples
///
/// ```no_run
/// # #[cfg(feature = "postgres")]
/// # fn demo(migrations: &'static migrator_runtime::Migrations) -> Result<(), Box<dyn std::error::Error>> {
/// use diesel::{Connection, PgConnection};
/// use migrator_runtime::{Migrator, Target};
///
/// let mut conn = PgConnection::establish("postgres://app@localhost/factory")?;
/// let report = Migrator::new(migrations)
///     .on_event(|event| eprintln!("{event:?}"))
///     .upgrade(&mut conn, Target::Head)?;
/// println!("{} revision(s) applied", report.steps.len());
/// # Ok(()) }
/// ```
pub struct Migrator<'m> {
    migrations: &'m Migrations,
    options: Options,
    store: Store,
    hook: Option<Hook<'m>>,
}

impl std::fmt::Debug for Migrator<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Migrator")
            .field("options", &self.options)
            .field("hook", &self.hook.is_some())
            .finish_non_exhaustive()
    }
}

impl<'m> Migrator<'m> {
    /// A migrator over `migrations`, with the default [`Options`].
    pub fn new(migrations: &'m Migrations) -> Self {
        Migrator::with_options(migrations, Options::default())
    }

    /// A migrator over `migrations` with `options`.
    pub fn with_options(migrations: &'m Migrations, options: Options) -> Self {
        let store = Store::new(&options.version_table, options.audit_table.as_deref());
        Migrator {
            migrations,
            options,
            store,
            hook: None,
        }
    }

    /// Calls `hook` with every [`Event`] of the runs of this migrator
    /// (progress output, metrics). Every event is also a `tracing` event.
    pub fn on_event(mut self, hook: impl FnMut(&Event<'_>) + Send + 'm) -> Self {
        self.hook = Some(Mutex::new(Box::new(hook)));
        self
    }

    /// The options of this migrator.
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// The revision graph.
    pub fn graph(&self) -> &'m Graph {
        self.migrations.graph()
    }

    /// Reads the version table (empty when it does not exist yet). One
    /// query (two on PostgreSQL with an unqualified table name, to find its
    /// schema).
    pub fn state(&self, conn: &mut impl MigrationConnection) -> Result<State> {
        self.resolve_and_read(conn.__backend())
    }

    /// The audit log, oldest entry first (empty before the first run).
    pub fn audit_log(&self, conn: &mut impl MigrationConnection) -> Result<Vec<AuditEntry>> {
        self.audit_of(conn.__backend())
    }

    /// [`Migrator::audit_log`], not generic.
    fn audit_of(&self, backend: &mut dyn Backend) -> Result<Vec<AuditEntry>> {
        let store = self.store.resolve(backend, true)?;
        let sql = store.select_audit_sql(backend.dialect());
        let entries = unless_missing(backend, &[store.audit_table()], |b| b.load_audit(&sql))
            .map_err(Error::database("reading the audit log"))?;
        Ok(entries.unwrap_or_default())
    }

    /// The revisions the database is at: the applied revisions that no
    /// applied revision revises (several after a partial upgrade of branches,
    /// or a downgrade below a merge). Empty at base. On a database ahead of
    /// this build, this build's head, with an [`Event::Ahead`] warning.
    pub fn current(&self, conn: &mut impl MigrationConnection) -> Result<Vec<&'m Revision>> {
        self.current_of(conn.__backend())
    }

    /// [`Migrator::current`], not generic.
    fn current_of(&self, backend: &mut dyn Backend) -> Result<Vec<&'m Revision>> {
        let store = self.store.resolve(backend, false)?;
        let state = self.read_state(&store, backend)?;
        let listed = adopt::diesel_versions(backend)?;
        let state = self.with_adoptable(&store, backend, state, listed.as_deref())?;
        let applied = self.known_applied(&state, true, &mut self.progress())?.0;
        let graph = self.graph();
        Ok(graph
            .tips(&self.applied_mask(&applied))
            .into_iter()
            .map(|i| graph.revision(i))
            .collect())
    }

    /// The revisions an upgrade to head would apply, in order (none on a
    /// database ahead of this build, with an [`Event::Ahead`] warning).
    pub fn pending(&self, conn: &mut impl MigrationConnection) -> Result<Vec<&'m Revision>> {
        self.pending_of(conn.__backend())
    }

    /// [`Migrator::pending`], not generic.
    fn pending_of(&self, backend: &mut dyn Backend) -> Result<Vec<&'m Revision>> {
        let (state, _) = self.read_judged(backend)?;
        let applied = self.known_applied(&state, true, &mut self.progress())?.0;
        self.pending_after(&applied)
    }

    /// The revisions an upgrade to head runs after `applied`.
    fn pending_after(&self, applied: &[usize]) -> Result<Vec<&'m Revision>> {
        let graph = self.graph();
        let plan = plan::plan_upgrade(graph, applied, &Target::Head)?;
        Ok(plan
            .steps
            .iter()
            .map(|s| graph.revision(s.revision))
            .collect())
    }

    /// `release`: appends to `dir`'s `released.sum` every revision up to
    /// `target` (the target and its ancestors, in application order) that
    /// the file does not list yet, with this build's checksum, and returns
    /// them. Needs no database. The build then refuses edits to them (see
    /// docs/FORMAT.md, "Released revisions"). Refuses, writing nothing,
    /// unless `dir` holds each of those revisions' files as this build
    /// embeds them (the directory it was built from, not edited since).
    pub fn release(&self, dir: &Path, target: &Target) -> Result<Vec<&'m Revision>> {
        let set = plan::stamped_set(self.graph(), target)?;
        self.append_released(dir, set)
    }

    /// `release current`: [`Migrator::release`] of the revisions the
    /// database has applied (production's, run against production), in
    /// application order. Refuses, writing nothing, when
    /// [`Migrator::verify`] finds a problem (an applied revision edited or
    /// unknown to this build).
    pub fn release_applied(
        &self,
        conn: &mut impl MigrationConnection,
        dir: &Path,
    ) -> Result<Vec<&'m Revision>> {
        let (state, listed) = self.read_judged(conn.__backend())?;
        if let Some(problem) = self.problems(&state, listed.as_deref()).into_iter().next() {
            return Err(problem.into_error());
        }
        let (applied, _) = self.known_applied(&state, false, &mut self.progress())?;
        let mask = self.applied_mask(&applied);
        let graph = self.graph();
        let set = graph.order().iter().copied().filter(|&i| mask[i]).collect();
        self.append_released(dir, set)
    }

    /// Appends the revisions `set` (indices, in order) to `released.sum`,
    /// once `dir` is found to hold their files as this build embeds them.
    fn append_released(&self, dir: &Path, set: Vec<usize>) -> Result<Vec<&'m Revision>> {
        let graph = self.graph();
        let revisions: Vec<&'m Revision> = set.into_iter().map(|i| graph.revision(i)).collect();
        let files: Vec<(&str, &str, &str)> = revisions
            .iter()
            .map(|r| (r.id.as_ref(), r.file_name.as_ref(), r.checksum.as_ref()))
            .collect();
        released::check_files(dir, &files)?;
        let rows: Vec<(&str, &str)> = revisions
            .iter()
            .map(|r| (r.id.as_ref(), r.checksum.as_ref()))
            .collect();
        let appended = released::append(dir, &rows)?;
        Ok(revisions
            .into_iter()
            .filter(|r| appended.iter().any(|a| a == r.id.as_ref()))
            .collect())
    }

    /// Every disagreement between the database and this build: applied
    /// revisions whose file changed, applied revisions this build does not
    /// know (those of a database ahead of it included), and revisions not
    /// applied while revisions after them are. Empty when all is well.
    pub fn verify(&self, conn: &mut impl MigrationConnection) -> Result<Vec<Problem>> {
        let (state, listed) = self.read_judged(conn.__backend())?;
        Ok(self.problems(&state, listed.as_deref()))
    }

    /// What `upgrade head` would do and what would stop it, from one read of
    /// the version table: the pending revisions, and the problems of
    /// [`Migrator::verify`] but for the revisions of a database ahead of
    /// this build (reported in [`Check::ahead`], with an [`Event::Ahead`]
    /// warning). A deploy's readiness check.
    pub fn check(&self, conn: &mut impl MigrationConnection) -> Result<Check<'m>> {
        self.check_of(conn.__backend())
    }

    /// [`Migrator::check`], not generic.
    fn check_of(&self, backend: &mut dyn Backend) -> Result<Check<'m>> {
        let (state, listed) = self.read_judged(backend)?;
        let (applied, unknown) = self.split(&state);
        let ahead = self.is_ahead(&applied, &unknown);
        if ahead {
            self.warn_ahead(&unknown, &mut self.progress());
        }
        let problems = self
            .problems(&state, listed.as_deref())
            .into_iter()
            .filter(|p| !(ahead && matches!(p, Problem::Unknown { .. })))
            .collect();
        Ok(Check {
            pending: self.pending_after(&applied)?,
            ahead: if ahead { unknown } else { Vec::new() },
            problems,
        })
    }

    /// Upgrades to `target` ([`Target::Head`], a revision constant such as
    /// `revisions::REV_004_ADD_KEY_PREFIX`, or a parsed target such as
    /// `"+1".parse()?`).
    ///
    /// A database ahead of this build (every revision of the build applied,
    /// and revisions it does not know: a newer build migrated it, as in a
    /// rolling deploy) is no error: any target is reached, the report's
    /// [`Report::ahead`] names the unknown revisions, and an
    /// [`Event::Ahead`] warns; a service that migrates on startup keeps
    /// starting. Unknown revisions while a revision of this build is not
    /// applied stop the run ([`Error::UnknownApplied`]).
    pub fn upgrade(
        &self,
        conn: &mut impl MigrationConnection,
        target: impl Into<Target>,
    ) -> Result<Report> {
        self.upgrade_to(conn.__backend(), target.into())
    }

    /// [`Migrator::upgrade`], not generic: compiled once, in this crate,
    /// not in every crate that calls it.
    fn upgrade_to(&self, backend: &mut dyn Backend, target: Target) -> Result<Report> {
        outside_transaction(backend)?;
        if target == Target::Head && self.at_head(backend) {
            return Ok(Report::default());
        }
        self.run(backend, true, |graph, applied| {
            plan::plan_upgrade(graph, applied, &target)
        })
    }

    /// Downgrades to `target` ([`Target::Base`], a revision, `-1`…). Applied
    /// revisions this build does not know stop it
    /// ([`Error::UnknownApplied`]): it cannot know their downgrades.
    pub fn downgrade(
        &self,
        conn: &mut impl MigrationConnection,
        target: impl Into<Target>,
    ) -> Result<Report> {
        self.downgrade_to(conn.__backend(), target.into())
    }

    /// [`Migrator::downgrade`], not generic.
    fn downgrade_to(&self, backend: &mut dyn Backend, target: Target) -> Result<Report> {
        self.run(backend, false, |graph, applied| {
            plan::plan_downgrade(graph, applied, &target)
        })
    }

    /// Records the database as being at `target` without running any
    /// revision, as Alembic's `stamp` does: the repair tool after a failure,
    /// and the way to adopt an existing database. The applied revisions that
    /// are ancestors or descendants of the target are replaced by the target
    /// and its ancestors; those of other branches stay. The checksums of the
    /// rows kept are re-recorded, which accepts edited files. Each change is
    /// a step of the report and an audit entry. A row this build does not
    /// know stops it ([`Error::UnknownApplied`]); [`Migrator::stamp_purge`]
    /// removes such rows.
    pub fn stamp(
        &self,
        conn: &mut impl MigrationConnection,
        target: impl Into<Target>,
    ) -> Result<Report> {
        self.record(conn.__backend(), &target.into(), false)
    }

    /// Records the database as being exactly at `target` and its ancestors
    /// (Alembic's `stamp --purge`): every other row is removed, revisions
    /// this build does not know included; missing ones are added, and the
    /// checksums of the rows kept are re-recorded.
    pub fn stamp_purge(
        &self,
        conn: &mut impl MigrationConnection,
        target: impl Into<Target>,
    ) -> Result<Report> {
        self.record(conn.__backend(), &target.into(), true)
    }

    /// `stamp` and `stamp --purge`.
    fn record(&self, backend: &mut dyn Backend, target: &Target, purge: bool) -> Result<Report> {
        outside_transaction(backend)?;
        let store = self.store.resolve(backend, true)?;
        let mut progress = self.progress();
        with_lock(
            backend,
            &store,
            &self.options,
            &mut progress,
            |backend, restore, held, progress| {
                let command = format!("stamp{} {target}", if purge { " --purge" } else { "" });
                let state = self.read_state(&store, backend)?;
                let listed = adopt::diesel_versions(backend)?;
                let (state, adopted) = self.adopt(
                    &store,
                    backend,
                    (restore, held),
                    state,
                    listed.as_deref(),
                    &command,
                    progress,
                )?;
                let graph = self.graph();
                let applied = if purge {
                    state
                        .applied
                        .iter()
                        .filter_map(|row| graph.index_of(&row.revision))
                        .collect()
                } else {
                    self.applied_indices(&state)?
                };
                let plan = plan::plan_stamp(graph, &applied, target, purge)?;
                // Edited rows of the target and its ancestors get their new
                // checksum; those of other branches are left to their own
                // stamp (or to `verify`).
                let keep = self.applied_mask(&plan::stamped_set(graph, target)?);
                // Rows the plan does not cover: unknown revisions go (with
                // `purge`), edited ones get their new checksum.
                // A dirty marker goes first: the revision's row is then free
                // for the plan to record.
                let unmark = match &state.marker {
                    Some(marker) => match graph.index_of(&marker.revision) {
                        Some(i) => Some(Step::Unmark(graph.revision(i), marker.direction)),
                        None if purge => Some(Step::Forget(marker.revision.clone())),
                        None => {
                            return Err(Error::UnknownApplied {
                                revisions: vec![marker.revision.clone()],
                            });
                        }
                    },
                    None => None,
                };
                let mut steps: Vec<Step<'_>> = unmark.into_iter().collect();
                steps.extend(state
                    .applied
                    .iter()
                    .filter_map(|row| match graph.index_of(&row.revision) {
                        None => Some(Step::Forget(row.revision.clone())),
                        Some(i) if keep[i] && graph.revision(i).checksum != row.checksum => {
                            Some(Step::Rechecksum(graph.revision(i)))
                        }
                        Some(_) => None,
                    }));
                steps.extend(
                    plan.steps
                        .iter()
                        .map(|s| Step::Record(graph.revision(s.revision), s.direction)),
                );
                let mut ledger = Ledger::read(&state);
                let mut executor = self.executor(&store, restore);
                executor.command = &command;
                let mut report =
                    executor.execute(&mut Live(backend, held), &steps, &mut ledger, progress)?;
                report.steps.splice(0..0, adopted.steps);
                Ok(report)
            },
        )
    }

    /// The SQL script an upgrade from `from` (the database's assumed state:
    /// `base`, or a revision with all its ancestors applied) to `to` would
    /// run on `backend`, without touching any database: transaction
    /// statements, each revision's SQL, version-table and audit statements.
    /// Runnable as is with `psql`, `sqlite3` or `mysql`.
    ///
    /// A script cannot lie about what it did: each revision's block first
    /// checks that the version table is where the script expects (the
    /// revision's parents applied and itself not, and the block before it
    /// done), and writes its version-table and audit rows only where that
    /// still holds. The audit rows take the server's time, client and user
    /// when the script runs. What each backend guarantees, with a client
    /// that goes on after errors (`psql` without `ON_ERROR_STOP`, `sqlite3`
    /// without `-bail`, `mysql --force`):
    ///
    /// - PostgreSQL: a failed statement aborts its block's transaction, so
    ///   the block records nothing; the next block's check then fails (the
    ///   block before did not record), which aborts that block too, and so
    ///   on: no transactional block after the failure writes or records. A
    ///   `Transaction: false` block's statements run outside any
    ///   transaction, so no check can stop them: after an earlier failure
    ///   they may still run, but are not recorded (the block records in a
    ///   transaction of its own, after checking again and finding no invalid
    ///   index); a failure among its own statements that leaves no invalid
    ///   index cannot be seen by SQL, and that block records.
    /// - SQLite: no procedural block can stop a statement, so `sqlite3`
    ///   without `-bail` runs every statement; a block whose check fails
    ///   records nothing, but a statement that fails inside a block whose
    ///   check passed is not seen, and the block records.
    /// - MySQL and MariaDB: as SQLite (a failed check is an error, but
    ///   cannot stop the statements after it). Every revision's block
    ///   writes and commits its dirty marker first, as DDL commits on its
    ///   own there.
    /// - With a client that stops at the first error: nothing after the
    ///   failure runs, and its block's transaction is rolled back; on
    ///   MySQL the failed revision's dirty marker stays (its statements
    ///   before the failure are in effect), and `current` shows it.
    ///
    /// So run PostgreSQL scripts with `psql -v ON_ERROR_STOP=1`, SQLite
    /// scripts with `sqlite3 -bail` (or any client that stops at the first
    /// error, such as `executescript`) and MySQL scripts with `mysql` without
    /// `--force`, as the script's first line says. On
    /// PostgreSQL use a direct connection, not a pooler in transaction mode:
    /// a `Transaction: false` revision's session settings (its timeouts, any
    /// `SET` in its SQL) would stay on a server connection other clients
    /// get.
    ///
    /// Scripts never retry a revision after a lock timeout.
    pub fn upgrade_sql(
        &self,
        backend: BackendKind,
        from: impl Into<Target>,
        to: impl Into<Target>,
    ) -> Result<String> {
        self.upgrade_sql_to(backend, &from.into(), to.into())
    }

    /// [`Migrator::upgrade_sql`], not generic.
    fn upgrade_sql_to(&self, backend: BackendKind, from: &Target, to: Target) -> Result<String> {
        self.offline(backend, from, |graph, applied| {
            plan::plan_upgrade(graph, applied, &to)
        })
    }

    /// The SQL script of a downgrade from `from` to `to`, like
    /// [`Migrator::upgrade_sql`].
    pub fn downgrade_sql(
        &self,
        backend: BackendKind,
        from: impl Into<Target>,
        to: impl Into<Target>,
    ) -> Result<String> {
        self.downgrade_sql_to(backend, &from.into(), to.into())
    }

    /// [`Migrator::downgrade_sql`], not generic.
    fn downgrade_sql_to(&self, backend: BackendKind, from: &Target, to: Target) -> Result<String> {
        self.offline(backend, from, |graph, applied| {
            plan::plan_downgrade(graph, applied, &to)
        })
    }

    fn offline(
        &self,
        backend: BackendKind,
        from: &Target,
        make_plan: impl FnOnce(&Graph, &[usize]) -> std::result::Result<Plan, PlanError>,
    ) -> Result<String> {
        let graph = self.graph();
        let applied = plan::stamped_set(graph, from)?;
        let plan = make_plan(graph, &applied)?;
        if let Some(rust) = plan
            .steps
            .iter()
            .map(|s| graph.revision(s.revision))
            .find(|r| r.is_rust())
        {
            return Err(Error::NotRenderable {
                revision: rust.id.to_string(),
                file: rust.file_name.to_string(),
            });
        }
        let mut script = Script::new(crate::backend::dialect(backend));
        script.line(&format!(
            "-- migrator: {} revision(s) for {backend}, generated {} UTC",
            plan.steps.len(),
            chrono::Utc::now().format("%Y-%m-%d %H:%M:%S")
        ));
        script.line(match backend {
            BackendKind::Postgres => {
                "-- Run with a client that stops at the first error, on a direct connection \
                 (not through a pooler in transaction mode): psql -v ON_ERROR_STOP=1 -f <file>"
            }
            BackendKind::Sqlite => {
                "-- Run with a client that stops at the first error: sqlite3 -bail <db> < <file>"
            }
            BackendKind::Mysql => {
                "-- Run with a client that stops at the first error: mysql <db> < <file> (without --force)"
            }
        });
        self.store.check_names(backend, false)?;
        let create = self.store.create_sql(script.dialect());
        script
            .execute(&create)
            .map_err(Error::database("rendering"))?;
        let mut ledger = Ledger::assumed(applied.len());
        let steps = self.run_steps(&plan);
        self.executor(&self.store, script.dialect().reset_timeouts_sql())
            .execute(&mut script, &steps, &mut ledger, &mut |_| {})?;
        Ok(script.text)
    }

    /// Reads and verifies the state and plans; with something to do, takes
    /// the lock, reads, verifies and plans again, and executes. With
    /// `upgrade`, a database ahead of this build is no error (see
    /// [`Migrator::upgrade`]).
    fn run(
        &self,
        backend: &mut dyn Backend,
        upgrade: bool,
        make_plan: impl Fn(&Graph, &[usize]) -> std::result::Result<Plan, PlanError>,
    ) -> Result<Report> {
        outside_transaction(backend)?;
        self.store.check_names(
            backend.dialect().kind(),
            self.options.lock == LockStrategy::Table,
        )?;
        let graph = self.graph();
        let mut progress = self.progress();
        // Nothing to do costs one query (two where an unqualified name is
        // resolved) and no lock. A dirty marker is judged under the lock:
        // before it, it may be the marker of a run in progress.
        let store = self.store.resolve(backend, false)?;
        let state = self.read_state(&store, backend)?;
        // Read once, after the version table (whose error names it first):
        // migrator never writes diesel's table.
        let listed = adopt::diesel_versions(backend)?;
        let listed = listed.as_deref();
        let plan_now = |state: &State,
                        progress: &mut dyn FnMut(Event<'_>)|
         -> Result<(Plan, Vec<String>)> {
            self.stop_if_dirty(state)?;
            let (applied, ahead) = self.known_applied(state, upgrade, progress)?;
            if let Some(problem) = self.problems(state, listed).into_iter().find(|p| match p {
                Problem::Edited { .. } => !self.options.ignore_checksums,
                Problem::Unknown { .. } => ahead.is_empty(),
                Problem::MissingAncestor { .. } => true,
            }) {
                return Err(problem.into_error());
            }
            Ok((make_plan(graph, &applied)?, ahead))
        };
        // A database to adopt from diesel is adopted under the lock.
        if state.marker.is_none() && self.to_adopt(&store, backend, &state, listed)?.is_empty() {
            let (plan, ahead) = plan_now(&state, &mut progress)?;
            if plan.is_empty() {
                return Ok(Report {
                    ahead,
                    ..Report::default()
                });
            }
        }
        let store = store.resolve(backend, true)?;
        with_lock(
            backend,
            &store,
            &self.options,
            &mut progress,
            |backend, restore, held, progress| {
                let state = self.read_state(&store, backend)?;
                let command = if upgrade { "upgrade" } else { "downgrade" };
                let (state, adopted) = self.adopt(
                    &store,
                    backend,
                    (restore, held),
                    state,
                    listed,
                    command,
                    progress,
                )?;
                let (plan, ahead) = plan_now(&state, progress)?;
                let mut ledger = Ledger::read(&state);
                let steps = self.run_steps(&plan);
                let mut report = self.executor(&store, restore).execute(
                    &mut Live(backend, held),
                    &steps,
                    &mut ledger,
                    progress,
                )?;
                report.steps.splice(0..0, adopted.steps);
                report.ahead = ahead;
                Ok(report)
            },
        )
    }

    /// True when the version table's digest, computed by the database in one
    /// query, is the digest of every revision applied with this build's
    /// checksums. False on any doubt (no version table, an error): the
    /// caller then reads the whole version table.
    fn at_head(&self, backend: &mut dyn Backend) -> bool {
        let (sql, joined) = match backend.dialect().digest_sql(self.store.table()) {
            DigestSql::Sum(sql) => (sql, false),
            DigestSql::Joined(sql) => (sql, true),
        };
        let digest = match backend.load_digest(&sql).as_deref() {
            Ok([row]) => {
                let rows = u64::try_from(row.n).unwrap_or(0);
                if joined {
                    StateDigest::from_joined(rows, row.value.as_deref())
                } else {
                    match StateDigest::from_parts(rows, row.value.as_deref()) {
                        Some(digest) => digest,
                        None => return false,
                    }
                }
            }
            _ => return false,
        };
        digest.to_string() == self.migrations.head_state()
    }

    /// The executor's steps for a plan of revisions to run.
    fn run_steps(&self, plan: &Plan) -> Vec<Step<'m>> {
        let graph = self.graph();
        plan.steps
            .iter()
            .map(|s| Step::Run(graph.revision(s.revision), s.direction))
            .collect()
    }

    fn executor<'a>(&'a self, store: &'a Store, restore_timeouts: &'a str) -> Executor<'a> {
        Executor {
            migrations: self.migrations,
            options: &self.options,
            store,
            restore_timeouts,
            command: "",
        }
    }

    /// The events' path: `on_event`'s hook, if any.
    fn progress(&self) -> impl FnMut(Event<'_>) + '_ {
        move |event: Event<'_>| {
            if let Some(hook) = &self.hook {
                (hook.lock().unwrap_or_else(PoisonError::into_inner))(&event);
            }
        }
    }

    /// The state, for the commands that only read (`pending`, `verify`,
    /// `check`). A dirty marker is judged as [`Migrator::run`] judges it,
    /// under the run lock: before it, the marker may be that of a run in
    /// progress (a long `CREATE INDEX CONCURRENTLY` on another replica),
    /// which this waits for (up to the lock timeout) instead of calling it
    /// dirt. A marker still there under the lock stops the command.
    ///
    /// Also the versions diesel's table lists, if it is there.
    fn read_judged(&self, backend: &mut dyn Backend) -> Result<(State, Option<Vec<String>>)> {
        outside_transaction(backend)?;
        let store = self.store.resolve(backend, false)?;
        let state = self.read_state(&store, backend)?;
        let listed = adopt::diesel_versions(backend)?;
        if state.marker.is_none() {
            let state = self.with_adoptable(&store, backend, state, listed.as_deref())?;
            return Ok((state, listed));
        }
        let store = store.resolve(backend, true)?;
        let state = with_lock(
            backend,
            &store,
            &self.options,
            &mut self.progress(),
            |backend, _restore, _held, _progress| {
                let state = self.read_state(&store, backend)?;
                self.stop_if_dirty(&state)?;
                Ok(state)
            },
        )?;
        Ok((state, listed))
    }

    /// The revisions to adopt from diesel_migrations (see `adopt`): those
    /// whose ID `listed` (diesel's table, if it is there) holds, in the
    /// graph's order, when migrator has no history of its own in the
    /// database; none otherwise. A listed version no revision carries stops
    /// the command.
    fn to_adopt(
        &self,
        store: &Store,
        backend: &mut dyn Backend,
        state: &State,
        listed: Option<&[String]>,
    ) -> Result<Vec<&'m Revision>> {
        let Some(versions) = listed else {
            return Ok(Vec::new());
        };
        if !adopt::never_migrated(backend, store, state)? {
            return Ok(Vec::new());
        }
        let graph = self.graph();
        let unknown: Vec<String> = versions
            .iter()
            .filter(|v| graph.index_of(v).is_none())
            .cloned()
            .collect();
        if !unknown.is_empty() {
            return Err(Error::UnknownDieselVersions { versions: unknown });
        }
        let mask = self.listed_mask(versions);
        Ok(graph
            .order()
            .iter()
            .filter(|&&i| mask[i])
            .map(|&i| graph.revision(i))
            .collect())
    }

    /// `versions` (diesel's table) as a mask indexed by revision.
    fn listed_mask(&self, versions: &[String]) -> Vec<bool> {
        let graph = self.graph();
        let mut mask = vec![false; graph.len()];
        for i in versions.iter().filter_map(|v| graph.index_of(v)) {
            mask[i] = true;
        }
        mask
    }

    /// The revisions diesel has not run while it ran a descendant of them
    /// (`listed` is diesel's table, if it is there): pending, as diesel
    /// would run them, so their gap in the version table is no problem.
    fn diesel_pending(&self, listed: Option<&[String]>) -> Vec<bool> {
        let graph = self.graph();
        let Some(versions) = listed else {
            return vec![false; graph.len()];
        };
        let ran = self.listed_mask(versions);
        // Whether a descendant of each revision ran, from the tips down.
        let mut below = vec![false; graph.len()];
        for &i in graph.order().iter().rev() {
            below[i] = graph.children(i).iter().any(|&c| ran[c] || below[c]);
        }
        (0..graph.len()).map(|i| below[i] && !ran[i]).collect()
    }

    /// Under the lock (the statements that give the session its timeouts
    /// back, and the held lock): records the revisions to adopt from diesel
    /// as applied (see `adopt`), in one transaction, with `command` in
    /// their audit entries; then the state after it, and what it recorded.
    #[allow(clippy::too_many_arguments)]
    fn adopt(
        &self,
        store: &Store,
        backend: &mut dyn Backend,
        (restore, held): (&str, &mut Held),
        state: State,
        listed: Option<&[String]>,
        command: &str,
        progress: &mut dyn FnMut(Event<'_>),
    ) -> Result<(State, Report)> {
        let revisions = self.to_adopt(store, backend, &state, listed)?;
        if revisions.is_empty() {
            return Ok((state, Report::default()));
        }
        tracing::info!(
            revisions = revisions.len(),
            "adopting a database diesel_migrations migrated: recording the revisions \
             `__diesel_schema_migrations` lists as applied"
        );
        let steps: Vec<Step<'_>> = revisions.into_iter().map(Step::Adopt).collect();
        let mut ledger = Ledger::read(&state);
        let mut executor = self.executor(store, restore);
        executor.command = command;
        let report = executor.execute(&mut Live(backend, held), &steps, &mut ledger, progress)?;
        Ok((self.read_state(store, backend)?, report))
    }

    /// `state` with the revisions to adopt from diesel as applied (with this
    /// build's checksums, applied now), for the commands that only read:
    /// they answer as the next writing command, which adopts them, will
    /// leave the database.
    fn with_adoptable(
        &self,
        store: &Store,
        backend: &mut dyn Backend,
        mut state: State,
        listed: Option<&[String]>,
    ) -> Result<State> {
        let revisions = self.to_adopt(store, backend, &state, listed)?;
        let last = state.applied.iter().map(|a| a.seq).max().unwrap_or(0);
        let now = chrono::Utc::now().naive_utc();
        for (seq, revision) in (last + 1..).zip(revisions) {
            state.applied.push(AppliedRevision {
                revision: revision.id.to_string(),
                checksum: revision.checksum.to_string(),
                applied_at: now,
                execution_ms: 0,
                seq,
            });
        }
        Ok(state)
    }

    /// Reads the version table, its name resolved (see [`Store::resolve`]).
    fn resolve_and_read(&self, backend: &mut dyn Backend) -> Result<State> {
        self.read_state(&self.store.resolve(backend, false)?, backend)
    }

    /// Reads the version table of `store` (resolved, see [`Store::resolve`]);
    /// empty when it does not exist yet.
    /// A dirty marker among the rows is taken out of the applied ones, with
    /// its error from the audit log.
    fn read_state(&self, store: &Store, backend: &mut dyn Backend) -> Result<State> {
        let sql = store.select_sql(backend.dialect());
        let rows = unless_missing(backend, &[store.table()], |b| b.load_versions(&sql))
            .map_err(Error::database("reading the version table"))?;
        let Some(rows) = rows else {
            store.refuse_if_elsewhere(backend)?;
            return Ok(State::default());
        };
        let (markers, applied): (Vec<_>, Vec<_>) = rows
            .into_iter()
            .partition(|row| marker_direction(&row.checksum).is_some());
        let marker = match markers.into_iter().next() {
            Some(row) => Some(self.marker_of(store, backend, row)?),
            None => None,
        };
        Ok(State { applied, marker })
    }

    /// The dirty marker of the version-table row `row`, with the error the
    /// audit log recorded after it was written (if any).
    fn marker_of(
        &self,
        store: &Store,
        backend: &mut dyn Backend,
        row: AppliedRevision,
    ) -> Result<DirtyMarker> {
        let direction = marker_direction(&row.checksum).unwrap_or(Direction::Upgrade);
        let store = store.resolve(backend, true)?;
        let sql = store.select_audit_of_sql(backend.dialect(), &row.revision);
        let entries = unless_missing(backend, &[store.audit_table()], |b| b.load_audit(&sql))
            .map_err(Error::database("reading the audit log"))?
            .unwrap_or_default();
        // The outcome recorded after the last start of that direction.
        let action = match direction {
            Direction::Upgrade => Action::Upgrade,
            Direction::Downgrade => Action::Downgrade,
        };
        let started = entries
            .iter()
            .rposition(|e| e.action == action.as_str() && e.outcome == Outcome::Started.as_str());
        let error = started.and_then(|i| {
            entries[i + 1..]
                .iter()
                .find(|e| e.action == action.as_str() && e.outcome == Outcome::Failure.as_str())
                .map(|e| e.detail.clone())
        });
        Ok(DirtyMarker {
            revision: row.revision,
            direction,
            since: row.applied_at,
            error,
        })
    }

    /// Stops with [`Error::Dirty`] when the version table holds a dirty
    /// marker: every command but `current`, `history`, `show` and `stamp`.
    fn stop_if_dirty(&self, state: &State) -> Result<()> {
        let Some(marker) = &state.marker else {
            return Ok(());
        };
        let graph = self.graph();
        let revision = graph.index_of(&marker.revision).map(|i| graph.revision(i));
        let (undone, done) = revision.map_or_else(
            || {
                (
                    "`stamp` to the revision before it (with the build that has it)".to_owned(),
                    format!("`stamp {}` (with the build that has it)", marker.revision),
                )
            },
            |r| repair_stamps(r, marker.direction),
        );
        Err(Error::Dirty {
            marker: Box::new(marker.clone()),
            file: revision.map_or_else(
                || "not in this build".to_owned(),
                |r| r.file_name.to_string(),
            ),
            undone,
            done,
        })
    }

    /// Maps the version table's rows to graph indices; a row this build does
    /// not know stops the run.
    fn applied_indices(&self, state: &State) -> Result<Vec<usize>> {
        Ok(self.known_applied(state, false, &mut |_| {})?.0)
    }

    /// The version table's rows as graph indices, and (with `allow_ahead`,
    /// on a database ahead of this build) the revisions it does not know,
    /// announced by a warning; any other row this build does not know stops
    /// the run.
    fn known_applied(
        &self,
        state: &State,
        allow_ahead: bool,
        progress: &mut dyn FnMut(Event<'_>),
    ) -> Result<(Vec<usize>, Vec<String>)> {
        let (applied, unknown) = self.split(state);
        if unknown.is_empty() {
            return Ok((applied, unknown));
        }
        if allow_ahead && self.is_ahead(&applied, &unknown) {
            self.warn_ahead(&unknown, progress);
            return Ok((applied, unknown));
        }
        Err(Error::UnknownApplied { revisions: unknown })
    }

    /// The rows this build knows, as graph indices, and the others' IDs, in
    /// the order of application.
    fn split(&self, state: &State) -> (Vec<usize>, Vec<String>) {
        let graph = self.graph();
        let mut unknown = Vec::new();
        let mut applied = Vec::with_capacity(state.applied.len());
        for row in &state.applied {
            match graph.index_of(&row.revision) {
                Some(i) => applied.push(i),
                None => unknown.push(row.revision.clone()),
            }
        }
        (applied, unknown)
    }

    /// True when the database is ahead of this build: revisions it does not
    /// know are applied, and so is every revision of this build.
    fn is_ahead(&self, applied: &[usize], unknown: &[String]) -> bool {
        !unknown.is_empty() && self.applied_mask(applied).iter().all(|&a| a)
    }

    /// Warns, in `tracing` and as an [`Event::Ahead`], that the database is
    /// ahead of this build.
    fn warn_ahead(&self, unknown: &[String], progress: &mut dyn FnMut(Event<'_>)) {
        tracing::warn!(
            revisions = %unknown.join(", "),
            "the database is ahead of this build: every revision of this build is applied, and \
             so are revisions it does not know (a newer build migrated it); nothing to do"
        );
        progress(Event::Ahead { revisions: unknown });
    }

    /// `applied` as a mask indexed by revision.
    fn applied_mask(&self, applied: &[usize]) -> Vec<bool> {
        let mut mask = vec![false; self.graph().len()];
        for &i in applied {
            mask[i] = true;
        }
        mask
    }

    /// Edited and unknown applied revisions, in the order of application,
    /// then the revisions not applied while revisions after them are.
    ///
    /// `listed` is diesel's table, if it is there: a revision diesel has not
    /// run while it ran a later one is pending, not missing.
    fn problems(&self, state: &State, listed: Option<&[String]>) -> Vec<Problem> {
        let mut problems = self.row_problems(state);
        let pending = self.diesel_pending(listed);
        problems.extend(
            self.missing_ancestors(state)
                .into_iter()
                .filter(|p| !matches!(p, Problem::MissingAncestor { revision, .. }
                    if self.graph().index_of(revision).is_some_and(|i| pending[i]))),
        );
        problems
    }

    /// The revisions not applied while some of their descendants are, in
    /// the graph's order: each with those descendants and the stamps that
    /// record it again.
    fn missing_ancestors(&self, state: &State) -> Vec<Problem> {
        let graph = self.graph();
        let (applied, _) = self.split(state);
        let mask = self.applied_mask(&applied);
        let tips = graph.tips(&mask);
        graph
            .order()
            .iter()
            .filter(|&&i| !mask[i])
            .filter_map(|&i| {
                let below = graph.descendants(i);
                let descendants: Vec<String> = applied
                    .iter()
                    .filter(|&&a| below[a])
                    .map(|&a| graph.revision(a).id.to_string())
                    .collect();
                (!descendants.is_empty()).then(|| Problem::MissingAncestor {
                    revision: graph.revision(i).id.to_string(),
                    file: graph.revision(i).file_name.to_string(),
                    descendants,
                    tips: tips
                        .iter()
                        .filter(|&&t| below[t])
                        .map(|&t| graph.revision(t).id.to_string())
                        .collect(),
                })
            })
            .collect()
    }

    /// Edited and unknown applied revisions, in the order of application.
    fn row_problems(&self, state: &State) -> Vec<Problem> {
        let graph = self.graph();
        state
            .applied
            .iter()
            .filter_map(
                |row| match graph.index_of(&row.revision).map(|i| graph.revision(i)) {
                    None => Some(Problem::Unknown {
                        revision: row.revision.clone(),
                    }),
                    Some(revision) if revision.checksum != row.checksum => Some(Problem::Edited {
                        revision: row.revision.clone(),
                        file: revision.file_name.to_string(),
                        recorded: row.checksum.clone(),
                        current: revision.checksum.to_string(),
                    }),
                    Some(_) => None,
                },
            )
            .collect()
    }
}

