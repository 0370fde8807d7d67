//! A one-line summary of a version table's content, for the startup check.
//!
//! The runtime keeps the digest of the version table in a one-row table
//! beside it, rewritten in the same transaction as every change;
//! `embed_migrations!` embeds the digest of "every revision applied, with
//! this build's checksums". When the two strings are equal the database is
//! at head with nothing edited or unknown, and startup has read one short
//! row instead of the whole table.

use std::fmt;

use sha2::{Digest, Sha256};

/// The digest of a set of `(revision, checksum)` rows: their number and the
/// XOR of the SHA-256 of each row. Independent of the order the rows were
/// applied in (branches can be applied in any order), and updated in
/// constant time per applied or removed row.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StateDigest {
    rows: u64,
    xor: [u8; 32],
}

impl StateDigest {
    /// The digest of `rows`.
    pub fn of<'a>(rows: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut digest = StateDigest::default();
        for (revision, checksum) in rows {
            digest.insert(revision, checksum);
        }
        digest
    }

    /// Adds a row.
    pub fn insert(&mut self, revision: &str, checksum: &str) {
        self.rows += 1;
        self.toggle(revision, checksum);
    }

    /// Removes a row that [`StateDigest::insert`] added.
    pub fn remove(&mut self, revision: &str, checksum: &str) {
        self.rows = self.rows.saturating_sub(1);
        self.toggle(revision, checksum);
    }

    fn toggle(&mut self, revision: &str, checksum: &str) {
        let mut hasher = Sha256::new();
        hasher.update(revision.as_bytes());
        hasher.update([0]);
        hasher.update(checksum.as_bytes());
        for (x, h) in self.xor.iter_mut().zip(hasher.finalize()) {
            *x ^= h;
        }
    }
}

/// `1:<rows>:<64 hex digits>` (`1` is the digest's version).
impl fmt::Display for StateDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "1:{}:", self.rows)?;
        self.xor.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_does_not_matter_and_removal_undoes_insertion() {
        let a = StateDigest::of([("001", "aa"), ("002", "bb"), ("003", "cc")]);
        let b = StateDigest::of([("003", "cc"), ("001", "aa"), ("002", "bb")]);
        assert_eq!(a, b);
        let mut c = a;
        c.remove("003", "cc");
        assert_eq!(c, StateDigest::of([("001", "aa"), ("002", "bb")]));
        c.remove("002", "bb");
        c.remove("001", "aa");
        assert_eq!(c, StateDigest::default());
    }

    #[test]
    fn every_field_counts() {
        let base = StateDigest::of([("001", "aa"), ("002", "bb")]).to_string();
        for other in [
            StateDigest::of([("001", "aa"), ("002", "bc")]),
            StateDigest::of([("001", "aa"), ("003", "bb")]),
            StateDigest::of([("001", "aa")]),
            // The separator keeps `(0012, b)` apart from `(001, 2b)`.
            StateDigest::of([("001", "aa"), ("0022", "b")]),
        ] {
            assert_ne!(other.to_string(), base);
        }
        assert!(base.starts_with("1:2:"), "{base}");
        assert_eq!(base.len(), "1:2:".len() + 64);
    }
}
