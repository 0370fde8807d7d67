//! What migrator owns in the database: the version table (one row per
//! applied revision) and the audit log (one row per step run), and their SQL.
//!
//! Every statement is rendered as SQL text through a [`Dialect`], with values
//! as quoted literals, so that the live run and the offline script (`--sql`)
//! run the very same statements.

use chrono::{Datelike, NaiveDateTime, Timelike};

use crate::backend::{Backend, Dialect, ScriptValues};
use crate::error::{Error, Result};
use crate::model::{BackendKind, Direction};

/// The default name of the version table.
pub const DEFAULT_VERSION_TABLE: &str = "migrator_version";

/// What the audit log's name adds to the version table's by default.
pub const AUDIT_SUFFIX: &str = "_audit";

/// The audit log of earlier builds, shared by every version table of a
/// schema; still used where it exists and `<table>_audit` does not (see
/// [`Store::resolve`]).
pub const LEGACY_AUDIT_TABLE: &str = "migrator_audit";

/// A table's name, qualified by its schema or not: `svc_a.migrator_version`
/// is the table `migrator_version` of the schema `svc_a` (PostgreSQL), of the
/// attached database `svc_a` (SQLite), or of the database `svc_a` (MySQL).
/// Each part is quoted on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableName {
    /// The schema, when the name gives one.
    pub schema: Option<String>,
    /// The table's own name.
    pub name: String,
}

impl TableName {
    /// `schema.table` or `table`: the text up to the first `.` is the schema.
    pub fn parse(text: &str) -> TableName {
        match text.split_once('.') {
            Some((schema, name)) => TableName {
                schema: Some(schema.to_owned()),
                name: name.to_owned(),
            },
            None => TableName {
                schema: None,
                name: text.to_owned(),
            },
        }
    }

    /// The table `name` in the same schema as this one.
    pub fn sibling(&self, name: &str) -> TableName {
        TableName {
            schema: self.schema.clone(),
            name: name.to_owned(),
        }
    }

    /// The name as SQL writes it, each part quoted: `"svc_a"."migrator_version"`.
    pub fn quoted(&self, d: &dyn Dialect) -> String {
        match &self.schema {
            Some(schema) => format!("{}.{}", d.quote_ident(schema), d.quote_ident(&self.name)),
            None => d.quote_ident(&self.name),
        }
    }
}

impl std::fmt::Display for TableName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.schema {
            Some(schema) => write!(f, "{schema}.{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

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

/// What an audit log entry says of its step's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A revision that cannot run in one transaction is about to run: the
    /// version table holds its dirty marker.
    Started,
    /// The step is done.
    Success,
    /// The step failed (its error is the detail).
    Failure,
    /// The revision was recorded as applied because diesel_migrations ran
    /// it (see `adopt`).
    Adopted,
}

impl Outcome {
    /// `started`, `success` or `failure`, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Started => "started",
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Adopted => "adopted",
        }
    }
}

/// The dirty marker: the checksum a version-table row holds while a
/// revision that cannot run in one transaction runs (see
/// [`Store::mark_sql`]). No real checksum has a `:` (SHA-256 in hex), so a
/// marker is never read as an applied revision, its row never matches the
/// startup digest of "every revision applied". An earlier build that knows
/// the revision reads the marker as an edited revision and stops; one that
/// does not know it (a rollback to an older build) takes the database for
/// one ahead of it, warns and goes on: the marker is honest only for builds
/// that have it.
pub(crate) fn marker_checksum(direction: Direction) -> &'static str {
    match direction {
        Direction::Upgrade => "started:upgrade",
        Direction::Downgrade => "started:downgrade",
    }
}

/// The direction of the revision a dirty marker (a version-table row's
/// checksum) says was started; `None` for a real checksum.
pub(crate) fn marker_direction(checksum: &str) -> Option<Direction> {
    [Direction::Upgrade, Direction::Downgrade]
        .into_iter()
        .find(|&d| marker_checksum(d) == checksum)
}

