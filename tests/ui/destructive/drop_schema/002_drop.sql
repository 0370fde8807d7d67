-- Revision 002
--
-- Revision ID: 002
-- Revises: 001

-- migrate:upgrade
DROP SCHEMA reporting CASCADE;

-- migrate:downgrade
CREATE SCHEMA reporting;
