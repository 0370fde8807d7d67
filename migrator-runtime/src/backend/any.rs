//! `AnyConnection`: a connection to whichever backend a URL names, for the
//! CLI and for Rust revisions that serve several backends.

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

use diesel::result::QueryResult;

use super::url::DatabaseUrl;
use super::{Backend, Dialect, LockHandle};
use crate::rows::{AppliedRevision, AuditEntry, DigestRow, TextRow};
use crate::error::Error;
use crate::model::BackendKind;

/// The connection enum and the Diesel backend its derive generates
/// (`MultiBackend`, `MultiRawValue`…), which services need to implement
/// custom SQL types. The derive's items carry no docs of their own.
#[allow(missing_docs)]
mod multi {
    /// A connection to any backend of this build, opened from a URL with
    /// [`connect`](super::connect), or lent to a Rust revision
    /// ([`MigrationContext::connection`](crate::MigrationContext::connection)).
    ///
    /// It is a Diesel [`MultiConnection`](diesel::MultiConnection): Rust
    /// revisions and services can run the Diesel query DSL on it directly,
    /// whatever the backend. Its variants are the backends enabled by
    /// features (`postgres`, `sqlite`, `mysql`).
    #[derive(diesel::MultiConnection)]
    pub enum AnyConnection {
        /// A PostgreSQL connection.
        #[cfg(feature = "postgres")]
        Postgres(diesel::PgConnection),
        /// A SQLite connection.
        #[cfg(feature = "sqlite")]
        Sqlite(diesel::SqliteConnection),
        /// A MySQL or MariaDB connection.
        #[cfg(feature = "mysql")]
        Mysql(diesel::MysqlConnection),
    }
}

pub use multi::{AnyConnection, MultiBackend, MultiField, MultiRawValue, MultiRow};

/// Calls `$body` with `$c` bound to the connection inside `$conn`.
macro_rules! dispatch {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            #[cfg(feature = "postgres")]
            AnyConnection::Postgres($c) => $body,
            #[cfg(feature = "sqlite")]
            AnyConnection::Sqlite($c) => $body,
            #[cfg(feature = "mysql")]
            AnyConnection::Mysql($c) => $body,
        }
    };
}

impl AnyConnection {
    /// The backend of this connection.
    pub fn kind(&self) -> BackendKind {
        dispatch!(self, c => Backend::dialect(c).kind())
    }

    /// The connection inside, as `Any`.
    pub(crate) fn inner_as_any(&mut self) -> &mut dyn std::any::Any {
        dispatch!(self, c => c as &mut dyn std::any::Any)
    }
}

impl std::fmt::Debug for AnyConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AnyConnection({})", self.kind())
    }
}

/// How long [`connect`] waits for a PostgreSQL server that does not answer.
pub(crate) const DEFAULT_CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The `application_name` of the PostgreSQL connections [`connect`] opens.
pub(crate) const DEFAULT_APPLICATION_NAME: &str = "migrator";

/// Opens a connection from a URL: `postgres://…` or `postgresql://…`, a
/// libpq `key=value` string, `sqlite://path`, `sqlite::memory:`, a bare
/// file path (SQLite), or `mysql://user:password@host:3306/db` (`mariadb://`
/// alike), as far as this build's features allow. A PostgreSQL or MySQL
/// server that does not answer fails the connection after 10 s (PostgreSQL:
/// unless the URL sets `connect_timeout` itself; MySQL: the whole
/// connection, name lookup and login included, is given 10 s). A PostgreSQL connection carries the
/// `application_name` `migrator` (seen in `pg_stat_activity`), unless the
/// URL or `PGAPPNAME` names one.
///
/// Only the connections opened here are named: a connection the caller
/// opens and hands to a [`Migrator`](crate::Migrator) keeps its own
/// settings.
///
/// Errors say which URL failed with its passwords replaced by `***`, and
/// the driver's message with any piece of a password replaced.
pub fn connect(url: &str) -> Result<AnyConnection, Error> {
    connect_with(url, DEFAULT_CONNECT_TIMEOUT, DEFAULT_APPLICATION_NAME)
}

/// [`connect`] with another connect timeout and `application_name` (the
/// CLI's `--connect-timeout` and `--application-name`).
pub(crate) fn connect_with(
    url: &str,
    timeout: std::time::Duration,
    application_name: &str,
) -> Result<AnyConnection, Error> {
    let url = DatabaseUrl::parse(url)?
        .with_connect_timeout(timeout)
        .with_application_name(application_name);
    tracing::debug!(%url, "connecting");
    let connection = match url.kind() {
        #[cfg(feature = "postgres")]
        BackendKind::Postgres => {
            <diesel::PgConnection as diesel::Connection>::establish(url.connect_str()).map(AnyConnection::Postgres)
        }
        #[cfg(feature = "sqlite")]
        BackendKind::Sqlite => {
            super::sqlite::establish(url.connect_str()).map(AnyConnection::Sqlite)
        }
        #[cfg(feature = "mysql")]
        BackendKind::Mysql => {
            establish_within(url.connect_str(), timeout).map(AnyConnection::Mysql)
        }
        #[allow(unreachable_patterns)]
        _ => {
            return Err(Error::UnsupportedBackend {
                url: url.redacted(),
            });
        }
    };
    connection.map_err(|error| Error::Connect {
        url: url.redacted(),
        reason: url.scrub(error.to_string().trim_end()),
    })
}

