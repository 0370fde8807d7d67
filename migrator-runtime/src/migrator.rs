//! The run: read the state, verify it, plan, execute.
//!
//! Every front end (the CLI, a service migrating itself on startup, the test
//! helpers) goes through [`Migrator`]; none re-implements the loop.

use std::time::{Duration, Instant};

use crate::backend::AnyConnection;
use crate::error::{Error, Result};
use crate::graph::Graph;
use crate::migrations::Migrations;
use crate::model::{Body, Direction, Revision};
use crate::plan::{self, Plan, Target};
use crate::store::{AppliedRevision, Store};

/// What a run reports as it goes, for progress output and logs.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Event<'a> {
    /// A revision is about to run.
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

/// One revision run by [`Migrator::upgrade`] or [`Migrator::downgrade`].
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
    store: Store,
}

impl<'m> Migrator<'m> {
    /// A migrator over `migrations`, with the default version table.
    pub fn new(migrations: &'m Migrations) -> Self {
        Migrator {
            migrations,
            store: Store::default(),
        }
    }

    /// Uses the version table `table` instead of `migrator_version`.
    pub fn with_version_table(mut self, table: impl Into<String>) -> Self {
        self.store = Store::new(table);
        self
    }

    /// The revision graph.
    pub fn graph(&self) -> &'m Graph {
        self.migrations.graph()
    }

    /// Reads the version table (empty when it does not exist yet).
    pub fn state(&self, conn: &mut AnyConnection) -> Result<State> {
        let backend = conn.backend();
        let d = backend.dialect();
        let exists = backend
            .count(&d.table_exists_sql(self.store.table()))
            .map_err(Error::database("looking for the version table"))?;
        if exists == 0 {
            return Ok(State::default());
        }
        let applied = backend
            .load_versions(&self.store.select_sql(d))
            .map_err(Error::database("reading the version table"))?;
        Ok(State { applied })
    }

    /// The revisions the database is at: the applied revisions that no
    /// applied revision revises (several after a partial upgrade of branches).
    /// Empty at base.
    pub fn current(&self, conn: &mut AnyConnection) -> Result<Vec<&'m Revision>> {
        let applied = self.applied_indices(&self.state(conn)?)?;
        let graph = self.graph();
        let mut is_applied = vec![false; graph.len()];
        for &i in &applied {
            is_applied[i] = true;
        }
        Ok(graph
            .tips(&is_applied)
            .into_iter()
            .map(|i| graph.revision(i))
            .collect())
    }

    /// Upgrades to `target` (`head`, an ID or prefix, `+N`…), one transaction
    /// per revision.
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
        self.run(conn, progress, |graph, applied| {
            plan::plan_upgrade(graph, applied, target)
        })
    }

    /// Downgrades to `target` (`base`, an ID or prefix, `-N`…), one
    /// transaction per revision.
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
        self.run(conn, progress, |graph, applied| {
            plan::plan_downgrade(graph, applied, target)
        })
    }

    /// Reads and verifies the state, plans with `make_plan`, and executes.
    fn run(
        &self,
        conn: &mut AnyConnection,
        progress: &mut dyn FnMut(Event<'_>),
        make_plan: impl FnOnce(&Graph, &[usize]) -> std::result::Result<Plan, plan::PlanError>,
    ) -> Result<Report> {
        let graph = self.graph();
        let state = self.state(conn)?;
        let applied = self.applied_indices(&state)?;
        self.verify_checksums(&state)?;
        let plan = make_plan(graph, &applied)?;
        let mut report = Report::default();
        if plan.is_empty() {
            return Ok(report);
        }
        {
            let backend = conn.backend();
            let create = self.store.create_sql(backend.dialect());
            backend
                .execute(&create)
                .map_err(Error::database("creating the version table"))?;
        }
        for step in &plan.steps {
            let revision = graph.revision(step.revision);
            progress(Event::Started {
                revision,
                direction: step.direction,
            });
            let elapsed = self.run_step(conn, revision, step.direction)?;
            progress(Event::Finished {
                revision,
                direction: step.direction,
                elapsed,
            });
            report.steps.push(StepReport {
                revision: revision.id.to_string(),
                direction: step.direction,
                elapsed,
            });
        }
        Ok(report)
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

    /// Stops at the first applied revision whose file changed since.
    fn verify_checksums(&self, state: &State) -> Result<()> {
        let graph = self.graph();
        for row in &state.applied {
            if let Some(revision) = graph.index_of(&row.revision).map(|i| graph.revision(i))
                && revision.checksum != row.checksum
            {
                return Err(Error::ChecksumMismatch {
                    revision: row.revision.clone(),
                    file: revision.file_name.to_string(),
                    recorded: row.checksum.clone(),
                    current: revision.checksum.to_string(),
                });
            }
        }
        Ok(())
    }

    /// Runs one revision and its version-table change, in one transaction
    /// unless the revision says `Transaction: false`. On failure the
    /// transaction is rolled back, so the database stays at the previous
    /// revision.
    fn run_step(
        &self,
        conn: &mut AnyConnection,
        revision: &Revision,
        direction: Direction,
    ) -> Result<Duration> {
        let start = Instant::now();
        let transactional = revision.transactional;
        if transactional {
            conn.backend()
                .begin()
                .map_err(Error::database("opening a transaction"))?;
        }
        let outcome = self.apply(conn, revision, direction, start);
        let backend = conn.backend();
        match outcome {
            Ok(()) if transactional => backend
                .commit()
                .map_err(|e| failed(revision, direction, e))?,
            Ok(()) => {}
            Err(error) => {
                if transactional {
                    // The revision's error is what the user needs; a failed
                    // rollback on a broken connection adds nothing to it.
                    let _ = backend.rollback();
                }
                return Err(error);
            }
        }
        Ok(start.elapsed())
    }

    /// The revision's SQL or Rust code, then its version-table statement.
    fn apply(
        &self,
        conn: &mut AnyConnection,
        revision: &Revision,
        direction: Direction,
        start: Instant,
    ) -> Result<()> {
        match &revision.body {
            Body::Sql(_) => {
                let backend = conn.backend();
                let kind = backend.dialect().kind();
                let sql = revision
                    .sql(direction, kind)
                    .ok_or_else(|| Error::NoSqlForBackend {
                        revision: revision.id.to_string(),
                        file: revision.file_name.to_string(),
                        direction,
                        backend: kind,
                    })?;
                if !sql.trim().is_empty() {
                    backend
                        .execute(sql)
                        .map_err(|e| failed(revision, direction, e))?;
                }
            }
            Body::Rust => {
                let functions = self.migrations.rust_revision(&revision.id).ok_or_else(|| {
                    failed(revision, direction, "the Rust revision was not compiled in")
                })?;
                let function = match direction {
                    Direction::Upgrade => functions.upgrade,
                    Direction::Downgrade => functions.downgrade,
                };
                let mut context = crate::context::MigrationContext::new(conn, revision);
                function(&mut context).map_err(|e| failed(revision, direction, e))?;
            }
        }
        let backend = conn.backend();
        let d = backend.dialect();
        let record = match direction {
            Direction::Upgrade => self.store.insert_sql(
                d,
                &revision.id,
                &revision.checksum,
                chrono::Utc::now().naive_utc(),
                i64::try_from(start.elapsed().as_millis()).unwrap_or(i64::MAX),
            ),
            Direction::Downgrade => self.store.delete_sql(d, &revision.id),
        };
        backend
            .execute(&record)
            .map_err(|e| failed(revision, direction, e))
    }
}

/// The error of `revision` failing in `direction`.
fn failed(
    revision: &Revision,
    direction: Direction,
    source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
) -> Error {
    Error::Revision {
        revision: revision.id.to_string(),
        file: revision.file_name.to_string(),
        direction,
        source: source.into(),
    }
}
