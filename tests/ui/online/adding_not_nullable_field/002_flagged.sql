-- Breaks the rule
--
-- Revision ID: 002
-- Revises: 001

-- migrate:upgrade
ALTER TABLE users ALTER COLUMN email SET NOT NULL;

-- migrate:downgrade
ALTER TABLE users ALTER COLUMN email DROP NOT NULL;
