-- Add api_keys table
--
-- The factory service's API keys: a name for people, and the hash of the
-- secret (the secret itself is shown once and never stored).
--
-- Revision ID: 001
-- Revises:
-- Create Date: 2024-01-01 00:00:00

-- migrate:upgrade postgres
CREATE TABLE api_keys (
    id UUID NOT NULL PRIMARY KEY,
    name VARCHAR(255) NOT NULL,
    key_hash VARCHAR(255) NOT NULL,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- migrate:downgrade postgres
DROP TABLE api_keys;

-- migrate:upgrade sqlite
-- SQLite has no UUID type: the canonical hyphenated text form, checked.
CREATE TABLE api_keys (
    id TEXT NOT NULL PRIMARY KEY CHECK (length(id) = 36),
    name TEXT NOT NULL,
    key_hash TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- migrate:downgrade sqlite
DROP TABLE api_keys;

-- migrate:upgrade mysql
-- MySQL has no UUID type either: the canonical text form, checked.
-- DATETIME(6) keeps microseconds (TIMESTAMP drops them, converts time zones
-- and ends in 2038).
CREATE TABLE api_keys (
    id CHAR(36) NOT NULL PRIMARY KEY CHECK (CHAR_LENGTH(id) = 36),
    name VARCHAR(255) NOT NULL,
    key_hash VARCHAR(255) NOT NULL,
    created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
);

-- migrate:downgrade mysql
DROP TABLE api_keys;
