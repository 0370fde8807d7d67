-- Breaks it on purpose
--
-- Revision ID: 003
-- Revises: 002
-- Allow: require-concurrent-partition-detach

-- migrate:upgrade
ALTER TABLE events DETACH PARTITION events_2024;

-- migrate:downgrade
ALTER TABLE events ATTACH PARTITION events_2024 FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
