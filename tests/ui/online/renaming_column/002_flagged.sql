-- Breaks the rule
--
-- Revision ID: 002
-- Revises: 001

-- migrate:upgrade
ALTER TABLE users RENAME COLUMN email TO mail;

-- migrate:downgrade
ALTER TABLE users RENAME COLUMN mail TO email;
