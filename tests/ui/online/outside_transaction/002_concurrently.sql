-- Index concurrently, inside a transaction
--
-- Revision ID: 002
-- Revises: 001
-- Allow: require-concurrent-index-creation

-- migrate:upgrade
CREATE INDEX CONCURRENTLY users_email ON users (email);
VACUUM users;

-- migrate:downgrade
DROP INDEX CONCURRENTLY users_email;
