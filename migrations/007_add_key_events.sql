-- Add api_key_events
--
-- An audit trail of key creation, use and revocation. Made on a branch in
-- parallel with 006.
--
-- Revision ID: 007
-- Revises: 005
-- Create Date: 2024-04-02 00:00:00

-- migrate:upgrade postgres
CREATE TABLE api_key_events (
    id BIGSERIAL PRIMARY KEY,
    key_id UUID NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    event VARCHAR(32) NOT NULL,
    at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX api_key_events_key_id ON api_key_events (key_id);

-- migrate:downgrade postgres
DROP TABLE api_key_events;

-- migrate:upgrade sqlite
CREATE TABLE api_key_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key_id TEXT NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    event TEXT NOT NULL,
    at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX api_key_events_key_id ON api_key_events (key_id);

-- migrate:downgrade sqlite
DROP TABLE api_key_events;

-- migrate:upgrade mysql
-- The index is declared with the table, one DDL statement (MySQL commits
-- each one), and the foreign key uses it rather than making its own.
CREATE TABLE api_key_events (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    key_id CHAR(36) NOT NULL,
    event VARCHAR(32) NOT NULL,
    at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    INDEX api_key_events_key_id (key_id),
    CONSTRAINT api_key_events_key_id_fkey
        FOREIGN KEY (key_id) REFERENCES api_keys (id) ON DELETE CASCADE
);

-- migrate:downgrade mysql
DROP TABLE api_key_events;
