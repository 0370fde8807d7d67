//! Targets (`head`, `base`, IDs, prefixes, relative steps) and the pure
//! function that turns the applied state and a target into the steps to run.
//!
//! The semantics are Alembic's, over [`Graph::order`]:
//!
//! - upgrading to a revision applies every ancestor of it (itself included)
//!   that is not applied yet, in order;
//! - downgrading to a revision unapplies every applied revision that
//!   descends from it, in reverse order (children before parents); so
//!   downgrading a merge to the tip of one branch leaves the other branch's
//!   tip applied too;
//! - stamping moves the current tips that the target is related to (its
//!   ancestors and descendants) to the target and keeps the tips of other
//!   branches, as Alembic's `stamp` does; a purging stamp makes the applied
//!   set exactly the target and its ancestors (Alembic's `stamp --purge`);
//! - `REV+N` walks N steps from REV toward the head through its
//!   descendants, `REV-N` and `head-N` N steps toward the base through its
//!   ancestors, as Alembic does: a step with several ways to go is an error
//!   that names them; `+N` and `-N` count from the current state, in
//!   application order (Alembic refuses them when several tips are
//!   current).
//!
//! Nothing here does I/O: the CLI, offline SQL and startup all run the plan
//! these functions return through the same executor.

use std::fmt;
use std::str::FromStr;

use crate::graph::{Graph, ResolveError};
use crate::model::{Direction, is_revision_id};

/// Where a command should bring the database.
///
/// Parsed from the command line with [`FromStr`]; [`Display`](fmt::Display)
/// writes a parsed target back in the same syntax.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    /// `head`: the head revision (with every revision before it).
    Head,
    /// `base`: before every revision (nothing applied).
    Base,
    /// `REV`: a full revision ID, or a prefix that only one ID begins with.
    Revision(String),
    /// `+N` / `-N`: N revisions forwards (upgrade) or backwards (downgrade)
    /// from the current state.
    Relative(i64),
    /// `REV+N` / `REV-N`: N steps from `REV` toward the head (through its
    /// descendants) or toward the base (through its ancestors).
    RevisionRelative(String, i64),
    /// `head-N` (or `head+0`): N steps from the head toward the base.
    HeadRelative(i64),
    /// `base+N`: N steps from the base toward the head.
    BaseRelative(i64),
}

/// A target held by reference, for callers that keep one.
impl From<&Target> for Target {
    fn from(target: &Target) -> Self {
        target.clone()
    }
}

impl FromStr for Target {
    type Err = PlanError;

    /// Accepts `head` (or `heads`: a graph has one head), `base`, `REV`,
    /// `+N`, `-N`, `REV+N`, `REV-N`, `head-N`, `head+N` and `base+N`, where
    /// `REV` is a revision ID or a prefix of one (`[0-9A-Za-z]`, 1 to 64
    /// characters) and `N` a decimal number.
    fn from_str(s: &str) -> Result<Self, PlanError> {
        let bad = || PlanError::BadTarget {
            target: s.to_owned(),
        };
        let Some(at) = s.find(['+', '-']) else {
            return match s {
                "head" | "heads" => Ok(Target::Head),
                "base" => Ok(Target::Base),
                _ if is_revision_id(s) => Ok(Target::Revision(s.to_owned())),
                _ => Err(bad()),
            };
        };
        let (revision, steps) = s.split_at(at);
        let steps: i64 = steps.parse().map_err(|_| bad())?;
        match revision {
            "" => Ok(Target::Relative(steps)),
            "head" | "heads" => Ok(Target::HeadRelative(steps)),
            "base" => Ok(Target::BaseRelative(steps)),
            _ if is_revision_id(revision) => {
                Ok(Target::RevisionRelative(revision.to_owned(), steps))
            }
            _ => Err(bad()),
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Head => f.write_str("head"),
            Target::Base => f.write_str("base"),
            Target::Revision(revision) => f.write_str(revision),
            Target::Relative(steps) => write!(f, "{steps:+}"),
            Target::RevisionRelative(revision, steps) => write!(f, "{revision}{steps:+}"),
            Target::HeadRelative(steps) => write!(f, "head{steps:+}"),
            Target::BaseRelative(steps) => write!(f, "base{steps:+}"),
        }
    }
}

/// One revision to run, and which way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Step {
    /// The revision's index in [`Graph::revisions`].
    pub revision: usize,
    /// Upgrade or downgrade.
    pub direction: Direction,
}

/// The steps that bring the database to a target, in the order to run them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// The steps, first to run first.
    pub steps: Vec<Step>,
}

