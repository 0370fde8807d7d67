//! The validated revision graph: one base, one head, merges where branches
//! meet. A [`Graph`] can only be built from revisions that pass every graph
//! rule of FORMAT.md ([`Graph::build`]) or from the static data that
//! `embed_migrations!` generated after running those same checks at build
//! time ([`Graph::from_checked`]); code that holds one never re-checks.
//!
//! Both constructors share one index builder (`Index::new`): revisions sorted
//! by ID (for lookups and prefix search by binary search, so the graph holds
//! no self-referential map), parents and children as flat adjacency arrays,
//! and the application order. Building it is `O(n log n)`; every query is at most linear, and all
//! walks are iterative, so graphs of any depth neither recurse nor go
//! quadratic.

use std::borrow::Cow;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet, VecDeque};

use rustc_hash::FxHashMap;

use crate::model::suggest::edit_distance;
use crate::model::{Diagnostics, Parsed, Revision, Rule};

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
    /// Checks graph rules 1 to 6 of FORMAT.md over `parsed` and builds the
    /// graph. `display` names the directory in messages. Returns `None` (with
    /// every problem in `diagnostics`) when a rule is broken.
    ///
    /// Every problem is reported, not only the first: broken chains and
    /// repeated parents are always checked; cycles over the links that
    /// resolve; redundant ancestors when there is no cycle; several bases
    /// always; several heads only when IDs are unique, every link resolves
    /// and there is no cycle (otherwise the heads would be artefacts of the
    /// other errors).
    pub fn build(
        parsed: Vec<Parsed>,
        display: &str,
        diagnostics: &mut Diagnostics,
    ) -> Option<Graph> {
        let before = diagnostics.len();
        let (revisions, files): (Vec<Revision>, Vec<Location>) = parsed
            .into_iter()
            .map(|p| {
                let location = Location {
                    path: p.path,
                    id_line: p.id_line,
                    revises_line: p.revises_line,
                };
                (p.revision, location)
            })
            .unzip();
        let index = Index::new(&revisions);
        Checker {
            revisions: &revisions,
            files: &files,
            index: &index,
            display,
            diagnostics,
        }
        .run();
        (diagnostics.len() == before).then_some(Graph {
            revisions: Cow::Owned(revisions),
            index,
        })
    }

    /// Builds the graph from revisions that were checked at build time by
    /// `embed_migrations!` (decoded from the generated data); runs no checks.
    #[doc(hidden)]
    pub fn from_checked(revisions: impl Into<Cow<'static, [Revision]>>) -> Graph {
        let revisions = revisions.into();
        Graph {
            index: Index::new(&revisions),
            revisions,
        }
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
                suggestions: closest(spec, self.revisions.iter().map(|r| r.id.as_ref()))
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

/// The index structures both constructors build, from revisions in any state
/// (for [`Graph::build`], before the checks: links that do not resolve are
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

/// Where a revision's header fields are, for messages.
struct Location {
    path: String,
    id_line: u32,
    /// `None` when the `Revises` field is missing (already reported).
    revises_line: Option<u32>,
}

/// Runs the graph rules over one directory and reports into `diagnostics`.
struct Checker<'a> {
    revisions: &'a [Revision],
    files: &'a [Location],
    index: &'a Index,
    display: &'a str,
    diagnostics: &'a mut Diagnostics,
}

