//! Differential test: migrator against Alembic itself, the tool whose
//! revision graph and command set it follows.
//!
//! The same revision graphs exist in both formats: migrator fixtures under
//! `tests/fixtures/alembic/<graph>/` (each revision `X` creates table `t_X`
//! and its downgrade drops it), and Alembic script directories that
//! `tests/alembic/driver.py` writes from them. Both tools run the same
//! command sequences (`upgrade`, `downgrade`, `stamp`, `stamp --purge` with
//! every kind of target) on fresh SQLite files, and after every command the
//! test compares:
//! success or failure, the current revisions, the set of tables, and the
//! revisions executed, with their direction, in order (not for `stamp`,
//! which executes nothing: migrator's stamp steps are records).
//!
//! Alembic comes from PyPI, pinned in `tests/alembic/requirements.txt`, in
//! the virtualenv `scripts/alembic-venv.sh` creates (`target/alembic-venv`;
//! `MIGRATOR_ALEMBIC_PYTHON` names another python). Without it the test
//! fails when `CI` is set and is skipped with a loud message otherwise.
//!
//! The sequences are deterministic: for every graph, `upgrade` to each
//! target from an empty database, `downgrade`, `stamp` and `stamp --purge`
//! to each target from head, then seeded random sequences of 1 to 5 commands
//! (`MIGRATOR_ALEMBIC_SEED`, `MIGRATOR_ALEMBIC_SEQUENCES` per graph, default
//! 320: about 1 900 sequences in all, some 15 s).
//!
//! A difference is either listed in [`known_difference`], the documented
//! list of deliberate differences and of Alembic's defects (counted, not
//! compared), or a failure. The
//! failure report groups the differences by kind and shows, for each kind,
//! the shortest sequence that shows it: the graph, the commands, the state
//! before the command, and both tools' results. A sequence is compared up to
//! its first difference: after it the two databases are no longer alike.
//! `MIGRATOR_ALEMBIC_REPORT=FILE` writes every difference, not one example
//! per kind, to FILE.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use migrator_runtime::{Direction, Event, Migrations, Migrator, Target};
use migrator_tests::SplitMix;

mod chain {
    migrator_runtime::embed_migrations!("fixtures/alembic/chain");
}
mod diamond {
    migrator_runtime::embed_migrations!("fixtures/alembic/diamond");
}
mod parallel {
    migrator_runtime::embed_migrations!("fixtures/alembic/parallel");
}
mod merge3 {
    migrator_runtime::embed_migrations!("fixtures/alembic/merge3");
}
mod nested {
    migrator_runtime::embed_migrations!("fixtures/alembic/nested");
}
mod crossing {
    migrator_runtime::embed_migrations!("fixtures/alembic/crossing");
}

/// A graph of both tools: its fixture directory's name, a picture, and the
/// embedded migrations.
struct Graph {
    name: &'static str,
    picture: &'static str,
    migrations: &'static Migrations,
}

fn graphs() -> [Graph; 6] {
    [
        Graph {
            name: "chain",
            picture: "a1 - b1 - c1 - d1 - e1 - f1",
            migrations: &chain::MIGRATIONS,
        },
        Graph {
            name: "diamond",
            picture: "a1 < (b1 | c1) > d1 - e1",
            migrations: &diamond::MIGRATIONS,
        },
        Graph {
            name: "parallel",
            picture: "a1 < (b1 - b2 - b3 | c1) > m1",
            migrations: &parallel::MIGRATIONS,
        },
        Graph {
            name: "merge3",
            picture: "a1 < (b1 | c1 - c2 | d1) > m1 - z1",
            migrations: &merge3::MIGRATIONS,
        },
        Graph {
            name: "nested",
            picture: "a1 < (b1 < (c1 | d1) > e1 | f1) > g1 - h1",
            migrations: &nested::MIGRATIONS,
        },
        Graph {
            name: "crossing",
            picture: "a1 < (b1 | c1) > (m1: b1+c1 | m2: b1+c1) > z1",
            migrations: &crossing::MIGRATIONS,
        },
    ]
}

/// The bookkeeping tables of both tools, left out of the comparison.
const BOOKKEEPING: [&str; 3] = [
    "migrator_version",
    "migrator_version_audit",
    "alembic_version",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verb {
    Upgrade,
    Downgrade,
    Stamp,
    /// `stamp --purge`: [`Migrator::stamp_purge`].
    StampPurge,
}

impl Verb {
    fn as_str(self) -> &'static str {
        match self {
            Verb::Upgrade => "upgrade",
            Verb::Downgrade => "downgrade",
            Verb::Stamp => "stamp",
            Verb::StampPurge => "stamp --purge",
        }
    }

    /// `stamp` runs nothing: its steps are records, so only its end state
    /// is compared.
    fn is_stamp(self) -> bool {
        matches!(self, Verb::Stamp | Verb::StampPurge)
    }
}

#[derive(Debug, Clone)]
struct Cmd {
    verb: Verb,
    target: String,
}

impl std::fmt::Display for Cmd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.verb.as_str(), self.target)
    }
}

/// What one command did, as either tool saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Outcome {
    /// `None` on success, else the error message.
    error: Option<String>,
    /// (`upgrade`/`downgrade`, revision ID), in the order they ran.
    executed: Vec<(String, String)>,
    /// The current revisions, sorted.
    current: Vec<String>,
    /// The tables, sorted, without the bookkeeping tables.
    tables: Vec<String>,
    /// Migrator's version rows after the command, in application order
    /// (`seq`); empty for Alembic (not compared).
    applied: Vec<String>,
}

impl Outcome {
    fn ok(&self) -> bool {
        self.error.is_none()
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.error {
            None => f.write_str("ok")?,
            Some(e) => write!(f, "FAILED: {e}")?,
        }
        let executed: Vec<String> = self
            .executed
            .iter()
            .map(|(d, r)| format!("{d} {r}"))
            .collect();
        write!(
            f,
            "\n      executed [{}]; current [{}]; tables [{}]",
            executed.join(", "),
            self.current.join(", "),
            self.tables.join(", ")
        )
    }
}

// ---------------------------------------------------------------------------
// The documented differences.

