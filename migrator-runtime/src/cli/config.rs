//! The configuration file: `migrator.toml` in the working directory, or the
//! file named by `MIGRATOR_CONFIG`.
//!
//! ```toml
//! database_url = "postgres://app@localhost/factory"  # DATABASE_URL wins over it
//! version_table = "migrator_version"
//! audit_table = "migrator_version_audit"
//! statement_timeout = "5m"
//! lock_timeout = "60s"              # the wait for another migrator
//! ddl_lock_timeout = "5s"           # each statement's wait for a table lock
//! ddl_retries = 3                   # runs again after a DDL lock timeout
//! connect_timeout = "10s"
//! lock = "table"                   # advisory, table, none, redis://host:6379
//! lock_lease = "30s"               # of the table and Redis leases
//! application_name = "migrator"   # pg_stat_activity; one in the URL wins
//! migrations = "migrations"        # the source directory, for `revision`
//! ```
//!
//! Precedence: command-line flags, then the environment, then this file,
//! then the defaults of [`Options`](crate::Options).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::error::{Error, Result};
use crate::backend::redact;
use crate::model::parse_duration;
use crate::options::LockStrategy;

/// The environment variable naming the configuration file.
pub const CONFIG_ENV: &str = "MIGRATOR_CONFIG";

/// The file read when `MIGRATOR_CONFIG` is not set (if it exists).
pub const DEFAULT_CONFIG_FILE: &str = "migrator.toml";

/// The settings of a configuration file; every one is optional.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Config {
    /// The database URL.
    pub database_url: Option<String>,
    /// The version table's name.
    pub version_table: Option<String>,
    /// The audit log's name.
    pub audit_table: Option<String>,
    /// The default statement timeout.
    pub statement_timeout: Option<Duration>,
    /// The default lock timeout.
    pub lock_timeout: Option<Duration>,
    /// How long each statement may wait for a table lock.
    pub ddl_lock_timeout: Option<Duration>,
    /// How many times a revision is run again after a DDL lock timeout.
    pub ddl_retries: Option<u32>,
    /// How long to wait for a PostgreSQL server to answer a connection.
    pub connect_timeout: Option<Duration>,
    /// The `application_name` of migrator's PostgreSQL connections.
    pub application_name: Option<String>,
    /// The migrations source directory.
    pub migrations: Option<PathBuf>,
    /// The lock strategy.
    pub lock: Option<LockStrategy>,
    /// The lease of the table and Redis locks.
    pub lock_lease: Option<Duration>,
}

/// Every field, with the password of the database URL hidden.
impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Destructured, so that a new field cannot be left out.
        let Config {
            database_url,
            version_table,
            audit_table,
            statement_timeout,
            lock_timeout,
            ddl_lock_timeout,
            ddl_retries,
            connect_timeout,
            application_name,
            migrations,
            lock,
            lock_lease,
        } = self;
        f.debug_struct("Config")
            .field("database_url", &database_url.as_deref().map(redact))
            .field("version_table", version_table)
            .field("audit_table", audit_table)
            .field("statement_timeout", statement_timeout)
            .field("lock_timeout", lock_timeout)
            .field("ddl_lock_timeout", ddl_lock_timeout)
            .field("ddl_retries", ddl_retries)
            .field("connect_timeout", connect_timeout)
            .field("application_name", application_name)
            .field("migrations", migrations)
            .field("lock", lock)
            .field("lock_lease", lock_lease)
            .finish()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    database_url: Option<String>,
    version_table: Option<String>,
    audit_table: Option<String>,
    statement_timeout: Option<String>,
    lock_timeout: Option<String>,
    ddl_lock_timeout: Option<String>,
    ddl_retries: Option<u32>,
    connect_timeout: Option<String>,
    application_name: Option<String>,
    migrations: Option<PathBuf>,
    lock: Option<String>,
    lock_lease: Option<String>,
}