impl Plan {
    /// True when the database is already at the target.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    fn of(revisions: &[usize], direction: Direction) -> Plan {
        let mut plan = Plan::default();
        plan.push(revisions, direction);
        plan
    }

    fn push(&mut self, revisions: &[usize], direction: Direction) {
        self.steps.extend(revisions.iter().map(|&revision| Step {
            revision,
            direction,
        }));
    }
}

/// Why no plan reaches a target. Messages name revisions by ID and say what
/// to do instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    /// The target names no revision, or a prefix of several.
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    /// The target does not parse.
    #[error(
        "`{target}` is not a target: use `head`, `base`, a revision ID or a unique prefix of one, `+N` or `-N` (N revisions from the current state), `REV+N` or `REV-N` (N steps from REV toward the head or the base), `head-N` or `base+N`"
    )]
    BadTarget {
        /// The text given.
        target: String,
    },
    /// A walk beyond the head.
    #[error(
        "`{target}` is beyond the head: only {available} step(s) lead from `{from}` to the head"
    )]
    BeyondHead {
        /// The target as written.
        target: String,
        /// The ID it counts from (or `base`).
        from: String,
        /// How many revisions come after `from`.
        available: usize,
    },
    /// A walk beyond the base.
    #[error(
        "`{target}` is before the base: only {available} step(s) lead from `{from}` to the base"
    )]
    BeforeBase {
        /// The target as written.
        target: String,
        /// The ID it counts from (or `base`).
        from: String,
        /// How many revisions come before `from`.
        available: usize,
    },
    /// A walk that meets a merge (toward the base) or a branch point
    /// (toward the head) before its last step.
    #[error(
        "`{target}` is ambiguous: from `{at}` the walk toward the {toward} can go to {}; name the revision instead{}",
        options.iter().map(|o| format!("`{o}`")).collect::<Vec<_>>().join(" or "),
        suggestion.as_ref().map_or_else(String::new, |s| format!(", e.g. `{s}`"))
    )]
    AmbiguousWalk {
        /// The target as written.
        target: String,
        /// Where the walk stood (a revision ID, or `base`).
        at: String,
        /// `head` or `base`.
        toward: &'static str,
        /// The revisions it could go to.
        options: Vec<String>,
        /// A target that takes one of the ways and reaches a revision (none
        /// when every way is ambiguous again or leaves the graph).
        suggestion: Option<String>,
    },
    /// A downgrade to a revision that is not applied.
    #[error(
        "revision `{revision}` is not applied, so `downgrade` cannot go back to it: use `upgrade {revision}` to reach it"
    )]
    NotApplied {
        /// The revision ID.
        revision: String,
    },
    /// `upgrade -N`.
    #[error(
        "`{target}` counts backwards, but `upgrade` only moves forwards: use `downgrade {target}`"
    )]
    NotForwards {
        /// The target as written.
        target: String,
    },
    /// `downgrade +N`.
    #[error(
        "`{target}` counts forwards, but `downgrade` only moves backwards: use `upgrade {target}`"
    )]
    NotBackwards {
        /// The target as written.
        target: String,
    },
    /// `upgrade +N` with fewer than N revisions pending.
    #[error(
        "cannot upgrade by {requested}: only {pending} revisions are pending (`upgrade head` applies them all)"
    )]
    TooFewPending {
        /// N.
        requested: u64,
        /// How many revisions are not applied.
        pending: usize,
    },
    /// `downgrade -N` with fewer than N revisions applied.
    #[error(
        "cannot downgrade by {requested}: only {applied} revisions are applied (`downgrade base` unapplies them all)"
    )]
    TooFewApplied {
        /// N.
        requested: u64,
        /// How many revisions are applied.
        applied: usize,
    },
    /// `stamp +N`, `--sql --from -N`: a point of the graph is needed, not
    /// a step from a state that is not known there.
    #[error(
        "`{target}` counts from the current state, which is not used here: name a revision, \
         `head` or `base` (stamp and `--sql --from` need a point of the graph)"
    )]
    RelativeStamp {
        /// The target as written.
        target: String,
    },
    /// The applied state names an index outside the graph (a caller bug:
    /// applied rows are mapped to indices with [`Graph::index_of`]).
    #[error("the applied state names revision index {index}, but the graph has {len} revisions")]
    UnknownApplied {
        /// The index given.
        index: usize,
        /// The number of revisions.
        len: usize,
    },
}

