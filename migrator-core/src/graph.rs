//! The validated revision graph: one base, one head, merges where branches
//! meet. A [`Graph`] can only be built from revisions that pass every graph
//! rule of FORMAT.md ([`Graph::build`], which lives with those rules in the
//! `checks` module) or from the static data that `embed_migrations!`
//! generated after running those same checks at build time
//! ([`Graph::from_checked`]); code that holds one never re-checks.
//!
//! This module knows nothing of the rules: `checks` builds an unchecked
//! graph (`Graph::unchecked`), runs the rules over its queries, and hands it
//! out only when they all pass.
//!
//! Every graph has one index (`Index::new`): revisions sorted by ID (for
//! lookups and prefix search by binary search, so the graph holds no
//! self-referential map), parents and children as flat adjacency arrays, and
//! the application order. Building it is `O(n log n)`; every query is at
//! most linear, and all walks are iterative, so graphs of any depth neither
//! recurse nor go quadratic.

use std::borrow::Cow;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

use rustc_hash::FxHashMap;

use crate::model::Revision;
use crate::model::suggest::{Near, SUGGESTED_IDS, closest, quoted_list};

/// Marks "no index" in the index vectors.
const NONE: usize = usize::MAX;

/// How many candidates an ambiguous prefix error shows.
const MAX_CANDIDATES: usize = 10;

/// The revision graph. Revisions are addressed by their index in
/// [`Graph::revisions`].
#[derive(Debug, Clone)]
pub struct Graph {
    revisions: Cow<'static, [Revision]>,
    index: Index,
}

/// Why [`Graph::resolve`] found no revision for a spec.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResolveError {
    /// No revision has this ID, nor an ID that begins with it.
    #[error(
        "no revision has the ID `{spec}` or an ID beginning with it; {}",
        unknown_help(.suggestions)
    )]
    Unknown {
        /// What was asked for.
        spec: String,
        /// The closest existing IDs (at most 3), best first.
        suggestions: Vec<String>,
    },
    /// Several revision IDs begin with this prefix.
    #[error(
        "`{spec}` is ambiguous: it begins the IDs {}{}; give more characters of the ID",
        quoted_list(.candidates),
        more_suffix(*.more)
    )]
    Ambiguous {
        /// The prefix that was asked for.
        spec: String,
        /// The first matching IDs in byte order (at most 10).
        candidates: Vec<String>,
        /// How many more IDs match beyond `candidates`.
        more: usize,
    },
}

fn unknown_help(suggestions: &[String]) -> String {
    if suggestions.is_empty() {
        "`history` lists the revisions".to_owned()
    } else {
        format!("did you mean {}?", quoted_list(suggestions))
    }
}

fn more_suffix(more: usize) -> String {
    if more == 0 {
        String::new()
    } else {
        format!(" and {more} more")
    }
}

impl Graph {
    /// Builds the graph from revisions that were checked at build time by
    /// `embed_migrations!` (decoded from the generated data); runs no checks.
    #[doc(hidden)]
    pub fn from_checked(revisions: impl Into<Cow<'static, [Revision]>>) -> Graph {
        Graph::unchecked(revisions)
    }

    /// Indexes revisions in any state, for the graph rules to run over (see
    /// `Index`: links that do not resolve are left out, and the order
    /// stops short of revisions on or after a cycle). Only `checks` and
    /// [`Graph::from_checked`] call it.
    pub(crate) fn unchecked(revisions: impl Into<Cow<'static, [Revision]>>) -> Graph {
        let revisions = revisions.into();
        Graph {
            index: Index::new(&revisions),
            revisions,
        }
    }

    /// Revision indices sorted by ID (byte order), duplicate IDs (only in an
    /// unchecked graph) by index.
    pub(crate) fn by_id(&self) -> &[usize] {
        &self.index.by_id
    }

    /// The IDs in byte order.
    fn ids_in_order(&self) -> impl Iterator<Item = &str> {
        self.index
            .by_id
            .iter()
            .map(|&i| self.revisions[i].id.as_ref())
    }

    /// Every revision; indices into this slice address revisions everywhere.
    pub fn revisions(&self) -> &[Revision] {
        &self.revisions
    }

    /// The number of revisions.
    pub fn len(&self) -> usize {
        self.revisions.len()
    }

    /// True for a graph without revisions (an empty directory: head is base).
    pub fn is_empty(&self) -> bool {
        self.revisions.is_empty()
    }

