-- Breaks the rule
--
-- Revision ID: 002
-- Revises: 001

-- migrate:upgrade
ALTER TABLE users RENAME CONSTRAINT users_pkey TO users_key;

-- migrate:downgrade
ALTER TABLE users RENAME CONSTRAINT users_key TO users_pkey;
