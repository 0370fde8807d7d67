-- Revision 002
--
-- Revision ID: 002
-- Revises: 001

-- migrate:upgrade
ALTER TABLE t001 DROP COLUMN id;

-- migrate:downgrade
ALTER TABLE t001 ADD COLUMN id INTEGER;
