-- Revision 001a
--
-- Revision ID: 001a
-- Revises: 

-- migrate:upgrade
CREATE TABLE t001a (id INTEGER);

-- migrate:downgrade
DROP TABLE t001a;
