-- Breaks the rule
--
-- Revision ID: 002
-- Revises: 001

-- migrate:upgrade
ALTER TABLE users ALTER COLUMN a TYPE BIGINT;

-- migrate:downgrade
ALTER TABLE users ALTER COLUMN a TYPE INTEGER;