impl Checker<'_> {
    fn run(mut self) {
        let unique = self.duplicate_ids();
        let resolved = self.broken_chains();
        self.repeated_parents();
        let acyclic = self.cycles();
        self.bases();
        // A revision whose `Revises` is missing has unknown parents: it would
        // show up as a spurious extra head.
        let parents_known = self.files.iter().all(|f| f.revises_line.is_some());
        if acyclic {
            self.redundant_parents();
            if unique && resolved && parents_known {
                self.heads();
            }
        }
    }

    /// `` `id` (path) ``, how messages name a revision.
    fn name(&self, i: usize) -> String {
        format!("`{}` ({})", self.revisions[i].id, self.files[i].path)
    }

    fn report_revises(&mut self, i: usize, rule: Rule, message: String, help: String) {
        let file = &self.files[i];
        self.diagnostics.report(
            &file.path,
            Some(file.revises_line.unwrap_or(1)),
            rule,
            message,
            help,
        );
    }

    /// Rule 1. Returns true when every ID is unique.
    fn duplicate_ids(&mut self) -> bool {
        let sorted = &self.index.by_id;
        let mut unique = true;
        for group in sorted.chunk_by(|&a, &b| self.revisions[a].id == self.revisions[b].id) {
            for &later in group.iter().skip(1) {
                unique = false;
                let others: Vec<&str> = group
                    .iter()
                    .filter(|&&i| i != later)
                    .map(|&i| self.files[i].path.as_str())
                    .collect();
                let file = &self.files[later];
                self.diagnostics.report(
                    &file.path,
                    Some(file.id_line),
                    Rule::DuplicateRevision,
                    format!(
                        "revision ID `{}` is also declared by {}",
                        self.revisions[later].id,
                        others.join(", ")
                    ),
                    "each revision needs its own ID: give this file a new `Revision ID:` and rename it to match",
                );
            }
        }
        unique
    }

    /// Rule 2. Returns true when every `Revises` entry names a revision.
    fn broken_chains(&mut self) -> bool {
        let mut resolved = true;
        for i in 0..self.revisions.len() {
            let own = self.revisions[i].id.as_ref();
            let mut seen = HashSet::new();
            for parent in self.revisions[i].parents() {
                if self.index.lookup(self.revisions, parent).is_some() || !seen.insert(parent) {
                    continue;
                }
                resolved = false;
                let others = self
                    .revisions
                    .iter()
                    .map(|r| r.id.as_ref())
                    .filter(|&id| id != own);
                let help = if others.clone().next().is_none() {
                    format!(
                        "{} has no other revisions: leave `Revises:` empty to make this the base revision",
                        self.display
                    )
                } else {
                    match closest(parent, others).as_slice() {
                        [] => format!(
                            "no revision ID in {} is close to it: name the revision this one comes after",
                            self.display
                        ),
                        close => format!("did you mean {}?", quoted_list(close)),
                    }
                };
                self.report_revises(
                    i,
                    Rule::BrokenChain,
                    format!(
                        "`Revises` names `{parent}`, which is not a revision in {}",
                        self.display
                    ),
                    help,
                );
            }
        }
        resolved
    }

    /// Rule 6, first half: a parent listed twice.
    fn repeated_parents(&mut self) {
        for i in 0..self.revisions.len() {
            let mut seen = HashSet::new();
            let mut reported = HashSet::new();
            for parent in self.revisions[i].parents() {
                if !seen.insert(parent) && reported.insert(parent) {
                    self.report_revises(
                        i,
                        Rule::RedundantParent,
                        format!("`Revises` lists `{parent}` more than once"),
                        format!("remove the repeated `{parent}` from `Revises:`"),
                    );
                }
            }
        }
    }

    /// Rule 3: one report per strongly connected component that holds a
    /// cycle, naming the shortest cycle through its smallest ID. Returns true
    /// when there is no cycle.
    fn cycles(&mut self) -> bool {
        let n = self.revisions.len();
        if self.index.order.len() == n {
            return true;
        }
        // Only revisions left out of the order can be on a cycle.
        let candidate: Vec<bool> = self.index.position.iter().map(|&p| p == NONE).collect();
        for component in strongly_connected(&self.index.parents, &candidate) {
            let on_cycle = component.len() > 1
                || component
                    .first()
                    .is_some_and(|&v| self.index.parents.get(v).contains(&v));
            if !on_cycle {
                continue;
            }
            let Some(&start) = component
                .iter()
                .min_by_key(|&&i| (self.revisions[i].id.as_ref(), i))
            else {
                continue;
            };
            let cycle = shortest_cycle(&self.index.children, start, &component);
            let mut chain: Vec<String> = cycle.iter().map(|&i| self.name(i)).collect();
            chain.push(format!("`{}`", self.revisions[start].id));
            self.report_revises(
                start,
                Rule::Cycle,
                format!("the `Revises` links form a cycle: {}", chain.join(" -> ")),
                "a revision cannot come after itself: remove one of these links from its `Revises:`"
                    .to_owned(),
            );
        }
        false
    }

    /// Rule 4.
    fn bases(&mut self) {
        let bases: Vec<usize> = (0..self.revisions.len())
            .filter(|&i| {
                self.revisions[i].revises.is_empty() && self.files[i].revises_line.is_some()
            })
            .collect();
        if let [_, .., last] = bases[..] {
            let names: Vec<String> = bases.iter().map(|&i| self.name(i)).collect();
            self.report_revises(
                last,
                Rule::MultipleBases,
                format!(
                    "there is more than one base revision (empty `Revises:`): {}",
                    names.join(", ")
                ),
                "a directory has exactly one base: give all but one of them a `Revises:` naming the revision each comes after"
                    .to_owned(),
            );
        }
    }

    /// Rule 5 (only sound when IDs are unique, every link resolves and there
    /// is no cycle).
    fn heads(&mut self) {
        let heads: Vec<usize> = self
            .index
            .by_id
            .iter()
            .copied()
            .filter(|&i| self.index.children.get(i).is_empty())
            .collect();
        if heads.len() < 2 {
            return;
        }
        let names: Vec<String> = heads.iter().map(|&i| self.name(i)).collect();
        let ids: Vec<&str> = heads
            .iter()
            .map(|&i| self.revisions[i].id.as_ref())
            .collect();
        let new_id = next_id(self.revisions.iter().map(|r| r.id.as_ref()))
            .unwrap_or_else(|| "<new_id>".to_owned());
        self.diagnostics.report(
            self.display,
            None,
            Rule::MultipleHeads,
            format!("there is more than one head: {}", names.join(", ")),
            format!(
                "join them with a merge revision: a new file such as `{}/{new_id}_merge_heads.sql` with `Revises: {}` and both a `-- migrate:upgrade` and a `-- migrate:downgrade` section (`-- migrate:noop` where there is nothing to run); the CLI command `merge heads -m \"<message>\"` writes it for you",
                self.display,
                ids.join(", ")
            ),
        );
    }

    /// Rule 6, second half: a parent that is an ancestor of another parent.
    /// Only run on an acyclic graph. The search from a parent is bounded by
    /// the order position of the earliest other parent, so it only visits
    /// the branches between the fork and the merge.
    fn redundant_parents(&mut self) {
        let position = &self.index.position;
        let mut visited = vec![NONE; self.revisions.len()];
        let mut stamp = 0;
        for r in 0..self.revisions.len() {
            let parents = self.index.parents.get(r);
            if parents.len() < 2 {
                continue;
            }
            let mut redundant: Vec<(usize, usize)> = Vec::new();
            for &via in parents {
                let Some(floor) = parents
                    .iter()
                    .map(|&p| position[p])
                    .filter(|&p| p < position[via])
                    .min()
                else {
                    continue;
                };
                stamp += 1;
                let mut stack = vec![via];
                while let Some(v) = stack.pop() {
                    for &u in self.index.parents.get(v) {
                        if visited[u] == stamp || position[u] < floor {
                            continue;
                        }
                        visited[u] = stamp;
                        if parents.contains(&u) && !redundant.iter().any(|&(p, _)| p == u) {
                            redundant.push((u, via));
                        }
                        stack.push(u);
                    }
                }
            }
            // Report in the order of `Revises`.
            for &p in parents {
                if let Some(&(_, via)) = redundant.iter().find(|&&(q, _)| q == p) {
                    let (p_id, via_id) = (&self.revisions[p].id, &self.revisions[via].id);
                    self.report_revises(
                        r,
                        Rule::RedundantParent,
                        format!(
                            "`Revises` lists `{p_id}`, which is already an ancestor of `{via_id}`, another revision it lists"
                        ),
                        format!("remove `{p_id}` from `Revises:`; it comes in through `{via_id}`"),
                    );
                }
            }
        }
    }
}

