-- Breaks the rule
--
-- Revision ID: 002
-- Revises: 001
-- Transaction: false

-- migrate:upgrade
BEGIN;
UPDATE users SET a = 0;

-- migrate:downgrade
-- migrate:noop
