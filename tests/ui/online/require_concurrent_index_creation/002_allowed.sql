-- Breaks it on purpose
--
-- Revision ID: 002
-- Revises: 001
-- Allow: require-concurrent-index-creation

-- migrate:upgrade
CREATE INDEX users_email_2 ON users (email);

-- migrate:downgrade
DROP INDEX users_email_2;
