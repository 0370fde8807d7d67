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
#[derive(Clone, PartialEq, Eq)]
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
    /// revision, a Rust revision (whose effects outside the database would
    /// repeat), and a run in a single transaction, are never retried.
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
    /// How concurrent runs keep out of each other's way (default
    /// [`LockStrategy::Advisory`]).
    pub lock: LockStrategy,
    /// How long a lease of [`LockStrategy::Table`] or [`LockStrategy::Redis`]
    /// lasts without renewal: a holder that died blocks other runs for at
    /// most this long. Default 30 s, shorter than the default
    /// [`lock_timeout`](Options::lock_timeout), so a run started just after
    /// a crash still gets the lock. At least 5 s (a shorter lease is
    /// refused). A table lease is renewed in each revision's transaction,
    /// and during a revision only by its heartbeat
    /// ([`Options::lock_heartbeat_url`]); without one, raise it above the
    /// longest revision that runs outside a transaction (see
    /// [`LockStrategy::Table`]).
    pub lock_lease: Duration,
    /// The URL (as [`connect`](crate::connect) takes it) of the database the
    /// [`LockStrategy::Table`] lease is in, for its heartbeat: a thread that
    /// renews the lease every third of [`Options::lock_lease`] on a
    /// connection of its own while the run goes on, so that a revision
    /// longer than the lease (a `Transaction: false` one; on MySQL any,
    /// whose DDL commits the transaction that held the lease's row) keeps
    /// it, and a run that died loses it after one lease. The CLI sets it to
    /// its database URL. Default `None`: no heartbeat, the lease is renewed
    /// only before each revision. Never printed (`Debug` hides it).
    pub lock_heartbeat_url: Option<String>,
    /// How long the heartbeat's connection waits for the server, as
    /// [`connect`](crate::connect)'s timeout. Default `None`: 10 s. The CLI
    /// sets it to its `--connect-timeout`.
    pub lock_heartbeat_connect_timeout: Option<Duration>,
    /// The `application_name` of the heartbeat's PostgreSQL connection
    /// (one in the URL wins). Default `None`: `migrator`. The CLI sets it
    /// to its `--application-name`.
    pub lock_heartbeat_application_name: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            version_table: DEFAULT_VERSION_TABLE.to_owned(),
            audit_table: None,
            lock_timeout: Duration::from_secs(60),
            ddl_lock_timeout: Duration::from_secs(5),
            ddl_retries: 3,
            statement_timeout: None,
            single_transaction: false,
            ignore_checksums: false,
            lock: LockStrategy::default(),
            lock_lease: Duration::from_secs(30),
            lock_heartbeat_url: None,
            lock_heartbeat_connect_timeout: None,
            lock_heartbeat_application_name: None,
        }
    }
}

/// Every field but the heartbeat URL, which may hold a password.
impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("version_table", &self.version_table)
            .field("audit_table", &self.audit_table)
            .field("lock_timeout", &self.lock_timeout)
            .field("ddl_lock_timeout", &self.ddl_lock_timeout)
            .field("ddl_retries", &self.ddl_retries)
            .field("statement_timeout", &self.statement_timeout)
            .field("single_transaction", &self.single_transaction)
            .field("ignore_checksums", &self.ignore_checksums)
            .field("lock", &self.lock)
            .field("lock_lease", &self.lock_lease)
            .field(
                "lock_heartbeat_url",
                &self.lock_heartbeat_url.as_ref().map(|_| "***"),
            )
            .field(
                "lock_heartbeat_connect_timeout",
                &self.lock_heartbeat_connect_timeout,
            )
            .field(
                "lock_heartbeat_application_name",
                &self.lock_heartbeat_application_name,
            )
            .finish()
    }
}


