-- Breaks it on purpose
--
-- Revision ID: 003
-- Revises: 002
-- Allow: ban-set-schema

-- migrate:upgrade
ALTER TABLE teams SET SCHEMA archive;

-- migrate:downgrade
ALTER TABLE archive.teams SET SCHEMA public;
