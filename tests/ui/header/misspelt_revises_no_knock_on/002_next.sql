-- Next
--
-- Revision ID: 002
-- Revices: 001

-- migrate:upgrade
CREATE TABLE t002 (id INTEGER);

-- migrate:downgrade
DROP TABLE t002;
