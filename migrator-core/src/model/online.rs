//! The PostgreSQL online-safety rules that are on: their names (squawk's),
//! and the safe way to write what each one flags.
//!
//! The rules themselves are squawk's (`squawk-linter`, run at build time by
//! the `lint` module with the `lint` feature), with a few checks of ours
//! (`lint_scan`) where squawk says nothing; this list decides which are on. On: the rules about locks held for the length of a scan or a
//! rewrite of a table that already exists, and about changes that break the
//! code still running against the old schema during a deploy. Off, each for
//! its reason (README.md, "PostgreSQL online safety", lists them too):
//!
//! - `ban-drop-*` and `ban-truncate-cascade`: our own `destructive` rule
//!   already stops drops and truncations on every backend;
//! - `prefer-*`, `ban-char-field`, `require-table-schema`,
//!   `require-enum-value-ordering`, `identifier-too-long`,
//!   `ban-duplicate-column-assignments`, `ban-create-domain-with-constraint`:
//!   taste or correctness, not locks;
//! - `require-timeout-settings` (`require-lock-timeout`,
//!   `require-statement-timeout`): the runtime sets a lock timeout on every
//!   statement itself (`--ddl-lock-timeout`, `Timeout:`);
//! - `ban-concurrent-index-creation-in-transaction`: replaced by our
//!   transaction rule, which no `Allow:` turns off;
//! - `ban-drop-not-null`, `ban-drop-default`, `ban-drop-constraint`,
//!   `ban-alter-identity` and squawk's opt-in compatibility rules: they
//!   loosen a table, running code goes on working.

use std::fmt;

/// A PostgreSQL online-safety rule that is on. Its [name](OnlineRule::name)
/// is squawk's (ours for the two rules squawk lacks, `rewriting-table` and
/// `require-concurrent-refresh`), and the one `Allow:` takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OnlineRule {
    /// `CREATE INDEX` without `CONCURRENTLY`: writes blocked for the build.
    RequireConcurrentIndexCreation,
    /// `DROP INDEX` without `CONCURRENTLY`: an `ACCESS EXCLUSIVE` lock.
    RequireConcurrentIndexDeletion,
    /// `REINDEX` without `CONCURRENTLY`: reads and writes blocked.
    RequireConcurrentReindex,
    /// `DETACH PARTITION` without `CONCURRENTLY`: an `ACCESS EXCLUSIVE` lock.
    RequireConcurrentPartitionDetach,
    /// A `NOT NULL` column without a default: inserts of running code fail.
    AddingRequiredField,
    /// `SET NOT NULL`: a scan of the table under an exclusive lock.
    AddingNotNullableField,
    /// A column with a volatile default: a rewrite of the table.
    AddingFieldWithDefault,
    /// `ADD PRIMARY KEY`: an index built under an exclusive lock.
    AddingSerialPrimaryKeyField,
    /// A foreign key without `NOT VALID`: both tables locked for a scan.
    AddingForeignKeyConstraint,
    /// A check constraint without `NOT VALID`: writes blocked for a scan.
    ConstraintMissingNotValid,
    /// `ADD UNIQUE` without an existing index: an index built under a lock.
    DisallowedUniqueConstraint,
    /// `ALTER COLUMN … TYPE`: a rewrite under an exclusive lock.
    ChangingColumnType,
    /// `RENAME COLUMN`: running code still uses the old name.
    RenamingColumn,
    /// `RENAME TO` of a table: running code still uses the old name.
    RenamingTable,
    /// Another object renamed (constraint, view, sequence, role, …).
    RenamingObject,
    /// `SET SCHEMA`: running code still finds the object where it was.
    BanSetSchema,
    /// `ALTER DOMAIN … ADD CONSTRAINT`: every column of the domain scanned.
    BanAlterDomainWithAddConstraint,
    /// `SET LOGGED`/`UNLOGGED`/`TABLESPACE`, `CLUSTER`, `VACUUM FULL`: a
    /// rewrite under an `ACCESS EXCLUSIVE` lock (a rule of ours).
    RewritingTable,
    /// `REFRESH MATERIALIZED VIEW` without `CONCURRENTLY`: reads of the
    /// view blocked (a rule of ours).
    RequireConcurrentRefresh,
    /// `BEGIN`/`COMMIT` inside the transaction the runtime opened.
    TransactionNesting,
    /// A `BEGIN` never committed.
    BanUncommittedTransaction,
}

