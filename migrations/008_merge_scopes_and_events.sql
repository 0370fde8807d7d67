-- Merge the scopes and events branches
--
-- Revision ID: 008
-- Revises: 006, 007
-- Create Date: 2024-04-03 00:00:00

-- migrate:upgrade
-- migrate:noop

-- migrate:downgrade
-- migrate:noop