/// The steps that upgrade from `applied` (revision indices, in the order they
/// were applied) to `target`.
///
/// # Errors
///
/// A target that does not resolve or is out of range; `-N`; `+N` with
/// fewer than N revisions pending. A target the database is already at or
/// past (applied, with revisions after it) is no error: there is nothing to
/// do, as in Alembic (deploy scripts use `upgrade REV` to mean "at least
/// REV").
pub fn plan_upgrade(graph: &Graph, applied: &[usize], target: &Target) -> Result<Plan, PlanError> {
    let state = State::new(graph, applied)?;
    let point = match *target {
        Target::Relative(steps) if steps < 0 => {
            return Err(PlanError::NotForwards {
                target: target.to_string(),
            });
        }
        Target::Relative(steps) => {
            let requested = steps.unsigned_abs();
            let pending: Vec<usize> = state.not_applied(graph.order().iter()).collect();
            let taken = usize::try_from(requested)
                .ok()
                .filter(|&n| n <= pending.len())
                .ok_or(PlanError::TooFewPending {
                    requested,
                    pending: pending.len(),
                })?;
            return Ok(Plan::of(&pending[..taken], Direction::Upgrade));
        }
        _ => Point::of(graph, target)?,
    };
    match point {
        Point::Base => Ok(Plan::default()),
        Point::Revision(r) => {
            let ancestors = graph.ancestors(r);
            let steps: Vec<usize> = state
                .not_applied(graph.order().iter())
                .filter(|&i| ancestors[i])
                .collect();
            Ok(Plan::of(&steps, Direction::Upgrade))
        }
    }
}

/// The steps that downgrade from `applied` (revision indices, in the order
/// they were applied) to `target`.
///
/// # Errors
///
/// A target that does not resolve or is out of range; a target revision
/// that is not applied ([`PlanError::NotApplied`]); `+N`; `-N` with fewer
/// than N revisions applied.
pub fn plan_downgrade(
    graph: &Graph,
    applied: &[usize],
    target: &Target,
) -> Result<Plan, PlanError> {
    let state = State::new(graph, applied)?;
    let point = match *target {
        Target::Relative(steps) if steps > 0 => {
            return Err(PlanError::NotBackwards {
                target: target.to_string(),
            });
        }
        Target::Relative(steps) => {
            let requested = steps.unsigned_abs();
            // The most recently applied first; a revision applied twice in
            // the list counts once.
            let mut taken = vec![false; graph.len()];
            let steps: Vec<usize> = applied
                .iter()
                .rev()
                .copied()
                .filter(|&i| !std::mem::replace(&mut taken[i], true))
                .take(usize::try_from(requested).unwrap_or(usize::MAX))
                .collect();
            if (steps.len() as u64) < requested {
                return Err(PlanError::TooFewApplied {
                    requested,
                    applied: state.count,
                });
            }
            return Ok(Plan::of(&steps, Direction::Downgrade));
        }
        _ => Point::of(graph, target)?,
    };
    let steps: Vec<usize> = match point {
        Point::Base => state.applied(graph.order().iter().rev()).collect(),
        Point::Revision(r) if !state.is_applied(r) => {
            return Err(PlanError::NotApplied {
                revision: graph.revision(r).id.to_string(),
            });
        }
        Point::Revision(r) => {
            let descendants = graph.descendants(r);
            state
                .applied(graph.order().iter().rev())
                .filter(|&i| descendants[i])
                .collect()
        }
    };
    Ok(Plan::of(&steps, Direction::Downgrade))
}

/// The steps that record the database as at `target`, as Alembic's `stamp`
/// does: every current tip (an applied revision no applied revision
/// revises) that is an ancestor or a descendant of the target is replaced by
/// the target; the tips of other branches stay. The applied set becomes the
/// ancestors of the resulting tips. With `purge` (Alembic's `stamp
/// --purge`), the applied set becomes exactly the target and its ancestors
/// (nothing, for `base`). The steps are downgrades of the applied revisions
/// outside the new set (children first), then upgrades of the missing ones
/// (in order); `stamp` records them without running them.
///
/// # Errors
///
/// A target that does not resolve or is out of range; a relative target
/// (`+N`, `-N`), which has no meaning for a stamp.
pub fn plan_stamp(
    graph: &Graph,
    applied: &[usize],
    target: &Target,
    purge: bool,
) -> Result<Plan, PlanError> {
    let state = State::new(graph, applied)?;
    let keep = match Point::of(graph, target)? {
        Point::Base => vec![false; graph.len()],
        Point::Revision(r) if purge => graph.ancestors(r),
        Point::Revision(r) => {
            let (ancestors, descendants) = (graph.ancestors(r), graph.descendants(r));
            let mut keep = ancestors.clone();
            for tip in graph.tips(&state.applied) {
                if !ancestors[tip] && !descendants[tip] {
                    for (k, a) in keep.iter_mut().zip(graph.ancestors(tip)) {
                        *k |= a;
                    }
                }
            }
            keep
        }
    };
    let mut plan = Plan::default();
    let down: Vec<usize> = state
        .applied(graph.order().iter().rev())
        .filter(|&i| !keep[i])
        .collect();
    plan.push(&down, Direction::Downgrade);
    let up: Vec<usize> = state
        .not_applied(graph.order().iter())
        .filter(|&i| keep[i])
        .collect();
    plan.push(&up, Direction::Upgrade);
    Ok(plan)
}

