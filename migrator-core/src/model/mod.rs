//! The revision model: what a migrations directory holds, parsed and checked.
//!
//! This module (with [`crate::graph`] and [`crate::plan`]) has no Diesel in it:
//! `migrator-macros` uses it at build time (with the `parser` feature), and
//! the runtime uses the very same code, so the build and the runtime can never
//! disagree on what a file means.
//!
//! Strings are `Cow<'static, str>` so that the same [`Revision`] type is built
//! by the parser (owned) and by the code that `embed_migrations!` generates
//! (decoded once from its compact form, [`compact`], borrowing the static
//! text).

mod checksum;
pub mod compact;
#[cfg(feature = "parser")]
mod destructive;
mod diagnostics;
mod digest;
#[cfg(feature = "parser")]
mod discover;
#[cfg(feature = "parser")]
mod file;
#[cfg(feature = "parser")]
mod header;
#[cfg(feature = "parser")]
mod identifiers;
#[cfg(feature = "parser")]
mod lint;
#[cfg(feature = "parser")]
mod lint_cache;
#[cfg(feature = "lint")]
mod lint_scan;
mod online;
pub mod released;
#[cfg(feature = "parser")]
mod rust;
#[cfg(feature = "parser")]
mod sections;
#[cfg(feature = "parser")]
mod sql_lexer;
pub(crate) mod suggest;

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

pub use checksum::{checksum, normalise};
pub use diagnostics::{Diagnostic, Diagnostics, Rule};
pub use digest::StateDigest;
#[cfg(feature = "parser")]
pub use discover::{load_revisions, load_revisions_with};
#[cfg(feature = "parser")]
pub use file::parse_file;
#[cfg(feature = "parser")]
pub(crate) use file::parse_released_file;
#[cfg(feature = "parser")]
pub use header::{is_field_key, parse_duration};
pub use online::OnlineRule;

/// Which of the optional checks a load runs. The default runs them all.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Checks {
    /// The PostgreSQL online-safety rules ([`OnlineRule`]) over upgrades
    /// that serve PostgreSQL; off for a crate whose migrations never run
    /// there (`embed_migrations!("migrations", postgres_lint = false)`).
    /// They run where this crate is built with its `lint` feature, as
    /// `embed_migrations!` is; without it this flag has no effect.
    pub postgres_lint: bool,
    /// A file where the online-safety findings of each section text are
    /// kept between loads, so that a rebuild lints only what changed
    /// (`embed_migrations!` keeps it in the crate's `OUT_DIR`); `None`
    /// keeps nothing.
    pub lint_cache: Option<std::path::PathBuf>,
}

impl Default for Checks {
    fn default() -> Self {
        Checks {
            postgres_lint: true,
            lint_cache: None,
        }
    }
}

/// True for a revision ID as FORMAT.md allows it (and a prefix of one): 1 to
/// 64 characters of `[0-9A-Za-z]`.
pub fn is_revision_id(s: &str) -> bool {
    (1..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// True when `sql` holds a statement (anything but comments, whitespace and
/// stray `;`): the build's test of an empty section.
#[cfg(feature = "parser")]
pub(crate) fn has_statement(sql: &str) -> bool {
    sql_lexer::first_statement_line(sql, 1).is_some()
}

/// What the build's destructive rule flags in an upgrade's `sql`, e.g.
/// "drops table `api_keys`", one per finding.
#[cfg(feature = "parser")]
pub(crate) fn destructive_findings(sql: &str) -> Vec<String> {
    destructive::scan(sql, 1)
        .into_iter()
        .map(|finding| finding.what)
        .collect()
}

/// A database backend that a section of SQL can be tagged for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BackendKind {
    /// PostgreSQL (`-- migrate:upgrade postgres`).
    Postgres,
    /// SQLite (`-- migrate:upgrade sqlite`).
    Sqlite,
    /// MySQL and MariaDB (`-- migrate:upgrade mysql`).
    Mysql,
}

impl BackendKind {
    /// Every backend, in a fixed order.
    pub const ALL: [BackendKind; 3] = [
        BackendKind::Postgres,
        BackendKind::Sqlite,
        BackendKind::Mysql,
    ];

    /// The tag as written in a section line: `postgres`, `sqlite`, `mysql`.
    pub fn tag(self) -> &'static str {
        match self {
            BackendKind::Postgres => "postgres",
            BackendKind::Sqlite => "sqlite",
            BackendKind::Mysql => "mysql",
        }
    }
}

impl BackendKind {
    /// The longest identifier (table, index, constraint… name) the backend
    /// keeps as written; `None` for SQLite, which has no limit.
    pub fn identifier_limit(self) -> Option<IdentifierLimit> {
        match self {
            BackendKind::Postgres => Some(IdentifierLimit {
                max: 63,
                bytes: true,
            }),
            BackendKind::Mysql => Some(IdentifierLimit {
                max: 64,
                bytes: false,
            }),
            BackendKind::Sqlite => None,
        }
    }
}

/// How long an identifier may be: 63 bytes on PostgreSQL (which cuts a
/// longer one to 63 bytes without an error), 64 characters on MySQL and
/// MariaDB (which refuse a longer one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdentifierLimit {
    /// The longest length kept.
    pub max: usize,
    /// Whether the length counts bytes (PostgreSQL) or characters (MySQL).
    pub bytes: bool,
}

