-- Track when keys are used and revoked
--
-- Revision ID: 003
-- Revises: 002
-- Create Date: 2024-02-01 00:00:00

-- migrate:upgrade
ALTER TABLE api_keys ADD COLUMN last_used_at TIMESTAMP NULL;
ALTER TABLE api_keys ADD COLUMN revoked_at TIMESTAMP NULL;

-- migrate:downgrade
ALTER TABLE api_keys DROP COLUMN revoked_at;
ALTER TABLE api_keys DROP COLUMN last_used_at;

-- migrate:upgrade mysql
-- DATETIME(6), as 001's created_at.
ALTER TABLE api_keys ADD COLUMN last_used_at DATETIME(6) NULL;
ALTER TABLE api_keys ADD COLUMN revoked_at DATETIME(6) NULL;

-- migrate:downgrade mysql
ALTER TABLE api_keys DROP COLUMN revoked_at;
ALTER TABLE api_keys DROP COLUMN last_used_at;
