//! `history`: the revisions, newest first, read from the graph alone (a
//! database only adds which ones are applied), as text, as a drawing of the
//! graph (`--graph`, like `git log --graph`), or as Graphviz (`--format dot`).

use super::{Error, Printer, Result, arrow};
use crate::graph::Graph;
use crate::model::Direction;

/// How `history` writes the revisions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One line per revision: `parents -> id (marks), message`.
    #[default]
    Text,
    /// A Graphviz digraph (`dot -Tsvg`), edges from parent to child.
    Dot,
}

/// What `history` shows.
pub(super) struct History<'a> {
    pub(super) graph: &'a Graph,
    /// The applied revision IDs, when a database was given.
    pub(super) applied: Option<Vec<String>>,
    pub(super) verbose: bool,
    pub(super) range: Option<&'a str>,
    pub(super) draw: bool,
    pub(super) format: Format,
}

impl History<'_> {
    /// Writes the history to `printer`.
    pub(super) fn print(&self, printer: &mut Printer<'_>) -> Result<()> {
        let shown = self.shown()?;
        match self.format {
            Format::Dot => self.dot(printer, &shown),
            Format::Text => self.text(printer, &shown),
        }
    }

    /// The revisions in the range, newest first.
    fn shown(&self) -> Result<Vec<usize>> {
        let graph = self.graph;
        let order = graph.order();
        let (first, last) = match self.range {
            None => (0, order.len()),
            Some(range) => {
                let (from, to) = range.split_once(':').ok_or_else(|| {
                    Error::Usage(format!(
                        "`-r {range}`: write a range as FROM:TO, e.g. `001:head`"
                    ))
                })?;
                // The end (exclusive) in `order` of the range up to `spec`.
                let end = |spec: &str| -> Result<usize> {
                    match spec {
                        "base" => Ok(0),
                        "head" | "heads" => Ok(order.len()),
                        spec => Ok(graph
                            .position(graph.resolve(spec).map_err(crate::PlanError::from)?)
                            + 1),
                    }
                };
                let first = match from {
                    "" => 0,
                    spec => end(spec)?.saturating_sub(1),
                };
                let last = match to {
                    "" => order.len(),
                    spec => end(spec)?,
                };
                if last < first {
                    return Err(Error::Usage(format!(
                        "`-r {range}`: {from} comes after {to}; write the older revision first"
                    )));
                }
                (first, last)
            }
        };
        Ok(order[first..last].iter().rev().copied().collect())
    }

    /// `head`, `branchpoint`, `mergepoint` and `applied`, as they apply.
    fn marks(&self, i: usize) -> Vec<&'static str> {
        let graph = self.graph;
        let mut marks = Vec::new();
        if Some(i) == graph.head() {
            marks.push("head");
        }
        if graph.children(i).len() > 1 {
            marks.push("branchpoint");
        }
        if graph.parents(i).len() > 1 {
            marks.push("mergepoint");
        }
        if let Some(applied) = &self.applied
            && applied.iter().any(|a| *a == graph.revision(i).id)
        {
            marks.push("applied");
        }
        marks
    }

    fn text(&self, printer: &mut Printer<'_>, shown: &[usize]) -> Result<()> {
        let graph = self.graph;
        let mut lanes = Lanes::default();
        for &i in shown {
            let revision = graph.revision(i);
            let marks = self.marks(i);
            let marks = if marks.is_empty() {
                String::new()
            } else {
                format!(" ({})", marks.join(", "))
            };
            let line = format!(
                "{}{marks}, {}",
                arrow(revision, Direction::Upgrade),
                revision.message
            );
            if !self.draw {
                printer.line(line)?;
            } else {
                let parents: Vec<usize> = graph
                    .parents(i)
                    .iter()
                    .copied()
                    .filter(|p| shown.contains(p))
                    .collect();
                for row in lanes.rows(i, &parents, &line) {
                    printer.line(row)?;
                }
            }
            if self.verbose {
                let indent = if self.draw {
                    lanes.rail()
                } else {
                    String::new()
                };
                printer.line(format!("{indent}    file: {}", revision.file_name))?;
                if let Some(date) = &revision.create_date {
                    printer.line(format!("{indent}    created: {date}"))?;
                }
                for line in revision.description.lines() {
                    printer.line(format!("{indent}    {line}"))?;
                }
            }
        }
        Ok(())
    }

    fn dot(&self, printer: &mut Printer<'_>, shown: &[usize]) -> Result<()> {
        let graph = self.graph;
        let quote = |s: &str| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""));
        printer.line("digraph migrations {")?;
        printer.line("    rankdir=BT;")?;
        printer.line("    node [shape=box];")?;
        for &i in shown.iter().rev() {
            let revision = graph.revision(i);
            let marks = self.marks(i);
            let mut attributes = vec![format!(
                "label={}",
                quote(&format!("{}\n{}", revision.id, revision.message))
            )];
            if marks.contains(&"head") {
                attributes.push("peripheries=2".to_owned());
            }
            if marks.contains(&"applied") {
                attributes.push("style=filled, fillcolor=lightgrey".to_owned());
            }
            printer.line(format!(
                "    {} [{}];",
                quote(&revision.id),
                attributes.join(", ")
            ))?;
            for &parent in graph.parents(i) {
                if shown.contains(&parent) {
                    printer.line(format!(
                        "    {} -> {};",
                        quote(&graph.revision(parent).id),
                        quote(&revision.id)
                    ))?;
                }
            }
        }
        printer.line("}")
    }
}

