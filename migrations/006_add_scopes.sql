-- Add api_key_scopes
--
-- What each key may do. Made on a branch in parallel with 007.
--
-- Revision ID: 006
-- Revises: 005
-- Create Date: 2024-04-01 00:00:00

-- migrate:upgrade postgres
CREATE TABLE api_key_scopes (
    key_id UUID NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    scope VARCHAR(64) NOT NULL,
    PRIMARY KEY (key_id, scope)
);

-- migrate:downgrade postgres
DROP TABLE api_key_scopes;

-- migrate:upgrade sqlite
CREATE TABLE api_key_scopes (
    key_id TEXT NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    scope TEXT NOT NULL,
    PRIMARY KEY (key_id, scope)
);

-- migrate:downgrade sqlite
DROP TABLE api_key_scopes;

-- migrate:upgrade mysql
-- A column's inline REFERENCES is ignored by MySQL: the foreign key is a
-- table constraint.
CREATE TABLE api_key_scopes (
    key_id CHAR(36) NOT NULL,
    scope VARCHAR(64) NOT NULL,
    PRIMARY KEY (key_id, scope),
    CONSTRAINT api_key_scopes_key_id_fkey
        FOREIGN KEY (key_id) REFERENCES api_keys (id) ON DELETE CASCADE
);

-- migrate:downgrade mysql
DROP TABLE api_key_scopes;
