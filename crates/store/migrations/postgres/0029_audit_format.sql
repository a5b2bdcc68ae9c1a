-- The chain format each event was hashed in (engine::audit::CHAIN_FORMAT): every event
-- written before this migration is format 1.
ALTER TABLE audit_events ADD COLUMN format BIGINT NOT NULL DEFAULT 1;
