-- Breaks it on purpose
--
-- Revision ID: 003
-- Revises: 002
-- Allow: require-concurrent-refresh

-- migrate:upgrade
REFRESH MATERIALIZED VIEW team_count;

-- migrate:downgrade
SELECT 1;