impl IdentifierLimit {
    /// The length of `name` as the backend counts it.
    pub fn length(&self, name: &str) -> usize {
        if self.bytes {
            name.len()
        } else {
            name.chars().count()
        }
    }

    /// `bytes` or `characters`.
    pub fn unit(&self) -> &'static str {
        if self.bytes { "bytes" } else { "characters" }
    }

    /// What the backend does with a longer name, for messages.
    pub fn consequence(&self) -> &'static str {
        if self.bytes {
            "PostgreSQL cuts a longer identifier to 63 bytes without an error, so the object is \
             not named as written and two long names can become one"
        } else {
            "MySQL and MariaDB refuse a longer identifier"
        }
    }
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.tag())
    }
}

impl FromStr for BackendKind {
    type Err = ();

    /// Parses a tag exactly as [`BackendKind::tag`] writes it.
    fn from_str(s: &str) -> Result<Self, ()> {
        BackendKind::ALL
            .into_iter()
            .find(|b| b.tag() == s)
            .ok_or(())
    }
}

/// Which way a revision is run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Towards head: the revision's upgrade.
    Upgrade,
    /// Towards base: the revision's downgrade.
    Downgrade,
}

impl Direction {
    /// `upgrade` or `downgrade`, as in section lines and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Upgrade => "upgrade",
            Direction::Downgrade => "downgrade",
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One `-- migrate:<direction> [backend]` section of a SQL revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// Upgrade or downgrade.
    pub direction: Direction,
    /// The backend it is tagged for; `None` serves every backend without a
    /// tagged section of its own.
    pub backend: Option<BackendKind>,
    /// The SQL, as written (LF line endings), sent as one batch.
    pub sql: Cow<'static, str>,
    /// The section holds `-- migrate:noop`: nothing to run, on purpose.
    pub noop: bool,
    /// The 1-based line of the section's `-- migrate:` line.
    pub line: u32,
}

/// What a revision runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// A `.sql` revision and its sections.
    Sql(Cow<'static, [Section]>),
    /// A `.rs` revision: `pub fn upgrade` / `pub fn downgrade`, compiled into
    /// the crate that embeds the directory.
    Rust,
}

/// One revision file, parsed and checked on its own (the graph checks come
/// later, in [`Graph::build`](crate::graph::Graph::build)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revision {
    /// The revision ID (`Revision ID:`, equal to the file name's `<rev>`).
    pub id: Cow<'static, str>,
    /// The file name's `<slug>`.
    pub slug: Cow<'static, str>,
    /// The file name, e.g. `001_add_api_keys.sql`.
    pub file_name: Cow<'static, str>,
    /// The first header line, or the slug when the header has none.
    pub message: Cow<'static, str>,
    /// The other free lines of the header, joined with `\n` (may be empty).
    pub description: Cow<'static, str>,
    /// The parents (`Revises:`); empty for the base revision.
    pub revises: Cow<'static, [Cow<'static, str>]>,
    /// `Create Date:` as written, when given (it was checked to parse).
    pub create_date: Option<Cow<'static, str>>,
    /// `Transaction:`; `true` unless the header says `false`.
    pub transactional: bool,
    /// `Timeout:`, the statement and lock timeout for this revision.
    pub timeout: Option<Duration>,
    /// `Allow: destructive` was given.
    pub allow_destructive: bool,
    /// The SQL sections, or the marker of a Rust revision.
    pub body: Body,
    /// SHA-256 of the normalised file contents, lowercase hex (64 characters).
    pub checksum: Cow<'static, str>,
}

impl Revision {
    /// The SQL this revision runs in `direction` on `backend`: the section
    /// tagged for that backend, else the untagged one. `Some("")` for a
    /// `-- migrate:noop` section; `None` when the revision has no SQL for that
    /// backend, or is a Rust revision.
    pub fn sql(&self, direction: Direction, backend: BackendKind) -> Option<&str> {
        let Body::Sql(sections) = &self.body else {
            return None;
        };
        let in_direction = || sections.iter().filter(|s| s.direction == direction);
        let section = in_direction()
            .find(|s| s.backend == Some(backend))
            .or_else(|| in_direction().find(|s| s.backend.is_none()))?;
        Some(if section.noop { "" } else { &section.sql })
    }

    /// True for a `.rs` revision.
    pub fn is_rust(&self) -> bool {
        matches!(self.body, Body::Rust)
    }

    /// The parent IDs (`Revises:`), as string slices.
    pub fn parents(&self) -> impl Iterator<Item = &str> {
        self.revises.iter().map(|p| p.as_ref())
    }
}

/// A [`Revision`] with the header lines that graph errors point at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    /// The revision.
    pub revision: Revision,
    /// The file as the user named it (`migrations/001_x.sql`), for messages.
    pub path: String,
    /// 1-based line of the `Revision ID:` field.
    pub id_line: u32,
    /// 1-based line of the `Revises:` field; `None` when the field is
    /// missing (already reported), so that the graph does not take the
    /// revision for a base.
    pub revises_line: Option<u32>,
}
