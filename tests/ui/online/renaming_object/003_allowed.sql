-- Breaks it on purpose
--
-- Revision ID: 003
-- Revises: 002
-- Allow: renaming-object

-- migrate:upgrade
ALTER TABLE users RENAME CONSTRAINT users_pkey TO users_key;

-- migrate:downgrade
ALTER TABLE users RENAME CONSTRAINT users_key TO users_pkey;
