-- Unique index on api_keys.key_hash
--
-- Keys are looked up by their hash on every request; two keys with the same
-- hash would be a bug.
--
-- Built without CONCURRENTLY on purpose: 002 shipped with 001, so api_keys
-- is still empty when it runs, and the unique index is then built at once.
-- An index on a table in use is built CONCURRENTLY, as 009 does.
--
-- Revision ID: 002
-- Revises: 001
-- Create Date: 2024-01-15 00:00:00
-- Allow: require-concurrent-index-creation

-- migrate:upgrade
CREATE UNIQUE INDEX api_keys_key_hash ON api_keys (key_hash);

-- migrate:downgrade
DROP INDEX api_keys_key_hash;

-- migrate:upgrade mysql
CREATE UNIQUE INDEX api_keys_key_hash ON api_keys (key_hash);

-- migrate:downgrade mysql
-- MySQL names the table of the index it drops.
DROP INDEX api_keys_key_hash ON api_keys;
