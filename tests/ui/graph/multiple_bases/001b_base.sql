-- Revision 001b
--
-- Revision ID: 001b
-- Revises: 

-- migrate:upgrade
CREATE TABLE t001b (id INTEGER);

-- migrate:downgrade
DROP TABLE t001b;
