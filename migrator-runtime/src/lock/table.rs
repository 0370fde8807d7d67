//! The `table` lock: a lease row in `<version table>_lock`, taken, renewed
//! and released in statements that are transactions of their own (no
//! session state), timed by the database's clock.
//!
//! The table has one row per version table it guards (`name`, its primary
//! key, so logical replication can update and delete it) and is created the
//! first time this strategy is used. A lease is taken by one atomic upsert
//! that replaces the row only when it has expired; the row then says whose
//! it is.

use std::time::Duration;

use super::heartbeat::Heartbeat;
#[cfg(any(feature = "postgres", feature = "sqlite", feature = "mysql"))]
use super::heartbeat::Beat;
#[cfg(any(feature = "postgres", feature = "sqlite", feature = "mysql"))]
use crate::backend::TimeoutKind;
use crate::backend::{Backend, Dialect};
use crate::bookkeeping::TableName;
use crate::error::{Error, Result};
use crate::options::Options;

/// Where the lease's heartbeat connects, and how: the run's
/// [`Options::lock_heartbeat_url`] and the options beside it. No `Debug`:
/// the URL may hold a password.
#[derive(Clone)]
#[cfg_attr(
    not(any(feature = "postgres", feature = "sqlite", feature = "mysql")),
    allow(dead_code, reason = "a build that opens no connection has no heartbeat")
)]
pub(crate) struct HeartbeatAt {
    url: String,
    connect_timeout: Option<Duration>,
    application_name: Option<String>,
}

impl HeartbeatAt {
    /// Where `options` says the heartbeat connects; `None` without a URL.
    pub(crate) fn of(options: &Options) -> Option<HeartbeatAt> {
        Some(HeartbeatAt {
            url: options.lock_heartbeat_url.clone()?,
            connect_timeout: options.lock_heartbeat_connect_timeout,
            application_name: options.lock_heartbeat_application_name.clone(),
        })
    }

    /// The connect timeout and `application_name` the heartbeat's
    /// connection takes.
    #[cfg(any(feature = "postgres", feature = "sqlite", feature = "mysql"))]
    fn connect_settings(&self) -> (Duration, &str) {
        (
            self.connect_timeout
                .unwrap_or(crate::backend::DEFAULT_CONNECT_TIMEOUT),
            self.application_name
                .as_deref()
                .unwrap_or(crate::backend::DEFAULT_APPLICATION_NAME),
        )
    }
}

/// The lock table guarding `version_table`: `<version table>_lock`, in its
/// schema (a schema snapshot leaves it out, as it does the version table).
pub(crate) fn lease_table(version_table: &TableName) -> TableName {
    version_table.sibling(&format!("{}_lock", version_table.name))
}

/// A run that wants, or holds, the lease.
#[derive(Debug, Clone)]
pub(crate) struct Lease {
    /// The lock table's name.
    table_name: TableName,
    /// The lock table, quoted.
    table: String,
    /// The version table's name, the row's key, quoted as a literal.
    name: String,
    /// This run's token, quoted as a literal.
    token: String,
    /// The token itself, to compare with what the row says.
    raw_token: String,
    lease: Duration,
    /// The row's host, pid and application, quoted as literals.
    who: [String; 3],
}

impl Lease {
    pub(crate) fn new(
        d: &dyn Dialect,
        version_table: &TableName,
        token: &str,
        lease: Duration,
    ) -> Lease {
        // Beside the version table, in its schema.
        let table_name = lease_table(version_table);
        Lease {
            table: table_name.quoted(d),
            name: d.quote_str(&version_table.to_string()),
            table_name,
            token: d.quote_str(token),
            raw_token: token.to_owned(),
            lease,
            who: [
                d.quote_str(crate::bookkeeping::host()),
                std::process::id().to_string(),
                d.quote_str(&super::application()),
            ],
        }
    }

