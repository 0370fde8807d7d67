//! What migrator owns in the database: the version table (one row per
//! applied revision) and the audit log (one row per step run), and their SQL.
//!
//! Every statement is rendered as SQL text through a [`Dialect`], with values
//! as quoted literals, so that the live run and the offline script (`--sql`)
//! run the very same statements.

use chrono::{Datelike, NaiveDateTime, Timelike};

use crate::backend::{Dialect, ScriptValues};

/// The default name of the version table.
pub const DEFAULT_VERSION_TABLE: &str = "migrator_version";

/// The default name of the audit log table.
pub const DEFAULT_AUDIT_TABLE: &str = "migrator_audit";

/// What an audit log entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// A revision's upgrade ran.
    Upgrade,
    /// A revision's downgrade ran.
    Downgrade,
    /// A revision was recorded as applied, or not, without running (`stamp`).
    Stamp,
}

impl Action {
    /// `upgrade`, `downgrade` or `stamp`, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Upgrade => "upgrade",
            Action::Downgrade => "downgrade",
            Action::Stamp => "stamp",
        }
    }
}

/// The statements of the version table and of the audit log. Two tables,
/// nothing else: no functions, triggers or side tables, so that a DBA reads
/// everything migrator owns with two `\d`, and logical replication, dumps
/// and poolers see two ordinary tables with primary keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Store {
    table: String,
    audit_table: String,
}

impl Store {
    /// A store over the version table `table` and the audit log `audit_table`.
    pub fn new(table: impl Into<String>, audit_table: impl Into<String>) -> Self {
        Store {
            table: table.into(),
            audit_table: audit_table.into(),
        }
    }

    /// The version table's name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The audit log's name.
    pub fn audit_table(&self) -> &str {
        &self.audit_table
    }

    /// Creates the version table and the audit log when they do not exist.
    pub fn create_sql(&self, d: &dyn Dialect) -> String {
        format!(
            "CREATE TABLE IF NOT EXISTS {} (\n    \
             revision VARCHAR(64) NOT NULL PRIMARY KEY,\n    \
             checksum VARCHAR(64) NOT NULL,\n    \
             applied_at {ts} NOT NULL,\n    \
             execution_ms BIGINT NOT NULL,\n    \
             seq BIGINT NOT NULL\n);\n\
             CREATE TABLE IF NOT EXISTS {} (\n    \
             id {},\n    \
             at {ts} NOT NULL,\n    \
             revision VARCHAR(64) NOT NULL,\n    \
             action VARCHAR(16) NOT NULL,\n    \
             duration_ms BIGINT NOT NULL,\n    \
             outcome VARCHAR(16) NOT NULL,\n    \
             host VARCHAR(255) NOT NULL,\n    \
             pid BIGINT NOT NULL,\n    \
             detail TEXT NOT NULL\n);",
            d.quote_ident(&self.table),
            d.quote_ident(&self.audit_table),
            d.serial_primary_key(),
            ts = d.timestamp_type(),
        )
    }

    /// Fails with the dialect's missing-table error when the version table
    /// or the audit log does not exist; reads no row.
    pub fn probe_sql(&self, d: &dyn Dialect) -> String {
        format!(
            "SELECT revision FROM {} WHERE 1 = 0; SELECT id FROM {} WHERE 1 = 0;",
            d.quote_ident(&self.table),
            d.quote_ident(&self.audit_table)
        )
    }

    /// Reads every row, in the order of application.
    pub fn select_sql(&self, d: &dyn Dialect) -> String {
        format!(
            "SELECT revision, checksum, applied_at, execution_ms, seq FROM {} ORDER BY seq",
            d.quote_ident(&self.table)
        )
    }

    /// Reads the audit log, oldest first.
    pub fn select_audit_sql(&self, d: &dyn Dialect) -> String {
        format!(
            "SELECT at, revision, action, duration_ms, outcome, host, pid, detail FROM {} ORDER BY id",
            d.quote_ident(&self.audit_table)
        )
    }

    /// Records `revision` as applied, with sequence number `seq` (one more
    /// than the last applied; the caller holds the run lock); only `when`
    /// the condition holds, if one is given (offline scripts).
    pub fn insert_sql(
        &self,
        d: &dyn Dialect,
        revision: &str,
        checksum: &str,
        values: &Values<'_>,
        seq: i64,
        when: Option<&str>,
    ) -> String {
        let (applied_at, execution_ms, _, _, _) = values.render(d);
        insert(
            &format!(
                "INSERT INTO {} (revision, checksum, applied_at, execution_ms, seq)",
                d.quote_ident(&self.table)
            ),
            &format!(
                "{}, {}, {applied_at}, {execution_ms}, {seq}",
                d.quote_str(revision),
                d.quote_str(checksum),
            ),
            when,
        )
    }

    /// Records `revision` as not applied; only `when` the condition holds,
    /// if one is given (offline scripts).
    pub fn delete_sql(&self, d: &dyn Dialect, revision: &str, when: Option<&str>) -> String {
        format!(
            "DELETE FROM {} WHERE revision = {}{};",
            d.quote_ident(&self.table),
            d.quote_str(revision),
            when.map(|w| format!(" AND {w}")).unwrap_or_default()
        )
    }

