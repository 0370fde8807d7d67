-- Breaks the rule
--
-- Revision ID: 002
-- Revises: 001

-- migrate:upgrade
ALTER TABLE teams RENAME TO squads;

-- migrate:downgrade
ALTER TABLE squads RENAME TO teams;