/// How a run keeps other runs (other replicas starting, a deploy job) out
/// while it migrates. Parsed from `advisory`, `table`, `none` or a
/// `redis://…` (`rediss://…`) URL, as `--lock` and `MIGRATOR_LOCK` take it.
///
/// Behind a pooler in transaction mode (PgBouncer's `pool_mode =
/// transaction`), each transaction may run on another server connection:
/// pick [`Table`](LockStrategy::Table) or [`Redis`](LockStrategy::Redis)
/// there; [`Advisory`](LockStrategy::Advisory) needs a direct connection or
/// session pooling.
#[derive(Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum LockStrategy {
    /// A PostgreSQL session advisory lock keyed by the database and the
    /// version table (an exclusive lock on a file beside a SQLite database).
    /// The server releases it when the connection dies. Needs the same
    /// server session for the whole run.
    #[default]
    Advisory,
    /// A lease: one row in the table named after the version table plus
    /// `_lock` (created when this strategy is first used, and only then),
    /// saying who holds it (token, host, pid, application, acquired,
    /// expires, by the database's clock). Taken, renewed and released in
    /// statements that are transactions of their own, so it works behind
    /// transaction poolers, on servers without advisory locks, and on
    /// SQLite. A holder that died leaves a lease that expires after
    /// [`Options::lock_lease`].
    ///
    /// The lease is renewed on the run's connection as the first statement
    /// of each revision's transaction, and again before each retry: the
    /// renewed row stays locked until the revision commits, so another run
    /// that tries to take the lease meanwhile (even after it expired) waits
    /// for that commit and then finds it renewed. A run whose lease was
    /// taken anyway (its renewal matched no row) stops before its next
    /// revision ([`Error::LockLost`](crate::Error::LockLost)). A
    /// revision that runs outside a transaction (`Transaction: false`; on
    /// MySQL any, whose DDL commits the transaction) holds no row lock:
    /// during it the lease is kept by its heartbeat
    /// ([`Options::lock_heartbeat_url`], set by the CLI), a thread that
    /// renews it every third of the lease on a connection of its own.
    /// Without a heartbeat, one that outlasts the lease lets another run
    /// take the lease and find the revision's dirty marker; set the lease
    /// above the longest such revision then. A revision whose marker another
    /// run removed meanwhile is not recorded
    /// ([`Error::MarkerLost`](crate::Error::MarkerLost)). In a
    /// single-transaction run the row stays locked for the whole run.
    Table,
    /// A lease in Redis at this URL (`redis://[:password@]host[:port][/db]`,
    /// `rediss://` with TLS): `SET key token NX PX lease`, the key naming the
    /// database and the version table; released by its owner only (a
    /// compare-and-delete script). A thread renews it every third of the
    /// lease while the run goes on, so one long revision keeps it; a run
    /// whose lease was lost anyway (Redis unreachable for a whole lease,
    /// the key deleted or taken) stops before the next revision. Needs the
    /// `redis` feature of migrator-runtime.
    Redis(String),
    /// No lock at all: for a single deploying instance (one job, one
    /// replica). Two runs at once may apply a revision twice.
    None,
}

impl std::str::FromStr for LockStrategy {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "advisory" => Ok(LockStrategy::Advisory),
            "table" => Ok(LockStrategy::Table),
            "none" => Ok(LockStrategy::None),
            url if url.starts_with("redis://") || url.starts_with("rediss://") => {
                Ok(LockStrategy::Redis(url.to_owned()))
            }
            // A mistyped Redis URL may hold a password: its userinfo is
            // not shown.
            other => Err(format!(
                "unknown lock `{}`: write `advisory`, `table`, `none` or a `redis://host:port` URL",
                other
                    .rsplit_once('@')
                    .map_or_else(|| other.to_owned(), |(_, host)| format!("***@{host}"))
            )),
        }
    }
}

/// As [`Display`](std::fmt::Display): no password.
impl std::fmt::Debug for LockStrategy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LockStrategy({self})")
    }
}

/// `advisory`, `table`, `none`, or the Redis URL without its user and
/// password.
impl std::fmt::Display for LockStrategy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LockStrategy::Advisory => f.write_str("advisory"),
            LockStrategy::Table => f.write_str("table"),
            LockStrategy::None => f.write_str("none"),
            LockStrategy::Redis(url) => match url.split_once("://") {
                Some((scheme, rest)) => match rest.rsplit_once('@') {
                    Some((_, host)) => write!(f, "{scheme}://***@{host}"),
                    None => f.write_str(url),
                },
                None => f.write_str(url),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::LockStrategy;

    #[test]
    fn lock_strategies_parse_and_hide_passwords() {
        for (text, strategy) in [
            ("advisory", LockStrategy::Advisory),
            ("table", LockStrategy::Table),
            ("none", LockStrategy::None),
            ("redis://127.0.0.1:6379", LockStrategy::Redis("redis://127.0.0.1:6379".into())),
        ] {
            assert_eq!(text.parse::<LockStrategy>(), Ok(strategy.clone()));
            assert_eq!(strategy.to_string(), text);
        }
        let secret = LockStrategy::Redis("redis://:Secret1@cache:6379/2".into());
        assert_eq!(secret.to_string(), "redis://***@cache:6379/2");
        let error = "tabel".parse::<LockStrategy>().err().unwrap_or_default();
        assert!(error.contains("`tabel`") && error.contains("`table`"), "{error}");
    }
}
