-- Revision 002
--
-- Revision ID: 002
-- Revises: 001

-- migrate:upgrade
-- DROP TABLE in_a_comment;
SELECT 'DROP TABLE in_a_string';
ALTER TABLE t001
    DROP COLUMN id;
CREATE TABLE t002 (id INTEGER);
DROP TABLE t001;
TRUNCATE t002;

-- migrate:downgrade
DROP TABLE t002;
CREATE TABLE t001 (id INTEGER);
