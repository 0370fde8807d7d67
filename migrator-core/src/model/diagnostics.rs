//! Problems found in a migrations directory, with their place and their mend.
//!
//! Every check of the model pushes into one [`Diagnostics`] collector instead of
//! returning early, so that one build reports every problem of the directory
//! (serde's `Ctxt` is the model for this). The macro turns each entry into a
//! `compile_error!`; the runtime renders the same entries as text.

use std::fmt;

use super::OnlineRule;

/// The rule of `FORMAT.md` that a [`Diagnostic`] reports a breach of.
///
/// Each rule has a stable kebab-case [code](Rule::code) that appears in
/// messages, so a user can search the docs for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Rule {
    /// The migrations directory does not exist or cannot be read.
    MissingDirectory,
    /// A `.sql` or `.rs` file whose name is not `<rev>_<slug>.<ext>`.
    BadFileName,
    /// A subdirectory (other than a hidden one) inside the migrations directory.
    Subdirectory,
    /// A file that cannot be read, or is not UTF-8.
    UnreadableFile,
    /// A required header field (`Revision ID`, `Revises`) is absent.
    MissingField,
    /// A header field given twice.
    DuplicateField,
    /// A `Key: value` line whose key is a near miss of a known field.
    MisspeltField,
    /// A header field whose value does not parse, or `Revision ID` that differs
    /// from the file name.
    BadFieldValue,
    /// A `-- migrate:` line that is not `upgrade` or `downgrade`.
    UnknownDirective,
    /// A section tagged with a backend that is not `postgres`, `sqlite` or `mysql`.
    UnknownBackend,
    /// The same (direction, backend) section twice.
    DuplicateSection,
    /// SQL between the header and the first section.
    SqlBeforeSection,
    /// A section without any SQL statement and without `-- migrate:noop`.
    EmptySection,
    /// A backend with upgrade SQL but no downgrade SQL (or the reverse), or a
    /// revision with no upgrade section at all.
    MissingDowngrade,
    /// A Rust revision that does not parse, or lacks `pub fn upgrade` /
    /// `pub fn downgrade` with exactly one parameter.
    RustRevision,
    /// Two files declare the same revision ID (graph rule 1).
    DuplicateRevision,
    /// `Revises` names a revision that does not exist (graph rule 2).
    BrokenChain,
    /// The `Revises` links form a cycle (graph rule 3).
    Cycle,
    /// More than one revision with an empty `Revises` (graph rule 4).
    MultipleBases,
    /// More than one head (graph rule 5).
    MultipleHeads,
    /// A parent listed twice, or a parent that is an ancestor of another
    /// parent (graph rule 6).
    RedundantParent,
    /// An upgrade that drops or truncates without `Allow: destructive`.
    Destructive,
    /// A name longer than the backend a section serves keeps (64
    /// characters on MySQL, 63 bytes on PostgreSQL).
    IdentifierTooLong,
    /// A PostgreSQL upgrade that breaks an online-safety rule its header does
    /// not `Allow:`; the code is the rule's own name.
    Online(OnlineRule),
    /// A statement PostgreSQL refuses inside a transaction (`CREATE INDEX
    /// CONCURRENTLY`, `VACUUM`, …) in a revision without `Transaction: false`.
    OutsideTransaction,
    /// A revision listed in `released.sum` whose file is missing or edited.
    ReleasedEdited,
    /// A line of `released.sum` that does not parse, or lists an ID twice.
    BadReleasedSum,
}

impl Rule {
    /// The stable kebab-case name of the rule, as shown in messages.
    pub fn code(self) -> &'static str {
        match self {
            Rule::MissingDirectory => "missing-directory",
            Rule::BadFileName => "bad-file-name",
            Rule::Subdirectory => "subdirectory",
            Rule::UnreadableFile => "unreadable-file",
            Rule::MissingField => "missing-field",
            Rule::DuplicateField => "duplicate-field",
            Rule::MisspeltField => "misspelt-field",
            Rule::BadFieldValue => "bad-field-value",
            Rule::UnknownDirective => "unknown-directive",
            Rule::UnknownBackend => "unknown-backend",
            Rule::DuplicateSection => "duplicate-section",
            Rule::SqlBeforeSection => "sql-before-section",
            Rule::EmptySection => "empty-section",
            Rule::MissingDowngrade => "missing-downgrade",
            Rule::RustRevision => "rust-revision",
            Rule::DuplicateRevision => "duplicate-revision",
            Rule::BrokenChain => "broken-chain",
            Rule::Cycle => "cycle",
            Rule::MultipleBases => "multiple-bases",
            Rule::MultipleHeads => "multiple-heads",
            Rule::RedundantParent => "redundant-parent",
            Rule::Destructive => "destructive-upgrade",
            Rule::IdentifierTooLong => "identifier-too-long",
            Rule::Online(rule) => rule.name(),
            Rule::OutsideTransaction => "outside-transaction",
            Rule::ReleasedEdited => "released-edited",
            Rule::BadReleasedSum => "bad-released-sum",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// One problem: where it is, which rule it breaks, what is wrong and how to
/// mend it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file (or directory) as the user named it, e.g. `migrations/003_x.sql`.
    pub file: String,
    /// The 1-based line in `file`, when the problem has one.
    pub line: Option<u32>,
    /// The rule that is broken.
    pub rule: Rule,
    /// What is wrong, one sentence without a trailing period.
    pub message: String,
    /// How to mend it, one sentence.
    pub help: String,
}

impl Diagnostic {
    /// A problem in `file` at `line` (1-based, if known).
    pub fn new(
        file: impl Into<String>,
        line: Option<u32>,
        rule: Rule,
        message: impl Into<String>,
        help: impl Into<String>,
    ) -> Self {
        Diagnostic {
            file: file.into(),
            line,
            rule,
            message: message.into(),
            help: help.into(),
        }
    }
}

impl fmt::Display for Diagnostic {
    /// `migrations/003_x.sql:12: <message> [<rule>]`, then `help: <mend>` on the
    /// next line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: ", self.file, line)?,
            None => write!(f, "{}: ", self.file)?,
        }
        write!(f, "{} [{}]", self.message, self.rule)?;
        if !self.help.is_empty() {
            write!(f, "\n  help: {}", self.help)?;
        }
        Ok(())
    }
}

/// The collector every check writes into. Order of insertion is kept, and
/// [`Diagnostics::sort`] puts them in file then line order for display.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    /// An empty collector.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one problem.
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.items.push(diagnostic);
    }

    /// Records one problem, built from its parts.
    pub fn report(
        &mut self,
        file: &str,
        line: Option<u32>,
        rule: Rule,
        message: impl Into<String>,
        help: impl Into<String>,
    ) {
        self.push(Diagnostic::new(file, line, rule, message, help));
    }

    /// True when nothing was reported.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// How many problems were reported.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// The problems, in the order they were reported (or sorted).
    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.items.iter()
    }

    /// Orders the problems by file, then line, keeping the report order among
    /// equals, so that output is stable across platforms.
    pub fn sort(&mut self) {
        self.items
            .sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
    }
}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;

    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

impl<'a> IntoIterator for &'a Diagnostics {
    type Item = &'a Diagnostic;
    type IntoIter = std::slice::Iter<'a, Diagnostic>;

    fn into_iter(self) -> Self::IntoIter {
        self.items.iter()
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.items.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}