/// The statements of the version table and of the audit log. Two tables,
/// nothing else: no functions, triggers or side tables, so that a DBA reads
/// everything migrator owns with two `\d`, and logical replication, dumps
/// and poolers see two ordinary tables with primary keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Store {
    table: TableName,
    audit_table: TableName,
    /// True when the audit log's name is the default, `<table>_audit`.
    audit_default: bool,
    /// The names as given, before [`Store::resolve`] qualified them.
    given: (String, Option<String>),
}

impl Store {
    /// A store over the version table `table` (`schema.table` or `table`)
    /// and the audit log `audit_table`, by default `<table>_audit` in the
    /// version table's schema.
    pub fn new(table_text: &str, audit_text: Option<&str>) -> Self {
        let table = TableName::parse(table_text);
        let (audit_table, audit_default) = match audit_text {
            Some(audit) => (TableName::parse(audit), false),
            None => (
                table.sibling(&format!("{}{AUDIT_SUFFIX}", table.name)),
                true,
            ),
        };
        Store {
            table,
            audit_table,
            audit_default,
            given: (table_text.to_owned(), audit_text.map(str::to_owned)),
        }
    }

    /// The version table's name.
    pub fn table(&self) -> &TableName {
        &self.table
    }

    /// The audit log's name.
    pub fn audit_table(&self) -> &TableName {
        &self.audit_table
    }

    /// Fails when a part of the version table's or the audit log's name
    /// (or, with `lock_table`, the lease table's, `<version table>_lock`)
    /// is longer than `backend` keeps: MySQL would refuse it in the first
    /// statement, PostgreSQL would cut it to 63 bytes, and the default
    /// audit log's name would then be the version table's.
    pub(crate) fn check_names(&self, backend: BackendKind, lock_table: bool) -> Result<()> {
        let Some(limit) = backend.identifier_limit() else {
            return Ok(());
        };
        let lock = self.table.sibling(&format!("{}_lock", self.table.name));
        let audit_mend = if self.audit_default {
            "shorten the version table's name (`--version-table`, `MIGRATOR_VERSION_TABLE`, \
             `Options::version_table`), which the audit log's default name \
             `<version table>_audit` extends, or name the audit log (`--audit-table`, \
             `MIGRATOR_AUDIT_TABLE`, `Options::audit_table`)"
        } else {
            "give a shorter one (`--audit-table`, `MIGRATOR_AUDIT_TABLE`, `Options::audit_table`)"
        };
        let mut tables = vec![
            (
                "version table",
                &self.table,
                "give a shorter one (`--version-table`, `MIGRATOR_VERSION_TABLE`, \
                 `Options::version_table`)",
            ),
            ("audit log", &self.audit_table, audit_mend),
        ];
        if lock_table {
            tables.push((
                "lock table",
                &lock,
                "shorten the version table's name (`--version-table`, `MIGRATOR_VERSION_TABLE`, \
                 `Options::version_table`), which the `table` lock's lease table \
                 `<version table>_lock` extends",
            ));
        }
        for (what, table, mend) in tables {
            for name in table.schema.iter().chain([&table.name]) {
                let length = limit.length(name);
                if length > limit.max {
                    return Err(Error::IdentifierTooLong {
                        what,
                        name: name.clone(),
                        length,
                        max: limit.max,
                        unit: limit.unit(),
                        backend,
                        consequence: limit.consequence(),
                        mend,
                    });
                }
            }
        }
        Ok(())
    }

