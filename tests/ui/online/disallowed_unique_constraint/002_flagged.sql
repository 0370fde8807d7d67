-- Breaks the rule
--
-- Revision ID: 002
-- Revises: 001

-- migrate:upgrade
ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);

-- migrate:downgrade
ALTER TABLE users DROP CONSTRAINT users_email_key;
