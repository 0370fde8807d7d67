-- Revision 002
--
-- Revision ID: 002
-- Revises: 001

-- migrate:upgrade
TRUNCATE TABLE t001;

-- migrate:downgrade
-- migrate:noop
