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
//! CONCURRENTLY`) runs outside any transaction, and its version-table row is
//! written after its SQL succeeded. If it fails halfway, the statements
//! before the failure stay in effect while the version table still shows the
//! previous revision: the error says so ([`Error::NonTransactional`]); repair
//! by hand, then run it again or `stamp` it. Such a revision cannot be part
//! of a single-transaction run.
//!
//! # Concurrency
//!
//! A run that has something to do takes a lock first (a PostgreSQL session
//! advisory lock keyed by the database and the version table's name; an
//! exclusive lock on a file beside a SQLite database), then reads the state
//! again, so a replica that waited sees its peer's work and applies nothing
//! twice. The wait is bounded by [`Options::lock_timeout`]. A run with nothing
//! to do takes no lock and writes nothing. The connection must not be inside
//! a transaction ([`Error::InTransaction`]): each revision commits on its
//! own, and the session lock would be released before the caller's commit.
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

use std::sync::{Mutex, PoisonError};

use crate::backend::{Backend, DigestSql};
use crate::bookkeeping::Store;
use crate::connection::MigrationConnection;
use crate::error::{Error, Result};
use crate::executor::{Executor, Ledger, Live, Script, Sink, Step};
use crate::graph::Graph;
use crate::lock::{outside_transaction, unless_missing, with_lock};
use crate::migrations::Migrations;
use crate::model::{BackendKind, Revision, StateDigest};
use crate::options::Options;
use crate::report::{Event, Problem, Report, State};
use crate::rows::AuditEntry;
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
        let store = Store::new(&options.version_table, &options.audit_table);
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

    /// Reads the version table (empty when it does not exist yet). One query.
    pub fn state(&self, conn: &mut impl MigrationConnection) -> Result<State> {
        self.read_state(conn.__backend())
    }

    /// The audit log, oldest entry first (empty before the first run).
    pub fn audit_log(&self, conn: &mut impl MigrationConnection) -> Result<Vec<AuditEntry>> {
        self.audit_of(conn.__backend())
    }

    /// [`Migrator::audit_log`], not generic.
    fn audit_of(&self, backend: &mut dyn Backend) -> Result<Vec<AuditEntry>> {
        let sql = self.store.select_audit_sql(backend.dialect());
        let entries = unless_missing(backend, &[self.store.audit_table()], |b| b.load_audit(&sql))
            .map_err(Error::database("reading the audit log"))?;
        Ok(entries.unwrap_or_default())
    }

    /// The revisions the database is at: the applied revisions that no
    /// applied revision revises (several after a partial upgrade of branches,
    /// or a downgrade below a merge). Empty at base.
    pub fn current(&self, conn: &mut impl MigrationConnection) -> Result<Vec<&'m Revision>> {
        self.current_of(conn.__backend())
    }

    /// [`Migrator::current`], not generic.
    fn current_of(&self, backend: &mut dyn Backend) -> Result<Vec<&'m Revision>> {
        let applied = self.applied_indices(&self.read_state(backend)?)?;
        let graph = self.graph();
        Ok(graph
            .tips(&self.applied_mask(&applied))
            .into_iter()
            .map(|i| graph.revision(i))
            .collect())
    }

    /// The revisions an upgrade to head would apply, in order.
    pub fn pending(&self, conn: &mut impl MigrationConnection) -> Result<Vec<&'m Revision>> {
        self.pending_of(conn.__backend())
    }

    /// [`Migrator::pending`], not generic.
    fn pending_of(&self, backend: &mut dyn Backend) -> Result<Vec<&'m Revision>> {
        let applied = self.applied_indices(&self.read_state(backend)?)?;
        let graph = self.graph();
        let plan = plan::plan_upgrade(graph, &applied, &Target::Head)?;
        Ok(plan
            .steps
            .iter()
            .map(|s| graph.revision(s.revision))
            .collect())
    }

    /// Every disagreement between the database and this build: applied
    /// revisions whose file changed, and applied revisions this build does not
    /// know. Empty when all is well.
    pub fn verify(&self, conn: &mut impl MigrationConnection) -> Result<Vec<Problem>> {
        Ok(self.problems(&self.read_state(conn.__backend())?))
    }

    /// Upgrades to `target` ([`Target::Head`], a revision constant such as
    /// `revisions::REV_004_ADD_KEY_PREFIX`, or a parsed target such as
    /// `"+1".parse()?`).
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
        self.run(backend, |graph, applied| {
            plan::plan_upgrade(graph, applied, &target)
        })
    }

    /// Downgrades to `target` ([`Target::Base`], a revision, `-1`…).
    pub fn downgrade(
        &self,
        conn: &mut impl MigrationConnection,
        target: impl Into<Target>,
    ) -> Result<Report> {
        self.downgrade_to(conn.__backend(), target.into())
    }

    /// [`Migrator::downgrade`], not generic.
    fn downgrade_to(&self, backend: &mut dyn Backend, target: Target) -> Result<Report> {
        self.run(backend, |graph, applied| {
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
        let mut progress = self.progress();
        with_lock(
            backend,
            &self.store,
            self.options.lock_timeout,
            &mut progress,
            |backend, restore, progress| {
                let state = self.read_state(backend)?;
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
                let mut steps: Vec<Step<'_>> = state
                    .applied
                    .iter()
                    .filter_map(|row| match graph.index_of(&row.revision) {
                        None => Some(Step::Forget(row.revision.clone())),
                        Some(i) if keep[i] && graph.revision(i).checksum != row.checksum => {
                            Some(Step::Rechecksum(graph.revision(i)))
                        }
                        Some(_) => None,
                    })
                    .collect();
                steps.extend(
                    plan.steps
                        .iter()
                        .map(|s| Step::Record(graph.revision(s.revision), s.direction)),
                );
                let mut ledger = Ledger::read(&state);
                let command = format!("stamp{} {target}", if purge { " --purge" } else { "" });
                let mut executor = self.executor(restore);
                executor.command = &command;
                executor.execute(&mut Live(backend), &steps, &mut ledger, progress)
            },
        )
    }

    /// The SQL script an upgrade from `from` (the database's assumed state:
    /// `base`, or a revision with all its ancestors applied) to `to` would
    /// run on `backend`, without touching any database: transaction
    /// statements, each revision's SQL, version-table and audit statements.
    /// Runnable as is with `psql` or `sqlite3`.
    ///
    /// A script cannot lie about what it did: each revision's block first
    /// checks that the version table is where the script expects (the
    /// revision's parents applied and itself not, and the block before it
    /// done), and writes its version-table and audit rows only where that
    /// still holds. The audit rows take the server's time, client and user
    /// when the script runs. What each backend guarantees, with a client
    /// that goes on after errors (`psql` without `ON_ERROR_STOP`, `sqlite3`
    /// without `-bail`):
    ///
    /// - PostgreSQL: a failed statement aborts its block's transaction, so
    ///   the block records nothing; the next block's check then fails, which
    ///   aborts that block and makes the session read-only
    ///   (`default_transaction_read_only`), so nothing after the failure
    ///   writes, `Transaction: false` statements included. A `Transaction:
    ///   false` block records in a transaction of its own, after checking
    ///   again and finding no invalid index; a failure among its own
    ///   statements that leaves no invalid index cannot be seen by SQL.
    /// - SQLite: no procedural block can stop a statement, so `sqlite3`
    ///   without `-bail` runs every statement; a block whose check fails
    ///   records nothing, but a statement that fails inside a block whose
    ///   check passed is not seen, and the block records. Run SQLite scripts
    ///   with `sqlite3 -bail` (or any client that stops at the first error,
    ///   such as `executescript`), and nothing after a failure runs.
    /// - With a client that stops at the first error, on both: nothing after
    ///   the failure runs, and its block's transaction is rolled back.
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
        let create = self.store.create_sql(script.dialect());
        script
            .execute(&create)
            .map_err(Error::database("rendering"))?;
        let mut ledger = Ledger::assumed(applied.len());
        let steps = self.run_steps(&plan);
        self.executor(script.dialect().reset_timeouts_sql())
            .execute(&mut script, &steps, &mut ledger, &mut |_| {})?;
        Ok(script.text)
    }

    /// Reads and verifies the state and plans; with something to do, takes
    /// the lock, reads, verifies and plans again, and executes.
    fn run(
        &self,
        backend: &mut dyn Backend,
        make_plan: impl Fn(&Graph, &[usize]) -> std::result::Result<Plan, PlanError>,
    ) -> Result<Report> {
        outside_transaction(backend)?;
        let graph = self.graph();
        let plan_now = |backend: &mut dyn Backend| -> Result<(Plan, State)> {
            let state = self.read_state(backend)?;
            let applied = self.applied_indices(&state)?;
            if !self.options.ignore_checksums
                && let Some(problem) = self.problems(&state).into_iter().next()
            {
                return Err(problem.into_error());
            }
            Ok((make_plan(graph, &applied)?, state))
        };
        // Nothing to do costs one query and no lock.
        let (plan, _) = plan_now(backend)?;
        if plan.is_empty() {
            return Ok(Report::default());
        }
        let mut progress = self.progress();
        with_lock(
            backend,
            &self.store,
            self.options.lock_timeout,
            &mut progress,
            |backend, restore, progress| {
                let (plan, state) = plan_now(backend)?;
                let mut ledger = Ledger::read(&state);
                let steps = self.run_steps(&plan);
                self.executor(restore)
                    .execute(&mut Live(backend), &steps, &mut ledger, progress)
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

    fn executor<'a>(&'a self, restore_timeouts: &'a str) -> Executor<'a> {
        Executor {
            migrations: self.migrations,
            options: &self.options,
            store: &self.store,
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

    /// Reads the version table (empty when it does not exist yet).
    fn read_state(&self, backend: &mut dyn Backend) -> Result<State> {
        let sql = self.store.select_sql(backend.dialect());
        let applied = unless_missing(backend, &[self.store.table()], |b| b.load_versions(&sql))
            .map_err(Error::database("reading the version table"))?;
        Ok(State {
            applied: applied.unwrap_or_default(),
        })
    }

    /// Maps the version table's rows to graph indices; a row this build does
    /// not know stops the run.
    fn applied_indices(&self, state: &State) -> Result<Vec<usize>> {
        let graph = self.graph();
        let mut unknown = Vec::new();
        let mut applied = Vec::with_capacity(state.applied.len());
        for row in &state.applied {
            match graph.index_of(&row.revision) {
                Some(i) => applied.push(i),
                None => unknown.push(row.revision.clone()),
            }
        }
        if unknown.is_empty() {
            Ok(applied)
        } else {
            Err(Error::UnknownApplied { revisions: unknown })
        }
    }

    /// `applied` as a mask indexed by revision.
    fn applied_mask(&self, applied: &[usize]) -> Vec<bool> {
        let mut mask = vec![false; self.graph().len()];
        for &i in applied {
            mask[i] = true;
        }
        mask
    }

    /// Edited and unknown applied revisions, in the order of application.
    fn problems(&self, state: &State) -> Vec<Problem> {
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

