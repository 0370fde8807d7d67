-- Add api_keys.key_prefix
--
-- The first characters of a key, shown in listings so that people can tell
-- keys apart without the secret. Filled for existing keys by 005.
--
-- Revision ID: 004
-- Revises: 003
-- Create Date: 2024-03-01 00:00:00

-- migrate:upgrade
ALTER TABLE api_keys ADD COLUMN key_prefix VARCHAR(16) NULL;

-- migrate:downgrade
ALTER TABLE api_keys DROP COLUMN key_prefix;
