-- Index api_keys.last_used_at
--
-- Built without locking the table on PostgreSQL, which cannot happen inside
-- a transaction.
--
-- Revision ID: 009
-- Revises: 008
-- Create Date: 2024-05-01 00:00:00
-- Transaction: false
-- Timeout: 10m

-- migrate:upgrade postgres
CREATE INDEX CONCURRENTLY IF NOT EXISTS api_keys_last_used_at ON api_keys (last_used_at);

-- migrate:downgrade postgres
DROP INDEX CONCURRENTLY IF EXISTS api_keys_last_used_at;

-- migrate:upgrade sqlite
CREATE INDEX IF NOT EXISTS api_keys_last_used_at ON api_keys (last_used_at);

-- migrate:downgrade sqlite
DROP INDEX IF EXISTS api_keys_last_used_at;

-- migrate:upgrade mysql
-- Online on MySQL: built in place while reads and writes go on (the
-- statement fails rather than lock the table where it cannot).
CREATE INDEX api_keys_last_used_at ON api_keys (last_used_at) ALGORITHM = INPLACE LOCK = NONE;

-- migrate:downgrade mysql
DROP INDEX api_keys_last_used_at ON api_keys;
