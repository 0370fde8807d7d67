-- Tables in use
--
-- Revision ID: 001
-- Revises: 

-- migrate:upgrade
CREATE TABLE users (id BIGINT PRIMARY KEY, email TEXT, a INTEGER);
CREATE INDEX users_a ON users (a);
CREATE TABLE teams (id BIGINT PRIMARY KEY);
CREATE TABLE tags (name TEXT);
CREATE TABLE events (id BIGINT, at DATE) PARTITION BY RANGE (at);
CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE DOMAIN positive AS INTEGER;

-- migrate:downgrade
DROP DOMAIN positive;
DROP TABLE events;
DROP TABLE tags;
DROP TABLE teams;
DROP TABLE users;