/// Tarjan's strongly connected components over the `candidate` nodes,
/// iteratively.
fn strongly_connected(edges: &Adjacency, candidate: &[bool]) -> Vec<Vec<usize>> {
    let n = candidate.len();
    let mut number = vec![NONE; n];
    let mut low = vec![0; n];
    let mut on_stack = vec![false; n];
    let mut stack = Vec::new();
    let mut components = Vec::new();
    let mut next = 0;
    for root in (0..n).filter(|&i| candidate[i]) {
        if number[root] != NONE {
            continue;
        }
        // Frames of (node, next edge to follow).
        let mut calls = vec![(root, 0)];
        number[root] = next;
        low[root] = next;
        next += 1;
        stack.push(root);
        on_stack[root] = true;
        while let Some(&(v, edge)) = calls.last() {
            if let Some(&w) = edges.get(v).get(edge) {
                if let Some(frame) = calls.last_mut() {
                    frame.1 += 1;
                }
                if !candidate[w] {
                    continue;
                }
                if number[w] == NONE {
                    number[w] = next;
                    low[w] = next;
                    next += 1;
                    stack.push(w);
                    on_stack[w] = true;
                    calls.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(number[w]);
                }
                continue;
            }
            calls.pop();
            if let Some(&(u, _)) = calls.last() {
                low[u] = low[u].min(low[v]);
            }
            if low[v] == number[v] {
                let mut component = Vec::new();
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    component.push(w);
                    if w == v {
                        break;
                    }
                }
                components.push(component);
            }
        }
    }
    components
}

