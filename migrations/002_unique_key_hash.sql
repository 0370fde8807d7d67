-- Unique index on api_keys.key_hash
--
-- Keys are looked up by their hash on every request; two keys with the same
-- hash would be a bug.
--
-- Revision ID: 002
-- Revises: 001
-- Create Date: 2024-01-15 00:00:00

-- migrate:upgrade
CREATE UNIQUE INDEX api_keys_key_hash ON api_keys (key_hash);

-- migrate:downgrade
DROP INDEX api_keys_key_hash;

-- migrate:upgrade mysql
CREATE UNIQUE INDEX api_keys_key_hash ON api_keys (key_hash);

-- migrate:downgrade mysql
-- MySQL names the table of the index it drops.
DROP INDEX api_keys_key_hash ON api_keys;
