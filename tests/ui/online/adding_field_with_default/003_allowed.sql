-- Breaks it on purpose
--
-- Revision ID: 003
-- Revises: 002
-- Allow: adding-field-with-default

-- migrate:upgrade
ALTER TABLE users ADD COLUMN token UUID DEFAULT gen_random_uuid();

-- migrate:downgrade
ALTER TABLE users DROP COLUMN token;
