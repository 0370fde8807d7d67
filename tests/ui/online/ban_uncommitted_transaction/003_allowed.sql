-- Breaks it on purpose
--
-- Revision ID: 003
-- Revises: 002
-- Transaction: false
-- Allow: ban-uncommitted-transaction

-- migrate:upgrade
BEGIN;
UPDATE users SET a = 0;

-- migrate:downgrade
-- migrate:noop