    /// The revision at index `idx`.
    ///
    /// # Panics
    ///
    /// If `idx` is not below [`Graph::len`], like slice indexing.
    pub fn revision(&self, idx: usize) -> &Revision {
        &self.revisions[idx]
    }

    /// The index of the revision whose ID is exactly `id`.
    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.index.lookup(&self.revisions, id)
    }

    /// The base revision (the one with an empty `Revises`), `None` for an
    /// empty graph.
    pub fn base(&self) -> Option<usize> {
        self.index.order.first().copied()
    }

    /// The head revision (the one no revision revises), `None` for an empty
    /// graph.
    pub fn head(&self) -> Option<usize> {
        self.index.order.last().copied()
    }

    /// The parents of revision `idx` (its `Revises`), in the order written.
    pub fn parents(&self, idx: usize) -> &[usize] {
        self.index.parents.get(idx)
    }

    /// The revisions that revise `idx`, by increasing index.
    pub fn children(&self, idx: usize) -> &[usize] {
        self.index.children.get(idx)
    }

    /// The application order: every revision after all of its parents, and,
    /// among the revisions whose parents all come earlier, the one with the
    /// smallest revision ID (byte order) first. It depends only on the IDs
    /// and the `Revises` links, never on file order or hashing, so every
    /// machine and every run applies revisions in the same order.
    pub fn order(&self) -> &[usize] {
        &self.index.order
    }

    /// The place of revision `idx` in [`Graph::order`].
    pub fn position(&self, idx: usize) -> usize {
        self.index.position[idx]
    }

    /// The ancestors of `idx`, including `idx` itself, as a flag per revision
    /// index.
    pub fn ancestors(&self, idx: usize) -> Vec<bool> {
        let mut seen = self.reach(idx, &self.index.parents);
        seen[idx] = true;
        seen
    }

    /// The descendants of `idx`, excluding `idx` itself, as a flag per
    /// revision index.
    pub fn descendants(&self, idx: usize) -> Vec<bool> {
        self.reach(idx, &self.index.children)
    }

    /// Every revision reachable from `idx` through `edges` in one or more
    /// steps.
    fn reach(&self, idx: usize, edges: &Adjacency) -> Vec<bool> {
        let mut seen = vec![false; self.len()];
        let mut stack = edges.get(idx).to_vec();
        while let Some(v) = stack.pop() {
            if !seen[v] {
                seen[v] = true;
                stack.extend(edges.get(v).iter().filter(|&&w| !seen[w]));
            }
        }
        seen
    }

    /// The applied revisions that have no applied child, in [`Graph::order`].
    /// `applied` is a flag per revision index (missing entries count as not
    /// applied). For a consistent state this is the one head of what is
    /// applied, or the tips of each branch after a partial downgrade.
    pub fn tips(&self, applied: &[bool]) -> Vec<usize> {
        let is_applied = |i: usize| applied.get(i).copied().unwrap_or(false);
        self.index
            .order
            .iter()
            .copied()
            .filter(|&i| is_applied(i) && !self.children(i).iter().any(|&c| is_applied(c)))
            .collect()
    }

    /// Finds the revision that `spec` names: the revision with exactly that
    /// ID, else the only revision whose ID begins with `spec`.
    ///
    /// # Errors
    ///
    /// [`ResolveError::Ambiguous`] (with the candidates) when several IDs
    /// begin with `spec`; [`ResolveError::Unknown`] (with the closest IDs)
    /// when none does.
    pub fn resolve(&self, spec: &str) -> Result<usize, ResolveError> {
        let sorted = &self.index.by_id;
        let id = |k: usize| self.revisions[sorted[k]].id.as_ref();
        let start = sorted.partition_point(|&i| self.revisions[i].id.as_ref() < spec);
        let matching = if spec.is_empty() {
            0
        } else {
            sorted[start..].partition_point(|&i| self.revisions[i].id.starts_with(spec))
        };
        match matching {
            0 => Err(ResolveError::Unknown {
                spec: spec.to_owned(),
                suggestions: closest(spec, self.ids_in_order(), Near::Id, SUGGESTED_IDS)
                    .into_iter()
                    .map(str::to_owned)
                    .collect(),
            }),
            _ if id(start) == spec || matching == 1 => Ok(sorted[start]),
            _ => Err(ResolveError::Ambiguous {
                spec: spec.to_owned(),
                candidates: (start..start + matching.min(MAX_CANDIDATES))
                    .map(|k| id(k).to_owned())
                    .collect(),
                more: matching.saturating_sub(MAX_CANDIDATES),
            }),
        }
    }
}

