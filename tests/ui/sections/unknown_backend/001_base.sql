-- Revision 001
--
-- Revision ID: 001
-- Revises: 

-- migrate:upgrade
CREATE TABLE t001 (id INTEGER);

-- migrate:downgrade
DROP TABLE t001;

-- migrate:upgrade oracle
CREATE TABLE t001 (id NUMBER);
