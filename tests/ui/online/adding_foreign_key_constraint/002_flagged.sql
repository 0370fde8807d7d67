-- Breaks the rule
--
-- Revision ID: 002
-- Revises: 001

-- migrate:upgrade
ALTER TABLE users ADD CONSTRAINT users_team FOREIGN KEY (a) REFERENCES teams (id);

-- migrate:downgrade
ALTER TABLE users DROP CONSTRAINT users_team;