    /// Records a new checksum for an applied revision (after `stamp`).
    pub fn update_checksum_sql(&self, d: &dyn Dialect, revision: &str, checksum: &str) -> String {
        format!(
            "UPDATE {} SET checksum = {} WHERE revision = {};",
            d.quote_ident(&self.table),
            d.quote_str(checksum),
            d.quote_str(revision)
        )
    }

    /// Appends an entry to the audit log; only `when` the condition holds,
    /// if one is given (offline scripts).
    #[allow(clippy::too_many_arguments)]
    pub fn audit_sql(
        &self,
        d: &dyn Dialect,
        values: &Values<'_>,
        revision: &str,
        action: Action,
        success: bool,
        detail: &str,
        when: Option<&str>,
    ) -> String {
        let (at, duration_ms, host, pid, by) = values.render(d);
        let detail = match by {
            Some(by) if detail.is_empty() => by.to_owned(),
            _ => d.quote_str(detail),
        };
        insert(
            &format!(
                "INSERT INTO {} (at, revision, action, duration_ms, outcome, host, pid, detail)",
                d.quote_ident(&self.audit_table)
            ),
            &format!(
                "{at}, {}, {}, {duration_ms}, {}, {host}, {pid}, {detail}",
                d.quote_str(revision),
                d.quote_str(action.as_str()),
                d.quote_str(if success { "success" } else { "failure" }),
            ),
            when,
        )
    }

    /// An SQL condition, for offline scripts: the version table holds every
    /// one of `present` and none of `absent`.
    pub fn expect_sql(&self, d: &dyn Dialect, present: &[&str], absent: &[&str]) -> String {
        // Through a derived table, which MySQL accepts in a statement that
        // writes the same table.
        let count = |ids: &[&str]| {
            format!(
                "(SELECT COUNT(*) FROM (SELECT revision FROM {} WHERE revision IN ({})) AS m)",
                d.quote_ident(&self.table),
                ids.iter()
                    .map(|id| d.quote_str(id))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        let mut parts = Vec::new();
        if !present.is_empty() {
            parts.push(format!("{} = {}", count(present), present.len()));
        }
        if !absent.is_empty() {
            parts.push(format!("{} = 0", count(absent)));
        }
        if parts.is_empty() {
            "1 = 1".to_owned()
        } else {
            parts.join(" AND ")
        }
    }
}

/// Where the time, duration, host and process of a bookkeeping row come
/// from.
#[derive(Debug, Clone, Copy)]
pub enum Values<'a> {
    /// A live run: this process, now.
    Live {
        /// When.
        at: NaiveDateTime,
        /// How long the step took.
        elapsed_ms: i64,
    },
    /// An offline script: the server, when the script runs.
    Script(&'a ScriptValues),
}

impl Values<'_> {
    /// The time, duration, host, process as SQL, and the detail an offline
    /// script writes.
    fn render(&self, d: &dyn Dialect) -> (String, String, String, String, Option<&'static str>) {
        match self {
            Values::Live { at, elapsed_ms } => (
                timestamp(d, *at),
                elapsed_ms.to_string(),
                d.quote_str(host()),
                std::process::id().to_string(),
                None,
            ),
            Values::Script(values) => (
                values.at.to_owned(),
                values.elapsed_ms.to_owned(),
                values.host.to_owned(),
                values.pid.to_owned(),
                Some(values.detail),
            ),
        }
    }
}

/// `INSERT … VALUES (values)`, or `INSERT … SELECT values WHERE when`.
fn insert(into: &str, values: &str, when: Option<&str>) -> String {
    match when {
        None => format!("{into} VALUES ({values});"),
        Some(when) => format!("{into} SELECT {values} WHERE {when};"),
    }
}

impl Default for Store {
    fn default() -> Self {
        Store::new(DEFAULT_VERSION_TABLE, DEFAULT_AUDIT_TABLE)
    }
}

/// A timestamp literal every backend reads as `TIMESTAMP`/`DATETIME(6)`.
fn timestamp(d: &dyn Dialect, at: NaiveDateTime) -> String {
    // Written out by hand: chrono's format strings pull their whole
    // interpreter into every service's binary.
    d.quote_str(&format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}",
        at.year(),
        at.month(),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.nanosecond() / 1_000 % 1_000_000
    ))
}

/// This machine's host name, for the audit log (read once).
fn host() -> &'static str {
    static HOST: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HOST.get_or_init(|| {
        std::env::var("HOSTNAME")
            .ok()
            .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
            .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
            .map(|h| h.trim().to_owned())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "unknown".to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::BackendKind;

    #[test]
    fn timestamps_have_microseconds_and_leading_zeros() {
        let at = chrono::NaiveDate::from_ymd_opt(2024, 1, 2)
            .and_then(|d| d.and_hms_micro_opt(3, 4, 5, 6))
            .expect("a valid time");
        let d = crate::backend::dialect(BackendKind::Postgres);
        assert_eq!(timestamp(d, at), "'2024-01-02 03:04:05.000006'");
    }
}
