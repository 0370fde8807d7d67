-- Revision 002b
--
-- Revision ID: 002b
-- Revises: 001

-- migrate:upgrade
CREATE TABLE t002b (id INTEGER);

-- migrate:downgrade
DROP TABLE t002b;
