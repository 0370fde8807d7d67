-- Revision 000
--
-- Revision ID: 000
-- Revises: 

-- migrate:upgrade
CREATE TABLE t000 (id INTEGER);

-- migrate:downgrade
DROP TABLE t000;
