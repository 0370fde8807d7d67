-- Second revision
--
-- Revision ID: 002
-- Revices: 001
-- Revises: 001
-- Timeout: soon

-- migrate:upgrade
DROP TABLE t001;