/// Why two results that differ are nonetheless right: the deliberate
/// differences between migrator and Alembic (README, "Where migrator differs
/// from Alembic, on purpose"), and Alembic's own defects, which migrator
/// does not copy. Each entry says what differs and why. A command
/// classified here is counted under its reason and not compared; when the
/// two databases differ after it, the rest of its sequence is not compared
/// either.
///
/// Every entry also checks that migrator did exactly what its documented
/// rules give ([`Model`]: the plan, computed here from the revisions'
/// `Revises` links, not by migrator's planner), so that an entry cannot
/// hide a migrator bug behind an Alembic difference.
///
/// `before` is the state before the command (the same in both tools, or
/// the sequence would have stopped being compared).
///
/// Anything not listed is a failure of the test: either migrator should
/// change, or the difference is deliberate and belongs here, with its
/// reason (and in the README).
fn known_difference(
    graph: &Graph,
    cmd: &Cmd,
    before: &Before<'_>,
    alembic: &Outcome,
    migrator: &Outcome,
) -> Option<&'static str> {
    let model = Model::new(graph);
    // Migrator changed nothing: the same tips, tables and version rows.
    let migrator_unchanged = migrator.current == before.current
        && migrator.tables == before.tables
        && migrator.applied == before.applied;
    let alembic_unchanged = alembic.current == before.current;

    // 1. The order of revisions that do not depend on each other. Migrator
    //    runs, among the revisions ready at the same time, the smallest ID
    //    first (README: "Revisions are applied in a deterministic order");
    //    Alembic follows the order of its own graph walk. Same revisions,
    //    same direction, Alembic's order respects the graph, same result,
    //    and migrator ran exactly its documented plan, in its order.
    if !cmd.verb.is_stamp()
        && alembic.ok() == migrator.ok()
        && alembic.current == migrator.current
        && alembic.tables == migrator.tables
        && same_steps(&alembic.executed, &migrator.executed)
        && respects_graph(graph, &alembic.executed)
        && respects_graph(graph, &migrator.executed)
        && model.follows_plan(cmd, before, migrator)
    {
        return Some(
            "order of independent revisions: migrator runs the smallest ID first among those \
             ready, Alembic its own walk; same steps, both in graph order, same result",
        );
    }
    //    And so, when a revision fails (a stamp recorded it without its
    //    table, or left its table behind), which of the independent
    //    revisions ran before it: both tools stop at the same revision, each
    //    after steps in the command's direction and in graph order, and the
    //    databases differ by those steps. Migrator's steps are the start of
    //    its plan, in its order, and the revision that failed is the next
    //    one of the plan.
    let one_way = |o: &Outcome| o.executed.iter().all(|(d, _)| d == cmd.verb.as_str());
    if !cmd.verb.is_stamp()
        && one_way(alembic)
        && one_way(migrator)
        && !alembic.ok()
        && !migrator.ok()
        && failing_table(alembic).is_some()
        && failing_table(alembic) == failing_table(migrator)
        && respects_graph(graph, &alembic.executed)
        && respects_graph(graph, &migrator.executed)
        && model.follows_plan(cmd, before, migrator)
    {
        return Some(
            "order of independent revisions, up to a revision that fails: both stop at the \
             same one, after different independent revisions",
        );
    }

    // 2. `+N` / `-N` count in application order (README, on purpose):
    //    `upgrade +N` applies the next N pending revisions, `downgrade -N`
    //    reverts the N most recently applied, whatever branch they are on.
    //    Alembic walks from the current tip: it refuses when several tips
    //    are current ("Ambiguous walk", "Ambiguous upgrade from multiple
    //    current revisions"), or its walk finds too few steps ("Relative
    //    revision +2 didn't produce 2 migrations"); from one tip below a
    //    merge it walks to the merge, applying the other branch too; from
    //    several tips it may pick another one to revert (which can then fail
    //    on its SQL). Checked: migrator ran exactly its plan (the next N
    //    pending revisions in application order; the last N version rows,
    //    most recent first), and Alembic either succeeded, or refused without
    //    a change, or failed on a revision's SQL. From one tip, reverting
    //    the most recently applied revisions is Alembic's walk: a `-N` that
    //    Alembic ran from one tip must agree.
    let alembic_walked = match &alembic.error {
        None => true,
        Some(e) => {
            ((e.contains("Ambiguous") || e.contains("Relative revision")) && alembic_unchanged)
                || failing_table(alembic).is_some()
        }
    };
    if migrator.ok() && alembic_walked && model.follows_plan(cmd, before, migrator) {
        match (cmd.verb, target_kind(&cmd.target)) {
            (Verb::Upgrade, "+N") => {
                return Some(
                    "`upgrade +N` applies the next N pending revisions in application order \
                     (README, on purpose); Alembic walks from the current tip",
                );
            }
            (Verb::Downgrade, "-N") if !(before.current.len() == 1 && alembic.ok()) => {
                return Some(
                    "`downgrade -N` reverts the N most recently applied revisions \
                     (README, on purpose); Alembic walks from the current tip",
                );
            }
            _ => {}
        }
    }

    // 3. An Alembic defect: `upgrade REV-N` that lands on the base (`a1-1`)
    //    trips an internal `assert` in Alembic's walk. Migrator reads it as
    //    `upgrade base`: nothing to do.
    if cmd.verb == Verb::Upgrade
        && target_kind(&cmd.target) == "REV-N"
        && model.land(&cmd.target) == Some(Point::Base)
        && alembic
            .error
            .as_deref()
            .is_some_and(|e| e.starts_with("AssertionError"))
        && migrator.ok()
        && migrator.executed.is_empty()
        && migrator_unchanged
    {
        return Some(
            "Alembic defect: `upgrade REV-N` landing on the base raises an AssertionError; \
             migrator does nothing, as for `upgrade base`",
        );
    }

    // 4. An Alembic defect on SQLite: `stamp --purge` empties the version
    //    table before it resolves the target, outside a transaction, so a
    //    target it then rejects leaves the database recorded at base (tables
    //    still there). Migrator rejects the target too (a relative one, or a
    //    walk without a landing point), changing nothing.
    if cmd.verb == Verb::StampPurge
        && !alembic.ok()
        && !migrator.ok()
        && model.stamped(cmd, before.current).is_none()
        && alembic.current.is_empty()
        && alembic.tables == migrator.tables
        && migrator_unchanged
    {
        return Some(
            "Alembic defect: a failing `stamp --purge` has already emptied Alembic's version \
             table (SQLite, no transactional DDL); migrator's failed stamp changes nothing",
        );
    }

    // 5. `stamp -N`: a stamp needs a point of the graph, so migrator refuses
    //    targets that count from the current state (`PlanError::
    //    RelativeStamp`). Alembic rejects them too ("Can't locate revision
    //    identified by '-1'"), except on an empty version table (a fresh
    //    database, or after `--purge` emptied it), where it counts from the
    //    graph's head and records `head-N`.
    if cmd.verb.is_stamp()
        && target_kind(&cmd.target) == "-N"
        && alembic.ok()
        && migrator
            .error
            .as_deref()
            .is_some_and(|e| e.contains("counts from the current state"))
        && migrator_unchanged
        && (cmd.verb == Verb::StampPurge || before.current.is_empty())
    {
        return Some(
            "`stamp -N`: migrator refuses a relative stamp target; Alembic rejects it too \
             except on an empty version table, where it counts from the head",
        );
    }
    // 6. A walk as a stamp target (`REV+N`, `REV-N`, `head-N`, `base+N`):
    //    an extension of migrator's (README, on purpose). Alembic's `stamp`
    //    cannot resolve them ("Can't locate revision identified by 'd1+2'";
    //    with `--purge`, after emptying its version table, defect 4).
    //    Checked: migrator stamped exactly where the walk lands (the same
    //    result as `stamp` of that revision, or of `base`), or, for a walk
    //    that leaves the graph or meets a fork, refused, changing nothing.
    if cmd.verb.is_stamp()
        && matches!(
            target_kind(&cmd.target),
            "REV+N" | "REV-N" | "head-N" | "base+N" | "base-N"
        )
        && alembic
            .error
            .as_deref()
            .is_some_and(|e| e.contains("Can't locate revision"))
        && match model.stamped(cmd, before.current) {
            Some(current) => {
                migrator.ok()
                    && migrator.current == current
                    && migrator.tables == before.tables
                    && model.mask(&migrator.applied) == model.closure(&current)
            }
            None => !migrator.ok() && migrator_unchanged,
        }
    {
        return Some(
            "a walk as a stamp target: migrator stamps where it lands (an extension); \
             Alembic's stamp cannot resolve it",
        );
    }

    // 7. `base-N` is before the base: no walk leads there, so migrator
    //    refuses it (`PlanError::BeforeBase`), changing nothing, as it
    //    refuses any walk past the base. An Alembic defect: its walk reads
    //    `base` as "no revision" and walks down from there through the
    //    heads, so `base-N` lands on `heads-(N-1)` (`upgrade base-1`
    //    upgrades to the head; `downgrade base-1` at the head does
    //    nothing). Checked: Alembic ran what `heads-(N-1)` gives.
    if !cmd.verb.is_stamp()
        && target_kind(&cmd.target) == "base-N"
        && model.land(&cmd.target).is_none()
        && migrator
            .error
            .as_deref()
            .is_some_and(|e| e.contains("is before the base"))
        && migrator.executed.is_empty()
        && migrator_unchanged
        && alembic.ok()
        && cmd.target["base-".len()..]
            .parse::<usize>()
            .ok()
            .and_then(|n| {
                let as_heads = Cmd {
                    verb: cmd.verb,
                    target: format!("heads-{}", n.checked_sub(1)?),
                };
                model.plan(&as_heads, before.applied)
            })
            .is_some_and(|plan| same_steps(&plan, &alembic.executed))
    {
        return Some(
            "`base-N`: migrator refuses a walk before the base; Alembic's walk reads `base` \
             as no revision and walks down from the heads, landing on `heads-(N-1)` \
             (an Alembic defect)",
        );
    }
    None
}

