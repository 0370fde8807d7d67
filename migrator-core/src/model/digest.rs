//! A one-line summary of a version table's content, for the startup check.
//!
//! `embed_migrations!` embeds the digest of "every revision applied, with
//! this build's checksums"; at startup the runtime asks the database for the
//! digest of its version table (PostgreSQL computes it with `md5` and
//! `string_agg`; elsewhere the rows are read and digested here). Equal
//! strings mean the database is at head with nothing edited or unknown, in
//! one query and one round trip, with nothing written.
//!
//! The digest is `<rows>:<md5>`, where `<md5>` is the MD5, in lower-case
//! hex, of every row's `revision:checksum`, sorted by revision in byte
//! order and joined by `,` (PostgreSQL:
//! `md5(string_agg(revision || ':' || checksum, ',' ORDER BY revision COLLATE "C"))`).
//! MD5 is not a defence against an attacker who can write the version
//! table (they can do worse); it only has to notice edits and accidents.

use std::fmt;

use md5::{Digest, Md5};

/// The digest of a set of `(revision, checksum)` rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateDigest {
    rows: u64,
    md5: Option<String>,
}

impl StateDigest {
    /// The digest of `rows`, in any order.
    pub fn of<'a>(rows: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut rows: Vec<(&str, &str)> = rows.into_iter().collect();
        rows.sort_unstable();
        let joined = rows
            .iter()
            .map(|(revision, checksum)| format!("{revision}:{checksum}"))
            .collect::<Vec<_>>()
            .join(",");
        StateDigest::from_parts(
            rows.len() as u64,
            (!rows.is_empty()).then(|| md5_hex(&joined)),
        )
    }

    /// The digest as a database computed it: the number of rows and the MD5
    /// of the joined rows (`None` for no rows, as `string_agg` gives NULL).
    pub fn from_parts(rows: u64, md5: Option<String>) -> Self {
        StateDigest { rows, md5 }
    }

    /// The digest of rows a database joined (sorted, `revision:checksum`,
    /// separated by `,`) but could not hash itself (SQLite has no MD5).
    pub fn from_joined(rows: u64, joined: Option<&str>) -> Self {
        StateDigest::from_parts(rows, joined.map(md5_hex))
    }
}

/// The MD5 of `text`, in lower-case hex.
fn md5_hex(text: &str) -> String {
    Md5::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `<rows>:<md5>` (`0:` for no rows).
impl fmt::Display for StateDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.rows, self.md5.as_deref().unwrap_or(""))
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
    }

    #[test]
    fn matches_the_sql_definition() {
        // md5('001:x,002:y'), as PostgreSQL computes it.
        assert_eq!(
            StateDigest::of([("002", "y"), ("001", "x")]).to_string(),
            format!("2:{}", md5_hex("001:x,002:y"))
        );
        assert_eq!(md5_hex(""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(StateDigest::of([]).to_string(), "0:");
        assert_eq!(
            StateDigest::from_joined(2, Some("001:x,002:y")),
            StateDigest::of([("002", "y"), ("001", "x")])
        );
    }

    #[test]
    fn byte_order() {
        // Upper case sorts before lower case, as under COLLATE "C".
        let d = StateDigest::of([("a", "1"), ("B", "2")]);
        assert_eq!(d.to_string(), format!("2:{}", md5_hex("B:2,a:1")));
    }
}
