-- Breaks the rule
--
-- Revision ID: 002
-- Revises: 001

-- migrate:upgrade
ALTER TABLE users ADD COLUMN token UUID DEFAULT gen_random_uuid();

-- migrate:downgrade
ALTER TABLE users DROP COLUMN token;
