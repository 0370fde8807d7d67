-- Breaks it on purpose
--
-- Revision ID: 003
-- Revises: 002
-- Allow: changing-column-type

-- migrate:upgrade
ALTER TABLE users ALTER COLUMN a TYPE BIGINT;

-- migrate:downgrade
ALTER TABLE users ALTER COLUMN a TYPE INTEGER;
