//! Databases that passing checks leave behind, for the next check to start
//! from instead of a fresh copy.
//!
//! A revision's check ends with the revision applied again and the schema
//! compared equal to its first upgrade, so the database is left where the
//! next revision's check starts (or a few revisions below it): that check
//! takes it, applies the revisions in between, and checks its own revision
//! there. A database is reused only after a check passed on it, each
//! database's chain starts from a fresh one, and a check that fails on a
//! reused database is run again on a fresh one, whose verdict is the one
//! reported: reuse can only save time, never change a failure into another
//! or move it to another revision.

use std::sync::{Mutex, PoisonError};

use super::db::{Kind, TestDb};

/// How many revisions below its own a check goes to fetch a database; from
/// further below, a copy of a template (fewer than
/// [`STRIDE`](super::template::STRIDE) revisions below) is faster.
const REACH: usize = 4 * super::template::STRIDE;

/// How many databases wait at most; beyond, the one furthest behind is
/// dropped.
const MAX_IDLE: usize = 16;

/// A database waiting for the next check.
struct Idle {
    kind: Kind,
    /// The key of its state (see [`prefix_keys`](super::template::prefix_keys)).
    key: u64,
    /// How many revisions of the order are applied.
    position: usize,
    db: TestDb,
}

static IDLE: Mutex<Vec<Idle>> = Mutex::new(Vec::new());

/// Takes the waiting database of `kind` furthest along among the states
/// `keys` (`keys[q]`: the first `q` revisions of the order applied), at most
/// [`REACH`] revisions below the last one; returns its position with it.
pub(super) fn take(kind: Kind, keys: &[u64]) -> Option<(usize, TestDb)> {
    let last = keys.len().checked_sub(1)?;
    let lowest = last.saturating_sub(REACH);
    let mut idle = IDLE.lock().unwrap_or_else(PoisonError::into_inner);
    let best = idle
        .iter()
        .enumerate()
        .filter(|(_, entry)| {
            entry.kind == kind
                && (lowest..=last).contains(&entry.position)
                && keys[entry.position] == entry.key
        })
        .max_by_key(|(_, entry)| entry.position)
        .map(|(i, _)| i)?;
    let entry = idle.swap_remove(best);
    Some((entry.position, entry.db))
}

/// Leaves `db`, of `kind`, at the state `key` (`position` revisions
/// applied) for a later check.
pub(super) fn put(kind: Kind, key: u64, position: usize, db: TestDb) {
    super::template::clean_up_at_exit();
    let evicted = {
        let mut idle = IDLE.lock().unwrap_or_else(PoisonError::into_inner);
        idle.push(Idle {
            kind,
            key,
            position,
            db,
        });
        if idle.len() > MAX_IDLE {
            let behind = idle
                .iter()
                .enumerate()
                .min_by_key(|(_, entry)| entry.position)
                .map(|(i, _)| i);
            behind.map(|i| idle.swap_remove(i))
        } else {
            None
        }
    };
    // Dropped outside the lock (a drop may wait for the server).
    drop(evicted);
}

/// Every waiting database (at exit, to drop them).
pub(super) fn take_all() -> Vec<TestDb> {
    std::mem::take(&mut *IDLE.lock().unwrap_or_else(PoisonError::into_inner))
        .into_iter()
        .map(|entry| entry.db)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A state's key in these tests (none of them a real state's).
    fn keys(n: usize) -> Vec<u64> {
        (0..=n).map(|q| 0x7e57_0000 + q as u64).collect()
    }

    #[test]
    fn the_database_furthest_along_within_reach_of_the_same_state_is_taken() {
        let keys = keys(REACH + 10);
        for position in [3, 9, 12] {
            put(Kind::Sqlite, keys[position], position, TestDb::sqlite());
        }
        // Another backend's, another state's, one past the check's state.
        put(Kind::Postgres, keys[11], 11, TestDb::sqlite());
        put(Kind::Sqlite, 0x0bad, 10, TestDb::sqlite());
        put(Kind::Sqlite, keys[13], 13, TestDb::sqlite());
        let taken = |last: usize| take(Kind::Sqlite, &keys[..=last]).map(|(q, _)| q);
        assert_eq!(taken(12), Some(12));
        assert_eq!(taken(12), Some(9));
        // 3 is out of reach of REACH + 4.
        assert_eq!(taken(REACH + 4), Some(13));
        assert_eq!(taken(REACH + 4), None);
        assert_eq!(taken(REACH + 3), Some(3));
        assert_eq!(taken(REACH + 3), None);
        assert!(take(Kind::Postgres, &keys[..=11]).is_some());
        assert!(take(Kind::Sqlite, &[0x0bad]).is_none());
        drop(take_all());
    }
}
