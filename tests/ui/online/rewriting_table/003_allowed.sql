-- Breaks it on purpose
--
-- Revision ID: 003
-- Revises: 002
-- Allow: rewriting-table

-- migrate:upgrade
ALTER TABLE tags SET UNLOGGED;

-- migrate:downgrade
ALTER TABLE tags SET LOGGED;
