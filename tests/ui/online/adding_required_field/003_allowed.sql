-- Breaks it on purpose
--
-- Revision ID: 003
-- Revises: 002
-- Allow: adding-required-field

-- migrate:upgrade
ALTER TABLE users ADD COLUMN name TEXT NOT NULL;

-- migrate:downgrade
ALTER TABLE users DROP COLUMN name;
