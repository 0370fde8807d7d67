-- Breaks the rule
--
-- Revision ID: 002
-- Revises: 001

-- migrate:upgrade
ALTER TABLE tags SET UNLOGGED;

-- migrate:downgrade
ALTER TABLE tags SET LOGGED;
