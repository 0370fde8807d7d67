//! The executor: runs a list of steps into a [`Sink`], a live connection or
//! an offline script, so that the statements a script prints are the
//! statements a live run sends. Every command (upgrade, downgrade, stamp,
//! `--sql`) goes through [`Executor::execute`].
//!
//! By default each step runs in its own transaction together with its
//! version-table row and its audit-log entry; with
//! [`Options::single_transaction`] the whole run is one transaction. A
//! revision whose header says `Transaction: false` runs outside any
//! transaction, its row written after its SQL succeeded.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Instant;

use chrono::Utc;

use crate::backend::{Backend, Dialect};
use crate::bookkeeping::{Action, Store};
use crate::context::{RevisionFn, RevisionResult};
use crate::error::{Error, Result};
use crate::lock::Held;
use crate::migrations::Migrations;
use crate::options::Options;
use crate::report::{Event, Report, State, StepReport};
use crate::model::{Body, Direction, Revision};

/// One thing a run does.
#[derive(Debug, Clone)]
pub(crate) enum Step<'g> {
    /// Run a revision's SQL or Rust code and record it.
    Run(&'g Revision, Direction),
    /// Record a revision as applied or not, without running it (`stamp`).
    Record(&'g Revision, Direction),
    /// Re-record the checksum of an applied revision whose file changed
    /// (`stamp`).
    Rechecksum(&'g Revision),
    /// Remove the row of an applied revision this build does not know
    /// (`stamp --purge`).
    Forget(String),
}

impl Step<'_> {
    /// The revision ID.
    fn id(&self) -> &str {
        match self {
            Step::Run(r, _) | Step::Record(r, _) | Step::Rechecksum(r) => &r.id,
            Step::Forget(id) => id,
        }
    }

    /// The direction a report shows.
    fn direction(&self) -> Direction {
        match self {
            Step::Run(_, d) | Step::Record(_, d) => *d,
            Step::Rechecksum(_) => Direction::Upgrade,
            Step::Forget(_) => Direction::Downgrade,
        }
    }

    /// The revision, for events (none for an unknown one).
    fn revision(&self) -> Option<&Revision> {
        match self {
            Step::Run(r, _) | Step::Record(r, _) | Step::Rechecksum(r) => Some(r),
            Step::Forget(_) => None,
        }
    }

    /// True when the step runs the revision itself outside a transaction.
    fn non_transactional(&self) -> bool {
        matches!(self, Step::Run(r, _) if !r.transactional)
    }

    /// What the audit log's detail says a recording step did.
    fn what(&self) -> &'static str {
        match self {
            Step::Run(..) => "",
            Step::Record(_, Direction::Upgrade) => "recorded as applied",
            Step::Record(_, Direction::Downgrade) => "recorded as not applied",
            Step::Rechecksum(_) => "checksum re-recorded",
            Step::Forget(_) => "unknown revision's row removed",
        }
    }

    fn action(&self) -> Action {
        match self {
            Step::Run(_, Direction::Upgrade) => Action::Upgrade,
            Step::Run(_, Direction::Downgrade) => Action::Downgrade,
            _ => Action::Stamp,
        }
    }
}

/// The sequence numbers of the version table as a run changes it.
#[derive(Debug)]
pub(crate) struct Ledger {
    /// The sequence number of the next applied revision.
    next_seq: i64,
}

impl Ledger {
    /// The ledger of the rows read from the database (under the lock).
    pub(crate) fn read(state: &State) -> Ledger {
        Ledger {
            next_seq: state.applied.iter().map(|a| a.seq).max().unwrap_or(0) + 1,
        }
    }

    /// The ledger of a database assumed to have `applied` revisions recorded
    /// (offline scripts).
    pub(crate) fn assumed(applied: usize) -> Ledger {
        Ledger {
            next_seq: i64::try_from(applied).unwrap_or(i64::MAX - 1) + 1,
        }
    }
}

/// What a run executes with.
pub(crate) struct Executor<'a> {
    pub(crate) migrations: &'a Migrations,
    pub(crate) options: &'a Options,
    pub(crate) store: &'a Store,
    /// What gives the session its own timeouts back after a
    /// `Transaction: false` revision set them for the session.
    pub(crate) restore_timeouts: &'a str,
    /// The command that records without running (`stamp --purge 007`), for
    /// the audit log; empty for runs.
    pub(crate) command: &'a str,
}

