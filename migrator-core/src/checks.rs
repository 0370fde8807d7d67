//! The graph rules of FORMAT.md ("revision graph", rules 1 to 6) and
//! [`Graph::build`], which runs them.
//!
//! Imports go one way: this module uses [`crate::graph`] (an unchecked
//! graph's queries) and [`crate::model`]; `graph` never refers to it. That
//! is why `Graph::build` is defined here and not in `graph.rs`.

use std::collections::{HashMap, HashSet, VecDeque};

use crate::graph::Graph;
use crate::model::suggest::{Near, SUGGESTED_IDS, closest, next_id, quoted_list};
use crate::model::{Diagnostics, Parsed, Revision, Rule};

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
        let graph = Graph::unchecked(revisions);
        Checker {
            graph: &graph,
            files: &files,
            display,
            diagnostics,
        }
        .run();
        (diagnostics.len() == before).then_some(graph)
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
    /// The revisions, indexed but not checked.
    graph: &'a Graph,
    files: &'a [Location],
    display: &'a str,
    diagnostics: &'a mut Diagnostics,
}

impl<'a> Checker<'a> {
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
        format!("`{}` ({})", self.id(i), self.files[i].path)
    }

    /// The ID of revision `i` (borrowed from the graph, not from `self`).
    fn id(&self, i: usize) -> &'a str {
        &self.graph.revision(i).id
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
        let graph = self.graph;
        let mut unique = true;
        for group in graph
            .by_id()
            .chunk_by(|&a, &b| graph.revision(a).id == graph.revision(b).id)
        {
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
                        self.id(later),
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
        for i in 0..self.graph.len() {
            let own = self.id(i);
            let mut seen = HashSet::new();
            for parent in self.graph.revision(i).parents() {
                if self.graph.index_of(parent).is_some() || !seen.insert(parent) {
                    continue;
                }
                resolved = false;
                // In byte order: the order of equally close suggestions.
                let others = self
                    .graph
                    .by_id()
                    .iter()
                    .map(|&k| self.id(k))
                    .filter(|&id| id != own);
                let help = if others.clone().next().is_none() {
                    format!(
                        "{} has no other revisions: leave `Revises:` empty to make this the base revision",
                        self.display
                    )
                } else {
                    match closest(parent, others, Near::Id, SUGGESTED_IDS).as_slice() {
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
        for i in 0..self.graph.len() {
            let mut seen = HashSet::new();
            let mut reported = HashSet::new();
            for parent in self.graph.revision(i).parents() {
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
        let graph = self.graph;
        if graph.order().len() == graph.len() {
            return true;
        }
        // Only revisions left out of the order can be on a cycle.
        let mut candidate = vec![true; graph.len()];
        for &i in graph.order() {
            candidate[i] = false;
        }
        for component in strongly_connected(|v| graph.parents(v), &candidate) {
            let on_cycle = component.len() > 1
                || component
                    .first()
                    .is_some_and(|&v| graph.parents(v).contains(&v));
            if !on_cycle {
                continue;
            }
            let Some(&start) = component.iter().min_by_key(|&&i| (self.id(i), i)) else {
                continue;
            };
            let cycle = shortest_cycle(|v| graph.children(v), start, &component);
            let mut chain: Vec<String> = cycle.iter().map(|&i| self.name(i)).collect();
            chain.push(format!("`{}`", self.id(start)));
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
        let bases: Vec<usize> = (0..self.graph.len())
            .filter(|&i| {
                self.graph.revision(i).revises.is_empty() && self.files[i].revises_line.is_some()
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
            .graph
            .by_id()
            .iter()
            .copied()
            .filter(|&i| self.graph.children(i).is_empty())
            .collect();
        if heads.len() < 2 {
            return;
        }
        let names: Vec<String> = heads.iter().map(|&i| self.name(i)).collect();
        let ids: Vec<&str> = heads.iter().map(|&i| self.id(i)).collect();
        let new_id = next_id(self.graph.revisions().iter().map(|r| r.id.as_ref()))
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
        let graph = self.graph;
        let position = |i: usize| graph.position(i);
        // The search that last visited each revision (0: none yet).
        let mut visited = vec![0; graph.len()];
        let mut stamp = 0;
        for r in 0..graph.len() {
            let parents = graph.parents(r);
            if parents.len() < 2 {
                continue;
            }
            let mut redundant: Vec<(usize, usize)> = Vec::new();
            for &via in parents {
                let Some(floor) = parents
                    .iter()
                    .map(|&p| position(p))
                    .filter(|&p| p < position(via))
                    .min()
                else {
                    continue;
                };
                stamp += 1;
                let mut stack = vec![via];
                while let Some(v) = stack.pop() {
                    for &u in graph.parents(v) {
                        if visited[u] == stamp || position(u) < floor {
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
                    let (p_id, via_id) = (self.id(p), self.id(via));
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
/// iteratively; `edges(v)` are the targets of node `v`.
fn strongly_connected<'g>(
    edges: impl Fn(usize) -> &'g [usize],
    candidate: &[bool],
) -> Vec<Vec<usize>> {
    /// Marks a node not numbered yet.
    const NONE: usize = usize::MAX;
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
            if let Some(&w) = edges(v).get(edge) {
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
fn shortest_cycle<'g>(
    edges: impl Fn(usize) -> &'g [usize],
    start: usize,
    component: &[usize],
) -> Vec<usize> {
    let inside: HashSet<usize> = component.iter().copied().collect();
    let mut came_from: HashMap<usize, usize> = HashMap::new();
    let mut queue = VecDeque::from([start]);
    while let Some(v) = queue.pop_front() {
        for &w in edges(v) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::tests::{check, large};
    use crate::model::Diagnostic;

    fn problems(specs: &[(&str, &[&str])]) -> Vec<Diagnostic> {
        match check(specs) {
            Ok(_) => panic!("expected problems"),
            Err(problems) => problems,
        }
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
