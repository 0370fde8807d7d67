-- Breaks it on purpose
--
-- Revision ID: 003
-- Revises: 002
-- Allow: renaming-table

-- migrate:upgrade
ALTER TABLE teams RENAME TO squads;

-- migrate:downgrade
ALTER TABLE squads RENAME TO teams;
