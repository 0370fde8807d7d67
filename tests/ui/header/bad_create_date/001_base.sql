-- Revision 001
--
-- Revision ID: 001
-- Revises: 
-- Create Date: 2024-13-45

-- migrate:upgrade
CREATE TABLE t001 (id INTEGER);

-- migrate:downgrade
DROP TABLE t001;