    /// Tries once to take the lease: `Ok(None)` when taken, else who holds
    /// it. Creates the lock table when it is missing.
    pub(crate) fn try_take(&self, backend: &mut dyn Backend) -> Result<Option<String>> {
        let d = backend.dialect();
        let take = self.take_sql(d);
        if let Err(error) = backend.execute(&take) {
            if d.timeout_kind(&error.to_string()).is_some() {
                // SQLite's writer lock is busy: another run is taking it.
                return Ok(Some("another run (the database is busy)".to_owned()));
            }
            // Missing: create it. Two runs may create it at once (the loser
            // finds it there), or another run created it since the failed
            // take: either way, take again; a real error fails again.
            if backend.count(&d.table_exists_sql(&self.table_name)) == Ok(0)
                && let Err(error) = backend.execute(&self.create_sql(d))
                && backend.count(&d.table_exists_sql(&self.table_name)) != Ok(1)
            {
                return Err(Error::database("creating the lock table")(error));
            }
            tracing::debug!(%error, "the lock table was missing; taking the lease again");
            backend
                .execute(&take)
                .map_err(Error::database("taking the lease of the table lock"))?;
        }
        self.held_by_other(backend, "reading the lease of the table lock")
    }

    /// Renews the lease, then checks it is still this run's: `Ok(None)`
    /// when it is, else who has it now. Run first in each revision's
    /// transaction: the renewed row stays locked until the commit, so a run
    /// that tries to take the lease meanwhile (even one that expired just
    /// before) waits for the commit and then finds it renewed; a lease
    /// another run took before (the update matched no row) stops this run
    /// before its revision runs.
    pub(crate) fn renew(&self, backend: &mut dyn Backend) -> Result<Option<String>> {
        let d = backend.dialect();
        let renew = format!(
            "UPDATE {} SET expires = {} WHERE name = {} AND token = {}",
            self.table,
            d.now_sql(self.lease),
            self.name,
            self.token
        );
        backend
            .execute(&renew)
            .map_err(Error::database("renewing the lease of the table lock"))?;
        self.held_by_other(backend, "checking the lease of the table lock")
    }

