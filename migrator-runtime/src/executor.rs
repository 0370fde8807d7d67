//! The executor: runs a list of steps into a [`Sink`], a live connection or
//! an offline script, so that the statements a script prints are the
//! statements a live run sends. Every command (upgrade, downgrade, stamp,
//! `--sql`) goes through [`Executor::execute`].
//!
//! By default each step runs in its own transaction together with its
//! version-table row and its audit-log entry; with
//! [`Options::single_transaction`] the whole run is one transaction. A
//! revision whose header says `Transaction: false` runs outside any
//! transaction, its row written after its SQL succeeded and (PostgreSQL)
//! after the catalogue showed no invalid index; an invalid index already
//! there refuses it before it runs.
//!
//! A transactional revision whose statement waited for a table lock for
//! longer than the DDL lock timeout is rolled back and run again, up to
//! [`Options::ddl_retries`] times, after a growing pause with jitter.
//!
//! An offline script cannot stop on a condition the way a live run does, so
//! each block first checks that the database is where the script expects
//! (the step's parents, or children, and the block before it) and records
//! only where that holds; see [`Dialect::script_guard_sql`] for what each
//! backend guarantees.

use std::hash::{BuildHasher, RandomState};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

use chrono::Utc;

use crate::backend::{Backend, Dialect, TimeoutKind};
use crate::bookkeeping::{Action, Outcome, Store, Values};
use crate::context::{RevisionFn, RevisionResult};
use crate::error::{Error, Result};
use crate::lock::Held;
use crate::migrations::Migrations;
use crate::options::Options;
use crate::report::{Event, Report, State, StepReport};
use crate::model::{BackendKind, Body, Direction, Revision};

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
    /// Remove the dirty marker of a revision started that way (`stamp`).
    Unmark(&'g Revision, Direction),
    /// Record a revision diesel_migrations ran as applied, without running
    /// it (see `adopt`).
    Adopt(&'g Revision),
}

impl Step<'_> {
    /// The revision ID.
    fn id(&self) -> &str {
        match self {
            Step::Run(r, _)
            | Step::Record(r, _)
            | Step::Rechecksum(r)
            | Step::Unmark(r, _)
            | Step::Adopt(r) => &r.id,
            Step::Forget(id) => id,
        }
    }

    /// The direction a report shows.
    fn direction(&self) -> Direction {
        match self {
            Step::Run(_, d) | Step::Record(_, d) | Step::Unmark(_, d) => *d,
            Step::Rechecksum(_) | Step::Adopt(_) => Direction::Upgrade,
            Step::Forget(_) => Direction::Downgrade,
        }
    }

    /// The revision, for events (none for an unknown one).
    fn revision(&self) -> Option<&Revision> {
        match self {
            Step::Run(r, _)
            | Step::Record(r, _)
            | Step::Rechecksum(r)
            | Step::Unmark(r, _)
            | Step::Adopt(r) => Some(r),
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
            Step::Unmark(_, Direction::Upgrade) => "dirty marker of its upgrade cleared",
            Step::Unmark(_, Direction::Downgrade) => "dirty marker of its downgrade cleared",
            Step::Adopt(_) => {
                "adopted from diesel: `__diesel_schema_migrations` lists its version, so it ran \
                 under diesel_migrations; recorded as applied"
            }
        }
    }

    /// The audit log's outcome of the step, once done.
    fn outcome(&self) -> Outcome {
        match self {
            Step::Adopt(_) => Outcome::Adopted,
            _ => Outcome::Success,
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

/// Offline scripts: what a step's block checks.
struct Expectation {
    /// The block's guard, and the condition of its audit entry: the
    /// database is where the block expects, the block before it recorded.
    condition: String,
    /// The condition of its version-table row: the same state, and the
    /// block's own audit entry (written just before) the newest.
    record: String,
    /// The guard's error.
    message: String,
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
    /// all: with [`Options::single_transaction`], and for an adoption, whose
    /// steps only write rows, so that it is done entirely or not at all).
    /// `ledger` is the version table before the run (read under the lock,
    /// so it is not raced); it follows each committed step.
    pub(crate) fn execute(
        &self,
        sink: &mut dyn Sink,
        steps: &[Step<'_>],
        ledger: &mut Ledger,
        progress: &mut dyn FnMut(Event<'_>),
    ) -> Result<Report> {
        let adoption = !steps.is_empty() && steps.iter().all(|s| matches!(s, Step::Adopt(_)));
        let single = self.options.single_transaction || adoption;
        if single && !adoption && !sink.dialect().transactional_ddl() {
            return Err(Error::SingleTransactionUnsupported {
                backend: sink.dialect().kind(),
            });
        }
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
        for (index, step) in steps.iter().enumerate() {
            let previous = index.checked_sub(1).map(|i| &steps[i]);
            let direction = step.direction();
            tracing::info!(revision = %step.id(), %direction, "running");
            if let Some(revision) = step
                .revision()
                .filter(|_| !matches!(step, Step::Unmark(..) | Step::Adopt(_)))
            {
                progress(Event::Started {
                    revision,
                    direction,
                });
            }
            let start = Instant::now();
            let mut retry = 0;
            while let Err(mut error) = self.step(sink, step, previous, single, ledger) {
                sink.rollback_to(outer_depth);
                if let Some(pause) = self.pause_before_retry(sink.dialect(), step, single, &error, retry) {
                    retry += 1;
                    let retries = self.options.ddl_retries;
                    tracing::warn!(
                        revision = %step.id(), %direction, retry, retries,
                        pause_ms = pause.as_millis() as u64, %error,
                        "timed out waiting for a table lock; rolled back, running it again"
                    );
                    if let Some(revision) = step.revision() {
                        progress(Event::Retrying {
                            revision,
                            direction,
                            retry,
                            retries,
                            pause,
                        });
                    }
                    std::thread::sleep(pause);
                    continue;
                }
                if let Error::Timeout { attempts, .. } = &mut error {
                    *attempts = retry + 1;
                }
                tracing::error!(revision = %step.id(), %direction, %error, "failed");
                self.audit_failure(sink, step, start, &error);
                return Err(error);
            }
            if matches!(
                step,
                Step::Run(_, Direction::Upgrade)
                    | Step::Record(_, Direction::Upgrade)
                    | Step::Adopt(_)
            ) {
                ledger.next_seq += 1;
            }
            let elapsed = start.elapsed();
            tracing::info!(revision = %step.id(), %direction, elapsed_ms = elapsed.as_millis() as u64, "done");
            match step {
                Step::Unmark(revision, direction) => progress(Event::MarkerCleared {
                    revision,
                    direction: *direction,
                }),
                Step::Adopt(revision) => progress(Event::Adopted { revision }),
                _ => {
                    if let Some(revision) = step.revision() {
                        progress(Event::Finished {
                            revision,
                            direction,
                            elapsed,
                        });
                    }
                }
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

    /// The pause before running `step` again after `error`, if it may run
    /// again: a transactional SQL revision in its own transaction whose
    /// statement waited for a lock for too long (the database's error),
    /// `retry` times so far. Never a Rust revision: what it did outside the
    /// database (a request, a file) would be done again, and its error's
    /// text is its own.
    fn pause_before_retry(
        &self,
        d: &dyn Dialect,
        step: &Step<'_>,
        single: bool,
        error: &Error,
        retry: u32,
    ) -> Option<Duration> {
        let retriable = matches!(error, Error::Timeout { lock: true, .. })
            && !single
            && matches!(step, Step::Run(r, _) if r.transactional && !r.is_rust())
            && !self.marks(d, step, single);
        (retriable && retry < self.options.ddl_retries).then(|| backoff(retry))
    }

    /// True when `step` runs a revision that cannot run in one transaction
    /// (`Transaction: false`, or any revision where DDL commits on its own,
    /// see [`Dialect::transactional_ddl`]): the version table holds its
    /// dirty marker while it runs. Not in a single-transaction run, whose
    /// one transaction would hold the marker too.
    fn marks(&self, d: &dyn Dialect, step: &Step<'_>, single: bool) -> bool {
        !single && matches!(step, Step::Run(r, _) if !r.transactional || !d.transactional_ddl())
    }

    /// One step: its own transaction (unless single or non-transactional),
    /// its timeouts, its SQL or Rust code, its version-table row and audit
    /// entry. In an offline script, guarded by the state the step expects.
    ///
    /// A step that [marks](Executor::marks) first writes and commits its
    /// dirty marker, with an audit entry `started`, after the lease was
    /// renewed and (a `Transaction: false` revision) no invalid index was
    /// found, and before the revision's first statement; its record then
    /// replaces the marker. A failure leaves the marker, and its error in
    /// the audit log; a refusal before the marker leaves nothing.
    fn step(
        &self,
        sink: &mut dyn Sink,
        step: &Step<'_>,
        previous: Option<&Step<'_>>,
        single: bool,
        ledger: &Ledger,
    ) -> Result<()> {
        let start = Instant::now();
        let own_transaction = !single && !step.non_transactional();
        let in_transaction = single || own_transaction;
        let d = sink.dialect();
        let marks = self.marks(d, step, single);
        // What a failure undoes: nothing where DDL commits on its own.
        let rolled_back = in_transaction && !marks;
        // Before the marker (or the revision's first statement) nothing of
        // the revision ran, whatever the step's transaction.
        let not_started = |source: Box<dyn std::error::Error + Send + Sync>| {
            self.failure(d, step, true, source)
        };
        let fail = |source: Box<dyn std::error::Error + Send + Sync>| {
            self.failure(d, step, rolled_back, source)
        };
        let offline = sink.offline();
        let script_values = d.script_values();
        let values = |elapsed: Duration| {
            if offline {
                Values::Script(&script_values)
            } else {
                Values::Live {
                    at: Utc::now().naive_utc(),
                    elapsed_ms: i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX),
                }
            }
        };
        // Offline: the condition a block checks (its guard, and its audit
        // entry's condition), its row's condition, and the guard itself.
        let mut expect = offline
            .then(|| self.expectation(d, step, previous))
            .map(|e| {
                let guard = d.script_guard_sql(&e.condition, &e.message);
                (e.condition, Some(e.record), guard)
            });
        // Recorded in a transaction of its own: a revision run outside one
        // (offline, or live with its marker).
        let record_transaction = !in_transaction && (offline || marks);
        let outer_depth = sink.depth();
        if own_transaction {
            sink.begin().map_err(|e| not_started(e.into()))?;
        }
        let outcome = (|| -> Result<()> {
            // The lease renewed (or found lost) first in the step's
            // transaction, before each attempt.
            sink.before_step(step)?;
            if let Step::Run(revision, direction) = step {
                // Invalid indexes already there refuse the revision before
                // anything runs (and before its marker); after it, only new
                // ones are its failure.
                if !revision.transactional && !offline {
                    let before = self.invalid_indexes(sink).map_err(|e| not_started(e.into()))?;
                    if !before.is_empty() {
                        return Err(Error::InvalidIndexesBefore {
                            revision: revision.id.to_string(),
                            file: revision.file_name.to_string(),
                            direction: *direction,
                            indexes: before,
                        });
                    }
                }
                if marks {
                    // A revision with nothing to run here fails before its
                    // marker: nothing ran, so nothing needs repair.
                    if matches!(revision.body, Body::Sql(_)) {
                        sql_of(revision, *direction, d.kind())?;
                    }
                    let guard = expect.as_ref().map(|(condition, _, guard)| (condition, guard));
                    self.mark(sink, revision, *direction, ledger, guard, own_transaction)?;
                    // From here on, a script's blocks expect the marker.
                    expect = offline.then(|| {
                        let condition = self.store.marked_sql(d, &revision.id, *direction);
                        let message = format!(
                            "migrator: the {direction} of {} in this script expects its dirty \
                             marker in the version table, which is not there (a statement \
                             before failed, or the database changed meanwhile), so this block \
                             is refused and records nothing; run `current`, repair, and \
                             generate a new script from there",
                            revision.id
                        );
                        let guard = d.script_guard_sql(&condition, &message);
                        (condition, None, guard)
                    });
                }
            }
            let guard = expect.as_ref().map(|(_, _, guard)| guard);
            if let Some(guard) = guard {
                sink.execute(guard).map_err(|e| fail(e.into()))?;
            }
            if let Step::Run(revision, direction) = step {
                let ran = self.run_revision(sink, revision, *direction, in_transaction);
                if !revision.transactional && !offline {
                    let failed = ran.as_ref().err().map(AsRef::as_ref);
                    match self.check_indexes(sink, step, failed) {
                        Ok(None) => {}
                        Ok(Some(invalid)) => return Err(invalid),
                        // The revision's own error says more than a check
                        // that could not run after it.
                        Err(_) if ran.is_err() => {}
                        Err(error) => return Err(fail(error.into())),
                    }
                }
                ran.map_err(fail)?;
            }
            // A revision run outside a transaction is recorded in a
            // transaction of its own (offline, checked again).
            if record_transaction {
                let indexes = d
                    .invalid_indexes_sql()
                    .filter(|_| offline && step.non_transactional())
                    .map(|sql| {
                        let undone = step.revision().map_or_else(
                            || "`stamp` to the revision before it".to_owned(),
                            |r| repair_stamps(r, step.direction()).0,
                        );
                        let message = format!(
                            "migrator: revision {} left an invalid index (pg_index.indisvalid = \
                             false; list them with `SELECT indexrelid::regclass FROM pg_index \
                             WHERE NOT indisvalid`): it is not recorded, and the version table \
                             keeps its dirty marker; drop each with `DROP INDEX CONCURRENTLY \
                             <name>;`, then record it as not done with {undone} (which clears \
                             the marker), then run this script again",
                            step.id()
                        );
                        d.script_guard_sql(&format!("NOT EXISTS ({sql})"), &message)
                    });
                sink.begin().map_err(|e| fail(e.into()))?;
                for guard in [guard, indexes.as_ref()].into_iter().flatten() {
                    sink.execute(guard).map_err(|e| fail(e.into()))?;
                }
            }
            let when = expect.as_ref().map(|(condition, _, _)| condition.as_str());
            let record_when = expect.as_ref().and_then(|(_, record, _)| record.as_deref());
            let values = values(start.elapsed());
            let record = match step {
                // Touches only the marker's row: no other condition.
                Step::Run(r, direction) if marks => {
                    self.store
                        .finish_sql(d, &r.id, *direction, &r.checksum, &values)
                }
                Step::Run(r, Direction::Upgrade)
                | Step::Record(r, Direction::Upgrade)
                | Step::Adopt(r) => self.store.insert_sql(
                    d,
                    &r.id,
                    &r.checksum,
                    &values,
                    ledger.next_seq,
                    record_when,
                ),
                Step::Run(r, Direction::Downgrade) | Step::Record(r, Direction::Downgrade) => {
                    self.store.delete_sql(d, &r.id, record_when)
                }
                Step::Rechecksum(r) => self.store.update_checksum_sql(d, &r.id, &r.checksum),
                Step::Forget(id) => self.store.delete_sql(d, id, record_when),
                Step::Unmark(r, direction) => self.store.clear_marker_sql(d, &r.id, *direction),
            };
            let detail = match step.what() {
                "" => String::new(),
                what => format!("{what} by `{}`", self.command),
            };
            let audit = self.store.audit_sql(
                d,
                &values,
                step.id(),
                step.action(),
                step.outcome(),
                &detail,
                when,
            );
            match step {
                // Live, the marker's row must be the one row the record
                // replaces: none (or more) means another run took the lock
                // over, or `stamp` ran, while the revision ran.
                Step::Run(r, direction) if marks && !offline => {
                    // Where DDL committed the step's transaction on its own
                    // (MySQL), the record and its audit entry get a fresh
                    // one, so that they commit together (statements of the
                    // revision after its last DDL commit first: its marker
                    // covers them).
                    if in_transaction && !d.transactional_ddl() {
                        sink.commit().map_err(|e| fail(e.into()))?;
                        sink.begin().map_err(|e| fail(e.into()))?;
                    }
                    let matched = sink.changed(&record).map_err(|e| fail(e.into()))?;
                    if let Some(matched) = matched.filter(|&n| n != 1) {
                        let (undone, done) = repair_stamps(r, *direction);
                        return Err(Error::MarkerLost {
                            revision: r.id.to_string(),
                            file: r.file_name.to_string(),
                            direction: *direction,
                            matched,
                            done: done.into(),
                            undone: undone.into(),
                        });
                    }
                    sink.execute(&audit).map_err(|e| fail(e.into()))?;
                }
                // A script's condition is about the state before the
                // block's change: its audit entry comes first.
                _ if offline => sink
                    .execute(&format!("{audit}\n{record}"))
                    .map_err(|e| fail(e.into()))?,
                _ => sink
                    .execute(&format!("{record}\n{audit}"))
                    .map_err(|e| fail(e.into()))?,
            }
            if own_transaction || record_transaction {
                sink.commit().map_err(|e| fail(e.into()))?;
            }
            Ok(())
        })();
        if outcome.is_err() && (own_transaction || record_transaction) {
            sink.rollback_to(outer_depth);
        }
        if !in_transaction {
            // A `Transaction: false` revision set session timeouts.
            let _ = sink.execute(self.restore_timeouts);
        }
        outcome
    }

    /// Writes and commits the dirty marker of `revision` with its audit
    /// entry `started`: in the step's own transaction (`own_transaction`,
    /// the lease renewed first in it), then opens the revision's; else in a
    /// transaction of its own. Offline, only where `guard`'s condition
    /// holds. A failed write is a plain revision error: nothing of it ran.
    fn mark(
        &self,
        sink: &mut dyn Sink,
        revision: &Revision,
        direction: Direction,
        ledger: &Ledger,
        guard: Option<(&String, &String)>,
        own_transaction: bool,
    ) -> Result<()> {
        let d = sink.dialect();
        let offline = sink.offline();
        let script_values = d.script_values();
        let values = if offline {
            Values::Script(&script_values)
        } else {
            Values::Live {
                at: Utc::now().naive_utc(),
                elapsed_ms: 0,
            }
        };
        let when = guard.map(|(condition, _)| condition.as_str());
        // The marker first, where the expected state holds; its audit
        // entry where the marker was just written.
        let mark = self
            .store
            .mark_sql(d, &revision.id, direction, &values, ledger.next_seq, when);
        let marked = offline.then(|| self.store.marked_sql(d, &revision.id, direction));
        let audit = self.store.audit_sql(
            d,
            &values,
            &revision.id,
            match direction {
                Direction::Upgrade => Action::Upgrade,
                Direction::Downgrade => Action::Downgrade,
            },
            Outcome::Started,
            "dirty marker written: it cannot run in one transaction",
            marked.as_deref(),
        );
        // Live, the marker waits for locks no longer than the run's DDL
        // lock timeout (SQLite: its busy timeout, behind another writer).
        let timeouts = (!offline)
            .then(|| d.timeouts_sql(None, self.options.ddl_lock_timeout, true))
            .flatten();
        let batch = [
            timeouts.as_deref(),
            guard.map(|(_, guard)| guard.as_str()),
            Some(mark.as_str()),
            Some(audit.as_str()),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join("\n");
        let depth = sink.depth();
        let written = (|| {
            if !own_transaction {
                sink.begin()?;
            }
            sink.execute(&batch)?;
            sink.commit()?;
            if own_transaction {
                sink.begin()?;
            }
            Ok::<_, diesel::result::Error>(())
        })();
        let Err(error) = written else {
            return Ok(());
        };
        sink.rollback_to(depth.saturating_sub(u32::from(own_transaction)));
        if !offline {
            let _ = sink.execute(self.restore_timeouts);
        }
        Err(Error::Revision {
            revision: revision.id.to_string(),
            file: revision.file_name.to_string(),
            direction,
            source: format!(
                "writing its dirty marker (which it needs, as it cannot run in one transaction) \
                 failed, so none of its statements ran and the version table is as before; run \
                 it again once the database takes the write: {error}"
            )
            .into(),
        })
    }

    /// The invalid indexes the catalogue shows (none where the backend
    /// builds no index outside a transaction).
    fn invalid_indexes(&self, sink: &mut dyn Sink) -> diesel::QueryResult<Vec<String>> {
        match sink.dialect().invalid_indexes_sql() {
            Some(sql) => sink.values(&sql),
            None => Ok(Vec::new()),
        }
    }

    /// After a `Transaction: false` revision ran (`failed`: its error, if
    /// any), the invalid indexes the catalogue shows, all new (there were
    /// none before it, or it was refused): any is an error that names them,
    /// whatever the revision did. Checked before and after every such run, so that
    /// running it again (`CREATE INDEX CONCURRENTLY IF NOT EXISTS`, which
    /// does nothing over an invalid index) cannot report success: the index
    /// the first run left refuses the second before it runs. All the role's
    /// indexes are looked at, not only those the revision's SQL names: that
    /// would mean parsing it, and dynamic SQL (`DO`, `EXECUTE`, functions)
    /// would escape; an invalid index left elsewhere (a DBA's cancelled
    /// `REINDEX CONCURRENTLY`) refuses the revision before it runs, never
    /// after.
    fn check_indexes(
        &self,
        sink: &mut dyn Sink,
        step: &Step<'_>,
        failed: Option<&(dyn std::error::Error + Send + Sync)>,
    ) -> diesel::QueryResult<Option<Error>> {
        let indexes = self.invalid_indexes(sink)?;
        let direction = step.direction();
        Ok((!indexes.is_empty()).then(|| Error::InvalidIndexes {
            revision: step.id().to_owned(),
            file: step
                .revision()
                .map_or_else(|| "unknown".to_owned(), |r| r.file_name.to_string()),
            direction,
            indexes,
            cause: failed.map(ToString::to_string),
            undone: step.revision().map_or_else(
                || format!("`stamp` to the revision before {}", step.id()),
                |r| repair_stamps(r, direction).0,
            )
            .into(),
        }))
    }

    /// Offline scripts: the condition a step's block checks (the step's
    /// parents applied and itself not, for an upgrade; itself applied and
    /// its children not, for a downgrade; and the block before it done),
    /// and the error that stops the block when it does not hold.
    fn expectation(
        &self,
        d: &dyn Dialect,
        step: &Step<'_>,
        previous: Option<&Step<'_>>,
    ) -> Expectation {
        let graph = self.migrations.graph();
        let (mut present, mut absent): (Vec<&str>, Vec<&str>) = match step {
            Step::Run(r, Direction::Upgrade)
            | Step::Record(r, Direction::Upgrade)
            | Step::Adopt(r) => (r.revises.iter().map(AsRef::as_ref).collect(), vec![&r.id]),
            Step::Run(r, Direction::Downgrade) | Step::Record(r, Direction::Downgrade) => {
                let children = graph.index_of(&r.id).map_or(&[][..], |i| graph.children(i));
                (
                    vec![&r.id],
                    children.iter().map(|&c| graph.revision(c).id.as_ref()).collect(),
                )
            }
            Step::Rechecksum(r) => (vec![&r.id], Vec::new()),
            Step::Forget(id) => (vec![id], Vec::new()),
            Step::Unmark(..) => (Vec::new(), Vec::new()),
        };
        // The block before recorded last: its audit entry is the log's
        // newest. Without it, a later block whose expected state happens to
        // hold (a script run on a database at another revision) would run
        // after a refused one.
        let chain = previous.map(|p| self.newest_audit_is(d, p));
        match previous {
            Some(
                Step::Run(p, Direction::Upgrade)
                | Step::Record(p, Direction::Upgrade)
                | Step::Adopt(p),
            ) => {
                present.push(&p.id);
            }
            Some(Step::Run(p, Direction::Downgrade) | Step::Record(p, Direction::Downgrade)) => {
                absent.push(&p.id);
            }
            Some(Step::Forget(id)) => absent.push(id),
            Some(Step::Rechecksum(_) | Step::Unmark(..)) | None => {}
        }
        present.sort_unstable();
        present.dedup();
        absent.sort_unstable();
        absent.dedup();
        let mut expected = Vec::new();
        if !present.is_empty() {
            expected.push(format!("{} applied", present.join(", ")));
        }
        if !absent.is_empty() {
            expected.push(format!("{} not applied", absent.join(", ")));
        }
        expected.push("no dirty marker".to_owned());
        if let Some(p) = previous {
            expected.push(format!(
                "the {} of {} before it recorded last in the audit log",
                p.direction(),
                p.id()
            ));
        }
        let message = format!(
            "migrator: the {} of {} in this script expects {}; the database says otherwise \
             (a block before failed, or the database is not where the script was generated \
             for), so this block is refused and records nothing; run `current`, repair, and \
             generate a new script from there (`--sql --from <rev>`)",
            step.direction(),
            step.id(),
            expected.join(" and "),
        );
        let state = self.store.expect_sql(d, &present, &absent);
        // The block writes its audit entry first, then its version-table
        // row only where that entry was just written.
        let record = format!("{state} AND {}", self.newest_audit_is(d, step));
        let condition = match chain {
            Some(chain) => format!("{state} AND {chain}"),
            None => state,
        };
        Expectation {
            condition,
            record,
            message,
        }
    }

    /// Offline scripts: an SQL condition, that the audit log's newest entry
    /// is the successful one of `step`.
    fn newest_audit_is(&self, d: &dyn Dialect, step: &Step<'_>) -> String {
        format!(
            "EXISTS (SELECT 1 FROM (SELECT revision, action, outcome FROM {} \
             ORDER BY id DESC LIMIT 1) AS newest WHERE newest.revision = {} \
             AND newest.action = {} AND newest.outcome = 'success')",
            self.store.audit_table().quoted(d),
            d.quote_str(step.id()),
            d.quote_str(step.action().as_str())
        )
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
            None => (self.options.statement_timeout, self.options.ddl_lock_timeout),
        };
        let timeouts = d.timeouts_sql(statement, lock, in_transaction);
        match &revision.body {
            Body::Sql(_) => {
                let sql = sql_of(revision, direction, d.kind())?;
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
        let values = Values::Live {
            at: Utc::now().naive_utc(),
            elapsed_ms,
        };
        let sql = self.store.audit_sql(
            sink.dialect(),
            &values,
            step.id(),
            step.action(),
            Outcome::Failure,
            &match error {
                // The database's error: the marker's message adds the mend.
                Error::NonTransactional { source, .. } => source.to_string(),
                error => error.to_string(),
            },
            None,
        );
        let _ = sink.execute(&sql);
    }

    /// The error for `step` failing with `source`: a timeout, a failure
    /// whose effects may remain (outside a transaction, or where DDL
    /// commits on its own: `rolled_back` false), or a plain failure.
    fn failure(
        &self,
        d: &dyn Dialect,
        step: &Step<'_>,
        rolled_back: bool,
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
        let header = step.revision().and_then(|r| r.timeout);
        let mut source = source;
        if let Some(kind) = d.timeout_kind(&source.to_string()) {
            let lock = kind == TimeoutKind::Lock;
            let (limit, set_by) = match (header, lock) {
                (Some(limit), _) => (limit, "`Timeout:` in its header"),
                (None, true) => (
                    self.options.ddl_lock_timeout,
                    "`--ddl-lock-timeout`, `MIGRATOR_DDL_LOCK_TIMEOUT`, `ddl_lock_timeout` in \
                     migrator.toml, `Options::ddl_lock_timeout`",
                ),
                (None, false) => (
                    self.options.statement_timeout.unwrap_or_default(),
                    "`--statement-timeout`, `MIGRATOR_STATEMENT_TIMEOUT`, `statement_timeout` \
                     in migrator.toml, `Options::statement_timeout`",
                ),
            };
            if rolled_back {
                return Error::Timeout {
                    revision,
                    file,
                    direction,
                    lock,
                    limit,
                    set_by,
                    attempts: 1,
                    source,
                };
            }
            // Outside a transaction nothing is rolled back: the
            // partial-effects error, which names the limit.
            let name = if lock {
                "DDL lock timeout"
            } else {
                "statement timeout"
            };
            source = format!("{source} (its {name} of {limit:?}, set by {set_by}, fired)").into();
        }
        if rolled_back {
            Error::Revision {
                revision,
                file,
                direction,
                source,
            }
        } else {
            let (undone, stamp) = step.revision().map_or_else(
                || (String::new(), format!("`stamp {revision}`")),
                |r| repair_stamps(r, direction),
            );
            // Why nothing rolled back: the header's opt-out, or the
            // backend's DDL.
            let why = if step.non_transactional() {
                "it runs outside a transaction (`Transaction: false`)"
            } else {
                "each DDL statement commits on its own on MySQL and MariaDB, so no transaction \
                 can roll it back"
            };
            Error::NonTransactional {
                revision,
                file,
                direction,
                why,
                stamp: stamp.into(),
                undone: undone.into(),
                source,
            }
        }
    }
}

/// The stamps that record the `direction` of `revision` as not done and as
/// done, after it failed outside a transaction: the revision itself, and
/// where it comes from (each parent of a merge: a stamp keeps the other
/// branches; `base` for a root).
pub(crate) fn repair_stamps(revision: &Revision, direction: Direction) -> (String, String) {
    let itself = format!("`stamp {}`", revision.id);
    let parents = if revision.revises.is_empty() {
        "`stamp base`".to_owned()
    } else {
        revision
            .revises
            .iter()
            .map(|parent| format!("`stamp {parent}`"))
            .collect::<Vec<_>>()
            .join(" then ")
    };
    match direction {
        Direction::Upgrade => (parents, itself),
        Direction::Downgrade => (itself, parents),
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
    /// Runs one statement and returns how many rows it matched (`None`
    /// from a script, which writes it and cannot count).
    fn changed(&mut self, sql: &str) -> diesel::QueryResult<Option<usize>> {
        self.execute(sql).map(|()| None)
    }
    /// Runs a Rust revision's function.
    fn run_rust(&mut self, function: RevisionFn, revision: &Revision) -> RevisionResult;
    /// First in `step`'s transaction (before a `Transaction: false`
    /// revision: before it, outside one), on each attempt: renews the
    /// run's lease, or stops the run when it was lost
    /// ([`Error::LockLost`]).
    fn before_step(&mut self, _step: &Step<'_>) -> Result<()> {
        Ok(())
    }
    /// Runs a query that returns one text column `value` (nothing for a
    /// script).
    fn values(&mut self, sql: &str) -> diesel::QueryResult<Vec<String>>;
    /// True for an offline script: statements are written, not run, and
    /// the state is the server's when the script runs.
    fn offline(&self) -> bool;
}

/// The pause before retry `retry` + 1 of a revision: 250 ms, doubled each
/// time up to 10 s, plus up to half as much again at random, so that
/// replicas that timed out together do not come back together.
fn backoff(retry: u32) -> Duration {
    let base = Duration::from_millis(250)
        .saturating_mul(1 << retry.min(6))
        .min(Duration::from_secs(10));
    let half = u64::try_from(base.as_millis() / 2).unwrap_or(0);
    base + Duration::from_millis(RandomState::new().hash_one(retry) % (half + 1))
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

    fn changed(&mut self, sql: &str) -> diesel::QueryResult<Option<usize>> {
        self.0.changed(sql).map(Some)
    }

    fn before_step(&mut self, step: &Step<'_>) -> Result<()> {
        self.1
            .check(&mut *self.0, &format!("{} of {}", step.direction(), step.id()))
    }

    fn values(&mut self, sql: &str) -> diesel::QueryResult<Vec<String>> {
        Ok(self.0.load_text(sql)?.into_iter().map(|r| r.value).collect())
    }

    fn offline(&self) -> bool {
        false
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

    fn values(&mut self, _sql: &str) -> diesel::QueryResult<Vec<String>> {
        Ok(Vec::new())
    }

    fn offline(&self) -> bool {
        true
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


/// The SQL `revision` runs in `direction` on `backend`, or the error that
/// says it has none there.
fn sql_of(revision: &Revision, direction: Direction, backend: BackendKind) -> Result<&str> {
    revision
        .sql(direction, backend)
        .ok_or_else(|| Error::NoSqlForBackend {
            revision: revision.id.to_string(),
            file: revision.file_name.to_string(),
            direction,
            backend,
        })
}

#[cfg(test)]
mod tests {
    use super::backoff;
    use std::time::Duration;

    #[test]
    fn the_pause_before_a_retry_grows_with_jitter_and_is_bounded() {
        let ms = Duration::from_millis;
        for _ in 0..100 {
            let first = backoff(0);
            assert!(ms(250) <= first && first <= ms(375), "{first:?}");
            let second = backoff(1);
            assert!(ms(500) <= second && second <= ms(750), "{second:?}");
            let late = backoff(30);
            assert!(ms(10_000) <= late && late <= ms(15_000), "{late:?}");
        }
    }
}
