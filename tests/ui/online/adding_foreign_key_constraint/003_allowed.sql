-- Breaks it on purpose
--
-- Revision ID: 003
-- Revises: 002
-- Allow: adding-foreign-key-constraint

-- migrate:upgrade
ALTER TABLE users ADD CONSTRAINT users_team FOREIGN KEY (a) REFERENCES teams (id);

-- migrate:downgrade
ALTER TABLE users DROP CONSTRAINT users_team;
