-- Revision 001
--
-- Revision ID: 001
-- Revises: 

-- migrate:upgrade postgres
CREATE TABLE t001 (id BIGSERIAL);

-- migrate:upgrade sqlite
CREATE TABLE t001 (id INTEGER);

-- migrate:downgrade sqlite
DROP TABLE t001;
