//! What a run tells as it goes (events) and when it is over (reports),
//! and the database's state as it reads it.

use std::time::Duration;

use chrono::NaiveDateTime;

use crate::error::Error;
use crate::model::{Direction, Revision};
use crate::rows::AppliedRevision;

/// What a run reports as it goes, for progress output and logs. Every event
/// is also emitted as a `tracing` event.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Event<'a> {
    /// Another migrator holds the lock; this run waits for it.
    WaitingForLock {
        /// Who holds it, as far as the lock tells: pid, application, client
        /// address and since when (advisory lock on PostgreSQL); host, pid,
        /// application and expiry (a lease).
        holder: &'a str,
    },
    /// The database is ahead of this build: every revision of the build is
    /// applied, and so are these, which it does not know (a newer build
    /// migrated it, as in a rolling deploy). `upgrade head`, `check` and
    /// `current` go on; `verify` lists them; `downgrade` and `stamp` refuse.
    Ahead {
        /// The applied revisions this build does not know.
        revisions: &'a [String],
    },
    /// A revision is about to run (or be recorded, for `stamp`).
    Started {
        /// The revision.
        revision: &'a Revision,
        /// Which way.
        direction: Direction,
    },
    /// A revision ran (or was recorded) and its transaction, unless the run is
    /// one single transaction, committed.
    Finished {
        /// The revision.
        revision: &'a Revision,
        /// Which way.
        direction: Direction,
        /// How long it took, bookkeeping included.
        elapsed: Duration,
    },
    /// `stamp` cleared the dirty marker of a revision that did not finish
    /// (see [`DirtyMarker`]).
    MarkerCleared {
        /// The revision.
        revision: &'a Revision,
        /// Which way it was started.
        direction: Direction,
    },
    /// A revision diesel_migrations ran (its ID is a version in
    /// `__diesel_schema_migrations`) was recorded as applied without
    /// running: the database is adopted.
    Adopted {
        /// The revision.
        revision: &'a Revision,
    },
    /// A revision ran out of the DDL lock timeout; its transaction was
    /// rolled back and it runs again after `pause`.
    Retrying {
        /// The revision.
        revision: &'a Revision,
        /// Which way.
        direction: Direction,
        /// Which retry this is (1 for the first).
        retry: u32,
        /// How many retries the run allows.
        retries: u32,
        /// The pause before it.
        pause: Duration,
    },
}

/// One revision run by a [`Migrator`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
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
#[non_exhaustive]
pub struct Report {
    /// The revisions run, in order.
    pub steps: Vec<StepReport>,
    /// Not empty when the database is ahead of this build (see
    /// [`Event::Ahead`]): the applied revisions it does not know. The
    /// upgrade had nothing to do.
    pub ahead: Vec<String>,
}

/// What [`Migrator::check`](crate::Migrator::check) finds: what `upgrade
/// head` would do, and whatever would stop it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Check<'m> {
    /// The revisions an upgrade to head would apply, in order.
    pub pending: Vec<&'m Revision>,
    /// Not empty when the database is ahead of this build (see
    /// [`Event::Ahead`]): the applied revisions it does not know.
    pub ahead: Vec<String>,
    /// The disagreements that stop a run (those of
    /// [`Migrator::verify`](crate::Migrator::verify), but the revisions of a
    /// database ahead of this build): not empty means `upgrade` would fail.
    pub problems: Vec<Problem>,
}

/// The database's migration state: the applied revisions, in the order they
/// were applied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct State {
    /// The version table's rows of applied revisions, oldest first.
    pub applied: Vec<AppliedRevision>,
    /// The dirty marker, when a revision that cannot run in one transaction
    /// was started and did not finish: every command but `current`,
    /// `history` and `show` stops ([`Error::Dirty`]) until `stamp` clears
    /// it.
    pub marker: Option<DirtyMarker>,
}

/// A revision that cannot run in one transaction (`Transaction: false`) was
/// started and did not finish: it failed, or its process died. Its
/// statements before the failure may be in effect. The version table holds
/// it as a row whose checksum is `started:upgrade` or `started:downgrade`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DirtyMarker {
    /// The revision ID.
    pub revision: String,
    /// Which way it was run.
    pub direction: Direction,
    /// When the marker was written (for an upgrade; for a downgrade, when
    /// the revision was applied), in UTC.
    pub since: NaiveDateTime,
    /// The error it failed with, as the audit log recorded it; `None` when
    /// no outcome was recorded (the process was killed, or lost its
    /// connection).
    pub error: Option<String>,
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
    /// A revision is not applied while revisions that descend from it are
    /// (its row was deleted, or a stamp skipped it): an upgrade would run
    /// it after its children.
    MissingAncestor {
        /// The revision ID.
        revision: String,
        /// Its file.
        file: String,
        /// Its applied descendants, in the order of application.
        descendants: Vec<String>,
        /// The applied revisions among them that no applied revision
        /// revises: `stamp` each to record the missing revision again.
        tips: Vec<String>,
    },
}

impl Problem {
    /// The error a run stops with for this problem.
    pub(crate) fn into_error(self) -> Error {
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
            Problem::MissingAncestor {
                revision,
                file,
                descendants,
                tips,
            } => Error::MissingAncestor {
                revision,
                file,
                descendants: descendants.join(", "),
                stamp: stamps(&tips),
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
            Problem::MissingAncestor {
                revision,
                file,
                descendants,
                tips,
            } => write!(
                f,
                "{}",
                Error::MissingAncestor {
                    revision: revision.clone(),
                    file: file.clone(),
                    descendants: descendants.join(", "),
                    stamp: stamps(tips),
                }
            ),
        }
    }
}

/// `` `stamp 009` `` or `` `stamp 006` then `stamp 007` ``.
fn stamps(tips: &[String]) -> String {
    tips.iter()
        .map(|tip| format!("`stamp {tip}`"))
        .collect::<Vec<_>>()
        .join(" then ")
}

