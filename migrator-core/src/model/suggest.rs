//! What messages suggest: the near misses behind "did you mean ...?" helps
//! ([`closest`], the one ranking of every such help: field names,
//! directives, backends and revision IDs), the ID of a new revision
//! ([`next_id`]) and how lists of names are written ([`quoted_list`]).

/// How many revision IDs a "did you mean ...?" help names at most.
pub(crate) const SUGGESTED_IDS: usize = 3;

/// How near to the word a candidate must be for [`closest`] to keep it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(
    not(feature = "parser"),
    allow(dead_code, reason = "`Any` and `Edits` serve the file checks")
)]
pub(crate) enum Near {
    /// Every candidate, however far.
    Any,
    /// At most this many edits away.
    Edits(usize),
    /// A mistyped or shortened revision ID: at most a third of the word's
    /// length in edits (at least 1), or either of the two beginning the
    /// other (never for an empty word).
    Id,
}

impl Near {
    fn keeps(self, word: &str, candidate: &str, distance: usize) -> bool {
        match self {
            Near::Any => true,
            Near::Edits(limit) => distance <= limit,
            Near::Id => {
                distance <= (word.chars().count() / 3).max(1)
                    || (!word.is_empty()
                        && (candidate.starts_with(word) || word.starts_with(candidate)))
            }
        }
    }
}

/// Up to `at_most` of `candidates` that are [`Near`] `word`, nearest (by
/// edit distance) first; among equally near ones, the first given first.
/// A candidate given twice is kept once.
pub(crate) fn closest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
    near: Near,
    at_most: usize,
) -> Vec<&'a str> {
    let mut kept: Vec<(usize, usize, &str)> = candidates
        .into_iter()
        .enumerate()
        .filter_map(|(given, candidate)| {
            let distance = edit_distance(word, candidate);
            near.keeps(word, candidate, distance)
                .then_some((distance, given, candidate))
        })
        .collect();
    kept.sort_unstable();
    let mut best = Vec::new();
    for (_, _, candidate) in kept {
        if best.len() == at_most {
            break;
        }
        if !best.contains(&candidate) {
            best.push(candidate);
        }
    }
    best
}

/// The Levenshtein distance between `a` and `b`, counted in characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

/// The next numeric ID, keeping the width of the longest ID, when every ID
/// is a decimal number; `None` otherwise. The ID of a new revision file, and
/// of the merge revision that the several-heads help proposes.
pub(crate) fn next_id<'a>(ids: impl Iterator<Item = &'a str>) -> Option<String> {
    let mut max = 0u128;
    let mut width = 0;
    for id in ids {
        if !id.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        max = max.max(id.parse().ok()?);
        width = width.max(id.len());
    }
    Some(format!("{:0width$}", max.checked_add(1)?))
}

/// `` `a`, `b`, `c` ``.
pub(crate) fn quoted_list<S: AsRef<str>>(items: &[S]) -> String {
    items
        .iter()
        .map(|s| format!("`{}`", s.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(edit_distance("", ""), 0);
        assert_eq!(edit_distance("revises", "revices"), 1);
        assert_eq!(edit_distance("revisionid", "revisonid"), 1);
        assert_eq!(edit_distance("upgarde", "upgrade"), 2);
        assert_eq!(edit_distance("abc", ""), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn closest_prefers_the_first_of_equals() {
        assert_eq!(
            closest("upgrad", ["upgrade", "downgrade"], Near::Any, 1),
            ["upgrade"]
        );
        assert_eq!(closest("b", ["a", "c"], Near::Any, 2), ["a", "c"]);
        assert_eq!(closest("b", ["c", "a"], Near::Any, 2), ["c", "a"]);
        assert!(closest("x", [], Near::Any, 1).is_empty());
    }

    #[test]
    fn closest_within_edits() {
        let tags = ["postgres", "sqlite", "mysql"];
        assert_eq!(closest("postgre", tags, Near::Edits(3), 1), ["postgres"]);
        assert!(closest("oracle", tags, Near::Edits(3), 1).is_empty());
        assert_eq!(closest("oracle", tags, Near::Any, 1).len(), 1);
    }

    #[test]
    fn closest_ids() {
        let ids = ["001", "002", "003", "010", "abc"];
        let close = |wanted| closest(wanted, ids, Near::Id, SUGGESTED_IDS);
        assert_eq!(close("004"), ["001", "002", "003"]);
        assert_eq!(close("0021"), ["001", "002"]);
        assert_eq!(close("01"), ["001", "010"]);
        assert!(close("zzzzzz").is_empty());
        // A repeated ID (two files declaring it) is named once.
        assert_eq!(
            closest("004", ["001", "001", "002"], Near::Id, SUGGESTED_IDS),
            ["001", "002"]
        );
    }

    #[test]
    fn next_ids() {
        assert_eq!(next_id(["001", "009"].into_iter()).as_deref(), Some("010"));
        assert_eq!(next_id(["99"].into_iter()).as_deref(), Some("100"));
        assert_eq!(next_id(["001", "ab"].into_iter()), None);
    }

    #[test]
    fn quoted_lists() {
        assert_eq!(quoted_list(&["a", "b"]), "`a`, `b`");
        assert_eq!(quoted_list::<&str>(&[]), "");
    }
}
