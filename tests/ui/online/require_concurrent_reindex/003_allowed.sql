-- Breaks it on purpose
--
-- Revision ID: 003
-- Revises: 002
-- Allow: require-concurrent-reindex

-- migrate:upgrade
REINDEX INDEX users_a;

-- migrate:downgrade
-- migrate:noop
