//! How a run behaves.

use std::time::Duration;

use crate::bookkeeping::DEFAULT_VERSION_TABLE;

/// How a run behaves. `Default` gives the documented defaults; set the
/// fields you need on it:
///
/// ```
/// let mut options = migrator_runtime::Options::default();
/// options.lock_timeout = std::time::Duration::from_secs(10);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Options {
    /// The version table (default `migrator_version`). `schema.table` names
    /// the table of that schema (PostgreSQL; SQLite: of that attached
    /// database), created there; each part is quoted on its own. An
    /// unqualified name on PostgreSQL is the table of `current_schema()`,
    /// the first existing schema of the `search_path`, for every statement
    /// of a run: never a table of the same name further along the path.
    pub version_table: String,
    /// The audit log table. `None` (the default): `<version table>_audit`,
    /// in the version table's schema, so that two applications with their
    /// own version tables keep their own logs; where only the
    /// `migrator_audit` of earlier builds exists in that schema, that one,
    /// with its history (rename it to `<version table>_audit` to move on).
    pub audit_table: Option<String>,
    /// How long to wait for the run lock held by another migrator, and the
    /// lock timeout of every statement (PostgreSQL `lock_timeout`, SQLite's
    /// busy timeout). Default 60 s. A revision's `Timeout:` overrides it for
    /// that revision.
    pub lock_timeout: Duration,
    /// The statement timeout of every statement (PostgreSQL
    /// `statement_timeout`; SQLite has none). Default: no limit. A revision's
    /// `Timeout:` overrides it for that revision.
    pub statement_timeout: Option<Duration>,
    /// Run everything in one transaction: all or nothing.
    pub single_transaction: bool,
    /// Run even though an applied revision's file changed since. Prefer
    /// `stamp`, which records the new checksums.
    pub ignore_checksums: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            version_table: DEFAULT_VERSION_TABLE.to_owned(),
            audit_table: None,
            lock_timeout: Duration::from_secs(60),
            statement_timeout: None,
            single_transaction: false,
            ignore_checksums: false,
        }
    }
}