/// The state before a command, as migrator left it (the same as
/// Alembic's, or the sequence would no longer be compared).
struct Before<'a> {
    /// The current revisions, sorted.
    current: &'a [String],
    /// The tables, sorted, without the bookkeeping tables.
    tables: &'a [String],
    /// Migrator's version rows, in application order (`seq`).
    applied: &'a [String],
}

/// A point of the graph: a revision, or `base`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Point {
    Base,
    Revision(usize),
}

/// The graph as the test reads it from the revisions' `Revises` links, and
/// what migrator's documented rules make of a command on it, computed
/// without migrator's planner.
struct Model {
    ids: Vec<String>,
    parents: Vec<Vec<usize>>,
    children: Vec<Vec<usize>>,
    /// The application order: every revision after its parents and, among
    /// those ready, the smallest ID (byte order) first.
    order: Vec<usize>,
}

impl Model {
    fn new(graph: &Graph) -> Model {
        let revisions = graph.migrations.graph().revisions();
        let ids: Vec<String> = revisions.iter().map(|r| r.id.to_string()).collect();
        let parents: Vec<Vec<usize>> = revisions
            .iter()
            .map(|r| {
                r.revises
                    .iter()
                    .map(|p| {
                        ids.iter()
                            .position(|id| id == p)
                            .unwrap_or_else(|| panic!("{}: unknown revision `{p}`", graph.name))
                    })
                    .collect()
            })
            .collect();
        let mut children = vec![Vec::new(); ids.len()];
        for (child, ps) in parents.iter().enumerate() {
            for &p in ps {
                children[p].push(child);
            }
        }
        let mut waiting: Vec<usize> = parents.iter().map(Vec::len).collect();
        let mut ready: BTreeSet<(String, usize)> = (0..ids.len())
            .filter(|&i| waiting[i] == 0)
            .map(|i| (ids[i].clone(), i))
            .collect();
        let mut order = Vec::new();
        while let Some((_, i)) = ready.pop_first() {
            order.push(i);
            for &c in &children[i] {
                waiting[c] -= 1;
                if waiting[c] == 0 {
                    ready.insert((ids[c].clone(), c));
                }
            }
        }
        assert_eq!(order.len(), ids.len(), "{}: a cycle", graph.name);
        Model {
            ids,
            parents,
            children,
            order,
        }
    }

    fn index(&self, id: &str) -> Option<usize> {
        self.ids.iter().position(|i| i == id)
    }

    /// A flag per revision: set for `ids`.
    fn mask(&self, ids: &[String]) -> Vec<bool> {
        let mut mask = vec![false; self.ids.len()];
        for i in ids.iter().filter_map(|id| self.index(id)) {
            mask[i] = true;
        }
        mask
    }

    /// Every revision reachable from `from` through `edges`, `from`
    /// included when `inclusive`.
    fn reach(&self, from: usize, edges: &[Vec<usize>], inclusive: bool) -> Vec<bool> {
        let mut seen = vec![false; self.ids.len()];
        let mut stack = edges[from].clone();
        while let Some(v) = stack.pop() {
            if !std::mem::replace(&mut seen[v], true) {
                stack.extend(&edges[v]);
            }
        }
        seen[from] |= inclusive;
        seen
    }

    /// The revision and its ancestors.
    fn ancestors(&self, r: usize) -> Vec<bool> {
        self.reach(r, &self.parents, true)
    }

    /// The revision's descendants, not itself.
    fn descendants(&self, r: usize) -> Vec<bool> {
        self.reach(r, &self.children, false)
    }

    /// The applied set of a state whose tips are `tips`.
    fn closure(&self, tips: &[String]) -> Vec<bool> {
        let mut applied = vec![false; self.ids.len()];
        for tip in tips.iter().filter_map(|t| self.index(t)) {
            for (flag, a) in applied.iter_mut().zip(self.ancestors(tip)) {
                *flag |= a;
            }
        }
        applied
    }