/// The revisions applied when the database is exactly at `target`: the
/// target and its ancestors, in `graph.order()`; empty for `base`. (What
/// `stamp` records, and the state an offline script starts from.)
pub fn stamped_set(graph: &Graph, target: &Target) -> Result<Vec<usize>, PlanError> {
    let keep = stamped_mask(graph, target)?;
    Ok(graph.order().iter().copied().filter(|&i| keep[i]).collect())
}

/// [`stamped_set`] as a mask indexed by revision.
fn stamped_mask(graph: &Graph, target: &Target) -> Result<Vec<bool>, PlanError> {
    Ok(match Point::of(graph, target)? {
        Point::Base => vec![false; graph.len()],
        Point::Revision(r) => graph.ancestors(r),
    })
}

/// The applied set, checked against the graph.
struct State {
    applied: Vec<bool>,
    count: usize,
}

impl State {
    fn new(graph: &Graph, applied: &[usize]) -> Result<State, PlanError> {
        let mut flags = vec![false; graph.len()];
        let mut count = 0;
        for &index in applied {
            let flag = flags.get_mut(index).ok_or(PlanError::UnknownApplied {
                index,
                len: graph.len(),
            })?;
            if !std::mem::replace(flag, true) {
                count += 1;
            }
        }
        Ok(State {
            applied: flags,
            count,
        })
    }

    fn is_applied(&self, i: usize) -> bool {
        self.applied[i]
    }

    fn applied<'a>(
        &'a self,
        order: impl Iterator<Item = &'a usize>,
    ) -> impl Iterator<Item = usize> {
        order.copied().filter(|&i| self.applied[i])
    }

    fn not_applied<'a>(
        &'a self,
        order: impl Iterator<Item = &'a usize>,
    ) -> impl Iterator<Item = usize> {
        order.copied().filter(|&i| !self.applied[i])
    }
}

/// An absolute target, resolved.
enum Point {
    /// Nothing applied.
    Base,
    /// This revision and its ancestors applied.
    Revision(usize),
}

impl Point {
    /// Resolves an absolute target. A [`Target::Relative`] counts from the
    /// applied state, so it has no point of its own: upgrade and downgrade
    /// handle it before, and for a stamp it is an error.
    fn of(graph: &Graph, target: &Target) -> Result<Point, PlanError> {
        match target {
            Target::Head => Ok(graph.head().map_or(Point::Base, Point::Revision)),
            Target::Relative(_) => Err(PlanError::RelativeStamp {
                target: target.to_string(),
            }),
            Target::Base => Ok(Point::Base),
            Target::Revision(spec) => Ok(Point::Revision(graph.resolve(spec)?)),
            Target::RevisionRelative(spec, steps) => {
                Point::walk(graph, target, Some(graph.resolve(spec)?), *steps)
            }
            Target::HeadRelative(steps) => Point::walk(graph, target, graph.head(), *steps),
            Target::BaseRelative(steps) => Point::walk(graph, target, None, *steps),
        }
    }

    /// `steps` steps from `from` (`None`: base) along the graph: toward the
    /// head through children when positive, toward the base through parents
    /// when negative. The step after the base revision reaches base; a step
    /// with several ways to go is an error.
    fn walk(
        graph: &Graph,
        target: &Target,
        from: Option<usize>,
        steps: i64,
    ) -> Result<Point, PlanError> {
        Point::walk_from(graph, target, from, steps, true)
    }