/// Opens a MySQL connection, giving up after `timeout`: Diesel's
/// `MysqlConnection` takes no connect timeout (its URL accepts no such
/// option, and libmysqlclient then waits as long as the system's TCP
/// connect does, minutes for a host that drops packets). The connection is
/// opened on a thread of its own; past the timeout the caller gets an
/// error at once, and the thread, left behind, closes whatever it opens
/// when the system gives up.
#[cfg(feature = "mysql")]
fn establish_within(
    url: &str,
    timeout: std::time::Duration,
) -> diesel::ConnectionResult<diesel::MysqlConnection> {
    let (send, receive) = std::sync::mpsc::channel();
    let owned = url.to_owned();
    let spawned = std::thread::Builder::new()
        .name("migrator-mysql-connect".to_owned())
        .spawn(move || {
            let _ = send.send(<diesel::MysqlConnection as diesel::Connection>::establish(&owned));
        });
    if spawned.is_err() {
        return <diesel::MysqlConnection as diesel::Connection>::establish(url);
    }
    receive.recv_timeout(timeout).unwrap_or_else(|_| {
        Err(diesel::ConnectionError::BadConnection(format!(
            "the server did not answer within the connect timeout of {timeout:?} (`--connect-timeout`); \
             check the host and port, and that no firewall drops the packets, or raise the timeout"
        )))
    })
}

impl Backend for AnyConnection {
    fn dialect(&self) -> &'static dyn Dialect {
        dispatch!(self, c => Backend::dialect(c))
    }
    fn execute(&mut self, sql: &str) -> QueryResult<()> {
        dispatch!(self, c => Backend::execute(c, sql))
    }
    fn changed(&mut self, sql: &str) -> QueryResult<usize> {
        dispatch!(self, c => Backend::changed(c, sql))
    }
    fn begin(&mut self) -> QueryResult<()> {
        dispatch!(self, c => Backend::begin(c))
    }
    fn commit(&mut self) -> QueryResult<()> {
        dispatch!(self, c => Backend::commit(c))
    }
    fn rollback(&mut self) -> QueryResult<()> {
        dispatch!(self, c => Backend::rollback(c))
    }
    fn transaction_depth(&mut self) -> u32 {
        dispatch!(self, c => Backend::transaction_depth(c))
    }
    fn load_versions(&mut self, sql: &str) -> QueryResult<Vec<AppliedRevision>> {
        dispatch!(self, c => Backend::load_versions(c, sql))
    }
    fn count(&mut self, sql: &str) -> QueryResult<i64> {
        dispatch!(self, c => Backend::count(c, sql))
    }
    fn load_audit(&mut self, sql: &str) -> QueryResult<Vec<AuditEntry>> {
        dispatch!(self, c => Backend::load_audit(c, sql))
    }
    fn load_digest(&mut self, sql: &str) -> QueryResult<Vec<DigestRow>> {
        dispatch!(self, c => Backend::load_digest(c, sql))
    }
    fn load_text(&mut self, sql: &str) -> QueryResult<Vec<TextRow>> {
        dispatch!(self, c => Backend::load_text(c, sql))
    }
    fn try_lock(&mut self, name: &str) -> Result<Option<LockHandle>, Error> {
        dispatch!(self, c => Backend::try_lock(c, name))
    }
    fn unlock(&mut self, name: &str, handle: LockHandle) -> QueryResult<()> {
        dispatch!(self, c => Backend::unlock(c, name, handle))
    }
    fn lend(&mut self, f: &mut dyn FnMut(&mut dyn Backend)) {
        f(self)
    }
    fn as_any_mut(&mut self) -> &mut dyn std::any::Any {
        self
    }
}

/// `Backend::lend` for the connection type of `AnyConnection`'s variant
/// `$variant`: the revision sees an `AnyConnection` holding the caller's
/// connection.
macro_rules! lend_via_any {
    ($variant:ident) => {
        fn lend(&mut self, f: &mut dyn FnMut(&mut dyn $crate::backend::Backend)) {
            $crate::backend::any::lend_as_any(
                self,
                $crate::backend::AnyConnection::$variant,
                |any| match any {
                    $crate::backend::AnyConnection::$variant(c) => Ok(c),
                    #[allow(unreachable_patterns)]
                    other => Err(other),
                },
                f,
            )
        }
    };
}
pub(crate) use lend_via_any;

/// Lends the caller's connection `conn` to `f` moved into an
/// [`AnyConnection`] (`wrap`), and moves it back (`unwrap`) afterwards, so
/// that a revision written for `AnyConnection` runs whatever connection type
/// the service handed over. A panic in `f` is carried on once the
/// connection is back in place; if `f` replaced the connection with another
/// backend's, the caller's connection cannot be given back and the process
/// aborts. (A revision that replaces it with another connection of the same
/// backend hands the caller that one: revisions must not replace it.)
pub(crate) fn lend_as_any<C>(
    conn: &mut C,
    wrap: fn(C) -> AnyConnection,
    unwrap: fn(AnyConnection) -> Result<C, AnyConnection>,
    f: &mut dyn FnMut(&mut dyn Backend),
) {
    let mut panicked = None;
    replace_with::replace_with_or_abort(conn, |owned| {
        let mut any = wrap(owned);
        panicked = catch_unwind(AssertUnwindSafe(|| f(&mut any))).err();
        unwrap(any).unwrap_or_else(|_| {
            eprintln!(
                "migrator: a Rust revision replaced its connection with another backend's; \
                 the caller's connection cannot be given back"
            );
            std::process::abort()
        })
    });
    if let Some(panic) = panicked {
        resume_unwind(panic);
    }
}
