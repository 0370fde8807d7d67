-- Breaks the rule
--
-- Revision ID: 002
-- Revises: 001

-- migrate:upgrade
ALTER DOMAIN positive ADD CONSTRAINT positive_check CHECK (VALUE > 0);

-- migrate:downgrade
ALTER DOMAIN positive DROP CONSTRAINT positive_check;
