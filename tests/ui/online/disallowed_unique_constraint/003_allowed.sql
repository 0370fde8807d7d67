-- Breaks it on purpose
--
-- Revision ID: 003
-- Revises: 002
-- Allow: disallowed-unique-constraint

-- migrate:upgrade
ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);

-- migrate:downgrade
ALTER TABLE users DROP CONSTRAINT users_email_key;
