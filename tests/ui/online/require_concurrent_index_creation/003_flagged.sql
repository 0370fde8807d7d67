-- Breaks the rule
--
-- Revision ID: 003
-- Revises: 002

-- migrate:upgrade
CREATE INDEX users_email ON users (email);

-- migrate:downgrade
DROP INDEX users_email;