impl OnlineRule {
    /// Every rule that is on, in the order the docs list them.
    pub const ALL: [OnlineRule; 21] = [
        OnlineRule::RequireConcurrentIndexCreation,
        OnlineRule::RequireConcurrentIndexDeletion,
        OnlineRule::RequireConcurrentReindex,
        OnlineRule::RequireConcurrentPartitionDetach,
        OnlineRule::AddingRequiredField,
        OnlineRule::AddingNotNullableField,
        OnlineRule::AddingFieldWithDefault,
        OnlineRule::AddingSerialPrimaryKeyField,
        OnlineRule::AddingForeignKeyConstraint,
        OnlineRule::ConstraintMissingNotValid,
        OnlineRule::DisallowedUniqueConstraint,
        OnlineRule::ChangingColumnType,
        OnlineRule::RenamingColumn,
        OnlineRule::RenamingTable,
        OnlineRule::RenamingObject,
        OnlineRule::BanSetSchema,
        OnlineRule::BanAlterDomainWithAddConstraint,
        OnlineRule::RewritingTable,
        OnlineRule::RequireConcurrentRefresh,
        OnlineRule::TransactionNesting,
        OnlineRule::BanUncommittedTransaction,
    ];

    /// The rule's name (squawk's, or ours), as `Allow:` and messages write
    /// it.
    pub fn name(self) -> &'static str {
        match self {
            OnlineRule::RequireConcurrentIndexCreation => "require-concurrent-index-creation",
            OnlineRule::RequireConcurrentIndexDeletion => "require-concurrent-index-deletion",
            OnlineRule::RequireConcurrentReindex => "require-concurrent-reindex",
            OnlineRule::RequireConcurrentPartitionDetach => "require-concurrent-partition-detach",
            OnlineRule::AddingRequiredField => "adding-required-field",
            OnlineRule::AddingNotNullableField => "adding-not-nullable-field",
            OnlineRule::AddingFieldWithDefault => "adding-field-with-default",
            OnlineRule::AddingSerialPrimaryKeyField => "adding-serial-primary-key-field",
            OnlineRule::AddingForeignKeyConstraint => "adding-foreign-key-constraint",
            OnlineRule::ConstraintMissingNotValid => "constraint-missing-not-valid",
            OnlineRule::DisallowedUniqueConstraint => "disallowed-unique-constraint",
            OnlineRule::ChangingColumnType => "changing-column-type",
            OnlineRule::RenamingColumn => "renaming-column",
            OnlineRule::RenamingTable => "renaming-table",
            OnlineRule::RenamingObject => "renaming-object",
            OnlineRule::BanSetSchema => "ban-set-schema",
            OnlineRule::BanAlterDomainWithAddConstraint => "ban-alter-domain-with-add-constraint",
            OnlineRule::RewritingTable => "rewriting-table",
            OnlineRule::RequireConcurrentRefresh => "require-concurrent-refresh",
            OnlineRule::TransactionNesting => "transaction-nesting",
            OnlineRule::BanUncommittedTransaction => "ban-uncommitted-transaction",
        }
    }

    /// The rule named `name` (as [`OnlineRule::name`] writes it, any case).
    pub fn from_name(name: &str) -> Option<OnlineRule> {
        OnlineRule::ALL
            .into_iter()
            .find(|r| r.name().eq_ignore_ascii_case(name))
    }

    /// When breaking the rule is harmless, for the error's hint about
    /// `Allow:`.
    #[cfg(feature = "lint")]
    pub(crate) fn harmless_when(self) -> &'static str {
        match self {
            OnlineRule::RenamingColumn
            | OnlineRule::RenamingTable
            | OnlineRule::RenamingObject
            | OnlineRule::BanSetSchema => "if no code that still runs uses the old name",
            OnlineRule::AddingRequiredField => "if no code that still runs inserts into the table",
            OnlineRule::TransactionNesting | OnlineRule::BanUncommittedTransaction => {
                "if the revision means to control its transactions itself"
            }
            _ => "if the table is small or the lock is acceptable",
        }
    }

    /// The safe way to write what the rule flags, one sentence.
    pub fn mend(self) -> &'static str {
        match self {
            OnlineRule::RequireConcurrentIndexCreation => {
                "build it with `CREATE INDEX CONCURRENTLY`, in a revision whose header says `-- Transaction: false`"
            }
            OnlineRule::RequireConcurrentIndexDeletion => {
                "drop it with `DROP INDEX CONCURRENTLY`, in a revision whose header says `-- Transaction: false`"
            }
            OnlineRule::RequireConcurrentReindex => {
                "write `REINDEX … CONCURRENTLY`, in a revision whose header says `-- Transaction: false`"
            }
            OnlineRule::RequireConcurrentPartitionDetach => {
                "write `DETACH PARTITION … CONCURRENTLY`, in a revision whose header says `-- Transaction: false`"
            }
            OnlineRule::AddingRequiredField => {
                "add the column nullable or with a constant `DEFAULT`, backfill it, and make it `NOT NULL` in a later revision"
            }
            OnlineRule::AddingNotNullableField => {
                "add `CHECK (column IS NOT NULL) NOT VALID` in one revision, then `VALIDATE CONSTRAINT` it and `SET NOT NULL` together in a later one (the check, validated in that same revision, spares the scan)"
            }
            OnlineRule::AddingFieldWithDefault => {
                "add the column without the volatile default (or with a constant one; for a `serial` or identity column, a plain integer column, then `SET DEFAULT nextval(…)` on it), then backfill it in batches"
            }
            OnlineRule::AddingSerialPrimaryKeyField => {
                "build a unique index `CONCURRENTLY` in a `-- Transaction: false` revision, then `ADD CONSTRAINT … PRIMARY KEY USING INDEX …`"
            }
            OnlineRule::AddingForeignKeyConstraint => {
                "add the foreign key with `NOT VALID`, and `VALIDATE CONSTRAINT` it in a later revision"
            }
            OnlineRule::ConstraintMissingNotValid => {
                "add the constraint with `NOT VALID` (for a new column: add the column, then the constraint), and `VALIDATE CONSTRAINT` it in a later revision"
            }
            OnlineRule::DisallowedUniqueConstraint => {
                "build a unique index `CONCURRENTLY` in a `-- Transaction: false` revision, then `ADD CONSTRAINT … UNIQUE USING INDEX …`"
            }
            OnlineRule::ChangingColumnType => {
                "add a column of the new type, backfill it, move the code to it, and drop the old column in a later release"
            }
            OnlineRule::RenamingColumn => {
                "add the new column, write both and backfill, move the code to it, and drop the old column in a later release"
            }
            OnlineRule::RenamingTable => {
                "create the new table (or a view with the new name), move the code to it, and drop the old one in a later release"
            }
            OnlineRule::RenamingObject | OnlineRule::BanSetSchema => {
                "create the object under its new name, move the code to it, and drop the old one in a later release"
            }
            OnlineRule::BanAlterDomainWithAddConstraint => {
                "put the constraint on the table's columns instead (`CHECK … NOT VALID`, validated in a later revision)"
            }
            OnlineRule::RewritingTable => {
                "do it in a maintenance window, not in a deploy (or rebuild the table online with a tool such as pg_repack)"
            }
            OnlineRule::RequireConcurrentRefresh => {
                "write `REFRESH MATERIALIZED VIEW CONCURRENTLY` (the view needs a unique index)"
            }
            OnlineRule::TransactionNesting => {
                "remove the `BEGIN`/`COMMIT`: migrator runs the revision in a transaction (or says `-- Transaction: false` to run none)"
            }
            OnlineRule::BanUncommittedTransaction => "add the `COMMIT`, or remove the `BEGIN`",
        }
    }
}

impl fmt::Display for OnlineRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for rule in OnlineRule::ALL {
            assert_eq!(OnlineRule::from_name(rule.name()), Some(rule));
            assert!(!rule.mend().ends_with('.'), "{rule}");
        }
        assert_eq!(
            OnlineRule::from_name("Renaming-Column"),
            Some(OnlineRule::RenamingColumn)
        );
        assert_eq!(OnlineRule::from_name("ban-drop-table"), None);
    }
}
