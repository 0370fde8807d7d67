-- Breaks it on purpose
--
-- Revision ID: 003
-- Revises: 002
-- Allow: adding-not-nullable-field

-- migrate:upgrade
ALTER TABLE users ALTER COLUMN email SET NOT NULL;

-- migrate:downgrade
ALTER TABLE users ALTER COLUMN email DROP NOT NULL;
