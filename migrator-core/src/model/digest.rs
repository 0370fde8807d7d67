//! A one-line summary of a version table's content, for the startup check.
//!
//! `embed_migrations!` embeds the digest of "every revision applied, with
//! this build's checksums"; at startup the runtime asks the database for its
//! version table's rows joined in one row (one query, one row to decode) and
//! digests them; a server can also compute the sum itself (MySQL's dialect
//! does). Equal strings mean the database is at head with nothing edited or
//! unknown, in one round trip, with nothing written.
//!
//! The digest is `<rows>:<sum>`: the number of rows and the sum, as a
//! decimal number, of the first 60 bits (15 hex digits) of the MD5 of each
//! row's `revision:checksum`. A sum needs no order, so the server sorts
//! nothing (in SQL:
//! `sum(('x' || substr(md5(revision || ':' || checksum), 1, 15))::bit(60)::bigint)`).
//! It is not a defence against someone who can write the version table
//! (they can do worse); it notices edits and accidents: an edited, added or
//! removed row changes it, but for a chance of about 2⁻⁶⁰.

use std::fmt;

use md5::{Digest, Md5};

/// The digest of a set of `(revision, checksum)` rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateDigest {
    rows: u64,
    sum: u128,
}

impl StateDigest {
    /// The digest of `rows`, in any order.
    pub fn of<'a>(rows: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut digest = StateDigest { rows: 0, sum: 0 };
        for (revision, checksum) in rows {
            digest.rows += 1;
            digest.sum += row_value(&format!("{revision}:{checksum}"));
        }
        digest
    }

    /// The digest as a database computed it: the number of rows and the sum
    /// as decimal text (`None` when it could not be read).
    pub fn from_parts(rows: u64, sum: Option<&str>) -> Option<Self> {
        let sum = sum?.trim().parse().ok()?;
        Some(StateDigest { rows, sum })
    }

    /// The digest of the rows a database returned joined by `,` (each
    /// `revision:checksum`, in any order) because it could not hash them.
    pub fn from_joined(rows: u64, joined: Option<&str>) -> Self {
        let sum = joined
            .into_iter()
            .flat_map(|joined| joined.split(','))
            .map(row_value)
            .sum();
        StateDigest { rows, sum }
    }
}

/// The first 60 bits of the MD5 of `row`.
fn row_value(row: &str) -> u128 {
    let hash = Md5::digest(row.as_bytes());
    let first = u64::from_be_bytes([
        hash[0], hash[1], hash[2], hash[3], hash[4], hash[5], hash[6], hash[7],
    ]);
    u128::from(first >> 4)
}

/// `<rows>:<sum>`.
impl fmt::Display for StateDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.rows, self.sum)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_does_not_matter() {
        let a = StateDigest::of([("001", "x"), ("002", "y")]);
        let b = StateDigest::of([("002", "y"), ("001", "x")]);
        assert_eq!(a, b);
        assert_ne!(a, StateDigest::of([("001", "x"), ("002", "z")]));
        assert_ne!(a, StateDigest::of([("001", "x")]));
        assert_eq!(StateDigest::from_joined(2, Some("002:y,001:x")), a);
    }

    #[test]
    fn matches_the_sql_definition() {
        // As PostgreSQL computes it: ('x' || substr(md5('001:abc'), 1, 15))::bit(60)::bigint.
        assert_eq!(row_value("001:abc"), 703_137_792_723_275_904);
        assert_eq!(
            StateDigest::of([("001", "abc"), ("002", "def")]).to_string(),
            "2:746054903434554294"
        );
        assert_eq!(
            StateDigest::from_parts(2, Some("746054903434554294")),
            Some(StateDigest::of([("001", "abc"), ("002", "def")]))
        );
        assert_eq!(StateDigest::of([]).to_string(), "0:0");
        assert_eq!(StateDigest::from_joined(0, None).to_string(), "0:0");
        assert_eq!(StateDigest::from_parts(1, Some("x")), None);
    }
}
