-- Breaks the rule
--
-- Revision ID: 002
-- Revises: 001

-- migrate:upgrade
REINDEX INDEX users_a;

-- migrate:downgrade
-- migrate:noop
