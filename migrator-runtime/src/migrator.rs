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
//! to do takes no lock, except to write back the startup digest of a
//! database found at head by a full read, and then without waiting.
//!
//! # Startup
//!
//! `upgrade head` on a database already at head reads one short row: the
//! digest of the version table kept in its state table (see [`Store`]),
//! compared with the digest `embed_migrations!` computed for "every revision
//! applied, with this build's checksums". Equal means nothing to do, nothing
//! edited, nothing unknown; the row also names the version table it was
//! computed from, so a version table replaced or restored since does not
//! match. Otherwise (a state table emptied by a foreign write, an older
//! database, anything pending) the run reads the whole version table and
//! checks it, as every other command does; a database found at head that
//! way gets its digest written back, when the lock is free, so the next
//! start is one row again.

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::time::{Duration, Instant};

use chrono::Utc;

use crate::backend::{AnyConnection, Dialect};
use crate::context::MigrationContext;
use crate::error::{Error, Result};
use crate::graph::Graph;
use crate::migrations::Migrations;
use crate::model::{BackendKind, Body, Direction, Revision, StateDigest};
use crate::plan::{self, Plan, PlanError, Target};
use crate::store::{
    Action, AppliedRevision, AuditEntry, DEFAULT_AUDIT_TABLE, DEFAULT_VERSION_TABLE, Store,
};

/// How a run behaves. `Default` gives the documented defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// The version table (default `migrator_version`).
    pub version_table: String,
    /// The audit log table (default `migrator_audit`).
    pub audit_table: String,
    /// How long to wait for the run lock held by another migrator, and the
    /// lock timeout of every statement (PostgreSQL `lock_timeout`, SQLite's
    /// busy timeout). Default 60 s. A revision's `Timeout:` overrides it for
    /// that revision.
    pub lock_timeout: Duration,
    /// The statement timeout of every statement (PostgreSQL
    /// `statement_timeout`; SQLite has none). Default: no limit. A revision's
    /// `Timeout:` overrides it for that revision.
    pub statement_timeout: Option<Duration>,
    /// Run everything in one transaction: all or nothing.
    pub single_transaction: bool,
    /// Run even though an applied revision's file changed since. Prefer
    /// `stamp`, which records the new checksums.
    pub ignore_checksums: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            version_table: DEFAULT_VERSION_TABLE.to_owned(),
            audit_table: DEFAULT_AUDIT_TABLE.to_owned(),
            lock_timeout: Duration::from_secs(60),
            statement_timeout: None,
            single_transaction: false,
            ignore_checksums: false,
        }
    }
}

/// What a run reports as it goes, for progress output and logs. Every event
/// is also emitted as a `tracing` event.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Event<'a> {
    /// Another migrator holds the lock; this run waits for it.
    WaitingForLock,
    /// A revision is about to run (or be recorded, for `stamp`).
    Started {
        /// The revision.
        revision: &'a Revision,
        /// Which way.
        direction: Direction,
    },
    /// A revision ran and its transaction committed.
    Finished {
        /// The revision.
        revision: &'a Revision,
        /// Which way.
        direction: Direction,
        /// How long it took, bookkeeping included.
        elapsed: Duration,
    },
}

/// One revision run by a [`Migrator`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepReport {
    /// The revision ID.
    pub revision: String,
    /// Which way it ran.
    pub direction: Direction,
    /// How long it took.
    pub elapsed: Duration,
}

/// What a run did: the revisions run, in order. Empty when the database was
/// already at the target.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// The revisions run, in order.
    pub steps: Vec<StepReport>,
}

/// The database's migration state: the applied revisions, in the order they
/// were applied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct State {
    /// The version table's rows, oldest first.
    pub applied: Vec<AppliedRevision>,
}

impl State {
    /// The digest of these rows, as the state table records it.
    pub fn digest(&self) -> StateDigest {
        StateDigest::of(
            self.applied
                .iter()
                .map(|a| (a.revision.as_str(), a.checksum.as_str())),
        )
    }
}

/// The version table as a run changes it.
#[derive(Debug, Default)]
struct Ledger {
    /// The sequence number of the next applied revision.
    next_seq: i64,
    /// A row was written: the trigger emptied the state table, which the
    /// run writes again at its end.
    changed: bool,
}