impl Executor<'_> {
    /// Executes `steps` into `sink`, one transaction per step (or one for
    /// all). `ledger` is the version table before the run (read under the
    /// lock, so it is not raced); it follows each committed step.
    pub(crate) fn execute(
        &self,
        sink: &mut dyn Sink,
        steps: &[Step<'_>],
        ledger: &mut Ledger,
        progress: &mut dyn FnMut(Event<'_>),
    ) -> Result<Report> {
        let single = self.options.single_transaction;
        if single && let Some(Step::Run(revision, _)) = steps.iter().find(|s| s.non_transactional())
        {
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
        for step in steps {
            // A lease renewed (or found lost) between revisions.
            if let Err(error) = sink.before_step(step) {
                sink.rollback_to(outer_depth);
                return Err(error);
            }
            let direction = step.direction();
            tracing::info!(revision = %step.id(), %direction, "running");
            if let Some(revision) = step.revision() {
                progress(Event::Started {
                    revision,
                    direction,
                });
            }
            let start = Instant::now();
            if let Err(error) = self.step(sink, step, single, ledger) {
                sink.rollback_to(outer_depth);
                tracing::error!(revision = %step.id(), %direction, %error, "failed");
                self.audit_failure(sink, step, start, &error);
                return Err(error);
            }
            if direction == Direction::Upgrade && !matches!(step, Step::Rechecksum(_)) {
                ledger.next_seq += 1;
            }
            let elapsed = start.elapsed();
            tracing::info!(revision = %step.id(), %direction, elapsed_ms = elapsed.as_millis() as u64, "done");
            if let Some(revision) = step.revision() {
                progress(Event::Finished {
                    revision,
                    direction,
                    elapsed,
                });
            }
            report.steps.push(StepReport {
                revision: step.id().to_owned(),
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

    /// One step: its own transaction (unless single or non-transactional),
    /// its timeouts, its SQL or Rust code, its version-table row and audit
    /// entry.
    fn step(
        &self,
        sink: &mut dyn Sink,
        step: &Step<'_>,
        single: bool,
        ledger: &Ledger,
    ) -> Result<()> {
        let start = Instant::now();
        let own_transaction = !single && !step.non_transactional();
        let in_transaction = single || own_transaction;
        let d = sink.dialect();
        let fail = |source: Box<dyn std::error::Error + Send + Sync>| {
            self.failure(d, step, in_transaction, source)
        };
        let outer_depth = sink.depth();
        if own_transaction {
            sink.begin().map_err(|e| fail(e.into()))?;
        }
        let outcome = (|| -> Result<()> {
            if let Step::Run(revision, direction) = step {
                self.run_revision(sink, revision, *direction, in_transaction)
                    .map_err(fail)?;
            }
            let now = Utc::now().naive_utc();
            let elapsed_ms = i64::try_from(start.elapsed().as_millis()).unwrap_or(i64::MAX);
            let record = match step {
                Step::Run(r, Direction::Upgrade) | Step::Record(r, Direction::Upgrade) => self
                    .store
                    .insert_sql(d, &r.id, &r.checksum, now, elapsed_ms, ledger.next_seq),
                Step::Run(r, Direction::Downgrade) | Step::Record(r, Direction::Downgrade) => {
                    self.store.delete_sql(d, &r.id)
                }
                Step::Rechecksum(r) => self.store.update_checksum_sql(d, &r.id, &r.checksum),
                Step::Forget(id) => self.store.delete_sql(d, id),
            };
            let detail = match step.what() {
                "" => String::new(),
                what => format!("{what} by `{}`", self.command),
            };
            let audit =
                self.store
                    .audit_sql(d, now, step.id(), step.action(), elapsed_ms, true, &detail);
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
            let _ = sink.execute(self.restore_timeouts);
        }
        outcome
    }

    /// A revision's own SQL or Rust code, after its timeouts.
    fn run_revision(
        &self,
        sink: &mut dyn Sink,
        revision: &Revision,
        direction: Direction,
        in_transaction: bool,
    ) -> RevisionResult {
        let d = sink.dialect();
        let (statement, lock) = match revision.timeout {
            Some(limit) => (Some(limit), limit),
            None => (self.options.statement_timeout, self.options.lock_timeout),
        };
        let timeouts = d.timeouts_sql(statement, lock, in_transaction);
        match &revision.body {
            Body::Sql(_) => {
                let sql = revision.sql(direction, d.kind()).ok_or_else(|| {
                    Error::NoSqlForBackend {
                        revision: revision.id.to_string(),
                        file: revision.file_name.to_string(),
                        direction,
                        backend: d.kind(),
                    }
                })?;
                // Inside a transaction the timeouts go in the same round trip
                // as the revision's SQL; not outside one: PostgreSQL runs a
                // string of several statements as one implicit transaction,
                // which `CREATE INDEX CONCURRENTLY` refuses.
                let batch = match timeouts {
                    Some(timeouts) if in_transaction => format!("{timeouts}\n{sql}"),
                    Some(timeouts) => {
                        sink.execute(&timeouts)?;
                        sql.to_owned()
                    }
                    None => sql.to_owned(),
                };
                if !batch.trim().is_empty() {
                    sink.execute(&batch)?;
                }
            }
            Body::Rust => {
                if let Some(timeouts) = timeouts {
                    sink.execute(&timeouts)?;
                }
                let functions = self
                    .migrations
                    .rust_revision(&revision.id)
                    .ok_or("the Rust revision was not compiled into this build")?;
                let function = match direction {
                    Direction::Upgrade => functions.upgrade,
                    Direction::Downgrade => functions.downgrade,
                };
                sink.run_rust(function, revision)?;
            }
        }
        Ok(())
    }

    /// Appends a failure entry to the audit log, after the step's
    /// transaction was rolled back. Best effort: the step's error is what
    /// the caller must see.
    fn audit_failure(&self, sink: &mut dyn Sink, step: &Step<'_>, start: Instant, error: &Error) {
        let elapsed_ms = i64::try_from(start.elapsed().as_millis()).unwrap_or(i64::MAX);
        let sql = self.store.audit_sql(
            sink.dialect(),
            Utc::now().naive_utc(),
            step.id(),
            step.action(),
            elapsed_ms,
            false,
            &error.to_string(),
        );
        let _ = sink.execute(&sql);
    }

    /// The error for `step` failing with `source`: a timeout, a failure
    /// outside a transaction (whose effects may remain), or a plain failure.
    fn failure(
        &self,
        d: &dyn Dialect,
        step: &Step<'_>,
        in_transaction: bool,
        source: Box<dyn std::error::Error + Send + Sync>,
    ) -> Error {
        // An error the executor made itself (no SQL for this backend) is
        // passed through as it is.
        let source = match source.downcast::<Error>() {
            Ok(error) => return *error,
            Err(source) => source,
        };
        let revision = step.id().to_owned();
        let file = step
            .revision()
            .map_or_else(|| "unknown".to_owned(), |r| r.file_name.to_string());
        let direction = step.direction();
        let limit = step.revision().and_then(|r| r.timeout);
        // Outside a transaction nothing is rolled back, timeout or not: the
        // partial-effects warning matters more than the cause.
        if in_transaction && d.is_timeout(&source.to_string()) {
            return Error::Timeout {
                revision,
                file,
                direction,
                statement_limit: limit.or(self.options.statement_timeout),
                lock_limit: limit.unwrap_or(self.options.lock_timeout),
                source,
            };
        }
        if in_transaction {
            Error::Revision {
                revision,
                file,
                direction,
                source,
            }
        } else {
            // Recording the step as done: the revision itself after an
            // upgrade; after a downgrade, where it came from (each parent of
            // a merge: a stamp keeps the other branches).
            let stamp = match (direction, step.revision()) {
                (Direction::Downgrade, Some(r)) if r.revises.is_empty() => "`stamp base`".to_owned(),
                (Direction::Downgrade, Some(r)) => r
                    .revises
                    .iter()
                    .map(|parent| format!("`stamp {parent}`"))
                    .collect::<Vec<_>>()
                    .join(" then "),
                _ => format!("`stamp {revision}`"),
            };
            Error::NonTransactional {
                revision,
                file,
                direction,
                stamp,
                source,
            }
        }
    }
}

/// Where the executor's statements go: a live connection, or an offline
/// script.
pub(crate) trait Sink {
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
    fn run_rust(&mut self, function: RevisionFn, revision: &Revision) -> RevisionResult;
    /// Before `step`: renews the run's lease, or stops the run when it was
    /// lost ([`Error::LockLost`]).
    fn before_step(&mut self, _step: &Step<'_>) -> Result<()> {
        Ok(())
    }
}

/// A live connection as the executor's sink, with the run's lock.
pub(crate) struct Live<'a>(
    pub(crate) &'a mut dyn Backend,
    pub(crate) &'a mut Held,
);

impl Sink for Live<'_> {
    fn dialect(&self) -> &'static dyn Dialect {
        self.0.dialect()
    }

    fn begin(&mut self) -> diesel::QueryResult<()> {
        self.0.begin()
    }

    fn commit(&mut self) -> diesel::QueryResult<()> {
        self.0.commit()
    }

    fn rollback(&mut self) {
        let _ = self.0.rollback();
    }

    fn depth(&mut self) -> u32 {
        self.0.transaction_depth()
    }

    fn execute(&mut self, sql: &str) -> diesel::QueryResult<()> {
        self.0.execute(sql)
    }

    fn before_step(&mut self, step: &Step<'_>) -> Result<()> {
        self.1
            .check(&mut *self.0, &format!("{} of {}", step.direction(), step.id()))
    }

    /// A panic in the revision becomes its error, so that its transaction
    /// is rolled back and the failure audited like any other.
    fn run_rust(&mut self, function: RevisionFn, revision: &Revision) -> RevisionResult {
        match catch_unwind(AssertUnwindSafe(|| crate::context::run_revision(&mut *self.0, function, revision))) {
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
pub(crate) struct Script {
    dialect: &'static dyn Dialect,
    pub(crate) text: String,
}

impl Script {
    pub(crate) fn new(dialect: &'static dyn Dialect) -> Self {
        Script {
            dialect,
            text: String::new(),
        }
    }

    pub(crate) fn line(&mut self, line: &str) {
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

    /// Never reached: offline scripts refuse plans with Rust revisions
    /// before rendering anything.
    fn run_rust(&mut self, _function: RevisionFn, revision: &Revision) -> RevisionResult {
        Err(format!(
            "{} is a Rust revision and cannot be rendered as SQL",
            revision.file_name
        )
        .into())
    }
}