    /// The store as the connection names its tables, so that every
    /// statement of a command names the same two tables whatever the
    /// `search_path` finds:
    ///
    /// - where the backend has a search path (PostgreSQL), an unqualified
    ///   name means the table of the first schema of the path,
    ///   `current_schema()` (where `CREATE TABLE` creates it), and is
    ///   qualified by it; a table of the same name further along the path
    ///   is never read as this one (but stops the run when this one does
    ///   not exist, see [`Store::refuse_if_elsewhere`]);
    /// - with `audit`, the default audit log is `<table>_audit`, unless
    ///   only the `migrator_audit` of earlier builds is there (in the same
    ///   schema): that one is kept, with its history.
    pub fn resolve(&self, backend: &mut dyn Backend, audit: bool) -> Result<Store> {
        let d = backend.dialect();
        self.check_names(d.kind(), false)?;
        let mut store = self.clone();
        if let Some(sql) = d.current_schema_sql() {
            let missing = [&mut store.table, &mut store.audit_table];
            if missing.iter().any(|t| t.schema.is_none()) {
                let rows = backend
                    .load_text(sql)
                    .map_err(Error::database("reading the current schema"))?;
                // None (no schema of the search path exists) leaves the names
                // as they are: creating a table then fails with the server's
                // own advice.
                if let Some(schema) = rows.into_iter().map(|r| r.value).find(|s| !s.is_empty()) {
                    for table in missing {
                        table.schema.get_or_insert_with(|| schema.clone());
                    }
                }
            }
        }
        if audit && store.audit_default {
            let legacy = store.table.sibling(LEGACY_AUDIT_TABLE);
            let exists = |backend: &mut dyn Backend, t: &TableName| {
                backend
                    .count(&d.table_exists_sql(t))
                    .map(|n| n > 0)
                    .map_err(Error::database("looking for the audit log"))
            };
            if legacy != store.audit_table
                && !exists(backend, &store.audit_table)?
                && exists(backend, &legacy)?
            {
                tracing::debug!(audit_table = %legacy, "using the audit log of earlier builds");
                store.audit_table = legacy;
            }
        }
        Ok(store)
    }

    /// Called when the version table (or the audit log) of this resolved
    /// store does not exist, before anything starts from base or creates
    /// it: fails when a table an earlier build would have used for the same
    /// names exists (see [`Dialect::found_elsewhere_sql`]), so that a
    /// database is never migrated again from base beside its history.
    pub(crate) fn refuse_if_elsewhere(&self, backend: &mut dyn Backend) -> Result<()> {
        let d = backend.dialect();
        let (table, audit) = &self.given;
        let checks = [
            ("version table", "--version-table", Some(table), &self.table),
            ("audit log", "--audit-table", audit.as_ref(), &self.audit_table),
        ];
        for (what, flag, given, resolved) in checks {
            let Some(sql) = given.and_then(|given| d.found_elsewhere_sql(resolved, given)) else {
                continue;
            };
            let rows = backend
                .load_text(&sql)
                .map_err(Error::database("looking for the tables of earlier builds"))?;
            if let Some(found) = rows.into_iter().next() {
                return Err(Error::TableElsewhere {
                    what,
                    expected: resolved.to_string(),
                    found: found.value,
                    flag,
                });
            }
        }
        Ok(())
    }