impl Ledger {
    /// The ledger of the rows read from the database (under the lock).
    fn read(state: &State) -> Ledger {
        Ledger {
            next_seq: state.applied.iter().map(|a| a.seq).max().unwrap_or(0) + 1,
            changed: false,
        }
    }

    /// The ledger of a database assumed to have `applied` recorded
    /// (offline scripts).
    fn assumed(applied: &[usize]) -> Ledger {
        Ledger {
            next_seq: i64::try_from(applied.len()).unwrap_or(i64::MAX - 1) + 1,
            changed: false,
        }
    }

    /// Records a committed step.
    fn record(&mut self, direction: Direction) {
        self.changed = true;
        if direction == Direction::Upgrade {
            self.next_seq += 1;
        }
    }
}

/// A disagreement between the database and this build, found by
/// [`Migrator::verify`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// An applied revision's file changed since it was applied.
    Edited {
        /// The revision ID.
        revision: String,
        /// Its file.
        file: String,
        /// The checksum the version table recorded.
        recorded: String,
        /// The checksum of the file in this build.
        current: String,
    },
    /// The database records a revision this build does not have.
    Unknown {
        /// The revision ID.
        revision: String,
    },
}

impl Problem {
    /// The error a run stops with for this problem.
    fn into_error(self) -> Error {
        match self {
            Problem::Edited {
                revision,
                file,
                recorded,
                current,
            } => Error::ChecksumMismatch {
                revision,
                file,
                recorded,
                current,
            },
            Problem::Unknown { revision } => Error::UnknownApplied {
                revisions: vec![revision],
            },
        }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::Edited {
                revision,
                file,
                recorded,
                current,
            } => write!(
                f,
                "{revision} ({file}) was edited after it was applied: recorded checksum {recorded}, file has {current}"
            ),
            Problem::Unknown { revision } => {
                write!(f, "{revision} is applied but not part of this build")
            }
        }
    }
}

/// What a plan's steps do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Run each revision's SQL or Rust code and record it.
    Run,
    /// Only record (stamp).
    Record,
}

