-- Breaks the rule
--
-- Revision ID: 002
-- Revises: 001

-- migrate:upgrade
DROP INDEX users_a;

-- migrate:downgrade
CREATE INDEX users_a ON users (a);
