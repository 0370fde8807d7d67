//! How a run behaves.

use std::time::Duration;

use crate::bookkeeping::{DEFAULT_AUDIT_TABLE, DEFAULT_VERSION_TABLE};

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
    /// The version table (default `migrator_version`).
    pub version_table: String,
    /// The audit log table (default `migrator_audit`).
    pub audit_table: String,
    /// How long to wait for the run lock held by another migrator. Default
    /// 60 s.
    pub lock_timeout: Duration,
    /// How long each statement of a revision may wait for a table lock
    /// (PostgreSQL `lock_timeout`, SQLite's busy timeout). Short, because on
    /// PostgreSQL every query that arrives after a waiting DDL statement
    /// queues behind it. Default 5 s. A revision's `Timeout:` overrides it
    /// for that revision.
    pub ddl_lock_timeout: Duration,
    /// How many times a transactional revision that ran out of
    /// [`Options::ddl_lock_timeout`] is run again (rolled back, then retried
    /// after a growing pause with jitter). Default 3. A `Transaction: false`
    /// revision, and a run in a single transaction, are never retried.
    pub ddl_retries: u32,
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
            audit_table: DEFAULT_AUDIT_TABLE.to_owned(),
            lock_timeout: Duration::from_secs(60),
            ddl_lock_timeout: Duration::from_secs(5),
            ddl_retries: 3,
            statement_timeout: None,
            single_transaction: false,
            ignore_checksums: false,
        }
    }
}