/// The shortest cycle through `start` following `edges` inside `component`
/// (breadth first), from `start` on, without repeating it at the end.
fn shortest_cycle(edges: &Adjacency, start: usize, component: &[usize]) -> Vec<usize> {
    let inside: HashSet<usize> = component.iter().copied().collect();
    let mut came_from: HashMap<usize, usize> = HashMap::new();
    let mut queue = VecDeque::from([start]);
    while let Some(v) = queue.pop_front() {
        for &w in edges.get(v) {
            if w == start {
                let mut cycle = vec![v];
                let mut at = v;
                while let Some(&prev) = came_from.get(&at) {
                    cycle.push(prev);
                    at = prev;
                }
                cycle.reverse();
                return cycle;
            }
            if inside.contains(&w) && !came_from.contains_key(&w) {
                came_from.insert(w, v);
                queue.push_back(w);
            }
        }
    }
    // Unreachable for a component on a cycle; name the component instead.
    component.to_vec()
}

/// The next numeric ID, keeping the width of the longest ID, when every ID
/// is a decimal number; `None` otherwise.
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

/// Up to three of `ids` closest to `wanted`: within an edit distance of a
/// third of its length (at least 1), or one a prefix of the other; nearest
/// first, then in byte order.
pub(crate) fn closest<'a>(wanted: &str, ids: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let limit = (wanted.chars().count() / 3).max(1);
    let related =
        |id: &str| !wanted.is_empty() && (id.starts_with(wanted) || wanted.starts_with(id));
    let mut scored: Vec<(usize, &str)> = ids
        .filter_map(|id| {
            let distance = edit_distance(wanted, id);
            (distance <= limit || related(id)).then_some((distance, id))
        })
        .collect();
    scored.sort_unstable();
    scored.dedup();
    scored.into_iter().take(3).map(|(_, id)| id).collect()
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
pub(crate) mod tests {
    use super::*;
    use crate::model::{Body, Diagnostic};

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

