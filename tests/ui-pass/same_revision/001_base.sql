-- Everything at once on tables made in this revision
--
-- Revision ID: 001
-- Revises: 

-- migrate:upgrade
CREATE TABLE teams (id BIGINT PRIMARY KEY);
CREATE TABLE users (id BIGINT PRIMARY KEY, email TEXT, team BIGINT);
CREATE INDEX users_email ON users (email);
ALTER TABLE users ADD CONSTRAINT users_team FOREIGN KEY (team) REFERENCES teams (id);
ALTER TABLE users ADD CONSTRAINT users_email_present CHECK (email <> '');
ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);

-- migrate:downgrade
DROP TABLE users;
DROP TABLE teams;