    /// Where a target lands: `head`, `base`, `REV`, or a walk from one of
    /// them (`REV+N`, `REV-N`, `head-N`, `heads-N`, `base+N`, `base-N`),
    /// one step at a time, toward the head through children and toward the
    /// base through parents; the step after the base revision lands on
    /// `base`. `None` when there is no landing point: a step with several
    /// ways, beyond the head, before `base`, an unknown revision, or a
    /// target that counts from the current state (`+N`, `-N`).
    fn land(&self, target: &str) -> Option<Point> {
        let (from, steps) = match target.find(['+', '-']) {
            None => (target, 0),
            Some(at) => (&target[..at], target[at..].parse::<i64>().ok()?),
        };
        let mut at = match from {
            "" => return None,
            "head" | "heads" => {
                let heads: Vec<usize> = (0..self.ids.len())
                    .filter(|&i| self.children[i].is_empty())
                    .collect();
                match heads[..] {
                    [head] => Point::Revision(head),
                    _ => return None,
                }
            }
            "base" => Point::Base,
            id => Point::Revision(self.index(id)?),
        };
        for _ in 0..steps.unsigned_abs() {
            let ways: Vec<usize> = match (steps > 0, at) {
                (true, Point::Base) => (0..self.ids.len())
                    .filter(|&i| self.parents[i].is_empty())
                    .collect(),
                (true, Point::Revision(r)) => self.children[r].clone(),
                (false, Point::Base) => return None,
                (false, Point::Revision(r)) => self.parents[r].clone(),
            };
            at = match ways[..] {
                [] if steps > 0 => return None,
                [] => Point::Base,
                [only] => Point::Revision(only),
                _ => return None,
            };
        }
        Some(at)
    }

    /// The steps of `upgrade` or `downgrade` by migrator's documented rules,
    /// from the version rows `applied` (in application order): `None` when
    /// migrator must refuse. `upgrade +N`: the next N pending revisions in
    /// application order; `downgrade -N`: the N most recently applied, most
    /// recent first; `upgrade T`: the pending ancestors of T (T included) in
    /// application order; `downgrade T`: the applied descendants of T,
    /// in reverse application order (T must be applied).
    fn plan(&self, cmd: &Cmd, applied: &[String]) -> Option<Vec<(String, String)>> {
        let is_applied = self.mask(applied);
        let count = cmd.target[1..].parse::<usize>().ok();
        let steps = |direction: &str, revisions: Vec<usize>| {
            revisions
                .into_iter()
                .map(|i| (direction.to_owned(), self.ids[i].clone()))
                .collect()
        };
        let in_order = |keep: &dyn Fn(usize) -> bool| -> Vec<usize> {
            self.order.iter().copied().filter(|&i| keep(i)).collect()
        };
        match (cmd.verb, target_kind(&cmd.target)) {
            (Verb::Upgrade, "+N") => {
                let pending = in_order(&|i| !is_applied[i]);
                let n = count?;
                (n <= pending.len()).then(|| steps("upgrade", pending[..n].to_vec()))
            }
            (Verb::Downgrade, "-N") => {
                let n = count?;
                let mut seen = vec![false; self.ids.len()];
                let latest: Vec<usize> = applied
                    .iter()
                    .rev()
                    .filter_map(|id| self.index(id))
                    .filter(|&i| !std::mem::replace(&mut seen[i], true))
                    .take(n)
                    .collect();
                (latest.len() == n).then(|| steps("downgrade", latest))
            }
            (Verb::Upgrade, "-N") | (Verb::Downgrade, "+N") => None,
            (Verb::Upgrade, _) => match self.land(&cmd.target)? {
                Point::Base => Some(Vec::new()),
                Point::Revision(r) => {
                    let ancestors = self.ancestors(r);
                    Some(steps(
                        "upgrade",
                        in_order(&|i| ancestors[i] && !is_applied[i]),
                    ))
                }
            },
            (Verb::Downgrade, _) => {
                let down = |keep: &dyn Fn(usize) -> bool| {
                    let mut revisions = in_order(&|i| is_applied[i] && keep(i));
                    revisions.reverse();
                    Some(steps("downgrade", revisions))
                };
                match self.land(&cmd.target)? {
                    Point::Base => down(&|_| true),
                    Point::Revision(r) if !is_applied[r] => None,
                    Point::Revision(r) => {
                        let descendants = self.descendants(r);
                        down(&|i| descendants[i])
                    }
                }
            }
            (Verb::Stamp | Verb::StampPurge, _) => None,
        }
    }

    /// Migrator ran its plan ([`Model::plan`]): all of it when it
    /// succeeded; when it failed, the start of it, and the revision whose
    /// table the error names is the next step.
    fn follows_plan(&self, cmd: &Cmd, before: &Before<'_>, migrator: &Outcome) -> bool {
        let Some(plan) = self.plan(cmd, before.applied) else {
            return false;
        };
        if migrator.ok() {
            return migrator.executed == plan;
        }
        plan.starts_with(&migrator.executed)
            && plan.get(migrator.executed.len()).is_some_and(|(_, id)| {
                failing_table(migrator).and_then(|t| t.strip_prefix("t_")) == Some(id.as_str())
            })
    }

    /// The current revisions, sorted, after `stamp` (or `stamp --purge`)
    /// of `cmd.target` from the tips `current`: `None` when migrator must
    /// refuse. Where the target lands on revision T, `stamp --purge`
    /// leaves T, `stamp` the tips neither ancestors nor descendants of T,
    /// plus T; on `base`, nothing.
    fn stamped(&self, cmd: &Cmd, current: &[String]) -> Option<Vec<String>> {
        let tips: Vec<usize> = match self.land(&cmd.target)? {
            Point::Base => Vec::new(),
            Point::Revision(t) if cmd.verb == Verb::StampPurge => vec![t],
            Point::Revision(t) => {
                let (ancestors, descendants) = (self.ancestors(t), self.descendants(t));
                current
                    .iter()
                    .filter_map(|id| self.index(id))
                    .filter(|&i| !ancestors[i] && !descendants[i])
                    .chain([t])
                    .collect()
            }
        };
        let mut tips: Vec<String> = tips.into_iter().map(|i| self.ids[i].clone()).collect();
        tips.sort();
        Some(tips)
    }
}

/// The table of the revision a failed command stopped at, from SQLite's
/// message in either tool's error: `no such table: t_b1` (a downgrade of a
/// stamped revision) or `table t_b1 already exists` (an upgrade of a
/// revision whose table a stamp left behind).
fn failing_table(outcome: &Outcome) -> Option<&str> {
    let error = outcome.error.as_deref()?;
    let rest = if let Some(at) = error.find("no such table: ") {
        &error[at + "no such table: ".len()..]
    } else {
        let at = error.find(" already exists")?;
        let start = error[..at].rfind("table ")? + "table ".len();
        &error[start..at]
    };
    rest.split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .next()
        .filter(|t| t.starts_with("t_"))
}

