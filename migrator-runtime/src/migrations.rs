//! The set of revisions a binary carries, as `embed_migrations!` generates it.

use std::sync::OnceLock;

use crate::context::RevisionFn;
use crate::graph::Graph;
use crate::model::compact;

/// The upgrade and downgrade of a Rust revision, compiled into the binary.
#[derive(Debug, Clone, Copy)]
pub struct RustRevision {
    /// The revision ID.
    pub id: &'static str,
    /// `pub fn upgrade` of the revision's file.
    pub upgrade: RevisionFn,
    /// `pub fn downgrade` of the revision's file.
    pub downgrade: RevisionFn,
}

/// Every revision of a migrations directory, checked at build time.
///
/// Made by `embed_migrations!` as a `static` holding the revisions in a
/// compact form (`model::compact`: a deflated text and the structure); the
/// graph is decoded and built on first use, without re-checking what the
/// build checked. The inflated text then stays for the life of the program,
/// as the static it came from.
#[derive(Debug)]
pub struct Migrations {
    text: &'static [u8],
    data: &'static [u8],
    head_state: &'static str,
    rust: &'static [RustRevision],
    graph: OnceLock<Graph>,
}

impl Migrations {
    #[doc(hidden)]
    pub const fn __new(
        text: &'static [u8],
        data: &'static [u8],
        head_state: &'static str,
        rust: &'static [RustRevision],
    ) -> Self {
        Migrations {
            text,
            data,
            head_state,
            rust,
            graph: OnceLock::new(),
        }
    }

    /// The revision graph.
    pub fn graph(&self) -> &Graph {
        self.graph
            .get_or_init(|| Graph::from_checked(compact::decode(self.text, self.data)))
    }

    /// The digest of the version table with every revision applied
    /// ([`crate::model::StateDigest`]), computed at build time: the startup
    /// check compares it with the database's without building the graph.
    pub(crate) fn head_state(&self) -> &'static str {
        self.head_state
    }

    /// The compiled functions of the Rust revision `id`, if it is one.
    #[doc(hidden)]
    pub fn rust_revision(&self, id: &str) -> Option<&RustRevision> {
        self.rust.iter().find(|r| r.id == id)
    }
}

/// A revision ID known to exist, as generated per revision by
/// `embed_migrations!` (`revisions::REV_001_ADD_API_KEYS`): naming a revision
/// that does not exist is a compile error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RevisionId(&'static str);

impl RevisionId {
    #[doc(hidden)]
    pub const fn __new(id: &'static str) -> Self {
        RevisionId(id)
    }

    /// The ID as written in the file's header.
    pub const fn as_str(self) -> &'static str {
        self.0
    }
}

impl std::fmt::Display for RevisionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl From<RevisionId> for crate::plan::Target {
    fn from(id: RevisionId) -> Self {
        crate::plan::Target::Revision(id.0.to_owned())
    }
}
