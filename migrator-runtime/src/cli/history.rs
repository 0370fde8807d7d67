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
    /// The applied revisions (a mask by index), when a database was read.
    pub(super) applied: Option<Vec<bool>>,
    pub(super) verbose: bool,
    pub(super) range: Option<&'a str>,
    pub(super) draw: bool,
    pub(super) format: Format,
}

impl History<'_> {
    /// Writes the history to `printer`.
    pub(super) fn print(&self, printer: &mut Printer<'_>) -> Result<()> {
        if self.draw && self.format == Format::Dot {
            return Err(Error::Usage(
                "`--graph` draws the text history; `--format dot` writes a graph of its own: \
                 use one of them"
                    .to_owned(),
            ));
        }
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
        if self.applied.as_ref().is_some_and(|applied| applied[i]) {
            marks.push("applied");
        }
        marks
    }

    fn text(&self, printer: &mut Printer<'_>, shown: &[usize]) -> Result<()> {
        let graph = self.graph;
        let in_range = mask(graph.len(), shown);
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
                    .filter(|&p| in_range[p])
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
        let in_range = mask(graph.len(), shown);
        // A DOT string: quotes and backslashes escaped, line breaks as `\n`.
        let quote = |s: &str| {
            let escaped = s
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n");
            format!("\"{escaped}\"")
        };
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
                if in_range[parent] {
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

/// `indices` as a mask of `len` revisions.
fn mask(len: usize, indices: &[usize]) -> Vec<bool> {
    let mut mask = vec![false; len];
    for &i in indices {
        mask[i] = true;
    }
    mask
}

/// The lanes of a drawing like `git log --graph`: each lane waits for the
/// revision it leads down to. Lane `i` is drawn in column `2 * i`; the
/// diagonals of joins and forks between lanes in the odd columns.
#[derive(Debug, Default)]
struct Lanes {
    waiting: Vec<usize>,
}

impl Lanes {
    /// The rows for revision `node` (newest first) with its `parents`: one
    /// row per other lane waiting for it, joining it (`|/`), its own row
    /// (`*`), and one row per extra parent, opening a lane (`|\`).
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
        // The rightmost first: each one bends into the lane on its left, and
        // the lanes after it move one to the left.
        for &lane in joining.iter().skip(1).rev() {
            rows.push(grid(self.waiting.len(), |i| {
                if i < lane {
                    (Some('|'), None)
                } else {
                    (None, Some('/'))
                }
            }));
            self.waiting.remove(lane);
        }
        let mut own = grid(self.waiting.len(), |i| {
            (Some(if i == column { '*' } else { '|' }), None)
        });
        own.push(' ');
        own.push_str(label);
        rows.push(own);
        match parents {
            [] => {
                self.waiting.remove(column);
            }
            [first, rest @ ..] => {
                self.waiting[column] = *first;
                // Each extra parent opens a lane right of this one; the
                // lanes after it move one to the right.
                for (k, &parent) in rest.iter().enumerate() {
                    let opened = column + 1 + k;
                    self.waiting.insert(opened, parent);
                    rows.push(grid(self.waiting.len(), |i| {
                        if i < opened {
                            (Some('|'), None)
                        } else {
                            (None, Some('\\'))
                        }
                    }));
                }
            }
        }
        rows
    }

    /// The lanes as they continue past the last row, for indented detail.
    fn rail(&self) -> String {
        grid(self.waiting.len(), |_| (Some('|'), None))
    }
}

/// A row of `lanes` lanes: for each, the character in its own column and
/// the one in the column before it (a diagonal), trailing blanks trimmed.
fn grid(lanes: usize, cell: impl Fn(usize) -> (Option<char>, Option<char>)) -> String {
    let mut row = vec![' '; 2 * lanes];
    for i in 0..lanes {
        let (own, before) = cell(i);
        if let Some(c) = own {
            row[2 * i] = c;
        }
        if let (Some(c), Some(at)) = (before, (2 * i).checked_sub(1)) {
            row[at] = c;
        }
    }
    row.into_iter().collect::<String>().trim_end().to_owned()
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
    fn crossing_merges_stay_on_the_grid() {
        // z <- m2 (c, b) ... : two merges whose parents cross.
        // 9 merges 7 and 8; 8 merges 5 and 6; 7 merges 5 and 6.
        let rows = draw(&[
            (9, &[7, 8]),
            (8, &[5, 6]),
            (7, &[5, 6]),
            (6, &[4]),
            (5, &[4]),
            (4, &[]),
        ]);
        for row in &rows {
            // Lanes in even columns, diagonals in odd ones.
            for (at, c) in row.chars().enumerate() {
                match c {
                    '*' | '|' => assert_eq!(at % 2, 0, "{rows:#?}"),
                    '/' | '\\' => assert_eq!(at % 2, 1, "{rows:#?}"),
                    _ => {}
                }
            }
        }
        assert_eq!(rows.last().map(String::as_str), Some("* 4"), "{rows:#?}");
    }

    #[test]
    fn a_three_way_merge() {
        let rows = draw(&[(5, &[2, 3, 4]), (4, &[1]), (3, &[1]), (2, &[1]), (1, &[])]);
        assert_eq!(
            rows,
            [
                "* 5", "|\\", "| |\\", "| | * 4", "| * | 3", "* | | 2", "| |/", "|/", "* 1"
            ]
        );
    }
}
