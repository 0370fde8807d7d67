//! The one-line build script helper that makes Cargo notice added, renamed
//! and removed revision files.
//!
//! `embed_migrations!` includes every revision file with `include_str!` (or
//! as a `#[path]` module), so Cargo already rebuilds when a file's contents
//! change. A file that is *added* or *removed* is invisible to that
//! mechanism; a build script that watches the directory closes the gap.
//!
//! ```no_run
//! # extern crate migrator_core as migrator_runtime; // re-exported there
//! // build.rs
//! fn main() {
//!     migrator_runtime::build::watch("migrations");
//! }
//! ```
//!
//! with `migrator-runtime` as a build dependency (no features needed):
//!
//! ```toml
//! [build-dependencies]
//! migrator-runtime = { version = "0.1", default-features = false }
//! ```
#![allow(clippy::needless_doctest_main)] // the example is a whole build.rs

use std::path::Path;

/// Tells Cargo to re-run the build (and so re-expand `embed_migrations!`)
/// whenever anything in `dir` (relative to the crate's `Cargo.toml`) is added,
/// removed, renamed or edited.
pub fn watch(dir: impl AsRef<Path>) {
    println!("cargo::rerun-if-changed={}", dir.as_ref().display());
}