    /// [`Point::walk`]; `suggest`: look for a way out of an ambiguous step
    /// (off while checking a suggestion, so that the search stays linear).
    fn walk_from(
        graph: &Graph,
        target: &Target,
        from: Option<usize>,
        steps: i64,
        suggest: bool,
    ) -> Result<Point, PlanError> {
        let name = |at: Option<usize>| {
            at.map_or_else(|| "base".to_owned(), |r| graph.revision(r).id.to_string())
        };
        let total = steps.unsigned_abs();
        let base = graph.base();
        let mut at = from;
        for taken in 0..total {
            let next: &[usize] = match (steps > 0, at) {
                (true, None) => base.as_slice(),
                (true, Some(r)) => graph.children(r),
                (false, None) => {
                    return Err(PlanError::BeforeBase {
                        target: target.to_string(),
                        from: name(from),
                        available: usize::try_from(taken).unwrap_or(usize::MAX),
                    });
                }
                (false, Some(r)) => graph.parents(r),
            };
            match next {
                [] if steps > 0 => {
                    return Err(PlanError::BeyondHead {
                        target: target.to_string(),
                        from: name(from),
                        available: usize::try_from(taken).unwrap_or(usize::MAX),
                    });
                }
                [] => at = None,
                [only] => at = Some(*only),
                several => {
                    let options: Vec<String> = several
                        .iter()
                        .map(|&r| graph.revision(r).id.to_string())
                        .collect();
                    let remaining = i64::try_from(total - taken - 1).unwrap_or(i64::MAX);
                    let remaining = if steps > 0 { remaining } else { -remaining };
                    // The first way whose rest of the walk reaches a revision.
                    let suggestion = several.iter().filter(|_| suggest).find_map(|&way| {
                        let id = graph.revision(way).id.to_string();
                        let target = match remaining {
                            0 => Target::Revision(id),
                            n => Target::RevisionRelative(id, n),
                        };
                        Point::walk_from(graph, &target, Some(way), remaining, false)
                            .is_ok()
                            .then(|| target.to_string())
                    });
                    return Err(PlanError::AmbiguousWalk {
                        target: target.to_string(),
                        at: name(at),
                        toward: if steps > 0 { "head" } else { "base" },
                        options,
                        suggestion,
                    });
                }
            }
        }
        Ok(at.map_or(Point::Base, Point::Revision))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::tests::{graph, large};

    const LINEAR: &[(&str, &[&str])] = &[
        ("001", &[]),
        ("002", &["001"]),
        ("003", &["002"]),
        ("004", &["003"]),
    ];

    /// `1`; `2a`, `2b` both revise `1`; `3` merges them.
    const DIAMOND: &[(&str, &[&str])] = &[
        ("1", &[]),
        ("2a", &["1"]),
        ("2b", &["1"]),
        ("3", &["2a", "2b"]),
    ];

    fn target(s: &str) -> Target {
        match s.parse() {
            Ok(target) => target,
            Err(e) => panic!("{s}: {e}"),
        }
    }

    fn indices(g: &Graph, ids: &[&str]) -> Vec<usize> {
        ids.iter()
            .map(|id| g.index_of(id).unwrap_or_else(|| panic!("no {id}")))
            .collect()
    }

    /// The plan as `+id` / `-id` strings.
    fn show(g: &Graph, plan: Result<Plan, PlanError>) -> Vec<String> {
        let plan = plan.unwrap_or_else(|e| panic!("{e}"));
        plan.steps
            .iter()
            .map(|s| {
                let sign = if s.direction == Direction::Upgrade {
                    '+'
                } else {
                    '-'
                };
                format!("{sign}{}", g.revision(s.revision).id)
            })
            .collect()
    }

    fn up(g: &Graph, applied: &[&str], to: &str) -> Vec<String> {
        show(g, plan_upgrade(g, &indices(g, applied), &target(to)))
    }

    fn down(g: &Graph, applied: &[&str], to: &str) -> Vec<String> {
        show(g, plan_downgrade(g, &indices(g, applied), &target(to)))
    }

    fn stamp(g: &Graph, applied: &[&str], to: &str) -> Vec<String> {
        show(g, plan_stamp(g, &indices(g, applied), &target(to), false))
    }

    fn stamp_purge(g: &Graph, applied: &[&str], to: &str) -> Vec<String> {
        show(g, plan_stamp(g, &indices(g, applied), &target(to), true))
    }

    fn up_err(g: &Graph, applied: &[&str], to: &str) -> String {
        plan_upgrade(g, &indices(g, applied), &target(to))
            .expect_err("an error")
            .to_string()
    }

    fn down_err(g: &Graph, applied: &[&str], to: &str) -> String {
        plan_downgrade(g, &indices(g, applied), &target(to))
            .expect_err("an error")
            .to_string()
    }

    /// Applies `plan` to `applied` (for chaining plans).
    fn after(g: &Graph, applied: &[&str], plan: &[String]) -> Vec<String> {
        let mut state: Vec<String> = applied.iter().map(|s| (*s).to_owned()).collect();
        for step in plan {
            let (sign, id) = step.split_at(1);
            if sign == "+" {
                state.push(id.to_owned());
            } else {
                state.retain(|s| s != id);
            }
        }
        let flags: Vec<bool> = (0..g.len())
            .map(|i| state.iter().any(|s| *s == g.revision(i).id))
            .collect();
        g.tips(&flags)
            .iter()
            .map(|&i| g.revision(i).id.to_string())
            .collect()
    }

    #[test]
    fn targets_parse_and_display() {
        let cases = [
            ("head", Target::Head),
            ("base", Target::Base),
            ("ae10", Target::Revision("ae10".into())),
            ("+2", Target::Relative(2)),
            ("-1", Target::Relative(-1)),
            ("ae10+3", Target::RevisionRelative("ae10".into(), 3)),
            ("ae10-1", Target::RevisionRelative("ae10".into(), -1)),
            ("head-2", Target::HeadRelative(-2)),
            ("head+0", Target::HeadRelative(0)),
            ("base+2", Target::BaseRelative(2)),
            ("+0", Target::Relative(0)),
            ("-9223372036854775808", Target::Relative(i64::MIN)),
        ];
        for (text, expected) in cases {
            assert_eq!(target(text), expected, "{text}");
            assert_eq!(expected.to_string(), text);
        }
        assert_eq!(target("-0"), Target::Relative(0));
        for bad in [
            "",
            "+",
            "-",
            "head-",
            "base+",
            "a b",
            "x+-1",
            "+1+1",
            "+x",
            "é",
            "1-2-3",
            &"a".repeat(65),
        ] {
            let err = bad.parse::<Target>().expect_err(bad);
            assert_eq!(
                err.to_string(),
                format!(
                    "`{bad}` is not a target: use `head`, `base`, a revision ID or a unique prefix of one, `+N` or `-N` (N revisions from the current state), `REV+N` or `REV-N` (N steps from REV toward the head or the base), `head-N` or `base+N`"
                )
            );
        }
    }

    #[test]
    fn linear_upgrades() {
        let g = graph(LINEAR);
        assert_eq!(up(&g, &[], "head"), ["+001", "+002", "+003", "+004"]);
        assert_eq!(up(&g, &["001"], "003"), ["+002", "+003"]);
        assert_eq!(up(&g, &["001"], "+2"), ["+002", "+003"]);
        assert_eq!(up(&g, &["001"], "+0"), Vec::<String>::new());
        assert_eq!(up(&g, &["001", "002"], "002"), Vec::<String>::new());
        assert_eq!(up(&g, &[], "base"), Vec::<String>::new());
        assert_eq!(up(&g, &[], "001+2"), ["+001", "+002", "+003"]);
        assert_eq!(up(&g, &[], "head-1"), ["+001", "+002", "+003"]);
        assert_eq!(up(&g, &[], "003-2"), ["+001"]);
        assert_eq!(
            up(&g, &["001", "002", "003", "004"], "head"),
            Vec::<String>::new()
        );

        assert_eq!(
            up_err(&g, &["001"], "+4"),
            "cannot upgrade by 4: only 3 revisions are pending (`upgrade head` applies them all)"
        );
        assert_eq!(
            up_err(&g, &["001"], "-1"),
            "`-1` counts backwards, but `upgrade` only moves forwards: use `downgrade -1`"
        );
        // At or past the target: nothing to do, as in Alembic.
        assert_eq!(up(&g, &["001", "002", "003"], "002"), Vec::<String>::new());
        assert_eq!(up(&g, &["001"], "base"), Vec::<String>::new());
        // Walks reach the base; `base+N` walks from it.
        assert_eq!(up(&g, &[], "002-2"), Vec::<String>::new());
        assert_eq!(up(&g, &[], "base+2"), ["+001", "+002"]);
        assert_eq!(up(&g, &[], "heads"), ["+001", "+002", "+003", "+004"]);
        assert_eq!(
            up_err(&g, &[], "003+2"),
            "`003+2` is beyond the head: only 1 step(s) lead from `003` to the head"
        );
        assert_eq!(
            up_err(&g, &[], "head+1"),
            "`head+1` is beyond the head: only 0 step(s) lead from `004` to the head"
        );
        assert_eq!(
            up_err(&g, &[], "002-3"),
            "`002-3` is before the base: only 2 step(s) lead from `002` to the base"
        );
        assert_eq!(
            up_err(&g, &[], "head-9223372036854775808"),
            "`head-9223372036854775808` is before the base: only 4 step(s) lead from `004` to the base"
        );
        assert_eq!(
            up_err(&g, &[], "base+5"),
            "`base+5` is beyond the head: only 4 step(s) lead from `base` to the head"
        );
        assert_eq!(
            up_err(&g, &[], "0"),
            "`0` is ambiguous: it begins the IDs `001`, `002`, `003`, `004`; give more characters of the ID"
        );
        assert_eq!(
            up_err(&g, &[], "005"),
            "no revision has the ID `005` or an ID beginning with it; did you mean `001`, `002`, `003`?"
        );
    }

    #[test]
    fn linear_downgrades() {
        let g = graph(LINEAR);
        let all = ["001", "002", "003", "004"];
        assert_eq!(down(&g, &all, "-1"), ["-004"]);
        assert_eq!(down(&g, &all, "-2"), ["-004", "-003"]);
        assert_eq!(down(&g, &all, "-0"), Vec::<String>::new());
        assert_eq!(down(&g, &all, "base"), ["-004", "-003", "-002", "-001"]);
        assert_eq!(down(&g, &all, "002"), ["-004", "-003"]);
        assert_eq!(down(&g, &all, "head"), Vec::<String>::new());
        assert_eq!(down(&g, &all, "head-1"), ["-004"]);
        assert_eq!(down(&g, &all, "001+1"), ["-004", "-003"]);
        assert_eq!(down(&g, &all, "head-4"), ["-004", "-003", "-002", "-001"]);
        assert_eq!(down(&g, &all, "001-1"), ["-004", "-003", "-002", "-001"]);
        assert_eq!(down(&g, &[], "base"), Vec::<String>::new());

        assert_eq!(
            down_err(&g, &["001"], "-2"),
            "cannot downgrade by 2: only 1 revisions are applied (`downgrade base` unapplies them all)"
        );
        assert_eq!(
            down_err(&g, &["001"], "+1"),
            "`+1` counts forwards, but `downgrade` only moves backwards: use `upgrade +1`"
        );
        assert_eq!(
            down_err(&g, &["001"], "003"),
            "revision `003` is not applied, so `downgrade` cannot go back to it: use `upgrade 003` to reach it"
        );
        assert_eq!(
            down_err(&g, &["001"], "head"),
            "revision `004` is not applied, so `downgrade` cannot go back to it: use `upgrade 004` to reach it"
        );
    }

    #[test]
    fn branched_plans() {
        let g = graph(DIAMOND);
        let all = ["1", "2a", "2b", "3"];
        assert_eq!(up(&g, &[], "head"), ["+1", "+2a", "+2b", "+3"]);

        // A partial upgrade to one branch, then the rest.
        let first = up(&g, &[], "2b");
        assert_eq!(first, ["+1", "+2b"]);
        assert_eq!(after(&g, &[], &first), ["2b"]);
        assert_eq!(up(&g, &["1", "2b"], "head"), ["+2a", "+3"]);
        assert_eq!(up(&g, &["1", "2b"], "+1"), ["+2a"]);
        assert_eq!(up(&g, &["1", "2b"], "2a"), ["+2a"]);

        // Down from the merge by one: both branch tips stay applied.
        let plan = down(&g, &all, "-1");
        assert_eq!(plan, ["-3"]);
        assert_eq!(after(&g, &all, &plan), ["2a", "2b"]);

        // Down to one branch's tip: Alembic's semantics keep the other one.
        let plan = down(&g, &all, "2a");
        assert_eq!(plan, ["-3"]);
        assert_eq!(after(&g, &all, &plan), ["2a", "2b"]);
        assert_eq!(down(&g, &all, "1"), ["-3", "-2b", "-2a"]);
        assert_eq!(down(&g, &["1", "2a", "2b"], "2a"), Vec::<String>::new());
        assert_eq!(down(&g, &["1", "2b", "2a"], "-1"), ["-2a"]);

        // `2a` is applied and `3`, after it, too: nothing to do.
        assert_eq!(up(&g, &all, "2a"), Vec::<String>::new());
        // Applied out of any order a branch allows: 2b has no applied child.
        assert_eq!(up(&g, &["1", "2a", "2b"], "2b"), Vec::<String>::new());
    }

    /// The diamond of the issue: A; B and C revise A; D merges them; E.
    const ALEMBIC_DIAMOND: &[(&str, &[&str])] = &[
        ("A", &[]),
        ("B", &["A"]),
        ("C", &["A"]),
        ("D", &["B", "C"]),
        ("E", &["D"]),
    ];

    #[test]
    fn walks_follow_the_graph() {
        let g = graph(ALEMBIC_DIAMOND);
        let all = ["A", "B", "C", "D", "E"];
        // `B+1` walks to D: B stays applied (it did not, counting positions).
        assert_eq!(up(&g, &[], "B+1"), ["+A", "+B", "+C", "+D"]);
        // `C-1` walks to A: C is reverted.
        assert_eq!(down(&g, &all, "C-1"), ["-E", "-D", "-C", "-B"]);
        assert_eq!(up(&g, &[], "head-1"), ["+A", "+B", "+C", "+D"]);
        assert_eq!(up(&g, &[], "base+1"), ["+A"]);
        assert_eq!(
            up_err(&g, &[], "head-2"),
            "`head-2` is ambiguous: from `D` the walk toward the base can go to `B` or `C`; name the revision instead, e.g. `B`"
        );
        assert_eq!(
            up_err(&g, &[], "head-3"),
            "`head-3` is ambiguous: from `D` the walk toward the base can go to `B` or `C`; name the revision instead, e.g. `B-1`"
        );
        assert_eq!(
            up_err(&g, &[], "A+2"),
            "`A+2` is ambiguous: from `A` the walk toward the head can go to `B` or `C`; name the revision instead, e.g. `B+1`"
        );
        // No way reaches a revision: no suggestion that would fail in turn.
        assert_eq!(
            up_err(&g, &[], "head-5"),
            "`head-5` is ambiguous: from `D` the walk toward the base can go to `B` or `C`; name the revision instead"
        );
        assert_eq!(down(&g, &all, "B-1"), ["-E", "-D", "-C", "-B"]);
        assert_eq!(down(&g, &all, "B-2"), ["-E", "-D", "-C", "-B", "-A"]);
    }

    #[test]
    fn stamps() {
        let g = graph(DIAMOND);
        assert_eq!(stamp(&g, &[], "head"), ["+1", "+2a", "+2b", "+3"]);
        // A tip of another branch stays (Alembic); --purge drops it.
        assert_eq!(stamp(&g, &["1", "2a"], "2b"), ["+2b"]);
        assert_eq!(
            after(&g, &["1", "2a"], &stamp(&g, &["1", "2a"], "2b")),
            ["2a", "2b"]
        );
        assert_eq!(stamp_purge(&g, &["1", "2a"], "2b"), ["-2a", "+2b"]);
        // The tips the target is related to move to it.
        assert_eq!(stamp(&g, &["1", "2a", "2b"], "3"), ["+3"]);
        assert_eq!(stamp(&g, &["1", "2a", "2b"], "1"), ["-2b", "-2a"]);
        assert_eq!(
            stamp(&g, &["1", "2a", "2b", "3"], "base"),
            ["-3", "-2b", "-2a", "-1"]
        );
        assert_eq!(stamp(&g, &["1", "2a", "2b", "3"], "2a"), ["-3", "-2b"]);
        assert_eq!(stamp(&g, &["1"], "1"), Vec::<String>::new());
        let err = plan_stamp(&g, &[], &Target::Relative(1), false).expect_err("relative");
        assert_eq!(
            err.to_string(),
            "`+1` counts from the current state, which is not used here: name a revision, `head` or `base` (stamp and `--sql --from` need a point of the graph)"
        );
    }

    #[test]
    fn empty_graph() {
        let g = graph(&[]);
        for to in ["head", "base", "head+0"] {
            assert!(up(&g, &[], to).is_empty());
            assert!(down(&g, &[], to).is_empty());
            assert!(stamp(&g, &[], to).is_empty());
        }
        assert_eq!(
            up_err(&g, &[], "head-1"),
            "`head-1` is before the base: only 0 step(s) lead from `base` to the base"
        );
        assert_eq!(
            up_err(&g, &[], "+1"),
            "cannot upgrade by 1: only 0 revisions are pending (`upgrade head` applies them all)"
        );
        let err = plan_upgrade(&g, &[0], &Target::Head).expect_err("bad state");
        assert_eq!(err, PlanError::UnknownApplied { index: 0, len: 0 });
    }

    #[test]
    fn large_graph_plans() {
        let g = Graph::from_checked(large(100_000));
        let plan = plan_upgrade(&g, &[], &Target::Head).expect("upgrade");
        assert_eq!(plan.steps.len(), 100_000);
        let applied: Vec<usize> = plan.steps.iter().map(|s| s.revision).collect();
        let plan = plan_downgrade(&g, &applied, &target("050000")).expect("downgrade");
        assert_eq!(plan.steps.len(), 49_999);
        let plan = plan_upgrade(&g, &applied[..10], &target("+5")).expect("upgrade +5");
        assert_eq!(plan.steps.len(), 5);
        // The large graph has merges near its head: stamp a revision.
        let plan = plan_stamp(&g, &applied, &target("099990"), false).expect("stamp");
        assert!(
            !plan.steps.is_empty() && plan.steps.len() < 20,
            "{}",
            plan.steps.len()
        );
    }
}
