-- Index users.email without blocking writes
--
-- Revision ID: 002
-- Revises: 001
-- Transaction: false

-- migrate:upgrade
CREATE INDEX CONCURRENTLY users_email ON users (email);

-- migrate:downgrade
DROP INDEX CONCURRENTLY users_email;
