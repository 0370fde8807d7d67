-- Revision 003
--
-- Revision ID: 003
-- Revises: 0002

-- migrate:upgrade
CREATE TABLE t003 (id INTEGER);

-- migrate:downgrade
DROP TABLE t003;
