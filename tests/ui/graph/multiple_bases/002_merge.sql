-- Revision 002
--
-- Revision ID: 002
-- Revises: 001a, 001b

-- migrate:upgrade
CREATE TABLE t002 (id INTEGER);

-- migrate:downgrade
DROP TABLE t002;