/// The same steps, in any order.
fn same_steps(a: &[(String, String)], b: &[(String, String)]) -> bool {
    let mut a = a.to_vec();
    let mut b = b.to_vec();
    a.sort();
    b.sort();
    a == b
}

/// Every upgrade runs after the upgrades of its parents among the steps,
/// every downgrade after the downgrades of its children.
fn respects_graph(graph: &Graph, steps: &[(String, String)]) -> bool {
    let parents = |id: &str| -> Vec<String> {
        graph
            .migrations
            .graph()
            .revisions()
            .iter()
            .find(|r| r.id == id)
            .map(|r| r.revises.iter().map(|p| p.to_string()).collect())
            .unwrap_or_default()
    };
    steps.iter().enumerate().all(|(i, (direction, id))| {
        let (before, after) = steps.split_at(i);
        match direction.as_str() {
            // No parent's upgrade comes later.
            "upgrade" => parents(id)
                .iter()
                .all(|p| !after.iter().any(|(d, r)| d == "upgrade" && r == p)),
            // No child's downgrade comes later, i.e. none of this step's
            // parents was downgraded before it.
            _ => parents(id)
                .iter()
                .all(|p| !before.iter().any(|(d, r)| d == "downgrade" && r == p)),
        }
    })
}

// ---------------------------------------------------------------------------
// The command sequences.

fn env_number(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v}: not a number")),
        Err(_) => default,
    }
}

/// Every target the test uses on a graph with revisions `ids`.
fn all_targets(ids: &[String]) -> Vec<String> {
    let mut targets: Vec<String> = [
        "head", "heads", "base", "head-1", "head-2", "head-3", "heads-1", "base+1", "base+2",
        "base-1", "+1", "+2", "-1", "-2",
    ]
    .iter()
    .map(|t| t.to_string())
    .collect();
    for id in ids {
        targets.push(id.clone());
        for n in ["+1", "+2", "-1", "-2"] {
            targets.push(format!("{id}{n}"));
        }
    }
    targets
}

/// A random target, each kind about as likely as the others.
fn random_target(rng: &mut SplitMix, ids: &[String]) -> String {
    let n = rng.pick(&["1", "2"]);
    match rng.below(10) {
        0 => "head".to_owned(),
        1 => "heads".to_owned(),
        2 => "base".to_owned(),
        3 | 4 => rng.pick(ids).clone(),
        5 | 6 => format!("{}{}{n}", rng.pick(ids), rng.pick(&["+", "-"])),
        7 => format!("head-{n}"),
        8 => format!("base+{n}"),
        _ => format!("{}{n}", rng.pick(&["+", "-"])),
    }
}

fn sequences(ids: &[String], seed: u64, count: usize) -> Vec<Vec<Cmd>> {
    let cmd = |verb, target: &str| Cmd {
        verb,
        target: target.to_owned(),
    };
    let mut out = Vec::new();
    let targets = all_targets(ids);
    for t in &targets {
        out.push(vec![cmd(Verb::Upgrade, t)]);
    }
    for t in &targets {
        out.push(vec![cmd(Verb::Upgrade, "head"), cmd(Verb::Downgrade, t)]);
    }
    for t in &targets {
        out.push(vec![cmd(Verb::Upgrade, "head"), cmd(Verb::Stamp, t)]);
    }
    for t in &targets {
        out.push(vec![cmd(Verb::Upgrade, "head"), cmd(Verb::StampPurge, t)]);
    }
    let mut rng = SplitMix(seed);
    while out.len() < count {
        let len = 1 + rng.below(5);
        let seq = (0..len)
            .map(|i| {
                // Mostly start by going up: downgrading an empty database
                // says little.
                let verb = match (i, rng.below(20)) {
                    (0, 0..=11) | (1.., 0..=7) => Verb::Upgrade,
                    (0, 12..=15) | (1.., 8..=15) => Verb::Downgrade,
                    (_, 16..=18) => Verb::Stamp,
                    _ => Verb::StampPurge,
                };
                Cmd {
                    verb,
                    target: random_target(&mut rng, ids),
                }
            })
            .collect();
        out.push(seq);
    }
    out.truncate(count.max(4 * targets.len()));
    out
}

// ---------------------------------------------------------------------------
// Migrator's side.

fn run_migrator(graph: &Graph, db: &Path, seq: &[Cmd]) -> Vec<Outcome> {
    let url = format!("sqlite://{}", db.display());
    let mut conn = migrator_runtime::connect(&url).unwrap_or_else(|e| panic!("{url}: {e}"));
    // The steps that finished, for a run that fails (its report is lost).
    let finished = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&finished);
    let migrator = Migrator::new(graph.migrations).on_event(move |event| {
        if let Event::Finished {
            revision,
            direction,
            ..
        } = event
        {
            sink.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push((direction.as_str().to_owned(), revision.id.to_string()));
        }
    });
    let mut outcomes = Vec::new();
    for cmd in seq {
        finished
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        let result = cmd
            .target
            .parse::<Target>()
            .map_err(|e| e.to_string())
            .and_then(|target| {
                match cmd.verb {
                    Verb::Upgrade => migrator.upgrade(&mut conn, target),
                    Verb::Downgrade => migrator.downgrade(&mut conn, target),
                    Verb::Stamp => migrator.stamp(&mut conn, target),
                    Verb::StampPurge => migrator.stamp_purge(&mut conn, target),
                }
                .map_err(|e| e.to_string())
            });
        let executed = match &result {
            _ if cmd.verb.is_stamp() => Vec::new(),
            Ok(report) => report
                .steps
                .iter()
                .map(|s| (direction(s.direction).to_owned(), s.revision.clone()))
                .collect(),
            Err(_) => finished
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
        };
        let mut current: Vec<String> = match migrator.current(&mut conn) {
            Ok(revisions) => revisions.iter().map(|r| r.id.to_string()).collect(),
            Err(e) => vec![format!("<current failed: {e}>")],
        };
        current.sort();
        let applied = match migrator.state(&mut conn) {
            Ok(mut state) => {
                state.applied.sort_by_key(|row| row.seq);
                state.applied.into_iter().map(|row| row.revision).collect()
            }
            Err(e) => vec![format!("<state failed: {e}>")],
        };
        outcomes.push(Outcome {
            error: result.err(),
            executed,
            current,
            tables: user_tables(migrator_tests::tables(&mut conn)),
            applied,
        });
    }
    drop(conn);
    remove_database(db);
    outcomes
}

