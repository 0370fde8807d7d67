-- Breaks the rule
--
-- Revision ID: 002
-- Revises: 001

-- migrate:upgrade
ALTER TABLE teams SET SCHEMA archive;

-- migrate:downgrade
ALTER TABLE archive.teams SET SCHEMA public;
