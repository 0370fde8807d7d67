-- Breaks it on purpose
--
-- Revision ID: 003
-- Revises: 002
-- Allow: adding-serial-primary-key-field

-- migrate:upgrade
ALTER TABLE tags ADD PRIMARY KEY (name);

-- migrate:downgrade
ALTER TABLE tags DROP CONSTRAINT tags_pkey;
