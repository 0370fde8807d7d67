-- Breaks the rule
--
-- Revision ID: 002
-- Revises: 001

-- migrate:upgrade
ALTER TABLE tags ADD PRIMARY KEY (name);

-- migrate:downgrade
ALTER TABLE tags DROP CONSTRAINT tags_pkey;