/// The lanes of a drawing like `git log --graph`: each lane waits for the
/// revision it leads down to.
#[derive(Debug, Default)]
struct Lanes {
    waiting: Vec<usize>,
}

impl Lanes {
    /// The rows for revision `node` (newest first) with its `parents`: a row
    /// where lanes waiting for it join (`|/`), its own row (`*`), and a row
    /// where its extra parents open lanes (`|\`).
    fn rows(&mut self, node: usize, parents: &[usize], label: &str) -> Vec<String> {
        let mut rows = Vec::new();
        let joining: Vec<usize> = (0..self.waiting.len())
            .filter(|&lane| self.waiting[lane] == node)
            .collect();
        let column = match joining.first() {
            Some(&first) => first,
            None => {
                // A tip: a lane of its own.
                self.waiting.push(node);
                self.waiting.len() - 1
            }
        };
        if joining.len() > 1 {
            let first_gone = joining[1];
            let cells: Vec<&str> = (0..self.waiting.len())
                .map(|lane| if lane < first_gone { "|" } else { "/" })
                .collect();
            rows.push(cells.join(""));
            for &lane in joining[1..].iter().rev() {
                self.waiting.remove(lane);
            }
        }
        let cells: Vec<&str> = (0..self.waiting.len())
            .map(|lane| if lane == column { "*" } else { "|" })
            .collect();
        rows.push(format!("{} {label}", cells.join(" ")));
        match parents {
            [] => {
                self.waiting.remove(column);
            }
            [first, rest @ ..] => {
                self.waiting[column] = *first;
                if !rest.is_empty() {
                    let before = self.waiting.len();
                    for (k, &parent) in rest.iter().enumerate() {
                        self.waiting.insert(column + 1 + k, parent);
                    }
                    let cells: Vec<&str> = (0..before + rest.len())
                        .map(|lane| if lane <= column { "|" } else { "\\" })
                        .collect();
                    rows.push(cells.join(""));
                }
            }
        }
        rows
    }

    /// The lanes as they continue past the last row, for indented detail.
    fn rail(&self) -> String {
        vec!["|"; self.waiting.len()].join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Draws `edges` (node, parents), newest first.
    fn draw(nodes: &[(usize, &[usize])]) -> Vec<String> {
        let mut lanes = Lanes::default();
        nodes
            .iter()
            .flat_map(|&(node, parents)| lanes.rows(node, parents, &node.to_string()))
            .collect()
    }

    #[test]
    fn a_branch_and_a_merge() {
        // 5 <- (6 | 7) <- 8 <- 9, newest first.
        let rows = draw(&[
            (9, &[8]),
            (8, &[6, 7]),
            (7, &[5]),
            (6, &[5]),
            (5, &[4]),
            (4, &[]),
        ]);
        assert_eq!(
            rows,
            ["* 9", "* 8", "|\\", "| * 7", "* | 6", "|/", "* 5", "* 4"]
        );
    }

    #[test]
    fn a_three_way_merge() {
        let rows = draw(&[(5, &[2, 3, 4]), (4, &[1]), (3, &[1]), (2, &[1]), (1, &[])]);
        assert_eq!(
            rows,
            [
                "* 5", "|\\\\", "| | * 4", "| * | 3", "* | | 2", "|//", "* 1"
            ]
        );
    }
}
