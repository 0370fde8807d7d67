-- Revision 002a
--
-- Revision ID: 002a
-- Revises: 001

-- migrate:upgrade
CREATE TABLE t002a (id INTEGER);

-- migrate:downgrade
DROP TABLE t002a;
