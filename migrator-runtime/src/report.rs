//! What a run tells as it goes (events) and when it is over (reports),
//! and the database's state as it reads it.

use std::time::Duration;

use crate::error::Error;
use crate::model::{Direction, Revision};
use crate::rows::AppliedRevision;

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
}

/// The database's migration state: the applied revisions, in the order they
/// were applied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct State {
    /// The version table's rows, oldest first.
    pub applied: Vec<AppliedRevision>,
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

