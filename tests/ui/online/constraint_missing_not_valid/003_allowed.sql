-- Breaks it on purpose
--
-- Revision ID: 003
-- Revises: 002
-- Allow: constraint-missing-not-valid

-- migrate:upgrade
ALTER TABLE users ADD CONSTRAINT users_a_positive CHECK (a > 0);

-- migrate:downgrade
ALTER TABLE users DROP CONSTRAINT users_a_positive;
