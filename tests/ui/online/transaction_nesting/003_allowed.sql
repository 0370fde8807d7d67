-- Breaks it on purpose
--
-- Revision ID: 003
-- Revises: 002
-- Allow: transaction-nesting

-- migrate:upgrade
BEGIN;
UPDATE users SET a = 0;
COMMIT;

-- migrate:downgrade
-- migrate:noop
