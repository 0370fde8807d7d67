-- Breaks the rule
--
-- Revision ID: 002
-- Revises: 001

-- migrate:upgrade
BEGIN;
UPDATE users SET a = 0;
COMMIT;

-- migrate:downgrade
-- migrate:noop