    /// The names of the run's advisory locks (see
    /// `Dialect::advisory_holder_sql`): the version table's, as resolved;
    /// first, when [`Store::resolve`] qualified a name given unqualified,
    /// the name as given, which earlier builds locked, so that a run of an
    /// earlier build and one of this build still exclude each other (and
    /// runs of this build on one unqualified name in several schemas take
    /// turns).
    pub(crate) fn lock_names(&self) -> Vec<String> {
        let resolved = self.table.to_string();
        let given = &self.given.0;
        if TableName::parse(given).schema.is_none() && *given != resolved {
            vec![given.clone(), resolved]
        } else {
            vec![resolved]
        }
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
            self.table.quoted(d),
            self.audit_table.quoted(d),
            d.serial_primary_key(),
            ts = d.timestamp_type(),
        )
    }

    /// Fails with the dialect's missing-table error when the version table
    /// or the audit log does not exist; reads no row.
    pub fn probe_sql(&self, d: &dyn Dialect) -> String {
        format!(
            "SELECT revision FROM {} WHERE 1 = 0; SELECT id FROM {} WHERE 1 = 0;",
            self.table.quoted(d),
            self.audit_table.quoted(d)
        )
    }

    /// Reads every row, in the order of application.
    pub fn select_sql(&self, d: &dyn Dialect) -> String {
        format!(
            "SELECT revision, checksum, applied_at, execution_ms, seq FROM {} ORDER BY seq",
            self.table.quoted(d)
        )
    }

    /// Reads the audit log, oldest first.
    pub fn select_audit_sql(&self, d: &dyn Dialect) -> String {
        format!(
            "SELECT at, revision, action, duration_ms, outcome, host, pid, detail FROM {} ORDER BY id",
            self.audit_table.quoted(d)
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
                self.table.quoted(d)
            ),
            &format!(
                "{}, {}, {applied_at}, {execution_ms}, {seq}",
                d.quote_str(revision),
                d.quote_str(checksum),
            ),
            when,
        )
    }

    /// The dirty marker of `revision`, written (and committed) before a
    /// revision that cannot run in one transaction runs: for an upgrade, its
    /// row with the marker for a checksum (sequence number `seq`); for a
    /// downgrade, its row's checksum replaced by the marker (and its time by
    /// now). Only `when` the
    /// condition holds, if one is given (offline scripts).
    #[allow(clippy::too_many_arguments)]
    pub fn mark_sql(
        &self,
        d: &dyn Dialect,
        revision: &str,
        direction: Direction,
        values: &Values<'_>,
        seq: i64,
        when: Option<&str>,
    ) -> String {
        let marker = marker_checksum(direction);
        match direction {
            Direction::Upgrade => self.insert_sql(d, revision, marker, values, seq, when),
            Direction::Downgrade => format!(
                "UPDATE {} SET checksum = {}, applied_at = {} WHERE revision = {}{};",
                self.table.quoted(d),
                d.quote_str(marker),
                values.render(d).0,
                d.quote_str(revision),
                when.map(|w| format!(" AND {w}")).unwrap_or_default()
            ),
        }
    }

    /// Replaces the dirty marker of `revision` by what the step did: the
    /// applied row (an upgrade, with `checksum` and the values' time and
    /// duration), or no row (a downgrade). Touches only the marker's row, so
    /// an offline script's statement needs no other guard.
    pub fn finish_sql(
        &self,
        d: &dyn Dialect,
        revision: &str,
        direction: Direction,
        checksum: &str,
        values: &Values<'_>,
    ) -> String {
        let marker = marker_checksum(direction);
        let set = match direction {
            Direction::Upgrade => {
                let (applied_at, execution_ms, _, _, _) = values.render(d);
                format!(
                    "UPDATE {} SET checksum = {}, applied_at = {applied_at}, execution_ms = \
                     {execution_ms}",
                    self.table.quoted(d),
                    d.quote_str(checksum)
                )
            }
            Direction::Downgrade => format!("DELETE FROM {}", self.table.quoted(d)),
        };
        format!(
            "{set} WHERE revision = {} AND checksum = {};",
            d.quote_str(revision),
            d.quote_str(marker)
        )
    }

    /// Removes the dirty marker of `revision` (`stamp`, after a repair).
    pub fn clear_marker_sql(&self, d: &dyn Dialect, revision: &str, direction: Direction) -> String {
        format!(
            "DELETE FROM {} WHERE revision = {} AND checksum = {};",
            self.table.quoted(d),
            d.quote_str(revision),
            d.quote_str(marker_checksum(direction))
        )
    }

    /// An SQL condition, for offline scripts: the version table holds the
    /// dirty marker of `revision`'s `direction`.
    pub fn marked_sql(&self, d: &dyn Dialect, revision: &str, direction: Direction) -> String {
        format!(
            "(SELECT COUNT(*) FROM (SELECT revision FROM {} WHERE revision = {} AND checksum = {}) \
             AS m) = 1",
            self.table.quoted(d),
            d.quote_str(revision),
            d.quote_str(marker_checksum(direction))
        )
    }

    /// Reads the audit log's entries of `revision`, oldest first.
    pub fn select_audit_of_sql(&self, d: &dyn Dialect, revision: &str) -> String {
        format!(
            "SELECT at, revision, action, duration_ms, outcome, host, pid, detail FROM {} WHERE \
             revision = {} ORDER BY id",
            self.audit_table.quoted(d),
            d.quote_str(revision)
        )
    }

    /// Records `revision` as not applied; only `when` the condition holds,
    /// if one is given (offline scripts).
    pub fn delete_sql(&self, d: &dyn Dialect, revision: &str, when: Option<&str>) -> String {
        format!(
            "DELETE FROM {} WHERE revision = {}{};",
            self.table.quoted(d),
            d.quote_str(revision),
            when.map(|w| format!(" AND {w}")).unwrap_or_default()
        )
    }

    /// Records a new checksum for an applied revision (after `stamp`).
    pub fn update_checksum_sql(&self, d: &dyn Dialect, revision: &str, checksum: &str) -> String {
        format!(
            "UPDATE {} SET checksum = {} WHERE revision = {};",
            self.table.quoted(d),
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
        outcome: Outcome,
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
                self.audit_table.quoted(d)
            ),
            &format!(
                "{at}, {}, {}, {duration_ms}, {}, {host}, {pid}, {detail}",
                d.quote_str(revision),
                d.quote_str(action.as_str()),
                d.quote_str(outcome.as_str()),
            ),
            when,
        )
    }

    /// An SQL condition, for offline scripts: the version table holds every
    /// one of `present` and none of `absent` as applied, and no dirty
    /// marker.
    pub fn expect_sql(&self, d: &dyn Dialect, present: &[&str], absent: &[&str]) -> String {
        let markers = [Direction::Upgrade, Direction::Downgrade]
            .map(|m| d.quote_str(marker_checksum(m)))
            .join(", ");
        // Through a derived table, which MySQL accepts in a statement that
        // writes the same table.
        let count = |filter: &str| {
            format!(
                "(SELECT COUNT(*) FROM (SELECT revision FROM {} WHERE {filter}) AS m)",
                self.table.quoted(d),
            )
        };
        let applied = |ids: &[&str]| {
            count(&format!(
                "revision IN ({}) AND checksum NOT IN ({markers})",
                ids.iter()
                    .map(|id| d.quote_str(id))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        };
        let mut parts = vec![format!("{} = 0", count(&format!("checksum IN ({markers})")))];
        if !present.is_empty() {
            parts.push(format!("{} = {}", applied(present), present.len()));
        }
        if !absent.is_empty() {
            parts.push(format!("{} = 0", applied(absent)));
        }
        parts.join(" AND ")
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
        Store::new(DEFAULT_VERSION_TABLE, None)
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
pub(crate) fn host() -> &'static str {
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
    fn qualified_names_are_quoted_part_by_part() {
        let pg = crate::backend::dialect(BackendKind::Postgres);
        let name = TableName::parse("Svc A.my\"versions");
        assert_eq!(name.quoted(pg), r#""Svc A"."my""versions""#);
        assert_eq!(name.to_string(), "Svc A.my\"versions");
        assert_eq!(TableName::parse("v").quoted(pg), r#""v""#);
        let mysql = crate::backend::dialect(BackendKind::Mysql);
        assert_eq!(TableName::parse("db.v").quoted(mysql), "`db`.`v`");
        // The default audit log sits beside the version table.
        let store = Store::new("svc_a.migrator_version", None);
        assert_eq!(store.audit_table().to_string(), "svc_a.migrator_version_audit");
        let store = Store::new("svc_a.v", Some("a"));
        assert_eq!(store.audit_table().to_string(), "a");
    }

    #[test]
    fn timestamps_have_microseconds_and_leading_zeros() {
        let at = chrono::NaiveDate::from_ymd_opt(2024, 1, 2)
            .and_then(|d| d.and_hms_micro_opt(3, 4, 5, 6))
            .expect("a valid time");
        let d = crate::backend::dialect(BackendKind::Postgres);
        assert_eq!(timestamp(d, at), "'2024-01-02 03:04:05.000006'");
    }
}