/// Removes a sequence's SQLite database with its companions (`-journal`,
/// `-wal`, `-shm`, and migrator's `<database>.<name>.lock`): thousands of
/// them would otherwise fill /dev/shm until the test ends.
fn remove_database(db: &Path) {
    let (Some(dir), Some(name)) = (db.parent(), db.file_name().and_then(|n| n.to_str())) else {
        return;
    };
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries.flatten() {
        let file = entry.file_name();
        let file = file.to_string_lossy();
        let companion = file
            .strip_prefix(name)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '-']));
        if companion {
            std::fs::remove_file(entry.path())
                .unwrap_or_else(|e| panic!("{}: {e}", entry.path().display()));
        }
    }
}

fn direction(d: Direction) -> &'static str {
    d.as_str()
}

fn user_tables(tables: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut tables: Vec<String> = tables
        .into_iter()
        .filter(|t| !BOOKKEEPING.contains(&t.as_str()))
        .collect();
    tables.sort();
    tables
}

// ---------------------------------------------------------------------------
// Alembic's side: tests/alembic/driver.py, one process per graph.

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate is in the workspace")
        .to_path_buf()
}

/// The venv's python, or `None` (with the reason) when there is none.
fn alembic_python() -> Result<PathBuf, String> {
    let python = match std::env::var_os("MIGRATOR_ALEMBIC_PYTHON") {
        Some(p) => PathBuf::from(p),
        None => workspace().join("target/alembic-venv/bin/python"),
    };
    if !python.exists() {
        return Err(format!("{} does not exist", python.display()));
    }
    let check = Command::new(&python)
        .args(["-c", "import alembic, sqlalchemy"])
        .output()
        .map_err(|e| format!("{}: {e}", python.display()))?;
    if !check.status.success() {
        return Err(format!(
            "{} cannot import alembic: {}",
            python.display(),
            String::from_utf8_lossy(&check.stderr).trim()
        ));
    }
    Ok(python)
}

fn spawn_driver(python: &Path, graph: &Graph, work: &Path, seqs: &[Vec<Cmd>]) -> Child {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/alembic")
        .join(graph.name);
    let driver = Path::new(env!("CARGO_MANIFEST_DIR")).join("alembic/driver.py");
    let mut child = Command::new(python)
        .arg(&driver)
        .arg(&fixture)
        .arg(work)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        // Alembic walks sets of revision IDs: the same walk on every run.
        .env("PYTHONHASHSEED", "0")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}", python.display()));
    let mut input = String::from("[");
    for (i, seq) in seqs.iter().enumerate() {
        input.push_str(if i == 0 { "[" } else { ",\n[" });
        for (j, cmd) in seq.iter().enumerate() {
            if j > 0 {
                input.push(',');
            }
            write!(
                input,
                "[{},{}]",
                json::quote(cmd.verb.as_str()),
                json::quote(&cmd.target)
            )
            .expect("write to a String");
        }
        input.push(']');
    }
    input.push_str("]\n");
    let mut stdin = child.stdin.take().expect("piped stdin");
    // A thread, so that a full pipe cannot block the test.
    std::thread::spawn(move || {
        let _ = stdin.write_all(input.as_bytes());
    });
    child
}

/// The driver's results: per sequence, per command; and the versions.
struct AlembicRun {
    versions: String,
    results: Vec<Vec<Outcome>>,
}

fn collect_driver(graph: &Graph, child: Child) -> AlembicRun {
    let output = child.wait_with_output().expect("wait for the driver");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "driver.py on graph {} failed ({}):\n{stderr}",
        graph.name,
        output.status
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let value = json::parse(&stdout).unwrap_or_else(|e| {
        panic!(
            "driver.py on graph {}: bad JSON ({e}):\n{stdout}\n{stderr}",
            graph.name
        )
    });
    let field = |name: &str| value.get(name).unwrap_or_else(|| panic!("no `{name}`"));
    let versions = format!(
        "alembic {}, SQLAlchemy {}",
        field("alembic").str(),
        field("sqlalchemy").str()
    );
    let results = field("results")
        .arr()
        .iter()
        .map(|seq| {
            seq.arr()
                .iter()
                .map(|o| {
                    let strings = |name: &str| -> Vec<String> {
                        o.get(name)
                            .expect(name)
                            .arr()
                            .iter()
                            .map(|s| s.str().to_owned())
                            .collect()
                    };
                    let mut current = strings("current");
                    current.sort();
                    Outcome {
                        error: match o.get("error") {
                            Some(json::Value::Str(e)) => Some(e.clone()),
                            _ => None,
                        },
                        executed: o
                            .get("executed")
                            .expect("executed")
                            .arr()
                            .iter()
                            .map(|step| {
                                let step = step.arr();
                                (step[0].str().to_owned(), step[1].str().to_owned())
                            })
                            .collect(),
                        current,
                        tables: user_tables(strings("tables")),
                        applied: Vec::new(),
                    }
                })
                .collect()
        })
        .collect();
    AlembicRun { versions, results }
}

// ---------------------------------------------------------------------------
// The comparison and its report.

/// The kind of a target, for grouping differences.
fn target_kind(t: &str) -> &'static str {
    match t {
        "head" | "heads" | "base" => match t {
            "head" => "head",
            "heads" => "heads",
            _ => "base",
        },
        _ if t.starts_with("head") => "head-N",
        _ if t.starts_with("base-") => "base-N",
        _ if t.starts_with("base") => "base+N",
        _ if t.starts_with('+') => "+N",
        _ if t.starts_with('-') => "-N",
        _ if t.contains('+') => "REV+N",
        _ if t.contains('-') => "REV-N",
        _ => "REV",
    }
}

/// What differs between two results of `cmd`: empty when they agree.
fn differences(cmd: &Cmd, alembic: &Outcome, migrator: &Outcome) -> Vec<&'static str> {
    let mut out = Vec::new();
    if alembic.ok() != migrator.ok() {
        out.push(if alembic.ok() {
            "Alembic succeeds, migrator fails"
        } else {
            "Alembic fails, migrator succeeds"
        });
    }
    if !cmd.verb.is_stamp() && alembic.executed != migrator.executed {
        out.push("executed");
    }
    if alembic.current != migrator.current {
        out.push("current");
    }
    if alembic.tables != migrator.tables {
        out.push("tables");
    }
    out
}

/// One unexpected difference.
struct Diff {
    graph: usize,
    seq: usize,
    cmd: usize,
    category: String,
}

