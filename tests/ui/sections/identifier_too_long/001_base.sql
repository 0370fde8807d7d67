-- Revision 001
--
-- Revision ID: 001
-- Revises:
-- Allow: require-concurrent-index-creation

-- migrate:upgrade
CREATE INDEX events_by_account_and_creation_time_for_the_nightly_report_job_2 ON events (account_id, created_at);

-- migrate:downgrade
DROP INDEX events_by_account_and_creation_time_for_the_nightly_report_job_2;

-- migrate:upgrade mysql
ALTER TABLE events ADD CONSTRAINT events_account_id_references_accounts_id_on_delete_cascade_fkey_1 FOREIGN KEY (account_id) REFERENCES accounts (id);

-- migrate:downgrade mysql
ALTER TABLE events DROP FOREIGN KEY events_account_id_references_accounts_id_on_delete_cascade_fkey_1;
