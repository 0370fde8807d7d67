-- Revision 005
--
-- Revision ID: 005
-- Revises: 004

-- migrate:upgrade
CREATE TABLE t005 (id INTEGER);

-- migrate:downgrade
DROP TABLE t005;
