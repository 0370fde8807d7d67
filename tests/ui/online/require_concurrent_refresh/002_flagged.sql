-- Breaks the rule
--
-- Revision ID: 002
-- Revises: 001

-- migrate:upgrade
REFRESH MATERIALIZED VIEW team_count;

-- migrate:downgrade
SELECT 1;
