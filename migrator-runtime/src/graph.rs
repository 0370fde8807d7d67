//! The validated revision graph: one base, one head, merges where branches
//! meet. A [`Graph`] can only be built from revisions that pass every graph
//! rule of FORMAT.md ([`Graph::build`]) or from the static data that
//! `embed_migrations!` generated after running those same checks at build
//! time ([`Graph::from_static`]); code that holds one never re-checks.

use std::borrow::Cow;

use crate::model::{Diagnostics, Parsed, Revision};

/// The revision graph. Revisions are addressed by their index in
/// [`Graph::revisions`].
#[derive(Debug, Clone)]
pub struct Graph {
    revisions: Cow<'static, [Revision]>,
}

impl Graph {
    /// Checks graph rules 1 to 6 of FORMAT.md over `parsed` and builds the
    /// graph. `display` names the directory in messages. Returns `None` (with
    /// every problem in `diagnostics`) when a rule is broken.
    pub fn build(parsed: Vec<Parsed>, display: &str, diagnostics: &mut Diagnostics) -> Option<Graph> {
        let _ = (parsed, display, diagnostics);
        todo!("helper B")
    }

    /// Builds the graph from revisions that were checked at build time by
    /// `embed_migrations!`; runs no checks.
    #[doc(hidden)]
    pub fn from_static(revisions: &'static [Revision]) -> Graph {
        let _ = revisions;
        todo!("helper B")
    }

    /// Every revision; indices into this slice address revisions everywhere.
    pub fn revisions(&self) -> &[Revision] {
        &self.revisions
    }
}