/// The index structures of a graph, from revisions in any state (for
/// [`Graph::unchecked`], before the checks: links that do not resolve are
/// left out, and `order` stops short of revisions on or after a cycle).
#[derive(Debug, Clone)]
struct Index {
    /// Revision indices sorted by ID, ties (duplicate IDs) by index.
    by_id: Vec<usize>,
    /// Resolved, de-duplicated parents, in the order written.
    parents: Adjacency,
    /// Children by increasing index.
    children: Adjacency,
    /// The application order (see [`Graph::order`]).
    order: Vec<usize>,
    /// The place of each revision in `order`; `NONE` when it has none.
    position: Vec<usize>,
}

impl Index {
    fn new(revisions: &[Revision]) -> Index {
        let n = revisions.len();
        // Sorting (ID, index) pairs compares the strings in place (no
        // indirection through `revisions`), and the index keeps duplicate IDs
        // in their file order.
        let mut pairs: Vec<(&str, usize)> = revisions
            .iter()
            .enumerate()
            .map(|(i, r)| (r.id.as_ref(), i))
            .collect();
        pairs.sort_unstable();
        let by_id: Vec<usize> = pairs.into_iter().map(|(_, i)| i).collect();

        // Resolving links through a map is several times faster than binary
        // searches through `by_id` (which chase a pointer per comparison).
        let mut first: FxHashMap<&str, usize> =
            FxHashMap::with_capacity_and_hasher(n, Default::default());
        for (i, r) in revisions.iter().enumerate() {
            first.entry(r.id.as_ref()).or_insert(i);
        }
        let mut parents = Adjacency::with_capacity(n);
        let mut last_child = vec![NONE; n];
        for (child, r) in revisions.iter().enumerate() {
            for parent in r.parents().filter_map(|p| first.get(p).copied()) {
                if std::mem::replace(&mut last_child[parent], child) != child {
                    parents.targets.push(parent);
                }
            }
            parents.end_node();
        }
        let mut index = Index {
            by_id,
            children: parents.transpose(),
            parents,
            order: Vec::new(),
            position: vec![NONE; n],
        };
        index.order = index.topological_order();
        for (pos, &i) in index.order.iter().enumerate() {
            index.position[i] = pos;
        }
        index
    }

    /// The first revision (in file order) whose ID is exactly `id`.
    fn lookup(&self, revisions: &[Revision], id: &str) -> Option<usize> {
        let k = self
            .by_id
            .partition_point(|&i| revisions[i].id.as_ref() < id);
        self.by_id
            .get(k)
            .copied()
            .filter(|&i| revisions[i].id == id)
    }

    /// Kahn's algorithm, taking the smallest ID among the ready revisions.
    /// Revisions on a cycle, or after one, are left out.
    fn topological_order(&self) -> Vec<usize> {
        let n = self.by_id.len();
        let mut rank = vec![0; n];
        for (k, &i) in self.by_id.iter().enumerate() {
            rank[i] = k;
        }
        let mut waiting: Vec<usize> = (0..n).map(|i| self.parents.get(i).len()).collect();
        let mut ready: BinaryHeap<Reverse<usize>> = (0..n)
            .filter(|&i| waiting[i] == 0)
            .map(|i| Reverse(rank[i]))
            .collect();
        let mut order = Vec::with_capacity(n);
        while let Some(Reverse(k)) = ready.pop() {
            let i = self.by_id[k];
            order.push(i);
            for &c in self.children.get(i) {
                waiting[c] -= 1;
                if waiting[c] == 0 {
                    ready.push(Reverse(rank[c]));
                }
            }
        }
        order
    }
}

/// Adjacency lists in one flat array (compressed sparse rows): the targets of
/// node `i` are `targets[start[i]..start[i + 1]]`.
#[derive(Debug, Clone)]
struct Adjacency {
    start: Vec<usize>,
    targets: Vec<usize>,
}

impl Adjacency {
    /// No nodes yet, room for `n`; add each node's targets to `targets`,
    /// then call [`Adjacency::end_node`].
    fn with_capacity(n: usize) -> Adjacency {
        let mut start = Vec::with_capacity(n + 1);
        start.push(0);
        Adjacency {
            start,
            targets: Vec::with_capacity(n),
        }
    }

    /// Closes the targets of the next node.
    fn end_node(&mut self) {
        self.start.push(self.targets.len());
    }

    fn get(&self, i: usize) -> &[usize] {
        &self.targets[self.start[i]..self.start[i + 1]]
    }

    fn len(&self) -> usize {
        self.start.len() - 1
    }

