//! Implementation detail of migrator: the `embed_migrations!` proc-macro.
//!
//! The macro is a thin shell: it resolves the path, hands the directory to
//! `migrator_runtime::model::load_dir` (the same parser and checks the runtime
//! uses) and quotes the result. Everything that decides is unit-tested in
//! `migrator-runtime`.
#![warn(missing_docs, clippy::unwrap_used)]

extern crate proc_macro;

mod expand;

use proc_macro::TokenStream;

/// Reads a migrations directory at build time, checks every file and the whole
/// revision graph (the rules are in `FORMAT.md`), and generates typed code for
/// it.
///
/// The argument is the directory, relative to the invoking crate's
/// `Cargo.toml` (`CARGO_MANIFEST_DIR`). Invoke it at module level.
///
/// # Generated items
///
/// For a directory holding `001_add_api_keys.sql` and
/// `002_backfill_prefix.rs`, `embed_migrations!("migrations")` expands to:
///
/// - `pub static MIGRATIONS: migrator_runtime::Migrations`: every revision
///   (IDs, messages, parents, SQL per backend, checksums), the graph and the
///   compiled Rust revisions; pass it to `migrator_runtime::Migrator::new`.
/// - `pub mod revisions` with one constant per revision,
///   `REV_<ID>_<SLUG>` in upper case (`revisions::REV_001_ADD_API_KEYS`), of
///   type `migrator_runtime::RevisionId`, usable wherever a target is: a
///   misspelt revision is a compile error.
/// - One private module per Rust revision, compiled from the file itself
///   (`#[path = "…/002_backfill_prefix.rs"]`), so its type errors point into
///   the file.
///
/// When the directory breaks a rule, the build fails with one error per
/// problem, each naming the file, the line, the rule and the mend; the items
/// above are still emitted (empty), so no second wave of "not found" errors
/// hides the real ones.
///
/// # Examples
///
/// ```ignore
/// migrator_macros::embed_migrations!("migrations");
///
/// fn migrate(conn: &mut migrator_runtime::AnyConnection) -> migrator_runtime::Result<()> {
///     let migrator = migrator_runtime::Migrator::new(&MIGRATIONS);
///     migrator.upgrade(conn, &revisions::REV_001_ADD_API_KEYS.into())?;
///     migrator.upgrade(conn, &migrator_runtime::Target::Head)?;
///     Ok(())
/// }
/// ```
///
/// # Automatic rebuilds
///
/// Editing a revision file rebuilds the crate on its own. For Cargo to notice
/// a file that is added, renamed or removed, give the crate this `build.rs`
/// (with `migrator-runtime` as a build dependency, `default-features = false`):
///
/// ```ignore
/// fn main() {
///     migrator_runtime::build::watch("migrations");
/// }
/// ```
#[proc_macro]
pub fn embed_migrations(input: TokenStream) -> TokenStream {
    expand::embed_migrations(input.into()).into()
}
