-- Revision 002
--
-- Revision ID: 002
-- Revises: 001

-- migrate:upgrade
DROP TABLE t001;

-- migrate:downgrade
CREATE TABLE t001 (id INTEGER);
