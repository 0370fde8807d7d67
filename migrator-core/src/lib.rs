//! The model of migrator, with no Diesel in it: revision files and their
//! checks ([`model`]), the validated revision graph ([`graph`]), targets and
//! the steps that reach them ([`plan`]), and the writing of new revision
//! files (`scaffold`, feature `parser`), with the SQL `revision
//! --autogenerate` derives from a Diesel `schema.rs` (`autogen`, feature
//! `parser`), and the import of a diesel_migrations directory (`import`,
//! feature `parser`).
//!
//! `migrator-macros` runs this code at build time (`embed_migrations!`), and
//! `migrator-runtime` at run time, so the build and the runtime can never
//! disagree on what a file means. Services depend on `migrator-runtime`,
//! which re-exports what they need; this crate's API serves those two.
//!
//! Data flows one way: `model` (files) → `graph` → `plan`; `scaffold` reads
//! a directory through `model` and `graph` and writes files; `import` writes
//! files and checks them through `model` and `graph` first. The graph rules
//! (the private module `checks`, where [`Graph::build`](graph::Graph::build)
//! is defined) use `model` and `graph`, which never use them.
#![warn(missing_docs, clippy::unwrap_used)]

#[cfg(feature = "parser")]
pub mod autogen;
pub mod build;
mod checks;
pub mod graph;
#[cfg(feature = "parser")]
pub mod import;
pub mod model;
pub mod plan;
#[cfg(feature = "parser")]
pub mod scaffold;

#[cfg(feature = "parser")]
use std::path::Path;

#[cfg(feature = "parser")]
use graph::Graph;
#[cfg(feature = "parser")]
use model::{Checks, Diagnostics, load_revisions_with};

/// Reads, parses and checks a whole migrations directory: every file rule and
/// every graph rule. `display` is how messages name the directory (the path
/// as the user wrote it, e.g. `migrations`).
///
/// On failure, every problem of the directory is in the returned
/// [`Diagnostics`], sorted by file and line.
#[cfg(feature = "parser")]
pub fn load_dir(dir: &Path, display: &str) -> Result<Graph, Diagnostics> {
    load_dir_with(dir, display, &Checks::default())
}

/// [`load_dir`] with the optional checks of `checks` (e.g. without the
/// PostgreSQL online-safety rules).
#[cfg(feature = "parser")]
pub fn load_dir_with(dir: &Path, display: &str, checks: &Checks) -> Result<Graph, Diagnostics> {
    let mut diagnostics = Diagnostics::new();
    let parsed = load_revisions_with(dir, display, checks, &mut diagnostics);
    let graph = Graph::build(parsed, display, &mut diagnostics);
    match graph {
        Some(graph) if diagnostics.is_empty() => Ok(graph),
        _ => {
            diagnostics.sort();
            Err(diagnostics)
        }
    }
}