#[test]
fn migrator_agrees_with_alembic() {
    let python = match alembic_python() {
        Ok(p) => p,
        Err(why) if std::env::var_os("CI").is_some() => panic!(
            "Alembic is needed (CI is set): {why}; run scripts/alembic-venv.sh, \
             or set MIGRATOR_ALEMBIC_PYTHON"
        ),
        Err(why) => {
            eprintln!(
                "\n**********************************************************************\n\
                 SKIPPED migrator_agrees_with_alembic: {why}.\n\
                 Run scripts/alembic-venv.sh (or set MIGRATOR_ALEMBIC_PYTHON) to compare\n\
                 migrator with Alembic.\n\
                 **********************************************************************\n"
            );
            return;
        }
    };
    let started = Instant::now();
    let seed = env_number("MIGRATOR_ALEMBIC_SEED", 0x00A1_E5B1C);
    let per_graph = usize::try_from(env_number("MIGRATOR_ALEMBIC_SEQUENCES", 320))
        .expect("MIGRATOR_ALEMBIC_SEQUENCES fits usize");
    let graphs = graphs();
    // Many small SQLite files, each synced at every commit: in memory when
    // the machine has a tmpfs at /dev/shm.
    let shm = Path::new("/dev/shm");
    let work = if shm.is_dir() {
        tempfile::tempdir_in(shm)
    } else {
        tempfile::tempdir()
    }
    .expect("temporary directory");

    // Every graph's sequences, and Alembic running them in the background.
    let mut all_seqs = Vec::new();
    let mut drivers = Vec::new();
    for (g, graph) in graphs.iter().enumerate() {
        let ids: Vec<String> = graph
            .migrations
            .graph()
            .revisions()
            .iter()
            .map(|r| r.id.to_string())
            .collect();
        let seqs = sequences(&ids, seed.wrapping_add(g as u64), per_graph);
        let dir = work.path().join(format!("alembic-{}", graph.name));
        std::fs::create_dir_all(&dir).expect("create the driver's directory");
        drivers.push(spawn_driver(&python, graph, &dir, &seqs));
        all_seqs.push(seqs);
    }

    // Migrator, meanwhile: one thread per graph.
    let migrator_results: Vec<Vec<Vec<Outcome>>> = std::thread::scope(|scope| {
        let threads: Vec<_> = graphs
            .iter()
            .zip(&all_seqs)
            .map(|(graph, seqs)| {
                let dir = work.path().join(format!("migrator-{}", graph.name));
                scope.spawn(move || {
                    std::fs::create_dir_all(&dir).expect("create the migrator's directory");
                    seqs.iter()
                        .enumerate()
                        .map(|(n, seq)| {
                            run_migrator(graph, &dir.join(format!("db-{n}.sqlite")), seq)
                        })
                        .collect()
                })
            })
            .collect();
        threads
            .into_iter()
            .map(|t| t.join().expect("a migrator thread panicked"))
            .collect()
    });
    let migrator_time = started.elapsed();

    let mut versions = String::new();
    let mut alembic_results = Vec::new();
    for (graph, child) in graphs.iter().zip(drivers) {
        let run = collect_driver(graph, child);
        versions = run.versions;
        alembic_results.push(run.results);
    }
    let total_time = started.elapsed();

    // Compare.
    let mut compared = 0usize;
    let mut commands = 0usize;
    let mut known: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut not_compared = 0usize;
    let mut diffs: Vec<Diff> = Vec::new();
    for (g, graph) in graphs.iter().enumerate() {
        assert_eq!(
            alembic_results[g].len(),
            all_seqs[g].len(),
            "driver.py result count"
        );
        for (s, seq) in all_seqs[g].iter().enumerate() {
            commands += seq.len();
            let (alembic, migrator) = (&alembic_results[g][s], &migrator_results[g][s]);
            assert_eq!(alembic.len(), seq.len(), "driver.py result count");
            for (c, cmd) in seq.iter().enumerate() {
                let what = differences(cmd, &alembic[c], &migrator[c]);
                if what.is_empty() {
                    compared += 1;
                    continue;
                }
                // A fresh database before the first command.
                let previous = c.checked_sub(1).map(|p| &migrator[p]);
                let before = Before {
                    current: previous.map_or(&[][..], |o| &o.current[..]),
                    tables: previous.map_or(&[][..], |o| &o.tables[..]),
                    applied: previous.map_or(&[][..], |o| &o.applied[..]),
                };
                if let Some(reason) =
                    known_difference(graph, cmd, &before, &alembic[c], &migrator[c])
                {
                    *known.entry(reason).or_default() += 1;
                    let diverged = alembic[c].current != migrator[c].current
                        || alembic[c].tables != migrator[c].tables;
                    if !diverged {
                        continue;
                    }
                    not_compared += seq.len() - c - 1;
                    break;
                }
                diffs.push(Diff {
                    graph: g,
                    seq: s,
                    cmd: c,
                    // Grouped by command, kind of target and what differs
                    // (only success, when that differs: the rest follows).
                    category: format!(
                        "{} {}: {}",
                        cmd.verb.as_str(),
                        target_kind(&cmd.target),
                        if alembic[c].ok() == migrator[c].ok() {
                            format!("{} differ", what.join(", "))
                        } else {
                            what[0].to_owned()
                        }
                    ),
                });
                not_compared += seq.len() - c - 1;
                break;
            }
        }
    }

    // Report.
    let describe = |d: &Diff| -> String {
        let graph = &graphs[d.graph];
        let seq = &all_seqs[d.graph][d.seq];
        let before = if d.cmd == 0 {
            "base (empty database)".to_owned()
        } else {
            let a = &alembic_results[d.graph][d.seq][d.cmd - 1].current;
            if a.is_empty() {
                "base".to_owned()
            } else {
                a.join(", ")
            }
        };
        let commands: Vec<String> = seq.iter().map(ToString::to_string).collect();
        format!(
            "    graph {}: {}\n    sequence #{}: {}\n    command {}: `{}`, at [{}]\n    \
             Alembic:  {}\n    migrator: {}\n",
            graph.name,
            graph.picture,
            d.seq,
            commands.join("; "),
            d.cmd + 1,
            seq[d.cmd],
            before,
            alembic_results[d.graph][d.seq][d.cmd],
            migrator_results[d.graph][d.seq][d.cmd],
        )
    };
    let mut by_category: BTreeMap<&str, Vec<&Diff>> = BTreeMap::new();
    for d in &diffs {
        by_category.entry(d.category.as_str()).or_default().push(d);
    }
    let mut report = format!(
        "migrator vs {versions}: {} graphs, {} sequences, {commands} commands; \
         {compared} agree, {} known differences, {} unexpected differences, \
         {not_compared} commands not compared after a difference \
         (migrator {:.1} s, all {:.1} s)\n",
        graphs.len(),
        all_seqs.iter().map(Vec::len).sum::<usize>(),
        known.values().sum::<usize>(),
        diffs.len(),
        migrator_time.as_secs_f64(),
        total_time.as_secs_f64(),
    );
    for (reason, n) in &known {
        let _ = writeln!(report, "  known difference ({n}): {reason}");
    }
    for (category, ds) in &by_category {
        // The shortest sequence that shows it.
        let example = ds
            .iter()
            .min_by_key(|d| (d.cmd, all_seqs[d.graph][d.seq].len()))
            .expect("a category has a difference");
        let _ = write!(
            report,
            "\n  [{} x] {category}; for example:\n{}",
            ds.len(),
            describe(example)
        );
    }
    if let Some(path) = std::env::var_os("MIGRATOR_ALEMBIC_REPORT") {
        let mut full = report.clone();
        full.push_str("\n\nEvery difference:\n");
        for d in &diffs {
            let _ = write!(full, "\n  {}\n{}", d.category, describe(d));
        }
        std::fs::write(&path, full).expect("write MIGRATOR_ALEMBIC_REPORT");
    }
    println!("{report}");
    assert!(
        diffs.is_empty(),
        "migrator disagrees with Alembic where no known difference explains it \
         (add a deliberate one to `known_difference`, with its reason):\n{report}"
    );
}