    /// Starts the heartbeat: a thread that renews the lease on a connection
    /// of its own (to the same database, `at`), every third of the lease.
    /// A renewal that waits for a row lock beyond the connection's lock
    /// timeout counts as renewed: this run's own open transaction, which
    /// renewed the lease first, holds the row (see [`Beat::Renewed`] for
    /// what that assumes).
    #[cfg(any(feature = "postgres", feature = "sqlite", feature = "mysql"))]
    pub(crate) fn start_heartbeat(&self, at: &HeartbeatAt) -> Result<Heartbeat> {
        let fail = |action: &'static str| {
            move |reason: String| Error::Lock {
                lock: "table".to_owned(),
                action,
                reason,
            }
        };
        let (timeout, application_name) = at.connect_settings();
        let mut conn = crate::backend::connect_with(&at.url, timeout, application_name)
            .map_err(|e| fail("connecting the lease's heartbeat")(e.to_string()))?;
        let lease = self.clone();
        Heartbeat::start("migrator-table-lease", self.lease, move || {
            match lease.renew(&mut conn) {
                Ok(None) => Beat::Renewed,
                Ok(Some(holder)) => Beat::Lost(holder),
                Err(error) => {
                    let error = error.to_string();
                    match Backend::dialect(&conn).timeout_kind(&error) {
                        Some(TimeoutKind::Lock) => Beat::Renewed,
                        _ => Beat::Failed(error),
                    }
                }
            }
        })
        .map_err(|e| fail("starting the lease's heartbeat")(e.to_string()))
    }

    /// A build that opens no connection of its own (diesel-async alone)
    /// has no heartbeat.
    #[cfg(not(any(feature = "postgres", feature = "sqlite", feature = "mysql")))]
    pub(crate) fn start_heartbeat(&self, _at: &HeartbeatAt) -> Result<Heartbeat> {
        Err(Error::Lock {
            lock: "table".to_owned(),
            action: "starting the lease's heartbeat",
            reason: "this build opens no connection of its own: enable the `postgres` feature, \
                     or leave `lock_heartbeat_url` unset"
                .to_owned(),
        })
    }

    /// Deletes the row, if it is still this run's.
    pub(crate) fn release(&self, backend: &mut dyn Backend) -> diesel::QueryResult<()> {
        backend.execute(&format!(
            "DELETE FROM {} WHERE name = {} AND token = {}",
            self.table, self.name, self.token
        ))
    }

    /// `None` when the row is this run's; else who holds it (or that
    /// nobody does).
    fn held_by_other(&self, backend: &mut dyn Backend, action: &'static str) -> Result<Option<String>> {
        let d = backend.dialect();
        let sql = format!(
            "SELECT {} AS value FROM {} WHERE name = {}",
            d.concat_sql(&[
                "token".to_owned(),
                "' token '".to_owned(),
                "token".to_owned(),
                "', host '".to_owned(),
                "host".to_owned(),
                "', pid '".to_owned(),
                d.text_sql("pid"),
                "', application '".to_owned(),
                "application".to_owned(),
                "', since '".to_owned(),
                d.text_sql("acquired"),
                "' UTC, lease expires '".to_owned(),
                d.text_sql("expires"),
                "' UTC (now '".to_owned(),
                d.text_sql(&d.now_sql(Duration::ZERO)),
                "'), in table '".to_owned(),
                d.quote_str(&self.table_name.to_string()),
            ]),
            self.table,
            self.name
        );
        let rows = backend.load_text(&sql).map_err(Error::database(action))?;
        Ok(match rows.first().map(|row| row.value.split_once(' ')) {
            Some(Some((token, _))) if token == self.raw_token => None,
            Some(Some((_, holder))) => Some(holder.to_owned()),
            _ => Some("nobody: the lease row is gone".to_owned()),
        })
    }

    /// Inserts this run's row, or replaces a row whose lease expired.
    fn take_sql(&self, d: &dyn Dialect) -> String {
        let [host, pid, application] = &self.who;
        d.upsert_sql(
            &self.table,
            &["name", "token", "host", "pid", "application", "acquired", "expires"],
            &[
                self.name.clone(),
                self.token.clone(),
                host.clone(),
                pid.clone(),
                application.clone(),
                d.now_sql(Duration::ZERO),
                d.now_sql(self.lease),
            ],
            "expires",
            "acquired",
        )
    }

    fn create_sql(&self, d: &dyn Dialect) -> String {
        let ts = d.timestamp_type();
        format!(
            "CREATE TABLE IF NOT EXISTS {} (\n    \
             name VARCHAR(255) PRIMARY KEY,\n    \
             token VARCHAR(64) NOT NULL,\n    \
             host VARCHAR(255) NOT NULL,\n    \
             pid BIGINT NOT NULL,\n    \
             application VARCHAR(255) NOT NULL,\n    \
             acquired {ts} NOT NULL,\n    \
             expires {ts} NOT NULL\n)",
            self.table
        )
    }
}

#[cfg(all(test, any(feature = "postgres", feature = "sqlite", feature = "mysql")))]
mod tests {
    use super::*;

    /// The heartbeat connects with the run's connect timeout and
    /// `application_name` (the CLI's `--connect-timeout` and
    /// `--application-name`), not `connect`'s defaults.
    #[test]
    fn the_heartbeat_connects_with_the_run_s_settings() {
        let mut options = Options::default();
        assert!(HeartbeatAt::of(&options).is_none());
        options.lock_heartbeat_url = Some("postgres://db/app".to_owned());
        let at = HeartbeatAt::of(&options).expect("a URL");
        assert_eq!(
            at.connect_settings(),
            (crate::backend::DEFAULT_CONNECT_TIMEOUT, "migrator")
        );
        options.lock_heartbeat_connect_timeout = Some(Duration::from_secs(3));
        options.lock_heartbeat_application_name = Some("deploy 7".to_owned());
        let at = HeartbeatAt::of(&options).expect("a URL");
        assert_eq!(at.url, "postgres://db/app");
        assert_eq!(
            at.connect_settings(),
            (Duration::from_secs(3), "deploy 7")
        );
    }
}