/// Runs the revisions of a [`Migrations`] set against a database.
///
/// # Examples
///
/// ```no_run
/// # fn demo(migrations: &migrator_runtime::Migrations) -> Result<(), migrator_runtime::Error> {
/// use migrator_runtime::{connect, Migrator, Target};
///
/// let mut conn = connect("postgres://app@localhost/factory")?;
/// let report = Migrator::new(migrations).upgrade(&mut conn, &Target::Head)?;
/// println!("{} revision(s) applied", report.steps.len());
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Migrator<'m> {
    migrations: &'m Migrations,
    options: Options,
    store: Store,
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
        }
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
    pub fn state(&self, conn: &mut AnyConnection) -> Result<State> {
        let backend = conn.backend();
        let sql = self.store.select_sql(backend.dialect());
        let applied = unless_missing(backend, &[self.store.table()], |b| b.load_versions(&sql))
            .map_err(Error::database("reading the version table"))?;
        Ok(State {
            applied: applied.unwrap_or_default(),
        })
    }

    /// The audit log, oldest entry first (empty before the first run).
    pub fn audit_log(&self, conn: &mut AnyConnection) -> Result<Vec<AuditEntry>> {
        let backend = conn.backend();
        let sql = self.store.select_audit_sql(backend.dialect());
        let entries = unless_missing(backend, &[self.store.audit_table()], |b| b.load_audit(&sql))
            .map_err(Error::database("reading the audit log"))?;
        Ok(entries.unwrap_or_default())
    }

    /// The revisions the database is at: the applied revisions that no
    /// applied revision revises (several after a partial upgrade of branches,
    /// or a downgrade below a merge). Empty at base.
    pub fn current(&self, conn: &mut AnyConnection) -> Result<Vec<&'m Revision>> {
        let applied = self.applied_indices(&self.state(conn)?)?;
        let graph = self.graph();
        Ok(graph
            .tips(&self.applied_mask(&applied))
            .into_iter()
            .map(|i| graph.revision(i))
            .collect())
    }

    /// The revisions an upgrade to head would apply, in order.
    pub fn pending(&self, conn: &mut AnyConnection) -> Result<Vec<&'m Revision>> {
        let applied = self.applied_indices(&self.state(conn)?)?;
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
    pub fn verify(&self, conn: &mut AnyConnection) -> Result<Vec<Problem>> {
        Ok(self.problems(&self.state(conn)?))
    }

    /// Upgrades to `target` (`head`, an ID or prefix, `+N`…).
    pub fn upgrade(&self, conn: &mut AnyConnection, target: &Target) -> Result<Report> {
        self.upgrade_with(conn, target, &mut |_| {})
    }

    /// [`Migrator::upgrade`], reporting each revision to `progress`.
    pub fn upgrade_with(
        &self,
        conn: &mut AnyConnection,
        target: &Target,
        progress: &mut dyn FnMut(Event<'_>),
    ) -> Result<Report> {
        let to_head = *target == Target::Head;
        self.run(conn, to_head, progress, |graph, applied| {
            plan::plan_upgrade(graph, applied, target)
        })
    }

    /// Downgrades to `target` (`base`, an ID or prefix, `-N`…).
    pub fn downgrade(&self, conn: &mut AnyConnection, target: &Target) -> Result<Report> {
        self.downgrade_with(conn, target, &mut |_| {})
    }

    /// [`Migrator::downgrade`], reporting each revision to `progress`.
    pub fn downgrade_with(
        &self,
        conn: &mut AnyConnection,
        target: &Target,
        progress: &mut dyn FnMut(Event<'_>),
    ) -> Result<Report> {
        self.run(conn, false, progress, |graph, applied| {
            plan::plan_downgrade(graph, applied, target)
        })
    }

    /// Records the database as being exactly at `target` without running any
    /// revision: the repair tool after a failure, and the way to adopt an
    /// existing database. Revisions outside the target's ancestry (including
    /// ones this build does not know) are removed from the version table,
    /// missing ones added, and the checksums of the ones kept are
    /// re-recorded, which accepts edited files.
    pub fn stamp(&self, conn: &mut AnyConnection, target: &Target) -> Result<Report> {
        self.stamp_with(conn, target, &mut |_| {})
    }

    /// [`Migrator::stamp`], reporting each revision to `progress`.
    pub fn stamp_with(
        &self,
        conn: &mut AnyConnection,
        target: &Target,
        progress: &mut dyn FnMut(Event<'_>),
    ) -> Result<Report> {
        self.with_lock(
            conn,
            self.options.lock_timeout,
            progress,
            |conn, progress| {
                let state = self.state(conn)?;
                let graph = self.graph();
                let applied: Vec<usize> = state
                    .applied
                    .iter()
                    .filter_map(|row| graph.index_of(&row.revision))
                    .collect();
                let plan = plan::plan_stamp(graph, &applied, target)?;
                let keep = self.applied_mask(&plan::stamped_set(graph, target)?);
                // Rows the plan does not cover: unknown revisions go, edited
                // ones get their new checksum; each is reported and audited
                // like any stamp step.
                let mut report = Report::default();
                let d = conn.backend().dialect();
                let now = Utc::now().naive_utc();
                let mut ledger = Ledger::read(&state);
                for row in &state.applied {
                    let (fix, direction, known) = match graph.index_of(&row.revision) {
                        None => (
                            self.store.delete_sql(d, &row.revision),
                            Direction::Downgrade,
                            None,
                        ),
                        Some(i) if keep[i] && graph.revision(i).checksum != row.checksum => (
                            self.store.update_checksum_sql(
                                d,
                                &row.revision,
                                &graph.revision(i).checksum,
                            ),
                            Direction::Upgrade,
                            Some(graph.revision(i)),
                        ),
                        Some(_) => continue,
                    };
                    let audit =
                        self.store
                            .audit_sql(d, now, &row.revision, Action::Stamp, 0, true, "");
                    let fixed = conn
                        .backend()
                        .execute(&format!("{fix}\n{audit}"))
                        .map_err(Error::database("re-recording the version table"));
                    ledger.changed = true;
                    if let Err(error) = fixed {
                        self.write_state(conn);
                        return Err(error);
                    }
                    if let Some(revision) = known {
                        progress(Event::Finished {
                            revision,
                            direction,
                            elapsed: Duration::ZERO,
                        });
                    }
                    report.steps.push(StepReport {
                        revision: row.revision.clone(),
                        direction,
                        elapsed: Duration::ZERO,
                    });
                }
                let planned = self.execute(conn, &plan, Mode::Record, &mut ledger, progress);
                if ledger.changed {
                    self.write_state(conn);
                }
                report.steps.extend(planned?.steps);
                Ok(report)
            },
        )
    }

    /// The SQL script an upgrade from `from` (the database's assumed state:
    /// `base`, or a revision with all its ancestors applied) to `to` would
    /// run on `backend`, without touching any database: transaction
    /// statements, each revision's SQL, version-table and audit statements.
    /// Runnable as is with `psql` or `sqlite3`.
    pub fn upgrade_sql(&self, backend: BackendKind, from: &Target, to: &Target) -> Result<String> {
        self.offline(backend, from, |graph, applied| {
            plan::plan_upgrade(graph, applied, to)
        })
    }

    /// The SQL script of a downgrade from `from` to `to`, like
    /// [`Migrator::upgrade_sql`].
    pub fn downgrade_sql(
        &self,
        backend: BackendKind,
        from: &Target,
        to: &Target,
    ) -> Result<String> {
        self.offline(backend, from, |graph, applied| {
            plan::plan_downgrade(graph, applied, to)
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
            Utc::now().format("%Y-%m-%d %H:%M:%S")
        ));
        let create = self.store.create_sql(script.dialect);
        script
            .execute(&create)
            .map_err(Error::database("rendering"))?;
        // The state table is created (with its trigger, in a transaction)
        // and left empty: the script cannot know what the database really
        // holds, so the first live start reads the version table and writes
        // the digest.
        let state = self.store.create_state_sql(script.dialect);
        let rendered = script
            .begin()
            .and_then(|()| script.execute(&state))
            .and_then(|()| script.commit());
        rendered.map_err(Error::database("rendering"))?;
        let mut ledger = Ledger::assumed(&applied);
        self.execute(&mut script, &plan, Mode::Run, &mut ledger, &mut |_| {})?;
        Ok(script.text)
    }

    /// Reads and verifies the state and plans; with something to do, takes
    /// the lock, reads, verifies and plans again, and executes. `to_head`:
    /// the target is head, which the state table can confirm in one row.
    fn run(
        &self,
        conn: &mut AnyConnection,
        to_head: bool,
        progress: &mut dyn FnMut(Event<'_>),
        make_plan: impl Fn(&Graph, &[usize]) -> std::result::Result<Plan, PlanError>,
    ) -> Result<Report> {
        if to_head && self.state_is_head(conn) {
            return Ok(Report::default());
        }
        let graph = self.graph();
        let plan_now = |conn: &mut AnyConnection| -> Result<(Plan, State)> {
            let state = self.state(conn)?;
            let applied = self.applied_indices(&state)?;
            if !self.options.ignore_checksums
                && let Some(problem) = self.problems(&state).into_iter().next()
            {
                return Err(problem.into_error());
            }
            Ok((make_plan(graph, &applied)?, state))
        };
        // Nothing to do costs one query and no lock.
        let (plan, state) = plan_now(conn)?;
        if plan.is_empty() {
            if to_head && !graph.is_empty() {
                self.refresh_state(conn, &state);
            }
            return Ok(Report::default());
        }
        self.with_lock(
            conn,
            self.options.lock_timeout,
            progress,
            |conn, progress| {
                let (plan, state) = plan_now(conn)?;
                let mut ledger = Ledger::read(&state);
                let report = self.execute(conn, &plan, Mode::Run, &mut ledger, progress);
                if ledger.changed {
                    self.write_state(conn);
                }
                report
            },
        )
    }

    /// True when the state table's row is the digest of every revision
    /// applied with this build's checksums: one short query. False on any
    /// doubt (no state table, an emptied one, an error): the caller then
    /// reads the whole version table.
    fn state_is_head(&self, conn: &mut AnyConnection) -> bool {
        let backend = conn.backend();
        let sql = self.store.select_state_sql(backend.dialect());
        match backend.load_text(&sql).as_deref() {
            Ok([row]) => row.value == self.migrations.head_state(),
            _ => false,
        }
    }

    /// Writes the state table's row for a database found at head by reading
    /// the whole version table (its state table was new, or emptied by a
    /// foreign write), so that the next start reads one row. Best effort and
    /// without waiting: a role without write rights, or a lock held by
    /// another run, only means the next start reads the whole table again.
    fn refresh_state(&self, conn: &mut AnyConnection, state: &State) {
        if state.digest().to_string() != self.migrations.head_state() {
            // Recorded checksums differ (`--ignore-checksums`): no digest of
            // this state can match.
            return;
        }
        let outcome = self.with_lock(conn, Duration::ZERO, &mut |_| {}, |conn, _| {
            self.write_state(conn);
            Ok(())
        });
        if let Err(error) = outcome {
            tracing::debug!(%error, "the state table was not refreshed");
        }
    }

    /// Writes the digest of the version table into the state table, both in
    /// one transaction with the version table locked against writers, so
    /// that the digest is of the rows as committed: whatever a failed or
    /// rolled-back step, a foreign write or a non-atomic batch left. Best
    /// effort: without it the state table stays empty (the trigger emptied
    /// it), which only costs the next start a full read.
    fn write_state(&self, conn: &mut AnyConnection) {
        let backend = conn.backend();
        let d = backend.dialect();
        let written = in_transaction(backend, |b| {
            if let Some(lock) = d.share_lock_sql(self.store.table()) {
                b.execute(&lock)?;
            }
            let state = State {
                applied: b.load_versions(&self.store.select_sql(d))?,
            };
            b.execute(&self.store.write_state_sql(d, &state.digest()))
        });
        if let Err(error) = written {
            tracing::debug!(%error, "the state table was not written");
        }
    }

    /// Takes the run lock (waiting up to the lock timeout), makes sure the
    /// tables exist, runs `body`, and releases the lock on every path,
    /// including a panic in a Rust revision.
    fn with_lock<T>(
        &self,
        conn: &mut AnyConnection,
        wait: Duration,
        progress: &mut dyn FnMut(Event<'_>),
        body: impl FnOnce(&mut AnyConnection, &mut dyn FnMut(Event<'_>)) -> Result<T>,
    ) -> Result<T> {
        let name = self.store.table().to_owned();
        let start = Instant::now();
        let mut announced = false;
        let handle = loop {
            if let Some(handle) = conn.backend().try_lock(&name)? {
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
            let backend = conn.backend();
            let d = backend.dialect();
            // Created only when missing: `CREATE TABLE IF NOT EXISTS` needs
            // the right to create tables even when they exist, which a role
            // that only migrates data may lack.
            let tables = [self.store.table(), self.store.audit_table()];
            let probe = self.store.probe_sql(d);
            let found = unless_missing(backend, &tables, |b| b.execute(&probe)).map_err(
                Error::database("looking for the version table and audit log"),
            )?;
            if found.is_none() {
                backend
                    .execute(&self.store.create_sql(d))
                    .map_err(Error::database("creating the version table and audit log"))?;
            }
            self.ensure_state_table(backend, found.is_none());
            body(conn, progress)
        }));
        let backend = conn.backend();
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

    /// Creates the state table and its trigger when missing, or always when
    /// the version table was just created (`fresh`: a version table dropped
    /// and created again lost its trigger, and may even have its old
    /// identity back on SQLite), in one transaction that also empties it.
    /// Best effort: a role without the right to create it migrates without
    /// it (every start then reads the whole version table).
    fn ensure_state_table(&self, backend: &mut dyn crate::backend::Backend, fresh: bool) {
        let d = backend.dialect();
        let probe = self.store.probe_state_sql(d);
        let state_table = [self.store.state_table()];
        if !fresh && let Ok(Some(())) = unless_missing(backend, &state_table, |b| b.execute(&probe))
        {
            return;
        }
        let timeouts = d.timeouts_sql(None, self.options.lock_timeout, true);
        let created = in_transaction(backend, |b| {
            if let Some(timeouts) = &timeouts {
                b.execute(timeouts)?;
            }
            b.execute(&self.store.create_state_sql(d))
        });
        if let Err(error) = created {
            tracing::warn!(
                %error,
                "cannot create the state table: every start reads the whole version table"
            );
        }
    }

    /// Executes `plan` into `sink`, one transaction per revision (or one for
    /// all).
    /// `ledger` is the version table before the run (read under the lock,
    /// so it is not raced); it follows each committed step.
    fn execute(
        &self,
        sink: &mut dyn Sink,
        plan: &Plan,
        mode: Mode,
        ledger: &mut Ledger,
        progress: &mut dyn FnMut(Event<'_>),
    ) -> Result<Report> {
        let graph = self.graph();
        let single = self.options.single_transaction;
        if single
            && let Some(step) = plan
                .steps
                .iter()
                .find(|s| !graph.revision(s.revision).transactional && mode == Mode::Run)
        {
            let revision = graph.revision(step.revision);
            return Err(Error::NotInSingleTransaction {
                revision: revision.id.to_string(),
                file: revision.file_name.to_string(),
            });
        }
        let outer_depth = sink.depth();
        if single {
            sink.begin()
                .map_err(Error::database("opening the run's transaction"))?;
        }
        let mut report = Report::default();
        for step in &plan.steps {
            let revision = graph.revision(step.revision);
            let direction = step.direction;
            tracing::info!(revision = %revision.id, %direction, "running");
            progress(Event::Started {
                revision,
                direction,
            });
            let start = Instant::now();
            if let Err(error) = self.step(sink, revision, direction, mode, single, ledger) {
                sink.rollback_to(outer_depth);
                tracing::error!(revision = %revision.id, %direction, %error, "failed");
                self.audit_failure(sink, revision, direction, mode, start, &error);
                return Err(error);
            }
            ledger.record(direction);
            let elapsed = start.elapsed();
            tracing::info!(revision = %revision.id, %direction, elapsed_ms = elapsed.as_millis() as u64, "done");
            progress(Event::Finished {
                revision,
                direction,
                elapsed,
            });
            report.steps.push(StepReport {
                revision: revision.id.to_string(),
                direction,
                elapsed,
            });
        }
        if single {
            sink.commit()
                .map_err(Error::database("committing the run's transaction"))?;
        }
        Ok(report)
    }

    /// One revision: its own transaction (unless single or non-transactional),
    /// its timeouts, its SQL or Rust code, its version-table row and audit
    /// entry.
    fn step(
        &self,
        sink: &mut dyn Sink,
        revision: &Revision,
        direction: Direction,
        mode: Mode,
        single: bool,
        ledger: &Ledger,
    ) -> Result<()> {
        let start = Instant::now();
        let own_transaction = !single && (revision.transactional || mode == Mode::Record);
        let in_transaction = single || own_transaction;
        let d = sink.dialect();
        let fail = |source: Box<dyn std::error::Error + Send + Sync>| {
            self.failure(d, revision, direction, in_transaction, source)
        };
        let outer_depth = sink.depth();
        if own_transaction {
            sink.begin().map_err(|e| fail(e.into()))?;
        }
        let outcome = (|| -> Result<()> {
            let (statement, lock) = match revision.timeout {
                Some(limit) => (Some(limit), limit),
                None => (self.options.statement_timeout, self.options.lock_timeout),
            };
            // Inside a transaction the timeouts go in the same round trip as
            // the revision's SQL.
            let timeouts = match mode {
                Mode::Run => d.timeouts_sql(statement, lock, in_transaction),
                Mode::Record => None,
            };
            match (&revision.body, mode) {
                (_, Mode::Record) => {}
                (Body::Sql(_), Mode::Run) => {
                    let sql = revision.sql(direction, d.kind()).ok_or_else(|| {
                        Error::NoSqlForBackend {
                            revision: revision.id.to_string(),
                            file: revision.file_name.to_string(),
                            direction,
                            backend: d.kind(),
                        }
                    })?;
                    // Not outside a transaction: PostgreSQL runs a string of
                    // several statements as one implicit transaction, which
                    // `CREATE INDEX CONCURRENTLY` refuses.
                    let batch = match timeouts {
                        Some(timeouts) if in_transaction => format!("{timeouts}\n{sql}"),
                        Some(timeouts) => {
                            sink.execute(&timeouts).map_err(|e| fail(e.into()))?;
                            sql.to_owned()
                        }
                        None => sql.to_owned(),
                    };
                    if !batch.trim().is_empty() {
                        sink.execute(&batch).map_err(|e| fail(e.into()))?;
                    }
                }
                (Body::Rust, Mode::Run) => {
                    if let Some(timeouts) = timeouts {
                        sink.execute(&timeouts).map_err(|e| fail(e.into()))?;
                    }
                    let functions =
                        self.migrations.rust_revision(&revision.id).ok_or_else(|| {
                            fail("the Rust revision was not compiled into this build".into())
                        })?;
                    let function = match direction {
                        Direction::Upgrade => functions.upgrade,
                        Direction::Downgrade => functions.downgrade,
                    };
                    sink.run_rust(function, revision).map_err(fail)?;
                }
            }
            let now = Utc::now().naive_utc();
            let elapsed_ms = i64::try_from(start.elapsed().as_millis()).unwrap_or(i64::MAX);
            let record = match direction {
                Direction::Upgrade => self.store.insert_sql(
                    d,
                    &revision.id,
                    &revision.checksum,
                    now,
                    elapsed_ms,
                    ledger.next_seq,
                ),
                Direction::Downgrade => self.store.delete_sql(d, &revision.id),
            };
            let action = action(mode, direction);
            let audit = self
                .store
                .audit_sql(d, now, &revision.id, action, elapsed_ms, true, "");
            sink.execute(&format!("{record}\n{audit}"))
                .map_err(|e| fail(e.into()))?;
            if own_transaction {
                sink.commit().map_err(|e| fail(e.into()))?;
            }
            Ok(())
        })();
        if outcome.is_err() && own_transaction {
            sink.rollback_to(outer_depth);
        }
        if !in_transaction {
            // A `Transaction: false` revision set session timeouts.
            let _ = sink.execute(d.reset_timeouts_sql());
        }
        outcome
    }

    /// Appends a failure entry to the audit log, after the revision's
    /// transaction was rolled back. Best effort: the revision's error is what
    /// the caller must see.
    fn audit_failure(
        &self,
        sink: &mut dyn Sink,
        revision: &Revision,
        direction: Direction,
        mode: Mode,
        start: Instant,
        error: &Error,
    ) {
        let elapsed_ms = i64::try_from(start.elapsed().as_millis()).unwrap_or(i64::MAX);
        let sql = self.store.audit_sql(
            sink.dialect(),
            Utc::now().naive_utc(),
            &revision.id,
            action(mode, direction),
            elapsed_ms,
            false,
            &error.to_string(),
        );
        let _ = sink.execute(&sql);
    }

    /// The error for `revision` failing with `source`: a timeout, a failure
    /// outside a transaction (whose effects may remain), or a plain failure.
    fn failure(
        &self,
        d: &dyn Dialect,
        revision: &Revision,
        direction: Direction,
        in_transaction: bool,
        source: Box<dyn std::error::Error + Send + Sync>,
    ) -> Error {
        let revision_id = revision.id.to_string();
        let file = revision.file_name.to_string();
        // Outside a transaction nothing is rolled back, timeout or not: the
        // partial-effects warning matters more than the cause.
        if in_transaction && d.is_timeout(&source.to_string()) {
            let limit = revision.timeout.unwrap_or(self.options.lock_timeout);
            let statement_limit = revision.timeout.or(self.options.statement_timeout);
            return Error::Timeout {
                revision: revision_id,
                file,
                direction,
                statement_limit,
                lock_limit: limit,
                source,
            };
        }
        if in_transaction {
            Error::Revision {
                revision: revision_id,
                file,
                direction,
                source,
            }
        } else {
            Error::NonTransactional {
                revision: revision_id,
                file,
                direction,
                source,
            }
        }
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

/// Runs `read`; when it fails because one of `tables` does not exist (as
/// the catalogue, not the error's wording, says), `Ok(None)`. When they all
/// exist by the time the catalogue is asked (another migrator just created
/// them), `read` runs again.
fn unless_missing<T>(
    backend: &mut dyn crate::backend::Backend,
    tables: &[&str],
    mut read: impl FnMut(&mut dyn crate::backend::Backend) -> diesel::QueryResult<T>,
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

/// Runs `body` in a transaction of its own: committed when it succeeds,
/// rolled back when it or the commit fails.
fn in_transaction(
    backend: &mut dyn crate::backend::Backend,
    body: impl FnOnce(&mut dyn crate::backend::Backend) -> diesel::QueryResult<()>,
) -> diesel::QueryResult<()> {
    backend.begin()?;
    let outcome = body(&mut *backend).and_then(|()| backend.commit());
    if outcome.is_err() {
        let _ = backend.rollback();
    }
    outcome
}

/// The audit action of a step.
fn action(mode: Mode, direction: Direction) -> Action {
    match (mode, direction) {
        (Mode::Record, _) => Action::Stamp,
        (Mode::Run, Direction::Upgrade) => Action::Upgrade,
        (Mode::Run, Direction::Downgrade) => Action::Downgrade,
    }
}

/// Where the executor's statements go: a live connection, or an offline
/// script.
trait Sink {
    /// The dialect statements are rendered in.
    fn dialect(&self) -> &'static dyn Dialect;
    /// Opens a transaction.
    fn begin(&mut self) -> diesel::QueryResult<()>;
    /// Commits it.
    fn commit(&mut self) -> diesel::QueryResult<()>;
    /// Rolls it back (best effort: the failure that caused it is reported).
    fn rollback(&mut self);
    /// How many transactions and savepoints are open.
    fn depth(&mut self) -> u32;
    /// Rolls back until `depth` are open: also the savepoints a Rust
    /// revision's own `transaction()` left open when it panicked.
    fn rollback_to(&mut self, depth: u32) {
        while self.depth() > depth {
            let before = self.depth();
            self.rollback();
            if self.depth() >= before {
                break;
            }
        }
    }
    /// Runs (or writes) a batch of statements.
    fn execute(&mut self, sql: &str) -> diesel::QueryResult<()>;
    /// Runs a Rust revision's function.
    fn run_rust(
        &mut self,
        function: crate::context::RevisionFn,
        revision: &Revision,
    ) -> std::result::Result<(), Box<dyn std::error::Error + Send + Sync>>;
}

impl Sink for AnyConnection {
    fn dialect(&self) -> &'static dyn Dialect {
        crate::backend::dialect(self.kind())
    }

    fn begin(&mut self) -> diesel::QueryResult<()> {
        self.backend().begin()
    }

    fn commit(&mut self) -> diesel::QueryResult<()> {
        self.backend().commit()
    }

    fn rollback(&mut self) {
        let _ = self.backend().rollback();
    }

    fn depth(&mut self) -> u32 {
        self.backend().transaction_depth()
    }

    fn execute(&mut self, sql: &str) -> diesel::QueryResult<()> {
        self.backend().execute(sql)
    }

    /// A panic in the revision becomes its error, so that its transaction
    /// is rolled back and the failure audited like any other.
    fn run_rust(
        &mut self,
        function: crate::context::RevisionFn,
        revision: &Revision,
    ) -> std::result::Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let mut context = MigrationContext::new(self, revision);
        match catch_unwind(AssertUnwindSafe(|| function(&mut context))) {
            Ok(outcome) => outcome,
            Err(panic) => {
                let message = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "no message".to_owned());
                Err(format!("the Rust revision panicked: {message}").into())
            }
        }
    }
}

/// An offline script being written.
struct Script {
    dialect: &'static dyn Dialect,
    text: String,
}

impl Script {
    fn new(dialect: &'static dyn Dialect) -> Self {
        Script {
            dialect,
            text: String::new(),
        }
    }

    fn line(&mut self, line: &str) {
        self.text.push_str(line.trim_end());
        self.text.push('\n');
    }
}

impl Sink for Script {
    fn dialect(&self) -> &'static dyn Dialect {
        self.dialect
    }

    fn begin(&mut self) -> diesel::QueryResult<()> {
        self.line("\nBEGIN;");
        Ok(())
    }

    fn commit(&mut self) -> diesel::QueryResult<()> {
        self.line("COMMIT;");
        Ok(())
    }

    fn rollback(&mut self) {}

    fn depth(&mut self) -> u32 {
        0
    }

    fn execute(&mut self, sql: &str) -> diesel::QueryResult<()> {
        let sql = sql.trim_end();
        if sql.ends_with(';') {
            self.line(sql);
        } else if sql.lines().last().is_some_and(|l| l.contains("--")) {
            // A `;` after a trailing comment would be part of the comment.
            self.line(sql);
            self.line(";");
        } else {
            self.line(&format!("{sql};"));
        }
        Ok(())
    }

    /// Never reached: [`Migrator::upgrade_sql`] refuses plans with Rust
    /// revisions before rendering anything.
    fn run_rust(
        &mut self,
        _function: crate::context::RevisionFn,
        revision: &Revision,
    ) -> std::result::Result<(), Box<dyn std::error::Error + Send + Sync>> {
        Err(format!(
            "{} is a Rust revision and cannot be rendered as SQL",
            revision.file_name
        )
        .into())
    }
}