    /// The reversed edges, each list by increasing source.
    fn transpose(&self) -> Adjacency {
        let n = self.len();
        let mut start = vec![0; n + 1];
        for &t in &self.targets {
            start[t + 1] += 1;
        }
        for i in 0..n {
            start[i + 1] += start[i];
        }
        let mut fill = start.clone();
        let mut targets = vec![0; self.targets.len()];
        for source in 0..n {
            for &t in self.get(source) {
                targets[fill[t]] = source;
                fill[t] += 1;
            }
        }
        Adjacency { start, targets }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::{Body, Diagnostic, Diagnostics, Parsed};

    /// A SQL revision with no sections: enough for the graph.
    pub(crate) fn revision(id: &str, parents: &[&str]) -> Revision {
        Revision {
            id: Cow::Owned(id.to_owned()),
            slug: Cow::Borrowed("r"),
            file_name: Cow::Owned(format!("{id}_r.sql")),
            message: Cow::Borrowed("r"),
            description: Cow::Borrowed(""),
            revises: parents
                .iter()
                .map(|p| Cow::Owned((*p).to_owned()))
                .collect(),
            create_date: None,
            transactional: true,
            timeout: None,
            allow_destructive: false,
            body: Body::Sql(Cow::Borrowed(&[])),
            checksum: Cow::Borrowed(""),
        }
    }

    /// A graph from `(id, parents)` pairs, which must pass every rule.
    pub(crate) fn graph(specs: &[(&str, &[&str])]) -> Graph {
        match check(specs) {
            Ok(graph) => graph,
            Err(problems) => panic!("unexpected problems: {problems:#?}"),
        }
    }

    /// Builds the graph of `(id, parents)` pairs: the graph, or every
    /// problem found.
    pub(crate) fn check(specs: &[(&str, &[&str])]) -> Result<Graph, Vec<Diagnostic>> {
        let parsed = specs
            .iter()
            .map(|(id, parents)| Parsed {
                revision: revision(id, parents),
                path: format!("migrations/{id}_r.sql"),
                id_line: 3,
                revises_line: Some(4),
            })
            .collect();
        let mut diagnostics = Diagnostics::new();
        let graph = Graph::build(parsed, "migrations", &mut diagnostics);
        match graph {
            Some(graph) if diagnostics.is_empty() => Ok(graph),
            Some(_) => panic!("a graph despite problems: {diagnostics}"),
            None if diagnostics.is_empty() => panic!("no graph and no problem"),
            None => Err(diagnostics.into_iter().collect()),
        }
    }

    fn ids(graph: &Graph, indices: &[usize]) -> Vec<String> {
        indices
            .iter()
            .map(|&i| graph.revision(i).id.to_string())
            .collect()
    }

    fn flagged(graph: &Graph, flags: &[bool]) -> Vec<String> {
        let set: Vec<usize> = graph
            .order()
            .iter()
            .copied()
            .filter(|&i| flags[i])
            .collect();
        ids(graph, &set)
    }

    /// `1`; `2a`, `2b` both revise `1`; `3` merges them (files listed out of
    /// order on purpose).
    const DIAMOND: &[(&str, &[&str])] = &[
        ("3", &["2a", "2b"]),
        ("2b", &["1"]),
        ("1", &[]),
        ("2a", &["1"]),
    ];

    #[test]
    fn empty_graph() {
        let g = graph(&[]);
        assert!(g.is_empty());
        assert_eq!((g.base(), g.head()), (None, None));
        assert!(g.order().is_empty());
        assert!(g.tips(&[]).is_empty());
    }

    #[test]
    fn diamond_structure() {
        let g = graph(DIAMOND);
        assert_eq!(g.len(), 4);
        assert_eq!(ids(&g, g.order()), ["1", "2a", "2b", "3"]);
        let [i3, i2b, i1, i2a] = [0, 1, 2, 3];
        assert_eq!(g.base(), Some(i1));
        assert_eq!(g.head(), Some(i3));
        assert_eq!(g.parents(i3), [i2a, i2b]);
        assert_eq!(g.children(i1), [i2b, i2a]);
        assert_eq!(g.index_of("2b"), Some(i2b));
        assert_eq!(g.index_of("2"), None);
        assert_eq!(g.position(i3), 3);
        assert_eq!(g.position(i2a), 1);
        assert_eq!(flagged(&g, &g.ancestors(i2b)), ["1", "2b"]);
        assert_eq!(flagged(&g, &g.ancestors(i3)), ["1", "2a", "2b", "3"]);
        assert_eq!(flagged(&g, &g.descendants(i2a)), ["3"]);
        assert_eq!(flagged(&g, &g.descendants(i1)), ["2a", "2b", "3"]);
        assert_eq!(ids(&g, &g.tips(&[false, true, true, true])), ["2a", "2b"]);
        assert_eq!(ids(&g, &g.tips(&[true, true, true, true])), ["3"]);
        // A short flag slice counts the rest as not applied.
        assert_eq!(ids(&g, &g.tips(&[false, false, true])), ["1"]);
    }

    #[test]
    fn order_takes_the_smallest_ready_id() {
        // After 2a, both 2b and 3a are ready: 2b < 3a.
        let g = graph(&[
            ("1", &[]),
            ("2a", &["1"]),
            ("3a", &["2a"]),
            ("2b", &["1"]),
            ("4", &["3a", "2b"]),
        ]);
        assert_eq!(ids(&g, g.order()), ["1", "2a", "2b", "3a", "4"]);
        // The same graph from another file order gives the same order.
        let g = graph(&[
            ("4", &["3a", "2b"]),
            ("2b", &["1"]),
            ("3a", &["2a"]),
            ("2a", &["1"]),
            ("1", &[]),
        ]);
        assert_eq!(ids(&g, g.order()), ["1", "2a", "2b", "3a", "4"]);
    }

    #[test]
    fn from_checked_matches_build() {
        let built = graph(DIAMOND);
        let fixed = Graph::from_checked(built.revisions().to_vec());
        assert_eq!(fixed.order(), built.order());
        assert_eq!(fixed.head(), built.head());
        assert_eq!(fixed.children(2), built.children(2));
    }

    #[test]
    fn resolve_exact_prefix_ambiguous_unknown() {
        let g = graph(&[
            ("1", &[]),
            ("10", &["1"]),
            ("2ab", &["10"]),
            ("2ac", &["2ab"]),
        ]);
        assert_eq!(g.resolve("1"), Ok(0), "an exact ID wins over a prefix");
        assert_eq!(g.resolve("10"), Ok(1));
        assert_eq!(g.resolve("2ab"), Ok(2));
        let err = g.resolve("2a").expect_err("ambiguous");
        assert_eq!(
            err.to_string(),
            "`2a` is ambiguous: it begins the IDs `2ab`, `2ac`; give more characters of the ID"
        );
        let err = g.resolve("3ab").expect_err("unknown");
        assert_eq!(
            err.to_string(),
            "no revision has the ID `3ab` or an ID beginning with it; did you mean `2ab`?"
        );
        let err = g.resolve("zzzz").expect_err("unknown");
        assert_eq!(
            err.to_string(),
            "no revision has the ID `zzzz` or an ID beginning with it; `history` lists the revisions"
        );
        assert!(matches!(g.resolve(""), Err(ResolveError::Unknown { .. })));
    }

    #[test]
    fn ambiguous_lists_at_most_ten() {
        let specs: Vec<(String, Vec<String>)> = (0..15)
            .map(|i| {
                let parents = if i == 0 {
                    vec![]
                } else {
                    vec![format!("a{:02}", i - 1)]
                };
                (format!("a{i:02}"), parents)
            })
            .collect();
        let specs: Vec<(&str, Vec<&str>)> = specs
            .iter()
            .map(|(id, ps)| (id.as_str(), ps.iter().map(String::as_str).collect()))
            .collect();
        let specs: Vec<(&str, &[&str])> =
            specs.iter().map(|(id, ps)| (*id, ps.as_slice())).collect();
        let g = graph(&specs);
        let Err(ResolveError::Ambiguous {
            candidates, more, ..
        }) = g.resolve("a")
        else {
            panic!("expected ambiguous");
        };
        assert_eq!(candidates.len(), 10);
        assert_eq!(candidates[0], "a00");
        assert_eq!(more, 5);
        assert!(
            g.resolve("a")
                .expect_err("ambiguous")
                .to_string()
                .contains("`a09` and 5 more;")
        );
    }

    pub(crate) fn large(n: usize) -> Vec<Revision> {
        let id = |i: usize| format!("{i:06}");
        let mut revisions = Vec::with_capacity(n);
        for i in 0..n {
            let parents = match i {
                0 => vec![],
                _ if i % 10 == 3 => vec![id(i - 2), id(i - 1)],
                _ if i % 10 == 2 => vec![id(i - 2)],
                _ => vec![id(i - 1)],
            };
            let parents: Vec<&str> = parents.iter().map(String::as_str).collect();
            revisions.push(revision(&id(i), &parents));
        }
        revisions
    }
}
