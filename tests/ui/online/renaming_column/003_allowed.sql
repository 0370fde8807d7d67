-- Breaks it on purpose
--
-- Revision ID: 003
-- Revises: 002
-- Allow: renaming-column

-- migrate:upgrade
ALTER TABLE users RENAME COLUMN email TO mail;

-- migrate:downgrade
ALTER TABLE users RENAME COLUMN mail TO email;
