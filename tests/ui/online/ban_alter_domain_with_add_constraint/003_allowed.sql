-- Breaks it on purpose
--
-- Revision ID: 003
-- Revises: 002
-- Allow: ban-alter-domain-with-add-constraint

-- migrate:upgrade
ALTER DOMAIN positive ADD CONSTRAINT positive_check CHECK (VALUE > 0);

-- migrate:downgrade
ALTER DOMAIN positive DROP CONSTRAINT positive_check;
