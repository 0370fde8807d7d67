//! The difference between two schema snapshots, for people to read.

use std::fmt;

use super::Snapshot;

/// What a comparison of two snapshots takes into account.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiffOptions {
    /// Compare the order of the columns in each table. Off by default: a
    /// column that a downgrade adds back lands at the end of its table, which
    /// is usually harmless.
    pub column_order: bool,
}

/// Which side of a comparison a line is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Side {
    /// Only in the first ("before") snapshot: shown as `- …`.
    Before,
    /// Only in the second ("after") snapshot: shown as `+ …`.
    After,
}

/// One line of a [`SchemaDiff`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffLine {
    /// The side the object is on.
    pub side: Side,
    /// The table (or other object) the line is about; lines are grouped by
    /// it.
    pub subject: String,
    /// The object, e.g. `column widgets.name TEXT NOT NULL`.
    pub text: String,
}

impl fmt::Display for DiffLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = match self.side {
            Side::Before => '-',
            Side::After => '+',
        };
        write!(f, "{sign} {}", self.text)
    }
}

/// The objects that differ between two snapshots: `- …` for what only the
/// first has, `+ …` for what only the second has. An object that changed
/// (a column's type, an index's columns) appears once on each side.
///
/// Lines are sorted by the table they are about, then by text, `-` before
/// `+`, so the two versions of a changed object stand together.
///
/// ```text
/// - column widgets.label TEXT
/// + index widgets_name_idx on widgets (name)
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SchemaDiff {
    /// The lines, in display order.
    pub lines: Vec<DiffLine>,
}

impl SchemaDiff {
    /// The difference from `before` to `after`.
    pub fn between(before: &Snapshot, after: &Snapshot, options: &DiffOptions) -> SchemaDiff {
        // Equal snapshots give equal lines (the common case of a check,
        // without building them).
        if before == after {
            return SchemaDiff { lines: Vec::new() };
        }
        let old = before.lines(options.column_order);
        let new = after.lines(options.column_order);
        let mut lines: Vec<DiffLine> = old
            .difference(&new)
            .map(|(subject, text)| (Side::Before, subject, text))
            .chain(
                new.difference(&old)
                    .map(|(subject, text)| (Side::After, subject, text)),
            )
            .map(|(side, subject, text)| DiffLine {
                side,
                subject: subject.clone(),
                text: text.clone(),
            })
            .collect();
        lines.sort_by(|a, b| (&a.subject, &a.text, a.side).cmp(&(&b.subject, &b.text, b.side)));
        SchemaDiff { lines }
    }

    /// True when the snapshots agree.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// The number of differing lines.
    pub fn len(&self) -> usize {
        self.lines.len()
    }
}

impl fmt::Display for SchemaDiff {
    /// One line per difference, each ended by a newline; nothing when empty.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for line in &self.lines {
            writeln!(f, "{line}")?;
        }
        Ok(())
    }
}