    fn check(specs: &[(&str, &[&str])]) -> Result<Graph, Vec<Diagnostic>> {
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

    fn problems(specs: &[(&str, &[&str])]) -> Vec<Diagnostic> {
        match check(specs) {
            Ok(_) => panic!("expected problems"),
            Err(problems) => problems,
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

    #[test]
    fn closest_ids() {
        let ids = ["001", "002", "003", "010", "abc"];
        assert_eq!(closest("004", ids.into_iter()), ["001", "002", "003"]);
        assert_eq!(closest("0021", ids.into_iter()), ["001", "002"]);
        assert_eq!(closest("01", ids.into_iter()), ["001", "010"]);
        assert!(closest("zzzzzz", ids.into_iter()).is_empty());
        assert_eq!(next_id(["001", "009"].into_iter()).as_deref(), Some("010"));
        assert_eq!(next_id(["99"].into_iter()).as_deref(), Some("100"));
        assert_eq!(next_id(["001", "ab"].into_iter()), None);
    }

    #[test]
    fn rule_1_duplicate_ids() {
        let found = problems(&[("001", &[]), ("001", &[]), ("001", &[]), ("002", &["001"])]);
        let duplicates: Vec<&Diagnostic> = found
            .iter()
            .filter(|d| d.rule == Rule::DuplicateRevision)
            .collect();
        assert_eq!(duplicates.len(), 2, "{found:#?}");
        assert_eq!(duplicates[0].line, Some(3));
        assert_eq!(
            duplicates[0].message,
            "revision ID `001` is also declared by migrations/001_r.sql, migrations/001_r.sql"
        );
        assert_eq!(
            duplicates[0].help,
            "each revision needs its own ID: give this file a new `Revision ID:` and rename it to match"
        );
        // The three files are also three bases; no head report on top.
        assert!(found.iter().any(|d| d.rule == Rule::MultipleBases));
        assert!(!found.iter().any(|d| d.rule == Rule::MultipleHeads));
    }

    #[test]
    fn rule_2_broken_chain() {
        let found = problems(&[
            ("001", &[]),
            ("002", &["001"]),
            ("003", &["002"]),
            ("005", &["004", "004"]),
        ]);
        let broken: Vec<&Diagnostic> = found
            .iter()
            .filter(|d| d.rule == Rule::BrokenChain)
            .collect();
        assert_eq!(broken.len(), 1, "{found:#?}");
        let d = broken[0];
        assert_eq!((d.file.as_str(), d.line), ("migrations/005_r.sql", Some(4)));
        assert_eq!(
            d.message,
            "`Revises` names `004`, which is not a revision in migrations"
        );
        assert_eq!(d.help, "did you mean `001`, `002`, `003`?");
        // The repeated parent is reported too; heads are not (005 hangs loose).
        assert!(found.iter().any(|d| d.rule == Rule::RedundantParent));
        assert!(!found.iter().any(|d| d.rule == Rule::MultipleHeads));

        let found = problems(&[("002", &[]), ("003", &["002"]), ("1a2b", &["004"])]);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(found[0].help, "did you mean `002`, `003`?");

        let found = problems(&[("001", &[]), ("002", &["xyzzy"])]);
        assert_eq!(
            found[0].help,
            "no revision ID in migrations is close to it: name the revision this one comes after"
        );

        let found = problems(&[("002", &["001"])]);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(
            found[0].help,
            "migrations has no other revisions: leave `Revises:` empty to make this the base revision"
        );
    }

    #[test]
    fn rule_3_cycles_in_order_once_each() {
        let found = problems(&[
            ("001", &[]),
            ("002", &["003"]),
            ("003", &["002"]),
            ("004", &["003"]),
            ("a", &["c"]),
            ("b", &["a"]),
            ("c", &["b"]),
            ("s", &["s"]),
        ]);
        let cycles: Vec<&Diagnostic> = found.iter().filter(|d| d.rule == Rule::Cycle).collect();
        let mut messages: Vec<&str> = cycles.iter().map(|d| d.message.as_str()).collect();
        messages.sort_unstable();
        assert_eq!(
            messages,
            [
                "the `Revises` links form a cycle: `002` (migrations/002_r.sql) -> `003` (migrations/003_r.sql) -> `002`",
                "the `Revises` links form a cycle: `a` (migrations/a_r.sql) -> `b` (migrations/b_r.sql) -> `c` (migrations/c_r.sql) -> `a`",
                "the `Revises` links form a cycle: `s` (migrations/s_r.sql) -> `s`",
            ],
            "{found:#?}"
        );
        let first = cycles
            .iter()
            .find(|d| d.file == "migrations/002_r.sql")
            .expect("reported at 002");
        assert_eq!(first.line, Some(4));
        assert_eq!(
            first.help,
            "a revision cannot come after itself: remove one of these links from its `Revises:`"
        );
        assert_eq!(
            found.len(),
            3,
            "no head report on a cyclic graph: {found:#?}"
        );
    }

    #[test]
    fn rule_4_multiple_bases() {
        let found = problems(&[
            ("001", &[]),
            ("002", &["001"]),
            ("003", &[]),
            ("004", &["002", "003"]),
        ]);
        assert_eq!(found.len(), 1, "{found:#?}");
        let d = &found[0];
        assert_eq!(
            (d.rule, d.file.as_str(), d.line),
            (Rule::MultipleBases, "migrations/003_r.sql", Some(4))
        );
        assert_eq!(
            d.message,
            "there is more than one base revision (empty `Revises:`): `001` (migrations/001_r.sql), `003` (migrations/003_r.sql)"
        );
        assert_eq!(
            d.help,
            "a directory has exactly one base: give all but one of them a `Revises:` naming the revision each comes after"
        );
    }

    #[test]
    fn rule_5_multiple_heads() {
        let found = problems(&[
            ("001", &[]),
            ("002", &["001"]),
            ("003", &["001"]),
            ("004", &["001"]),
        ]);
        assert_eq!(found.len(), 1, "{found:#?}");
        let d = &found[0];
        assert_eq!(
            (d.rule, d.file.as_str(), d.line),
            (Rule::MultipleHeads, "migrations", None)
        );
        assert_eq!(
            d.message,
            "there is more than one head: `002` (migrations/002_r.sql), `003` (migrations/003_r.sql), `004` (migrations/004_r.sql)"
        );
        assert_eq!(
            d.help,
            "join them with a merge revision: a new file such as `migrations/005_merge_heads.sql` with `Revises: 002, 003, 004` and both a `-- migrate:upgrade` and a `-- migrate:downgrade` section (`-- migrate:noop` where there is nothing to run); the CLI command `merge heads -m \"<message>\"` writes it for you"
        );
        let found = problems(&[("ab", &[]), ("cd", &["ab"]), ("ef", &["ab"])]);
        assert!(
            found[0]
                .help
                .contains("`migrations/<new_id>_merge_heads.sql` with `Revises: cd, ef`")
        );
    }

    #[test]
    fn rule_6_redundant_parents() {
        let found = problems(&[("1", &[]), ("2", &["1"]), ("3", &["1", "2", "2"])]);
        let messages: Vec<(&str, &str)> = found
            .iter()
            .map(|d| (d.message.as_str(), d.help.as_str()))
            .collect();
        assert_eq!(
            messages,
            [
                (
                    "`Revises` lists `2` more than once",
                    "remove the repeated `2` from `Revises:`"
                ),
                (
                    "`Revises` lists `1`, which is already an ancestor of `2`, another revision it lists",
                    "remove `1` from `Revises:`; it comes in through `2`"
                ),
            ],
            "{found:#?}"
        );
        assert!(
            found
                .iter()
                .all(|d| d.rule == Rule::RedundantParent && d.line == Some(4))
        );

        // A distant ancestor through a branch.
        let found = problems(&[
            ("1", &[]),
            ("2a", &["1"]),
            ("3a", &["2a"]),
            ("2b", &["1"]),
            ("4", &["2b", "3a", "2a"]),
        ]);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(
            found[0]
                .message
                .starts_with("`Revises` lists `2a`, which is already an ancestor of `3a`")
        );
    }

    #[test]
    fn several_problems_at_once() {
        let found = problems(&[
            ("001", &[]),
            ("001", &["000"]),
            ("002", &["003"]),
            ("003", &["002"]),
            ("009", &[]),
        ]);
        let rules: Vec<Rule> = found.iter().map(|d| d.rule).collect();
        assert_eq!(
            rules,
            [
                Rule::DuplicateRevision,
                Rule::BrokenChain,
                Rule::Cycle,
                Rule::MultipleBases
            ],
            "{found:#?}"
        );
    }

    /// A long chain with a two-branch diamond every ten revisions.
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

    #[test]
    fn large_graph_builds() {
        let revisions = large(100_000);
        let parsed: Vec<Parsed> = revisions
            .iter()
            .map(|r| Parsed {
                revision: r.clone(),
                path: format!("migrations/{}", r.file_name),
                id_line: 1,
                revises_line: Some(2),
            })
            .collect();
        let mut diagnostics = Diagnostics::new();
        let built = Graph::build(parsed, "migrations", &mut diagnostics);
        assert!(diagnostics.is_empty(), "{diagnostics}");
        let fixed = Graph::from_checked(revisions);
        assert_eq!(
            built.map(|g| g.order().to_vec()),
            Some(fixed.order().to_vec())
        );
        assert_eq!(fixed.head(), Some(99_999));
        assert_eq!(fixed.base(), Some(0));
        assert_eq!(fixed.resolve("099998"), Ok(99_998));
    }
}
