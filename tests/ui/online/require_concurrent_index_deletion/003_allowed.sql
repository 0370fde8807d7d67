-- Breaks it on purpose
--
-- Revision ID: 003
-- Revises: 002
-- Allow: require-concurrent-index-deletion

-- migrate:upgrade
DROP INDEX users_a;

-- migrate:downgrade
CREATE INDEX users_a ON users (a);
