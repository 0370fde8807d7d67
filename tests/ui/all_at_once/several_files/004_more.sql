-- Revision 004
--
-- Revision ID: 004
-- Revises: 003

-- migrate:upgrade
CREATE TABLE t004 (id INTEGER);

-- migrate:upgarde
CREATE TABLE t004b (id INTEGER);

-- migrate:downgrade
DROP TABLE t004;