impl Config {
    /// Reads the file named by `MIGRATOR_CONFIG` (which must exist), else
    /// `migrator.toml` in the working directory if there is one, else
    /// nothing.
    pub fn load() -> Result<Config> {
        match std::env::var_os(CONFIG_ENV) {
            Some(path) => Config::read(Path::new(&path)),
            None if Path::new(DEFAULT_CONFIG_FILE).exists() => {
                Config::read(Path::new(DEFAULT_CONFIG_FILE))
            }
            None => Ok(Config::default()),
        }
    }

    /// Reads one configuration file.
    pub fn read(path: &Path) -> Result<Config> {
        let error = |message: String| Error::Config {
            path: path.display().to_string(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| error(e.to_string()))?;
        Config::parse(&text).map_err(error)
    }

    /// Parses the text of a configuration file.
    pub fn parse(text: &str) -> std::result::Result<Config, String> {
        // A syntax error quotes the line, which may hold the database URL.
        let file: File = toml::from_str(text).map_err(|e| crate::redact(&e.to_string()))?;
        let duration = |key: &str, value: Option<String>| {
            value
                .map(|v| {
                    parse_duration(&v).ok_or_else(|| {
                        format!("`{key}` is `{v}`; write a duration such as `250ms`, `30s` or `5m`")
                    })
                })
                .transpose()
        };
        Ok(Config {
            database_url: file.database_url,
            version_table: file.version_table,
            audit_table: file.audit_table,
            statement_timeout: duration("statement_timeout", file.statement_timeout)?,
            lock_timeout: duration("lock_timeout", file.lock_timeout)?,
            ddl_lock_timeout: duration("ddl_lock_timeout", file.ddl_lock_timeout)?,
            ddl_retries: file.ddl_retries,
            connect_timeout: duration("connect_timeout", file.connect_timeout)?,
            application_name: file.application_name,
            migrations: file.migrations,
            lock: file
                .lock
                .map(|v| v.parse().map_err(|e| format!("`lock`: {e}")))
                .transpose()?,
            lock_lease: duration("lock_lease", file.lock_lease)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_key() {
        let config = Config::parse(
            "database_url = \"sqlite://x.db\"\nversion_table = \"v\"\naudit_table = \"a\"\n\
             statement_timeout = \"5m\"\nlock_timeout = \"250ms\"\nconnect_timeout = \"3s\"\n\
             application_name = \"factory\"\nmigrations = \"db/migrations\"\n\
             lock = \"redis://127.0.0.1:6379\"\nlock_lease = \"2m\"\n\
             ddl_lock_timeout = \"2s\"\nddl_retries = 5\n",
        );
        assert_eq!(
            config,
            Ok(Config {
                database_url: Some("sqlite://x.db".into()),
                version_table: Some("v".into()),
                audit_table: Some("a".into()),
                statement_timeout: Some(Duration::from_secs(300)),
                lock_timeout: Some(Duration::from_millis(250)),
                ddl_lock_timeout: Some(Duration::from_secs(2)),
                ddl_retries: Some(5),
                connect_timeout: Some(Duration::from_secs(3)),
                application_name: Some("factory".into()),
                migrations: Some("db/migrations".into()),
                lock: Some(LockStrategy::Redis("redis://127.0.0.1:6379".into())),
                lock_lease: Some(Duration::from_secs(120)),
            })
        );
    }

    #[test]
    fn rejects_unknown_keys_and_bad_durations() {
        let unknown = Config::parse("version_tabel = \"v\"")
            .err()
            .unwrap_or_default();
        assert!(unknown.contains("version_tabel"), "{unknown}");
        let bad = Config::parse("lock_timeout = \"soon\"")
            .err()
            .unwrap_or_default();
        assert!(bad.contains("`lock_timeout` is `soon`"), "{bad}");
        let lock = Config::parse("lock = \"advisroy\"")
            .err()
            .unwrap_or_default();
        assert!(lock.contains("`lock`: unknown lock `advisroy`"), "{lock}");
        let quoted =
            Config::parse("database_url = \"postgres://u:Hunter2@h/db?password=Hunter3\" x")
                .err()
                .unwrap_or_default();
        assert!(quoted.contains("database_url"), "{quoted}");
        assert!(!quoted.contains("Hunter"), "{quoted}");
    }
}
