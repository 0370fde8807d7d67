-- Revision 002
--
-- Revision ID: 002
-- Revises: 001, 001

-- migrate:upgrade
CREATE TABLE t002 (id INTEGER);

-- migrate:downgrade
DROP TABLE t002;
