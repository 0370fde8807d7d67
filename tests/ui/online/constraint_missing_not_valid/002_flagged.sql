-- Breaks the rule
--
-- Revision ID: 002
-- Revises: 001

-- migrate:upgrade
ALTER TABLE users ADD CONSTRAINT users_a_positive CHECK (a > 0);

-- migrate:downgrade
ALTER TABLE users DROP CONSTRAINT users_a_positive;
