-- Revision 001
--
-- Revision ID: 001
-- Revises: 

-- migrate:upgrade
CREATE SCHEMA reporting;

-- migrate:downgrade
DROP SCHEMA reporting;
