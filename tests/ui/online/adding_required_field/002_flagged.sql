-- Breaks the rule
--
-- Revision ID: 002
-- Revises: 001

-- migrate:upgrade
ALTER TABLE users ADD COLUMN name TEXT NOT NULL;

-- migrate:downgrade
ALTER TABLE users DROP COLUMN name;