// ---------------------------------------------------------------------------

/// Just enough JSON for the driver's output (no new dependency).
mod json {
    #[derive(Debug, Clone, PartialEq)]
    #[allow(
        dead_code,
        reason = "every JSON value parses; the driver's output reads few kinds"
    )]
    pub enum Value {
        Null,
        Bool(bool),
        Num(f64),
        Str(String),
        Arr(Vec<Value>),
        Obj(Vec<(String, Value)>),
    }

    impl Value {
        pub fn get(&self, key: &str) -> Option<&Value> {
            match self {
                Value::Obj(fields) => fields.iter().find(|(k, _)| k == key).map(|(_, v)| v),
                _ => None,
            }
        }

        pub fn arr(&self) -> &[Value] {
            match self {
                Value::Arr(items) => items,
                other => panic!("not a JSON array: {other:?}"),
            }
        }

        pub fn str(&self) -> &str {
            match self {
                Value::Str(s) => s,
                other => panic!("not a JSON string: {other:?}"),
            }
        }
    }

    pub fn quote(s: &str) -> String {
        let mut out = String::from("\"");
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
                c => out.push(c),
            }
        }
        out.push('"');
        out
    }

    pub fn parse(text: &str) -> Result<Value, String> {
        let mut p = Parser {
            s: text.as_bytes(),
            i: 0,
        };
        let v = p.value()?;
        p.ws();
        if p.i != p.s.len() {
            return Err(format!("trailing text at byte {}", p.i));
        }
        Ok(v)
    }

    struct Parser<'a> {
        s: &'a [u8],
        i: usize,
    }

    impl Parser<'_> {
        fn ws(&mut self) {
            while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
                self.i += 1;
            }
        }

        fn err<T>(&self, what: &str) -> Result<T, String> {
            Err(format!("{what} at byte {}", self.i))
        }

        fn eat(&mut self, lit: &str) -> bool {
            if self.s[self.i..].starts_with(lit.as_bytes()) {
                self.i += lit.len();
                true
            } else {
                false
            }
        }

        fn value(&mut self) -> Result<Value, String> {
            self.ws();
            match self.s.get(self.i) {
                None => self.err("unexpected end"),
                Some(b'{') => {
                    self.i += 1;
                    let mut fields = Vec::new();
                    self.ws();
                    if self.eat("}") {
                        return Ok(Value::Obj(fields));
                    }
                    loop {
                        self.ws();
                        let key = self.string()?;
                        self.ws();
                        if !self.eat(":") {
                            return self.err("expected `:`");
                        }
                        fields.push((key, self.value()?));
                        self.ws();
                        if self.eat("}") {
                            return Ok(Value::Obj(fields));
                        }
                        if !self.eat(",") {
                            return self.err("expected `,` or `}`");
                        }
                    }
                }
                Some(b'[') => {
                    self.i += 1;
                    let mut items = Vec::new();
                    self.ws();
                    if self.eat("]") {
                        return Ok(Value::Arr(items));
                    }
                    loop {
                        items.push(self.value()?);
                        self.ws();
                        if self.eat("]") {
                            return Ok(Value::Arr(items));
                        }
                        if !self.eat(",") {
                            return self.err("expected `,` or `]`");
                        }
                    }
                }
                Some(b'"') => Ok(Value::Str(self.string()?)),
                Some(_) if self.eat("null") => Ok(Value::Null),
                Some(_) if self.eat("true") => Ok(Value::Bool(true)),
                Some(_) if self.eat("false") => Ok(Value::Bool(false)),
                Some(_) => {
                    let start = self.i;
                    while self.i < self.s.len()
                        && matches!(
                            self.s[self.i],
                            b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9'
                        )
                    {
                        self.i += 1;
                    }
                    std::str::from_utf8(&self.s[start..self.i])
                        .ok()
                        .and_then(|n| n.parse().ok())
                        .map(Value::Num)
                        .map_or_else(|| self.err("bad value"), Ok)
                }
            }
        }

        fn hex4(&mut self) -> Result<u32, String> {
            let digits = self
                .s
                .get(self.i..self.i + 4)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u32::from_str_radix(h, 16).ok());
            match digits {
                Some(n) => {
                    self.i += 4;
                    Ok(n)
                }
                None => self.err("bad \\u escape"),
            }
        }

        fn string(&mut self) -> Result<String, String> {
            if !self.eat("\"") {
                return self.err("expected a string");
            }
            let mut out = Vec::new();
            loop {
                let Some(&b) = self.s.get(self.i) else {
                    return self.err("unterminated string");
                };
                self.i += 1;
                match b {
                    b'"' => return String::from_utf8(out).map_err(|e| e.to_string()),
                    b'\\' => {
                        let Some(&e) = self.s.get(self.i) else {
                            return self.err("unterminated escape");
                        };
                        self.i += 1;
                        let c = match e {
                            b'"' => '"',
                            b'\\' => '\\',
                            b'/' => '/',
                            b'b' => '\u{8}',
                            b'f' => '\u{c}',
                            b'n' => '\n',
                            b'r' => '\r',
                            b't' => '\t',
                            b'u' => {
                                let hi = self.hex4()?;
                                let code = if (0xD800..0xDC00).contains(&hi) && self.eat("\\u") {
                                    let lo = self.hex4()?;
                                    0x10000
                                        + ((hi - 0xD800) << 10)
                                        + (lo.wrapping_sub(0xDC00) & 0x3FF)
                                } else {
                                    hi
                                };
                                char::from_u32(code).unwrap_or('\u{FFFD}')
                            }
                            _ => return self.err("bad escape"),
                        };
                        let mut buf = [0; 4];
                        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                    }
                    b => out.push(b),
                }
            }
        }
    }
}
