//! Near misses: the edit distance behind "did you mean ...?" helps.

/// The Levenshtein distance between `a` and `b`, counted in characters.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
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

/// The candidate nearest to `word`, with its distance; the first one wins a
/// tie. `None` only when `candidates` is empty.
#[cfg(feature = "parser")]
pub(super) fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<(&'a str, usize)> {
    candidates
        .iter()
        .map(|&c| (c, edit_distance(word, c)))
        .min_by_key(|&(_, distance)| distance)
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
            closest("upgrad", &["upgrade", "downgrade"]),
            Some(("upgrade", 1))
        );
        assert_eq!(closest("x", &[]), None);
    }
}
