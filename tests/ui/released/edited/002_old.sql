-- Drop and index, long ago
--
-- Revision ID: 002
-- Revises: 001

-- migrate:upgrade
DROP TABLE tags;
CREATE INDEX users_email ON users (email);

-- migrate:downgrade
CREATE TABLE tags (name TEXT);
